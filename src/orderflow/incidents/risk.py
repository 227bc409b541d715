"""Risk checks: an order compared with other orders, and its payments (RK-1..RK-4, D-10).

Each looks back from the order's placement over a window of recent orders the context holds
(the order itself is left out of them and counted once). An order placed exactly one window
before is outside it: a window of ten minutes before 10:10 holds 10:00:01 but not 10:00. An
order placed after the one classified is never counted.

* :class:`DuplicateOrderDetector` (RK-2): the same customer submitted the same lines for the
  same amount within a short window (default 10 minutes).
* :class:`CustomerFrequencyDetector` (RK-1): many orders from one customer (default 5 per
  hour).
* :class:`AddressAccountsDetector` (RK-1): orders to one address from many distinct accounts
  (default 3 per 24 hours).

A count reaches its threshold when it equals it. Suspected fraud freezes the order (RK-4):
its findings carry ``freezes=True``.

* :class:`DuplicatePaymentDetector` (RK-3) and :class:`LatePaymentDetector` (D-10): a payment
  the lifecycle recorded without applying it, because the order was already paid or
  closed. It is being refunded; the finding does not block review.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import attrs

from orderflow.effects import RefundReason
from orderflow.errors import InvalidConfiguration
from orderflow.incidents.context import MAX_RECENT_ORDERS, Context, Lookback, RecentLine
from orderflow.incidents.detectors import _detector_id, duration_text, finding, window_setting
from orderflow.incidents.model import ExceptionType, Finding

if TYPE_CHECKING:
    from orderflow.order import Order

__all__ = [
    "AddressAccountsDetector",
    "CustomerFrequencyDetector",
    "DuplicateOrderDetector",
    "DuplicatePaymentDetector",
    "LatePaymentDetector",
]


@attrs.frozen
class DuplicateOrderDetector:
    """The same order submitted twice (RK-2): same customer, same lines, same amount.

    Another order of the customer (not closed: a closed order ships nothing) with the same
    lines (same SKUs, quantities and unit prices, in any order) and the same amount due,
    placed within ``window`` before this one, makes this one a duplicate. An order placed at
    the same instant counts as earlier when its id sorts first, so of two such orders only
    one is the duplicate. The finding names the latest such earlier order.

    Attributes:
        window: how far back an earlier order counts (default 10 minutes; exactly 10 minutes
            earlier is outside).
        detector_id: the id its findings carry.

    Raises:
        InvalidConfiguration: a window that is not a timedelta of whole seconds above zero
            and at most 3650 days, a malformed id.
    """

    window: timedelta = attrs.field(
        default=timedelta(minutes=10), validator=window_setting("window")
    )
    detector_id: str = attrs.field(default="RK-2-duplicate-order", validator=_detector_id)

    @property
    def lookback(self) -> Lookback:
        """The customer's orders over the window."""
        return Lookback(customer=self.window)

    def detect(self, order: Order, context: Context, at: datetime) -> Finding | None:
        """The latest earlier order this one duplicates, if any."""
        recent = context.customer_orders
        if not recent:
            return None
        placed = order.created_at
        start = placed - self.window
        customer, own = order.customer_id, order.id
        amount = order.amount_due
        lines: tuple[RecentLine, ...] | None = None
        earlier = None
        for other in recent:
            if (
                other.closed
                or other.customer_id != customer
                or other.order_id == own
                or not start < other.placed_at <= placed
                or (other.placed_at == placed and other.order_id > own)
                or other.amount_due != amount
            ):
                continue
            if lines is None:
                lines = tuple(
                    RecentLine(line.sku, line.quantity, line.unit_price)
                    for line in sorted(order.lines, key=lambda line: line.sku)
                )
            if other.lines != lines:
                continue
            if earlier is None or (other.placed_at, other.order_id) > (
                earlier.placed_at,
                earlier.order_id,
            ):
                earlier = other
        if earlier is None:
            return None
        window = duration_text(self.window)
        return finding(
            ExceptionType.DUPLICATE_ORDER,
            self.detector_id,
            f"The same lines for the same amount were ordered as order {earlier.order_id}, "
            f"placed within {window} before.",
            {
                "earlier_order": earlier.order_id,
                "earlier_placed_at": earlier.placed_at,
                "placed_at": placed,
                "window": window,
                "threshold": window,
            },
        )


