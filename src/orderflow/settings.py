"""Settings: the timeouts and limits a shop configures, shared by every order.

A :class:`Settings` value is given to :class:`~orderflow.Lifecycle` once per process. Every
duration is added on UTC instants (D-18), and :meth:`Settings.deadlines_for` computes the
timers an order carries (D-15).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import attrs

from orderflow.aftersales.policy import Policy
from orderflow.errors import InvalidConfiguration
from orderflow.incidents.classify import Classifier
from orderflow.incidents.configuration import IncidentSettings
from orderflow.limits import Limits, limits_setting
from orderflow.model import OrderState
from orderflow.order import Deadline, DeadlineKind, Ledger, Shipment

__all__ = ["Settings"]

_LONGEST_TIMEOUT = timedelta(days=3650)


def _positive_or_none(name: str) -> Callable[[object, object, timedelta | None], None]:
    def check(instance: object, attribute: object, value: timedelta | None) -> None:
        if value is None:
            return
        if not isinstance(value, timedelta):
            raise InvalidConfiguration(name, value, "must be a timedelta or None")
        if value <= timedelta(0):
            raise InvalidConfiguration(name, value, "must be above zero; use None to turn it off")
        if value > _LONGEST_TIMEOUT:
            raise InvalidConfiguration(name, value, "must be at most 3650 days")

    return check


def _positive(name: str) -> Callable[[object, object, timedelta], None]:
    def check(instance: object, attribute: object, value: timedelta) -> None:
        if not isinstance(value, timedelta):
            raise InvalidConfiguration(name, value, "must be a timedelta")
        if value <= timedelta(0):
            raise InvalidConfiguration(name, value, "must be above zero")
        if value > _LONGEST_TIMEOUT:
            raise InvalidConfiguration(name, value, "must be at most 3650 days")

    return check


def _whole_at_least_one(name: str) -> Callable[[object, object, int], None]:
    def check(instance: object, attribute: object, value: int) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise InvalidConfiguration(name, value, "must be a whole number of at least 1")

    return check


@attrs.frozen
class Settings:
    """The configurable defaults of the machines: timeouts, limits, policies.

    Every duration is added on UTC instants (D-18): "30 minutes" is 1,800 real seconds,
    whatever the shop's time zone and its daylight-saving changes.

    Attributes:
        unpaid_timeout: how long an order may stay unpaid before the system closes it (CL-7,
            TM-1; default 30 minutes, at most 3650 days). ``None`` turns the timer off (D-10).
        auto_confirm_after: how long after delivery receipt is confirmed automatically (LC-4,
            TM-5; default 10 days, at most 3650 days). ``None`` turns it off.
        payment_confirmation_timeout: how long a payment the buyer has started may stay
            unconfirmed before the system fails it (D-16; default 1 hour). It cannot be
            turned off: a payment in progress must never hold an order forever.
        max_payment_attempts: how many payments the buyer may start on one order (default
            20); further ones are refused, so that starting and abandoning payments cannot
            grow an order's history without end.
        limits: how large an order may grow (:class:`Limits`).
        policy: the after-sales policy (AS-2..AS-4): its rules, and the settings every
            order placed under it keeps (its snapshot).
        override_permission: the permission a member of staff needs to overturn a policy's
            denial (``aftersales.override`` by default).
        review_timeout: how long after payment a review may wait before it is overdue
            (TM-2; default 1 hour). ``None`` turns the timer off.
        shipment_timeout: how long after payment an order may wait to ship before a
            logistics-delay case opens (TM-3; default 48 hours). ``None`` turns it off.
        tracking_silence: how long a shipped parcel may go without a tracking update
            before its logistics case escalates (TM-4; default 72 hours). ``None`` turns it
            off.
        classifier: the order-exception classifier review runs (EX-2).
        incidents: how exception cases are handled: targets, escalation matrix,
            high-value threshold, compensation limit (EX-4, EX-5, EX-7).

    Raises:
        InvalidConfiguration: a timeout of zero or below or above 3650 days, not a
            ``timedelta``; a number of attempts below 1; limits that are not
            :class:`Limits`.
    """

    unpaid_timeout: timedelta | None = attrs.field(
        default=timedelta(minutes=30), validator=_positive_or_none("unpaid_timeout")
    )
    auto_confirm_after: timedelta | None = attrs.field(
        default=timedelta(days=10), validator=_positive_or_none("auto_confirm_after")
    )
    payment_confirmation_timeout: timedelta = attrs.field(
        default=timedelta(hours=1), validator=_positive("payment_confirmation_timeout")
    )
    max_payment_attempts: int = attrs.field(
        default=20, validator=_whole_at_least_one("max_payment_attempts")
    )
    limits: Limits = attrs.field(factory=Limits, validator=limits_setting)
    policy: Policy = attrs.field(factory=Policy.default)
    override_permission: str = attrs.field(default="aftersales.override")
    review_timeout: timedelta | None = attrs.field(
        default=timedelta(hours=1), validator=_positive_or_none("review_timeout")
    )
    shipment_timeout: timedelta | None = attrs.field(
        default=timedelta(hours=48), validator=_positive_or_none("shipment_timeout")
    )
    tracking_silence: timedelta | None = attrs.field(
        default=timedelta(hours=72), validator=_positive_or_none("tracking_silence")
    )
    classifier: Classifier = attrs.field(factory=Classifier.default)
    incidents: IncidentSettings = attrs.field(factory=IncidentSettings)

    @classifier.validator
    def _check_classifier(self, attribute: object, value: object) -> None:
        if not isinstance(value, Classifier):
            raise InvalidConfiguration("classifier", value, "must be an incidents Classifier")

    @incidents.validator
    def _check_incidents(self, attribute: object, value: object) -> None:
        if not isinstance(value, IncidentSettings):
            raise InvalidConfiguration("incidents", value, "must be IncidentSettings")

    @policy.validator
    def _check_policy(self, attribute: object, value: object) -> None:
        if not isinstance(value, Policy):
            raise InvalidConfiguration("policy", value, "must be an after-sales Policy")

    @override_permission.validator
    def _check_override(self, attribute: object, value: object) -> None:
        if not isinstance(value, str) or not value.strip() or len(value) > 100:
            raise InvalidConfiguration(
                "override_permission", value, "must be a permission name (1 to 100 characters)"
            )

    def unpaid_due(self, created_at: datetime) -> datetime | None:
        """When an order placed at ``created_at`` closes unpaid (TM-1); ``None`` if never."""
        if self.unpaid_timeout is None:
            return None
        return _utc(created_at) + self.unpaid_timeout

    def deadlines_for(
        self,
        state: OrderState,
        created_at: datetime,
        ledger: Ledger,
        shipment: Shipment | None,
    ) -> tuple[Deadline, ...]:
        """The timers an order runs in ``state`` with this ledger and shipment (D-15, D-16).

        A deadline is only ever on an order when firing it is valid: an unpaid order with a
        payment in progress waits for the payment's confirmation deadline instead of the
        unpaid one, which returns, at its original instant, when the payment fails.
        """
        if state is OrderState.PENDING_PAYMENT:
            if ledger.payment_in_progress is not None:
                started = ledger.payment_started_at or created_at
                return (
                    Deadline(
                        DeadlineKind.CONFIRM_PAYMENT,
                        _utc(started) + self.payment_confirmation_timeout,
                    ),
                )
            due = self.unpaid_due(created_at)
            return () if due is None else (Deadline(DeadlineKind.AUTO_CLOSE_UNPAID, due),)
        if state is OrderState.DELIVERED and self.auto_confirm_after is not None:
            assert shipment is not None
            assert shipment.delivered_at is not None
            return (
                Deadline(
                    DeadlineKind.AUTO_CONFIRM_RECEIPT,
                    _utc(shipment.delivered_at) + self.auto_confirm_after,
                ),
            )
        return ()


def _utc(at: datetime) -> datetime:
    """The same instant in UTC (durations are added on UTC instants, D-18)."""
    return at if at.tzinfo is UTC else at.astimezone(UTC)
