"""Effects: what the outside world must do because an order changed, as data.

The core never performs I/O. Handling a command returns the new order and a tuple of effects:
notify the customer, request a refund, reserve or release stock, open an exception case. The
host (or the service layer) stores them with the state change that caused them and dispatches
each one at least once (NT-2, D-14).

Every effect has a stable :attr:`Effect.id` made of the order id, the order version the
command produced, and the effect's position in that command's outcome. The same command
applied to the same order always yields the same ids, so hosts use them as idempotency keys.
"""

from __future__ import annotations

import enum
from typing import ClassVar

import attrs

from orderflow.model import OrderLine
from orderflow.money import Money

__all__ = [
    "EFFECT_TYPES",
    "AlertStaff",
    "Effect",
    "NotificationTopic",
    "NotifyCustomer",
    "OpenCase",
    "RefundReason",
    "ReleaseStock",
    "RequestRefund",
    "ReserveStock",
]


@attrs.frozen
class Effect:
    """Base of every effect.

    Attributes:
        order_id: the order whose change produced it.
        version: the order version the change produced.
        seq: the effect's position among the effects of that change (0, 1, ...).
    """

    kind: ClassVar[str] = "effect"
    """The effect's kind, by which hosts route it to the port that handles it."""

    order_id: str
    version: int
    seq: int

    @property
    def id(self) -> str:
        """A stable id: ``"<order id>/<version>/<seq>"``."""
        return f"{self.order_id}/{self.version}/{self.seq}"


class NotificationTopic(enum.StrEnum):
    """What a customer notification is about (NT-1)."""

    ORDER_PLACED = "order_placed"
    ORDER_CONFIRMED = "order_confirmed"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    COMPLETED = "completed"
    CLOSED = "closed"
    ORDER_HELD = "order_held"
    REFUND_REQUESTED = "refund_requested"
    REFUNDED = "refunded"
    AFTER_SALES = "after_sales"
    """An after-sales case was opened, decided or moved on (its details name the case)."""
    EXCEPTION = "exception"
    """An order exception that affects the customer: a delay, stock short, a refund (NT-1)."""


@attrs.frozen
class NotifyCustomer(Effect):
    """Tell the customer something (NT-1), through the host's notifier port.

    Attributes:
        customer_id: who to tell.
        topic: what it is about.
        message: the sentence to send.
        details: the facts behind it (reason code, carrier, tracking number, amount).
    """

    kind: ClassVar[str] = "notify_customer"
    customer_id: str
    topic: NotificationTopic
    message: str
    details: dict[str, str] = attrs.field(factory=dict, hash=False)


class RefundReason(enum.StrEnum):
    """Why money is being returned."""

    ORDER_CLOSED = "order_closed"
    """A paid order was closed (CL-3, D-1)."""
    OVERPAYMENT = "overpayment"
    """The payment was larger than the amount due."""
    DUPLICATE_PAYMENT = "duplicate_payment"
    """A second payment reached an order already paid (RK-3, D-3)."""
    LATE_PAYMENT = "late_payment"
    """A payment reached an order already closed (D-10)."""
    AFTER_SALES = "after_sales"
    """An after-sales case pays goods back: not received, refund only, a return (AS-1)."""
    MONEY_ONLY = "money_only"
    """Staff refunded money on an open order: out of stock, a price difference, an amount
    agreed with the buyer (AS-7)."""
    EXCEPTION = "exception"
    """An order exception was resolved by a refund: stock short, a parcel lost or damaged
    (AS-7, EX-3)."""
    RETURN_SHIPPING = "return_shipping"
    """The seller pays back what the buyer paid to ship a return (AS-3); outside the goods
    cap."""


@attrs.frozen
class RequestRefund(Effect):
    """Ask the payment side to pay money back (CL-3, AS-6).

    Attributes:
        refund_id: the refund this request is for; it stays the same across retries.
        amount: how much.
        reason: why.
        payment_reference: the payment to refund against.
        attempt: 1 for the first request, then 2, 3, ... for retries.
        idempotency_key: the key to pass to the payment provider. A retry after a failure
            whose outcome is unknown (a timeout) reuses the key of the attempt it retries, so
            the provider can never pay twice; a retry after a known decline gets a new one
            (D-17). ``"<refund id>#<attempt>"`` of the attempt that first used it.
    """

    kind: ClassVar[str] = "request_refund"
    refund_id: str
    amount: Money
    reason: RefundReason
    payment_reference: str
    attempt: int = 1
    idempotency_key: str = attrs.field()

    @idempotency_key.default
    def _first_key(self) -> str:
        return f"{self.refund_id}#{self.attempt}"


@attrs.frozen
class ReserveStock(Effect):
    """Reserve stock for the order's lines (PT-5)."""

    kind: ClassVar[str] = "reserve_stock"
    lines: tuple[OrderLine, ...]


@attrs.frozen
class ReleaseStock(Effect):
    """Release the stock reserved for these lines (CL-5, PT-5)."""

    kind: ClassVar[str] = "release_stock"
    lines: tuple[OrderLine, ...]


@attrs.frozen
class OpenCase(Effect):
    """Open an exception case for staff to handle (EX-2), for example a payment on a closed
    order (D-10).

    Attributes:
        case_type: the exception type.
        detail: what was found.
    """

    kind: ClassVar[str] = "open_case"
    case_type: str
    detail: str


@attrs.frozen
class AlertStaff(Effect):
    """Tell staff that something waits on them: a request for a manual review (AS-4), a
    review asked for (D-8), a case waiting too long, an exception case opened or overdue.

    Attributes:
        case_id: the after-sales or exception case concerned.
        topic: what it is about (``"manual_review"``, ``"review_asked"``, ``"reminder"``;
            for exception cases ``"exception_opened"``, ``"target_missed"``,
            ``"restock_missed"``, ``"follow_up"``, ``"carrier_claim"``).
        message: a sentence for the agent.
    """

    kind: ClassVar[str] = "alert_staff"
    case_id: str
    topic: str
    message: str


EFFECT_TYPES: tuple[type[Effect], ...] = (
    NotifyCustomer,
    RequestRefund,
    ReserveStock,
    ReleaseStock,
    OpenCase,
    AlertStaff,
)
"""Every effect class the library emits, registered explicitly (serialization, the relay)."""
