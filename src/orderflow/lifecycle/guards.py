"""The lifecycle's guards: the checks a transition makes, each with the refusal it gives.

A guard's check returns ``None`` when the command may go on, or the values its refusal's
sentence names. What a command's payload alone decides (a blank tracking number, a close
reason that needs a note, a payment of zero) is refused when the command is built
(:class:`~orderflow.errors.InvalidInput`); the guards here judge the command against the
order: its state and money, its lines, its refunds, the time, the shop's limits. The guards
of corrections (LC-5, LC-7) are in :mod:`orderflow.lifecycle.corrections`, importable from
here too.
"""

from __future__ import annotations

from orderflow import commands as c
from orderflow.engine import Guard, GuardResult, RefusalText
from orderflow.errors import RefusalCategory
from orderflow.lifecycle.corrections import (
    CORRECTIONS_LEFT,
    LINES_CURRENCY,
    LINES_WITHIN_LIMITS,
    PRICE_CURRENCY,
    PRICE_LINE,
    PRICE_TOTAL_FITS,
    QUANTITY_WITHIN_LIMITS,
)
from orderflow.model import ActorKind, CloseReason
from orderflow.money import _EXACT
from orderflow.order import RefundStatus
from orderflow.step import Step

__all__ = [
    "AUTO_CLOSE_DUE",
    "AUTO_CLOSE_NO_PAYMENT_RUNNING",
    "AUTO_CONFIRM_DUE",
    "CLOSE_REASON_FOR_ACTOR",
    "CORRECTIONS_LEFT",
    "LINES_CURRENCY",
    "LINES_WITHIN_LIMITS",
    "PAYMENT_ATTEMPTS_LEFT",
    "PAYMENT_IN_PROGRESS",
    "PAYMENT_WINDOW_OPEN",
    "PAY_CURRENCY",
    "PRICE_CURRENCY",
    "PRICE_LINE",
    "PRICE_TOTAL_FITS",
    "QUANTITY_WITHIN_LIMITS",
    "REFUND_FAILED",
    "REFUND_PENDING",
    "REVIEW_AMOUNT",
]

_INVALID = RefusalCategory.INVALID
_FORBIDDEN = RefusalCategory.FORBIDDEN
_OK: GuardResult = None
_REFUSED: GuardResult = {}


# -- review (LC-2) --------------------------------------------------------------------------


def _amount_matches(step: Step) -> GuardResult:
    ledger = step.order.ledger
    net = _EXACT.subtract(ledger.amount_paid.amount, ledger.overpayment.amount)
    if net == ledger.amount_due.amount:
        return _OK
    return {"paid": ledger.amount_paid - ledger.overpayment, "due": ledger.amount_due}


REVIEW_AMOUNT = Guard(
    RefusalText(
        "amount_mismatch",
        "The amount paid ({paid}) does not equal the amount due ({due}).",
        "Hold the order and open a payment exception case.",
        "LC-2",
    ),
    _amount_matches,
)
"""The review refuses an order whose payments do not match what is due."""


# -- payments (D-10, D-16) ------------------------------------------------------------------


def _pay_currency(step: Step) -> GuardResult:
    command = step.command
    assert isinstance(command, c.Pay)
    if command.amount.currency == step.order.currency:
        return _OK
    return {"paid_in": command.amount.currency, "order_in": step.order.currency}


PAY_CURRENCY = Guard(
    RefusalText(
        "currency_mismatch",
        "The payment is in {paid_in}, the order in {order_in}.",
        "Refund the payment and ask the customer to pay in the order's currency.",
        "AS-5",
        _INVALID,
    ),
    _pay_currency,
    payload=True,
)
"""A payment in another currency than the order's is refused."""


def _payment_matches(step: Step) -> GuardResult:
    command = step.command
    assert isinstance(command, c.FailPayment)
    running = step.order.ledger.payment_in_progress
    return _OK if running == command.payment_reference else _REFUSED


def _any_payment_running(step: Step) -> GuardResult:
    return _OK if step.order.ledger.payment_in_progress is not None else _REFUSED


PAYMENT_IN_PROGRESS = Guard(
    RefusalText(
        "not_in_progress",
        "No payment with that reference is in progress for this order.",
        "Check the payment reference.",
        "D-10",
        _INVALID,
    ),
    _payment_matches,
    payload=True,
    probe=_any_payment_running,
)
"""Only the payment in progress can be failed."""


def _window_open(step: Step) -> GuardResult:
    due = step.settings.unpaid_due(step.order.created_at)
    return _REFUSED if due is not None and step.at >= due else _OK


PAYMENT_WINDOW_OPEN = Guard(
    RefusalText(
        "window_closed",
        "The time to pay for this order has run out.",
        "Place the order again.",
        "CL-7, D-16",
    ),
    _window_open,
)
"""A payment can no longer be started once the unpaid deadline has passed (D-16)."""


def _attempts_left(step: Step) -> GuardResult:
    limit = step.settings.max_payment_attempts
    started = sum(1 for entry in step.order.history if type(entry.command) is c.BeginPayment)
    return {"started": started} if started >= limit else _OK


