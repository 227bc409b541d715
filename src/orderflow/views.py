"""JSON-safe views of orders, history entries, availabilities, refusals and outcomes.

What a web application returns from its endpoints: each view is a ``TypedDict`` of JSON
values (strings, numbers, booleans, lists, dicts, ``None``), with money as
``{"amount": "88.00", "currency": "CNY"}`` (the amount a string, never a float) and times as
ISO 8601 strings in UTC. ``json.dumps(view_order(order))`` works as it is.

Views are for reading. To store an order and load it back, use
:mod:`orderflow.serialization`, whose documents are versioned and loaded strictly.

Example::

    body = view_outcome(service.handle(order_id, command, actor))
    etag = str(body["order"]["version"])

The shapes of the views are in :mod:`orderflow.view_types`, importable from here too.
"""

from __future__ import annotations

from datetime import UTC, datetime

from orderflow.errors import CommandRefused, Refusal
from orderflow.machine import Availability, Outcome
from orderflow.model import Actor, Address, OrderLine
from orderflow.money import Money
from orderflow.order import (
    Closure,
    Deadline,
    HistoryEntry,
    HoldRecord,
    Order,
    Payment,
    Refund,
    Shipment,
)
from orderflow.view_types import (
    ActorView,
    AddressView,
    AvailabilityView,
    ClosureView,
    CommandRefusedView,
    DeadlineView,
    EffectView,
    HistoryEntryView,
    HoldView,
    LineView,
    MoneyView,
    OrderView,
    OutcomeView,
    PaymentView,
    RefundView,
    RefusalView,
    ShipmentView,
)

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
    "view_availability",
    "view_entry",
    "view_history",
    "view_order",
    "view_outcome",
    "view_refusal",
]


def _time(at: datetime) -> str:
    return at.astimezone(UTC).isoformat()


def _money(money: Money) -> MoneyView:
    return {"amount": str(money.amount), "currency": money.currency}


def _line(line: OrderLine) -> LineView:
    return {
        "sku": line.sku,
        "name": line.name,
        "quantity": line.quantity,
        "unit_price": _money(line.unit_price),
        "total": _money(line.total),
    }


def _address(address: Address) -> AddressView:
    return {
        "recipient": address.recipient,
        "phone": address.phone,
        "line1": address.line1,
        "line2": address.line2,
        "city": address.city,
        "region": address.region,
        "postal_code": address.postal_code,
        "country": address.country,
    }


def _actor(actor: Actor) -> ActorView:
    return {"kind": actor.kind.value, "id": actor.id}


def _payment(payment: Payment) -> PaymentView:
    return {
        "reference": payment.reference,
        "amount": _money(payment.amount),
        "at": _time(payment.at),
        "applied": payment.applied,
    }


def _refund(refund: Refund) -> RefundView:
    return {
        "refund_id": refund.refund_id,
        "amount": _money(refund.amount),
        "reason": refund.reason.value,
        "status": refund.status.value,
        "requested_at": _time(refund.requested_at),
        "attempts": refund.attempts,
        "last_error": refund.last_error,
    }


def _shipment(shipment: Shipment | None) -> ShipmentView | None:
    if shipment is None:
        return None
    return {
        "carrier": shipment.carrier,
        "tracking_number": shipment.tracking_number,
        "shipped_at": _time(shipment.shipped_at),
        "delivered_at": None if shipment.delivered_at is None else _time(shipment.delivered_at),
    }


def _closure(closure: Closure | None) -> ClosureView | None:
    if closure is None:
        return None
    return {
        "reason": closure.reason.code,
        "description": closure.reason.description,
        "note": closure.note,
        "at": _time(closure.at),
        "by": _actor(closure.by),
    }


def _hold(hold: HoldRecord | None) -> HoldView | None:
    if hold is None:
        return None
    return {
        "from_state": hold.from_state.value,
        "note": hold.note,
        "at": _time(hold.at),
        "case_id": hold.case_id,
    }


def _deadline(deadline: Deadline) -> DeadlineView:
    return {"kind": deadline.kind.value, "due_at": _time(deadline.due_at)}


def view_order(order: Order) -> OrderView:
    """The order as JSON-safe data, with its version."""
    ledger = order.ledger
    return {
        "id": order.id,
        "customer_id": order.customer_id,
        "version": order.version,
        "state": order.state.value,
        "held_from": None if order.held_from is None else order.held_from.value,
        "created_at": _time(order.created_at),
        "updated_at": _time(order.updated_at),
        "lines": [_line(line) for line in order.lines],
        "address": _address(order.address),
        "amount_due": _money(ledger.amount_due),
        "amount_paid": _money(ledger.amount_paid),
        "amount_refunded": _money(ledger.amount_refunded),
        "amount_refund_pending": _money(ledger.amount_refund_pending),
        "payments": [_payment(payment) for payment in ledger.payments],
        "refunds": [_refund(refund) for refund in ledger.refunds],
        "payment_in_progress": ledger.payment_in_progress,
        "shipment": _shipment(order.shipment),
        "closure": _closure(order.closure),
        "hold": _hold(order.hold),
        "deadlines": [_deadline(deadline) for deadline in order.deadlines],
    }


def view_entry(entry: HistoryEntry, version: int) -> HistoryEntryView:
    """One history entry as JSON-safe data; ``version`` is the order version it produced."""
    effects: dict[str, list[str]] = {}
    for effect in entry.effects:
        effects.setdefault(effect.kind, []).append(effect.id)
    return {
        "version": version,
        "from_state": None if entry.from_state is None else entry.from_state.value,
        "to_state": entry.to_state.value,
        "event": entry.event,
        "command_id": entry.command.command_id,
        "reason": entry.reason,
        "actor": _actor(entry.actor),
        "at": _time(entry.at),
        "effects": effects,
    }


def view_history(order: Order) -> list[HistoryEntryView]:
    """The order's whole history, oldest first."""
    return [view_entry(entry, version) for version, entry in enumerate(order.history, 1)]


def _reason(refusal: Refusal) -> RefusalView:
    return {
        "code": refusal.code,
        "category": refusal.category.value,
        "message": refusal.message,
        "hint": refusal.hint,
        "rule": refusal.rule,
    }


def view_refusal(refused: CommandRefused) -> CommandRefusedView:
    """A refused command as JSON-safe data."""
    return {
        "order_id": refused.order_id,
        "state": refused.state,
        "command": refused.command,
        "code": refused.code,
        "category": refused.category.value,
        "status": refused.category.http_status,
        "message": refused.message,
        "hint": refused.hint,
        "reasons": [_reason(reason) for reason in refused.reasons],
    }


def view_availability(availability: Availability) -> AvailabilityView:
    """What an actor may do now, by event name, and why not the rest."""
    return {
        "allowed": list(availability.allowed_events),
        "refused": {
            command.event: [_reason(reason) for reason in reasons]
            for command, reasons in availability.refused.items()
        },
    }


def view_outcome(outcome: Outcome) -> OutcomeView:
    """What a command did, as JSON-safe data."""
    order = outcome.order
    version = order.version
    if outcome.replayed:
        version = next(
            (n for n, entry in enumerate(order.history, 1) if entry is outcome.entry), version
        )
    return {
        "order": view_order(order),
        "entry": view_entry(outcome.entry, version),
        "effects": [{"id": effect.id, "kind": effect.kind} for effect in outcome.effects],
        "replayed": outcome.replayed,
    }
