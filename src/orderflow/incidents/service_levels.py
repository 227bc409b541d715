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

from datetime import UTC, datetime
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
_PAID = S.PAID
_ON_HOLD = S.ON_HOLD
_SHIPPED = S.SHIPPED
_DELAYED = ExceptionType.LOGISTICS_DELAYED
_REVIEW_OVERDUE = DeadlineKind.REVIEW_OVERDUE
_SHIPMENT_OVERDUE = DeadlineKind.SHIPMENT_OVERDUE
_TRACKING_SILENCE = DeadlineKind.TRACKING_SILENCE


def paid_at(ledger: Ledger) -> datetime | None:
    """When the order was paid: its first applied payment."""
    for payment in ledger.payments:
        if payment.applied:
            return payment.at
    return None


def _utc(at: datetime) -> datetime:
    return at if at.tzinfo is UTC else at.astimezone(UTC)


def service_deadlines(
    state: OrderState,
    ledger: Ledger,
    shipment: Shipment | None,
    hold: HoldRecord | None,
    exceptions: tuple[ExceptionCase, ...],
    settings: Settings,
) -> tuple[Deadline, ...]:
    """The service-level deadlines an order runs in ``state`` (TM-2, TM-3, TM-4)."""
    judged = hold.from_state if state is _ON_HOLD and hold is not None else state
    if judged in _UNSHIPPED:
        paid = paid_at(ledger)
        if paid is None:
            return ()
        found: list[Deadline] = []
        wait = settings.review_timeout
        if state is _PAID and wait is not None and not (exceptions and _reviewed(exceptions)):
            found.append(Deadline(_REVIEW_OVERDUE, _utc(paid) + wait))
        wait = settings.shipment_timeout
        if wait is not None and not (exceptions and _timed(exceptions, _DELAYED)):
            found.append(Deadline(_SHIPMENT_OVERDUE, _utc(paid) + wait))
        return tuple(found)
    if state is _SHIPPED and shipment is not None:
        last = shipment.last_update
        reported = shipment.silence_reported_at
        wait = settings.tracking_silence
        if wait is not None and (reported is None or reported < last):
            return (Deadline(_TRACKING_SILENCE, _utc(last) + wait),)
    return ()


def _reviewed(exceptions: tuple[ExceptionCase, ...]) -> bool:
    """Whether the order was reviewed already (a review opened cases) or its review was
    reported overdue: TM-2 fires once, for a review never done."""
    return any(
        case.type is ExceptionType.REVIEW_OVERDUE or case.origin is Origin.REVIEW
        for case in exceptions
    )


def _timed(exceptions: tuple[ExceptionCase, ...], type: ExceptionType) -> bool:
    return any(case.type is type and case.origin is Origin.TIMER for case in exceptions)