PAYMENT_ATTEMPTS_LEFT = Guard(
    RefusalText(
        "too_many_attempts",
        "Payment was started {started} times for this order, the most allowed.",
        "Contact customer service to pay for this order.",
        "D-16",
    ),
    _attempts_left,
)
"""Starting payments is bounded, so that it cannot grow the history without end (D-16)."""


# -- closing (CL-6, CL-7, D-10) -------------------------------------------------------------


def _reason_for_actor(step: Step) -> GuardResult:
    command = step.command
    assert isinstance(command, c.Close)
    customer = step.actor.kind is ActorKind.CUSTOMER
    refused = customer and command.reason is not CloseReason.CUSTOMER_CANCELLED
    return _REFUSED if refused else _OK


CLOSE_REASON_FOR_ACTOR = Guard(
    RefusalText(
        "reason_not_allowed",
        "A customer closes an order only by cancelling it.",
        "Use the reason customer_cancelled.",
        "CL-6",
        _FORBIDDEN,
    ),
    _reason_for_actor,
    payload=True,
)
"""Customers close only with the reason ``customer_cancelled`` (CL-6)."""


def _unpaid_timer_due(step: Step) -> GuardResult:
    due = step.settings.unpaid_due(step.order.created_at)
    if due is None or step.at >= due:
        return _OK
    return {"due": due.isoformat()}


AUTO_CLOSE_DUE = Guard(
    RefusalText(
        "not_yet_due",
        "The order may stay unpaid until {due}.",
        "Wait until the payment timeout has passed.",
        "CL-7",
    ),
    _unpaid_timer_due,
)
"""The system closes an unpaid order only once its timeout has passed (CL-7)."""


def _auto_close_enabled(step: Step) -> GuardResult:
    return _REFUSED if step.settings.unpaid_timeout is None else _OK


AUTO_CLOSE_ENABLED = Guard(
    RefusalText(
        "disabled",
        "Unpaid orders are not closed automatically in this shop.",
        "Close the order by hand if it should be closed.",
        "D-10",
    ),
    _auto_close_enabled,
)
"""A shop may turn the unpaid timer off (D-10)."""


def _no_payment_running(step: Step) -> GuardResult:
    return _REFUSED if step.order.ledger.payment_in_progress is not None else _OK


AUTO_CLOSE_NO_PAYMENT_RUNNING = Guard(
    RefusalText(
        "payment_in_progress",
        "The customer is paying for this order right now.",
        "Wait for the payment to succeed or fail.",
        "D-10",
    ),
    _no_payment_running,
)
"""An unpaid order with a payment in progress is not closed (D-10)."""


# -- receipt (LC-4) -------------------------------------------------------------------------


def _auto_confirm_enabled(step: Step) -> GuardResult:
    return _REFUSED if step.settings.auto_confirm_after is None else _OK


AUTO_CONFIRM_ENABLED = Guard(
    RefusalText(
        "disabled",
        "Receipt is not confirmed automatically in this shop.",
        "Wait for the customer to confirm receipt.",
        "LC-4",
    ),
    _auto_confirm_enabled,
)
"""A shop may turn the automatic confirmation of receipt off."""


def _auto_confirm_due(step: Step) -> GuardResult:
    period = step.settings.auto_confirm_after
    shipment = step.order.shipment
    if period is None or shipment is None or shipment.delivered_at is None:
        return _OK
    due = shipment.delivered_at + period
    return {"due": due.isoformat()} if step.at < due else _OK


AUTO_CONFIRM_DUE = Guard(
    RefusalText(
        "not_yet_due",
        "Receipt is confirmed automatically from {due}.",
        "Wait for the customer, or until the automatic confirmation is due.",
        "LC-4",
    ),
    _auto_confirm_due,
)
"""Receipt is confirmed automatically only once the period after delivery has passed."""


# -- refunds (AS-6, D-17) -------------------------------------------------------------------


def _refund_in(status: RefundStatus) -> Guard:
    def check(step: Step) -> GuardResult:
        command = step.command
        assert isinstance(command, c.ConfirmRefund | c.FailRefund | c.RetryRefund)
        refund = step.order.ledger.refund(command.refund_id)
        if refund is not None and refund.status is status:
            return _OK
        return {"named": f" {command.refund_id}"}

    def probe(step: Step) -> GuardResult:
        refunds = step.order.ledger.refunds
        return _OK if any(refund.status is status for refund in refunds) else {"named": ""}

    return Guard(
        RefusalText(
            f"refund_not_{status.value}",
            f"This order has no {status.value} refund{{named}}.",
            "Check the refund id and its status before acting on it.",
            "AS-6",
            _INVALID,
        ),
        check,
        payload=True,
        probe=probe,
    )


REFUND_PENDING = _refund_in(RefundStatus.PENDING)
"""Only a pending refund is confirmed or failed."""
REFUND_FAILED = _refund_in(RefundStatus.FAILED)
"""Only a failed refund is retried."""
