"""Recognising a command already applied, and answering it with its original outcome (D-3).

A command is a replay when the order already holds an entry with its command id, or (for a
payment) a payment with its reference. A replay changes nothing and returns the original
effects with their original ids; the same id or reference with another payload is refused.
"""

from __future__ import annotations

from orderflow import commands as c
from orderflow.engine import ID_CONFLICT, RefusalText
from orderflow.errors import CommandRefused
from orderflow.order import Order
from orderflow.outcomes import Outcome

__all__: list[str] = []

_REFERENCE_CONFLICT = RefusalText(
    "reference_conflict",
    "Payment {reference} was already recorded for {recorded}, not {amount}.",
    "Check the payment provider's callback.",
    "D-3",
)


def _replayed(order: Order, command: c.Command) -> Outcome | None:
    """The original outcome when ``command`` was already applied (D-3); ``None`` if not.

    Raises:
        CommandRefused: the same command id with a different payload, or a payment reference
            already applied with a different amount.
    """
    command_id = command.command_id
    if command_id is not None:
        entry = order.entry_for(command_id)
        if entry is not None:
            if entry.command != command:
                refusal = ID_CONFLICT.refusal(command.event, {"command_id": command_id})
                raise CommandRefused(order.id, order.state.value, command.event, (refusal,))
            return Outcome(order, entry.effects, entry, replayed=True)
    if type(command) is c.Pay:
        payment = order.ledger.payment(command.payment_reference)
        if payment is not None:
            if payment.amount != command.amount:
                values = {
                    "reference": command.payment_reference,
                    "recorded": payment.amount,
                    "amount": command.amount,
                }
                refusal = _REFERENCE_CONFLICT.refusal(command.event, values)
                raise CommandRefused(order.id, order.state.value, command.event, (refusal,))
            entry = order.history.payment_entry(command.payment_reference)
            if entry is not None:
                return Outcome(order, entry.effects, entry, replayed=True)
    return None
