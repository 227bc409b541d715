"""The order's own service-level timers: review, shipment and tracking (TM-2, TM-3, TM-4).

Each is a deadline on the order (D-15), set when the state that starts it is entered and
gone when it is left or when it fired, so the store's deadline index finds it and nothing
scans histories:

* TM-2, ``review_overdue``: a paid order not reviewed within ``Settings.review_timeout``
  (1 hour) of its payment; it fires once (its case exists afterwards).
* TM-3, ``shipment_overdue``: an order not shipped within ``Settings.shipment_timeout``
  (48 hours) of its payment, held or not; once (its logistics-delay case exists afterwards).
* TM-4, ``tracking_silence``: a shipped order without a tracking update for
  ``Settings.tracking_silence`` (72 hours), counted from shipment and restarted by each
  tracking event; once per silence.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from orderflow.deadlines import Deadline, DeadlineKind
from orderflow.incidents.case import ExceptionCase, Origin
from orderflow.incidents.model import ExceptionType
from orderflow.ledger import Ledger
from orderflow.model import OrderState
from orderflow.records import HoldRecord, Shipment

if TYPE_CHECKING:
    from orderflow.settings import Settings

__all__ = ["SERVICE_KINDS", "paid_at", "service_deadlines"]

SERVICE_KINDS: frozenset[DeadlineKind] = frozenset(
    {DeadlineKind.REVIEW_OVERDUE, DeadlineKind.SHIPMENT_OVERDUE, DeadlineKind.TRACKING_SILENCE}
)
"""The order's service-level deadline kinds (TM-2, TM-3, TM-4)."""

S = OrderState
_UNSHIPPED = frozenset({S.PAID, S.AWAITING_SHIPMENT, S.IN_FULFILMENT})


def paid_at(ledger: Ledger) -> datetime | None:
    """When the order was paid: its first applied payment."""
    for payment in ledger.payments:
        if payment.applied:
            return payment.at
    return None


def _utc(at: datetime) -> datetime:
    return at if at.tzinfo is UTC else at.astimezone(UTC)


def _after(start: datetime | None, wait: timedelta | None) -> datetime | None:
    return None if start is None or wait is None else _utc(start) + wait


def service_deadlines(
    state: OrderState,
    ledger: Ledger,
    shipment: Shipment | None,
    hold: HoldRecord | None,
    exceptions: tuple[ExceptionCase, ...],
    settings: Settings,
) -> tuple[Deadline, ...]:
    """The service-level deadlines an order runs in ``state`` (TM-2, TM-3, TM-4)."""
    judged = hold.from_state if state is S.ON_HOLD and hold is not None else state
    found: list[Deadline] = []
    if judged in _UNSHIPPED:
        paid = paid_at(ledger)
        if (
            state is S.PAID
            and settings.review_timeout is not None
            and not (exceptions and _reviewed(exceptions))
        ):
            due = _after(paid, settings.review_timeout)
            if due is not None:
                found.append(Deadline(DeadlineKind.REVIEW_OVERDUE, due))
        if not (exceptions and _timed(exceptions, ExceptionType.LOGISTICS_DELAYED)):
            due = _after(paid, settings.shipment_timeout)
            if due is not None:
                found.append(Deadline(DeadlineKind.SHIPMENT_OVERDUE, due))
    elif state is S.SHIPPED and shipment is not None:
        last = shipment.last_update
        reported = shipment.silence_reported_at
        if reported is None or reported < last:
            due = _after(last, settings.tracking_silence)
            if due is not None:
                found.append(Deadline(DeadlineKind.TRACKING_SILENCE, due))
    return tuple(found)


def _reviewed(exceptions: tuple[ExceptionCase, ...]) -> bool:
    """Whether the order was reviewed already (a review opened cases) or its review was
    reported overdue: TM-2 fires once, for a review never done."""
    return any(
        case.type is ExceptionType.REVIEW_OVERDUE or case.origin is Origin.REVIEW
        for case in exceptions
    )


def _timed(exceptions: tuple[ExceptionCase, ...], type: ExceptionType) -> bool:
    return any(case.type is type and case.origin is Origin.TIMER for case in exceptions)
