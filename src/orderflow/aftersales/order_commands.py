"""After-sales commands on the order itself, run by the lifecycle machine: a money-only
refund on an open order (AS-7), a return window closing (TM-6), and the cap a retried refund
must still fit under (D-6).
"""

from __future__ import annotations

from orderflow.aftersales.followups import CloseReturnWindow, RefundMoneyOnly
from orderflow.aftersales.money import allocate, standing
from orderflow.commands import RetryRefund
from orderflow.deadlines import DeadlineKind
from orderflow.effects import NotificationTopic, NotifyCustomer, RefundReason
from orderflow.engine import Guard, GuardResult, RefusalText
from orderflow.errors import RefusalCategory
from orderflow.ledger import LineShare, RefundStatus
from orderflow.money import Money
from orderflow.order import HistoryEntry, Order
from orderflow.refunding import paying_reference, request_refund
from orderflow.step import Step

__all__ = [
    "MONEY_ONLY_GUARDS",
    "ROOM_FOR_RETRY",
    "WINDOW_ENDED",
    "WINDOW_RUNNING",
    "apply_close_return_window",
    "apply_refund_money_only",
]

_OK: GuardResult = None
_INVALID = RefusalCategory.INVALID
_WINDOWS = {"no_reason": DeadlineKind.NO_REASON_WINDOW, "quality": DeadlineKind.QUALITY_WINDOW}


# -- a money-only refund (AS-7) -----------------------------------------------------------------


def _money_only(step: Step) -> RefundMoneyOnly:
    command = step.command
    assert isinstance(command, RefundMoneyOnly)
    return command


def _currency(step: Step) -> GuardResult:
    currency = step.order.currency
    return {"currency": currency} if _money_only(step).amount.currency != currency else _OK


def _refund_id_free(step: Step) -> GuardResult:
    refund_id = _money_only(step).refund_id
    if refund_id is not None and step.order.ledger.refund(refund_id) is not None:
        return {"refund_id": refund_id}
    return _OK


def _lines_known(step: Step) -> GuardResult:
    skus = {line.sku for line in step.order.lines}
    for share in _money_only(step).shares:
        if share.sku not in skus:
            return {"sku": share.sku}
    return _OK


def _shares(step: Step) -> tuple[LineShare, ...]:
    """The lines the refund pays back: as given, or spread by what each may still be
    refunded (D-11)."""
    command = _money_only(step)
    if command.shares:
        return tuple(LineShare(share.sku, share.amount) for share in command.shares)
    lines = standing(step.order).lines
    parts = allocate(command.amount, [line.room for line in lines])
    return tuple(
        LineShare(line.sku, part)
        for line, part in zip(lines, parts, strict=True)
        if part.is_positive()
    )


def _within_caps(step: Step) -> GuardResult:
    command = _money_only(step)
    if command.amount.currency != step.order.currency:
        return _OK  # the currency guard refuses it
    now = standing(step.order)
    if command.amount > now.room:
        return {"remaining": now.room, "what": "this order"}
    for share in command.shares:
        line = now.line(share.sku)
        if line is not None and share.amount > line.room:
            return {"remaining": line.room, "what": f"line {share.sku}"}
    if not command.shares:
        total = Money.sum((line.room for line in now.lines), now.room.currency)
        if command.amount > total:
            return {"remaining": total, "what": "the order's lines"}
    return _OK


MONEY_ONLY_GUARDS: tuple[Guard, ...] = (
    Guard(
        RefusalText(
            "wrong_currency",
            "Amounts on this order are in {currency}.",
            "Give the amount in {currency}.",
            "AS-5",
            _INVALID,
        ),
        _currency,
        payload=True,
    ),
    Guard(
        RefusalText(
            "refund_id_taken",
            "This order already has a refund {refund_id}.",
            "Give a new refund id, or none to have one made.",
            "AS-6",
            _INVALID,
        ),
        _refund_id_free,
        payload=True,
    ),
    Guard(
        RefusalText(
            "unknown_line",
            "The order has no line {sku}.",
            "Name the lines as the order lists them.",
            "AS-7",
            _INVALID,
        ),
        _lines_known,
        payload=True,
    ),
    Guard(
        RefusalText(
            "over_cap",
            "That is more than {what} may still be refunded: {remaining} is left.",
            "Refund {remaining} or less; nothing is ever clamped.",
            "D-6, AS-5",
        ),
        _within_caps,
        payload=True,
    ),
)
"""AS-7, D-6: in the order's currency, a new refund id, known lines, within the caps."""


