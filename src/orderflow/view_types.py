"""The shapes of the JSON-safe views: one ``TypedDict`` per view, of JSON values only.

Money is ``{"amount": "88.00", "currency": "CNY"}`` (the amount a string, never a float) and
times are ISO 8601 strings in UTC. :mod:`orderflow.views` builds them; its names for them are
the same.
"""

from __future__ import annotations

from typing import TypedDict

__all__ = [
    "ActorView",
    "AddressView",
    "AvailabilityView",
    "ClosureView",
    "CommandRefusedView",
    "DeadlineView",
    "EffectView",
    "HistoryEntryView",
    "HoldView",
    "LineView",
    "MoneyView",
    "OrderView",
    "OutcomeView",
    "PaymentView",
    "RefundView",
    "RefusalView",
    "ShipmentView",
]


class MoneyView(TypedDict):
    """An amount: ``{"amount": "88.00", "currency": "CNY"}``."""

    amount: str
    currency: str


class LineView(TypedDict):
    """One order line, with its total."""

    sku: str
    name: str
    quantity: int
    unit_price: MoneyView
    total: MoneyView


class AddressView(TypedDict):
    """The shipping address and the recipient's contact."""

    recipient: str
    phone: str
    line1: str
    line2: str
    city: str
    region: str
    postal_code: str
    country: str


class PaymentView(TypedDict):
    """A payment received; ``applied`` is false for a duplicate or late payment."""

    reference: str
    amount: MoneyView
    at: str
    applied: bool


class RefundView(TypedDict):
    """A refund, from request to confirmation."""

    refund_id: str
    amount: MoneyView
    reason: str
    status: str
    requested_at: str
    attempts: int
    last_error: str


class ShipmentView(TypedDict):
    """The parcel."""

    carrier: str
    tracking_number: str
    shipped_at: str
    delivered_at: str | None


class ClosureView(TypedDict):
    """Why and when the order was closed."""

    reason: str
    description: str
    note: str
    at: str
    by: ActorView


class HoldView(TypedDict):
    """Why the order is held and where it returns on release."""

    from_state: str
    note: str
    at: str
    case_id: str | None


class DeadlineView(TypedDict):
    """A timer the order runs."""

    kind: str
    due_at: str


class ActorView(TypedDict):
    """Who acted (permissions are not shown)."""

    kind: str
    id: str


class OrderView(TypedDict):
    """An order as an API returns it; ``version`` is what an ``If-Match`` header carries."""

    id: str
    customer_id: str
    version: int
    state: str
    held_from: str | None
    created_at: str
    updated_at: str
    lines: list[LineView]
    address: AddressView
    amount_due: MoneyView
    amount_paid: MoneyView
    amount_refunded: MoneyView
    amount_refund_pending: MoneyView
    payments: list[PaymentView]
    refunds: list[RefundView]
    payment_in_progress: str | None
    shipment: ShipmentView | None
    closure: ClosureView | None
    hold: HoldView | None
    deadlines: list[DeadlineView]


class EffectView(TypedDict):
    """An effect an outcome produced: its stable id and kind."""

    id: str
    kind: str


class HistoryEntryView(TypedDict):
    """One applied command (LC-8)."""

    version: int
    from_state: str | None
    to_state: str
    event: str
    command_id: str | None
    reason: str | None
    actor: ActorView
    at: str
    effects: dict[str, list[str]]
    """The ids of the effects produced, by kind."""


class RefusalView(TypedDict):
    """One reason a command is refused, with its category (forbidden, conflict, invalid)."""

    code: str
    category: str
    message: str
    hint: str
    rule: str


class CommandRefusedView(TypedDict):
    """A refused command: every reason, the first one's fields at the top, and the protocol
    status its category maps to (403, 409 or 422)."""

    order_id: str
    state: str
    command: str
    code: str
    category: str
    status: int
    message: str
    hint: str
    reasons: list[RefusalView]


class AvailabilityView(TypedDict):
    """What an actor may do now (event names), and why not the rest."""

    allowed: list[str]
    refused: dict[str, list[RefusalView]]


class OutcomeView(TypedDict):
    """What a command did: the order after it, its history entry and its effects."""

    order: OrderView
    entry: HistoryEntryView
    effects: list[EffectView]
    replayed: bool
