"""Requesting refunds: the one way the lifecycle and the after-sales cases ask the payment
side for money back (AS-6, AS-7, D-14).

A refund is recorded in the ledger as pending and a :class:`~orderflow.RequestRefund` effect
asks the payment side for it, in the same outcome, so the outbox stores both with the state
change (D-14).
"""

from __future__ import annotations

from orderflow.effects import RefundReason, RequestRefund
from orderflow.frozen import replace
from orderflow.ledger import Ledger, LineShare, Refund, RefundStatus
from orderflow.money import Money
from orderflow.step import Step

__all__ = ["next_refund_id", "paying_reference", "replace_refund", "request_refund"]


def next_refund_id(order_id: str, ledger: Ledger) -> str:
    """The next free refund id of an order: ``<order id>/refund/<n>``."""
    taken = {refund.refund_id for refund in ledger.refunds}
    number = len(ledger.refunds) + 1
    while f"{order_id}/refund/{number}" in taken:  # a caller-given id may hold the next one
        number += 1
    return f"{order_id}/refund/{number}"


def paying_reference(ledger: Ledger) -> str:
    """The payment a refund of the order's goods is made against: the last one applied
    (``""`` when none was)."""
    for payment in reversed(ledger.payments):
        if payment.applied:
            return payment.reference
    return ""


def replace_refund(ledger: Ledger, refund: Refund, updated: Refund) -> tuple[Refund, ...]:
    """The ledger's refunds with ``refund`` replaced by ``updated``."""
    return tuple(updated if item is refund else item for item in ledger.refunds)


def request_refund(
    step: Step,
    seq: int,
    amount: Money,
    reason: RefundReason,
    payment_reference: str,
    *,
    counts: bool,
    ledger: Ledger,
    refund_id: str | None = None,
    case_id: str | None = None,
    shares: tuple[LineShare, ...] = (),
) -> tuple[RequestRefund, Ledger]:
    """A refund request effect and the ledger that records it as pending.

    Args:
        step: the command being applied.
        seq: the effect's position in the outcome.
        amount: how much.
        reason: why.
        payment_reference: the payment it is refunded against.
        counts: whether it counts against what was paid (the caps, D-6).
        ledger: the ledger to record it in.
        refund_id: its id; the next free one when ``None``.
        case_id: the after-sales case it pays back, if any.
        shares: how it splits over the lines.
    """
    order_id = step.order.id
    if refund_id is None:
        refund_id = next_refund_id(order_id, ledger)
    effect = RequestRefund(
        order_id, step.version, seq, refund_id, amount, reason, payment_reference
    )
    record = Refund(
        refund_id,
        amount,
        reason,
        payment_reference,
        RefundStatus.PENDING,
        step.at,
        1,
        counts,
        case_id=case_id,
        shares=shares,
    )
    pending = ledger.amount_refund_pending + amount if counts else ledger.amount_refund_pending
    return effect, replace(ledger, refunds=(*ledger.refunds, record), amount_refund_pending=pending)