def _threshold(instance: object, attribute: attrs.Attribute[int], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidConfiguration("threshold", value, "must be a whole number")
    if not 2 <= value <= MAX_RECENT_ORDERS:
        raise InvalidConfiguration("threshold", value, f"must be 2 to {MAX_RECENT_ORDERS:,}")


def _fraud(
    detector: str, summary: str, count: int, window: timedelta, threshold: int, placed: datetime
) -> Finding:
    text = duration_text(window)
    return finding(
        ExceptionType.SUSPECTED_FRAUD,
        detector,
        summary,
        {
            "count": count,
            "window": text,
            "threshold": threshold,
            "window_start": placed - window,
            "placed_at": placed,
        },
        freezes=True,
    )


@attrs.frozen
class CustomerFrequencyDetector:
    """Many orders from one customer in a short window (RK-1): suspected fraud, frozen.

    The customer's orders placed within ``window`` up to this one's placement, this one
    counted, reach ``threshold`` when they equal it.

    Attributes:
        threshold: how many orders are too many (default 5); 2 to 1,000.
        window: how far back they are counted (default 1 hour).
        detector_id: the id its findings carry.

    Raises:
        InvalidConfiguration: a threshold that is not a whole number from 2 to 1,000, a
            window that is not a timedelta of whole seconds above zero and at most 3650
            days, a malformed id.
    """

    threshold: int = attrs.field(default=5, validator=_threshold)
    window: timedelta = attrs.field(default=timedelta(hours=1), validator=window_setting("window"))
    detector_id: str = attrs.field(default="RK-1-customer", validator=_detector_id)

    @property
    def lookback(self) -> Lookback:
        """The customer's orders over the window."""
        return Lookback(customer=self.window)

    def detect(self, order: Order, context: Context, at: datetime) -> Finding | None:
        """Suspected fraud when the customer's orders in the window reach the threshold."""
        recent = context.customer_orders
        if len(recent) + 1 < self.threshold:
            return None
        placed = order.created_at
        start = placed - self.window
        customer, own = order.customer_id, order.id
        count = 1 + sum(
            1
            for other in recent
            if other.customer_id == customer
            and other.order_id != own
            and start < other.placed_at <= placed
        )
        if count < self.threshold:
            return None
        return _fraud(
            self.detector_id,
            f"The customer placed {count} orders within {duration_text(self.window)} "
            f"(threshold {self.threshold}).",
            count,
            self.window,
            self.threshold,
            placed,
        )


@attrs.frozen
class AddressAccountsDetector:
    """Orders to one address from many accounts in a window (RK-1): suspected fraud, frozen.

    The distinct customers of the orders to the address placed within ``window`` up to this
    one's placement, this order's customer counted, reach ``threshold`` when they equal it.

    Attributes:
        threshold: how many accounts are too many (default 3); 2 to 1,000.
        window: how far back they are counted (default 24 hours).
        detector_id: the id its findings carry.

    Raises:
        InvalidConfiguration: a threshold that is not a whole number from 2 to 1,000, a
            window that is not a timedelta of whole seconds above zero and at most 3650
            days, a malformed id.
    """

    threshold: int = attrs.field(default=3, validator=_threshold)
    window: timedelta = attrs.field(default=timedelta(hours=24), validator=window_setting("window"))
    detector_id: str = attrs.field(default="RK-1-address", validator=_detector_id)

    @property
    def lookback(self) -> Lookback:
        """The address's orders over the window."""
        return Lookback(address=self.window)

    def detect(self, order: Order, context: Context, at: datetime) -> Finding | None:
        """Suspected fraud when the accounts ordering to the address reach the threshold."""
        recent = context.address_orders
        if len(recent) + 1 < self.threshold:
            return None
        placed = order.created_at
        start = placed - self.window
        own = order.id
        accounts = {order.customer_id}
        accounts.update(
            other.customer_id
            for other in recent
            if other.order_id != own and start < other.placed_at <= placed
        )
        count = len(accounts)
        if count < self.threshold:
            return None
        return _fraud(
            self.detector_id,
            f"{count} accounts ordered to this address within {duration_text(self.window)} "
            f"(threshold {self.threshold}).",
            count,
            self.window,
            self.threshold,
            placed,
        )


# -- payments that were not applied (RK-3, D-10) ------------------------------------------


def _unapplied(
    order: Order, reason: RefundReason, kind: ExceptionType, detector: str, what: str
) -> tuple[Finding, ...]:
    ledger = order.ledger
    if all(payment.applied for payment in ledger.payments):
        return ()
    refunded = {refund.payment_reference for refund in ledger.refunds if refund.reason is reason}
    return tuple(
        finding(
            kind,
            detector,
            f"Payment {payment.reference} of {payment.amount} {what}; it was not applied and "
            "is being refunded.",
            {"payment": payment.reference, "amount": payment.amount, "received_at": payment.at},
            blocks_review=False,
        )
        for payment in ledger.payments
        if not payment.applied and payment.reference in refunded
    )


@attrs.frozen
class DuplicatePaymentDetector:
    """A second payment for an order already paid (RK-3): one finding per such payment.

    The lifecycle records the payment without applying it and requests its refund (D-3); the
    finding does not block review.

    Attributes:
        detector_id: the id its findings carry.

    Raises:
        InvalidConfiguration: a malformed id.
    """

    detector_id: str = attrs.field(default="RK-3-duplicate-payment", validator=_detector_id)

    def detect(self, order: Order, context: Context, at: datetime) -> tuple[Finding, ...]:
        """A finding for each payment recorded as a duplicate."""
        return _unapplied(
            order,
            RefundReason.DUPLICATE_PAYMENT,
            ExceptionType.DUPLICATE_PAYMENT,
            self.detector_id,
            "reached an order already paid",
        )


@attrs.frozen
class LatePaymentDetector:
    """A payment for an order already closed (D-10): one finding per such payment.

    The lifecycle records the payment without applying it and requests its refund; the
    finding does not block anything.

    Attributes:
        detector_id: the id its findings carry.

    Raises:
        InvalidConfiguration: a malformed id.
    """

    detector_id: str = attrs.field(default="D-10-late-payment", validator=_detector_id)

    def detect(self, order: Order, context: Context, at: datetime) -> tuple[Finding, ...]:
        """A finding for each payment recorded as late."""
        return _unapplied(
            order,
            RefundReason.LATE_PAYMENT,
            ExceptionType.PAYMENT_AFTER_CLOSE,
            self.detector_id,
            "reached an order already closed",
        )
