"""The lifecycle's refund commands: the payment side confirms, fails, or is asked again
(AS-6, D-6, D-12, D-17).

A refund of an after-sales case moves its case in the same outcome
(:func:`~orderflow.aftersales.links.follow_refund`). A declined refund frees its room until
it is retried, and the retry checks the caps again; a failure whose outcome is unknown keeps
its room (the provider may still pay it) and its retry reuses the idempotency key (D-17).
Confirmed refunds that reach everything paid close an order not yet completed (D-12).
"""

from __future__ import annotations

from orderflow import commands as c
from orderflow.aftersales.appliers import case_deadline
from orderflow.aftersales.configuration import PolicySettings
from orderflow.aftersales.links import close_cases, closes_in_full, follow_refund
from orderflow.effects import Effect, NotificationTopic, NotifyCustomer, ReleaseStock, RequestRefund
from orderflow.frozen import replace
from orderflow.incidents.opening import close_exceptions
from orderflow.ledger import Ledger, RefundStatus
from orderflow.model import CloseReason, OrderState
from orderflow.order import Closure, HistoryEntry, Order
from orderflow.refunding import replace_refund
from orderflow.step import Step

__all__ = ["apply_confirm_refund", "apply_fail_refund", "apply_retry_refund", "policy_settings"]

_UNSHIPPED = frozenset({OrderState.PAID, OrderState.AWAITING_SHIPMENT, OrderState.IN_FULFILMENT})


def policy_settings(step: Step) -> PolicySettings:
    """The after-sales settings the order runs by: those it was placed under."""
    snapshot = step.order.policy
    return step.settings.policy.settings if snapshot is None else snapshot.settings


def _notify(
    step: Step, seq: int, topic: NotificationTopic, message: str, **details: str
) -> NotifyCustomer:
    order = step.order
    return NotifyCustomer(order.id, step.version, seq, order.customer_id, topic, message, details)


def _commit(
    step: Step, ledger: Ledger, refund_id: str, effects: tuple[Effect, ...]
) -> tuple[Order, HistoryEntry]:
    """The new order: the ledger, the case that follows the refund, and D-12."""
    order = step.order
    cases, moved = follow_refund(
        order, ledger, refund_id, step.at, policy_settings(step), case_deadline
    )
    if not closes_in_full(order, ledger):
        return step.commit(effects, ledger=ledger, cases=cases, moved=moved)
    # D-12: everything paid is refunded before completion: the order closes.
    reason = CloseReason.REFUNDED_IN_FULL
    closed, also = close_cases(cases if cases is not None else order.cases, ledger, reason.code)
    exceptions, ended = close_exceptions(order.exceptions, step.at, step.settings.incidents)
    extra: list[Effect] = []
    state = order.hold.from_state if order.hold is not None else order.state
    if state in _UNSHIPPED:
        extra.append(ReleaseStock(order.id, step.version, len(effects), order.lines))
    message = f"Your order was closed: {reason.description}."
    extra.append(
        _notify(
            step, len(effects) + len(extra), NotificationTopic.CLOSED, message, reason=reason.code
        )
    )
    return step.commit(
        (*effects, *extra),
        ledger=ledger,
        cases=closed,
        moved=(*moved, *also),
        state=OrderState.CLOSED,
        closure=Closure(reason, "", step.at, step.actor),
        hold=None,
        deadlines=(),
        exceptions=exceptions,
        raised=ended,
    )


def apply_confirm_refund(step: Step) -> tuple[Order, HistoryEntry]:
    """AS-6: the payment side paid the refund back; the customer is told; its case follows,
    and an order refunded in full before completion closes (D-12)."""
    command = step.command
    assert isinstance(command, c.ConfirmRefund)
    ledger = step.order.ledger
    refund = ledger.refund(command.refund_id)
    assert refund is not None
    updated = replace(refund, status=RefundStatus.REFUNDED, last_error="")
    refunds = replace_refund(ledger, refund, updated)
    if refund.counts_against_paid:
        ledger = replace(
            ledger,
            amount_refunded=ledger.amount_refunded + refund.amount,
            amount_refund_pending=ledger.amount_refund_pending - refund.amount,
            refunds=refunds,
        )
    else:
        ledger = replace(ledger, refunds=refunds)
    notice = _notify(
        step,
        0,
        NotificationTopic.REFUNDED,
        f"A refund of {refund.amount} has been paid back to you.",
        refund_id=refund.refund_id,
        amount=str(refund.amount),
    )
    return _commit(step, ledger, refund.refund_id, (notice,))


def apply_fail_refund(step: Step) -> tuple[Order, HistoryEntry]:
    """AS-6, D-17: the refund failed; a known decline frees its room until it is retried,
    an unknown outcome keeps it."""
    command = step.command
    assert isinstance(command, c.FailRefund)
    ledger = step.order.ledger
    refund = ledger.refund(command.refund_id)
    assert refund is not None
    updated = replace(
        refund,
        status=RefundStatus.FAILED,
        last_error=command.error or ("declined" if command.declined else "outcome unknown"),
        declined=command.declined,
    )
    if refund.in_flight and not updated.in_flight:
        ledger = replace(ledger, amount_refund_pending=ledger.amount_refund_pending - refund.amount)
    ledger = replace(ledger, refunds=replace_refund(ledger, refund, updated))
    return _commit(step, ledger, refund.refund_id, ())


def apply_retry_refund(step: Step) -> tuple[Order, HistoryEntry]:
    """AS-6, D-17: ask again, under the same key after an unknown outcome; a declined
    refund takes its room back (its guard checked the room is still there)."""
    command = step.command
    assert isinstance(command, c.RetryRefund)
    ledger = step.order.ledger
    refund = ledger.refund(command.refund_id)
    assert refund is not None
    attempt = refund.attempts + 1
    # D-17: a new key only after a known decline; after an unknown outcome the provider may
    # still pay the earlier request, so the retry must carry the same key.
    key_attempt = attempt if refund.declined else refund.key_attempt
    updated = replace(
        refund,
        status=RefundStatus.PENDING,
        attempts=attempt,
        last_error="",
        key_attempt=key_attempt,
        declined=False,
    )
    if updated.in_flight and not refund.in_flight:
        ledger = replace(ledger, amount_refund_pending=ledger.amount_refund_pending + refund.amount)
    effect = RequestRefund(
        step.order.id,
        step.version,
        0,
        refund.refund_id,
        refund.amount,
        refund.reason,
        refund.payment_reference,
        attempt,
        updated.idempotency_key,
    )
    ledger = replace(ledger, refunds=replace_refund(ledger, refund, updated))
    return _commit(step, ledger, refund.refund_id, (effect,))
