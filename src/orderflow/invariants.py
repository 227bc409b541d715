"""The invariants of an order: the cheap ones every step checks, and all of them at once.

A broken invariant is a bug, never a business refusal: it raises
:class:`~orderflow.errors.InvariantViolation`.
"""

from __future__ import annotations

from orderflow.errors import InvalidInput, InvariantViolation
from orderflow.money import _EXACT
from orderflow.order import Order

__all__ = ["check_invariants"]


def _check_step_invariants(old: Order, new: Order) -> None:
    """History grows by exactly one entry per applied command (LC-8)."""
    history = new.history
    if len(history) != len(old.history) + 1 or not history.extends(old.history):
        raise InvariantViolation(
            new.id,
            "history grows by one entry per command",
            f"{len(old.history)} -> {len(history)}",
        )


def _check_ledger_invariants(new: Order) -> None:
    """Refunded and pending refunds never exceed what was paid; paid never exceeds due
    beyond a recorded overpayment (AS-5, D-6)."""
    # In the library's own decimal context: the host's never changes a comparison.
    ledger = new.ledger
    paid = ledger.amount_paid.amount
    refunded = _EXACT.add(ledger.amount_refunded.amount, ledger.amount_refund_pending.amount)
    if refunded > paid:
        raise InvariantViolation(
            new.id,
            "refunded <= paid",
            f"refunded {ledger.amount_refunded} + pending {ledger.amount_refund_pending} > "
            f"paid {ledger.amount_paid}",
        )
    if _EXACT.subtract(paid, ledger.overpayment.amount) > ledger.amount_due.amount:
        raise InvariantViolation(
            new.id, "paid <= due", f"paid {ledger.amount_paid} > due {ledger.amount_due}"
        )


def check_invariants(order: Order) -> None:
    """Check every invariant of an order, the expensive ones included.

    Meant for tests and for checking orders loaded from a store: history is a chain of
    states from placement (LC-8), the version is the number of entries, the money records
    add up and refunds never exceed payments (AS-5), and the records match the state.

    Raises:
        InvariantViolation: naming the first invariant broken.
    """
    try:
        Order(
            id=order.id,
            customer_id=order.customer_id,
            lines=order.lines,
            address=order.address,
            state=order.state,
            ledger=order.ledger,
            history=order.history,
            shipment=order.shipment,
            closure=order.closure,
            hold=order.hold,
            deadlines=order.deadlines,
        )
    except InvalidInput as error:
        raise InvariantViolation(order.id, error.field, error.problem) from error
    if order.history[0].from_state is not None:
        raise InvariantViolation(
            order.id, "history starts at placement", "first entry has a source"
        )