def apply_refund_money_only(step: Step) -> tuple[Order, HistoryEntry]:
    """AS-7: refund an amount on an open, unshipped order, spread over its lines."""
    command = _money_only(step)
    order = step.order
    effect, ledger = request_refund(
        step,
        0,
        command.amount,
        RefundReason.MONEY_ONLY,
        paying_reference(order.ledger),
        counts=True,
        ledger=order.ledger,
        refund_id=command.refund_id,
        shares=_shares(step),
    )
    notice = NotifyCustomer(
        order.id,
        step.version,
        1,
        order.customer_id,
        NotificationTopic.REFUND_REQUESTED,
        f"A refund of {command.amount} is on its way: {command.note}",
        {"refund_id": effect.refund_id, "amount": str(command.amount)},
    )
    return step.commit((effect, notice), ledger=ledger)


# -- a retried refund (D-6) ---------------------------------------------------------------------


def _room_for_retry(step: Step) -> GuardResult:
    command = step.command
    assert isinstance(command, RetryRefund)
    order = step.order
    refund = order.ledger.refund(command.refund_id)
    if (
        refund is None
        or refund.status is not RefundStatus.FAILED
        or refund.holds_room
        or not refund.counts_against_paid
    ):
        # an unknown outcome still holds its room; a refund outside the caps (a return's
        # shipping, an unapplied payment) needs none; others are refused elsewhere
        return _OK
    now = standing(order)
    if refund.amount > now.room:
        return {"remaining": now.room, "amount": refund.amount}
    for share in refund.shares:
        line = now.line(share.sku)
        if line is not None and share.amount > line.room:
            return {"remaining": line.room, "amount": refund.amount}
    return _OK


ROOM_FOR_RETRY = Guard(
    RefusalText(
        "room_taken",
        "The refund of {amount} was declined, and its room has been taken since: {remaining} "
        "may still be refunded.",
        "Refund what is left under a new refund instead.",
        "D-6, AS-6",
    ),
    _room_for_retry,
    payload=True,
)
"""D-6: a declined refund freed its room; retrying it checks the caps again."""


# -- a return window closes (TM-6) ------------------------------------------------------------


def _window_running(step: Step) -> GuardResult:
    command = step.command
    assert isinstance(command, CloseReturnWindow)
    kind = _WINDOWS[command.window]
    if any(deadline.kind is kind for deadline in step.order.deadlines):
        return _OK
    return {"window": command.window.replace("_", "-")}


WINDOW_RUNNING = Guard(
    RefusalText(
        "no_window",
        "The order has no {window} return window running.",
        "Nothing to close.",
        "TM-6",
    ),
    _window_running,
    payload=True,
)
"""TM-6: only a running window closes."""


def _window_ended(step: Step) -> GuardResult:
    command = step.command
    assert isinstance(command, CloseReturnWindow)
    kind = _WINDOWS[command.window]
    for deadline in step.order.deadlines:
        if deadline.kind is kind and not deadline.is_due(step.at):
            return {"due": deadline.due_at}
    return _OK


WINDOW_ENDED = Guard(
    RefusalText(
        "not_yet_due",
        "The return window is open until {due}.",
        "Wait until it ends (its end instant is outside, D-4).",
        "TM-6, D-4",
    ),
    _window_ended,
    payload=True,
)
"""TM-6: a window closes at its end, not before (D-15)."""


def apply_close_return_window(step: Step) -> tuple[Order, HistoryEntry]:
    """TM-6: the window closed: recorded in history, its deadline dropped."""
    command = step.command
    assert isinstance(command, CloseReturnWindow)
    kind = _WINDOWS[command.window]
    own = tuple(d for d in step.order.deadlines if d.case_id is None and d.kind is not kind)
    return step.commit(deadlines=own)
