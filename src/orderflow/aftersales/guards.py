"""The guards of the after-sales case machine and their refusals (D-5, D-6, D-8, D-11).

A refused request records nothing (only the policy's rules deny, and a denied request still
opens a case, rejected). Guards that read the command's payload are skipped when the engine
asks which commands an actor may send; they judge the command itself when it is checked or
handled.
"""

from __future__ import annotations

from collections.abc import Mapping

from orderflow.aftersales.case import AfterSalesCase
from orderflow.aftersales.commands import (
    ApproveCase,
    AskForReview,
    CaseCommand,
    RejectCase,
    RequestAfterSales,
)
from orderflow.aftersales.deciding import Decider
from orderflow.aftersales.decisions import Ruling
from orderflow.aftersales.followups import ShipBack
from orderflow.aftersales.model import Basis, CaseKind
from orderflow.aftersales.quotes import Quote
from orderflow.engine import Guard, GuardResult, RefusalText
from orderflow.errors import RefusalCategory
from orderflow.model import OrderState
from orderflow.step import Step

__all__ = [
    "ASK_ONCE",
    "CASE_TIMER_DUE",
    "KNOWN_SKUS",
    "NOTHING_UNSETTLED",
    "NOT_MANUAL",
    "REASON_FOR_THE_REST",
    "SHIPPING_CURRENCY",
    "case_of",
    "quote_guard",
    "request_guards",
]

_OK: GuardResult = None
_INVALID = RefusalCategory.INVALID
S = OrderState
_BEFORE_DELIVERY = frozenset({S.PAID, S.AWAITING_SHIPMENT, S.IN_FULFILMENT, S.SHIPPED})
_RECEIVED = frozenset({S.DELIVERED, S.COMPLETED})


def case_of(step: Step) -> AfterSalesCase:
    """The case a case command names (the engine found it, or the command would not run)."""
    command = step.command
    assert isinstance(command, CaseCommand)
    case = step.order.case(command.case_id)
    assert case is not None
    return case


def _judged_state(step: Step) -> OrderState:
    order = step.order
    return order.hold.from_state if order.hold is not None else order.state


# -- the request ------------------------------------------------------------------------------

_NOT_YET = RefusalText(
    "not_yet",
    "A {kind} case can be asked for once the order is {when}; it is {state}.",
    "Wait for the delivery, or ask for a refund of goods not received.",
    "D-5",
)
_CLOSED = RefusalText(
    "order_closed",
    "The order is {state}, so it takes no after-sales request.",
    "Contact the shop's customer service.",
    "D-5, LC-9",
)
_DELIVERED = RefusalText(
    "delivered",
    "The order was delivered, so goods not received can only be claimed by disputing the "
    "delivery (an empty parcel, missing items, a wrong item).",
    "Ask for a return or for a refund only instead.",
    "D-5",
)


def _order_allows(step: Step) -> GuardResult:
    command = step.command
    assert isinstance(command, RequestAfterSales)
    state = _judged_state(step)
    if state in (S.PENDING_PAYMENT, S.CLOSED):
        return _OK  # refused by _order_open, with its own reason
    if command.kind is CaseKind.NOT_RECEIVED:
        return _OK if state in _BEFORE_DELIVERY or state in _RECEIVED else {"state": state}
    if state in _RECEIVED:
        return _OK
    return {"kind": command.kind.value.replace("_", " "), "when": "delivered", "state": state}


def _order_open(step: Step) -> GuardResult:
    state = _judged_state(step)
    return {"state": state.value} if state in (S.PENDING_PAYMENT, S.CLOSED) else _OK


def _disputes_delivery(step: Step) -> GuardResult:
    command = step.command
    assert isinstance(command, RequestAfterSales)
    if command.kind is not CaseKind.NOT_RECEIVED or _judged_state(step) not in _RECEIVED:
        return _OK
    return _OK if command.reason.basis is Basis.DELIVERY_DISPUTE else {}


ORDER_OPEN = Guard(_CLOSED, _order_open, probe=_order_open)
"""D-5: an unpaid or closed order takes no request."""
ORDER_ALLOWS = Guard(_NOT_YET, _order_allows, payload=True)
"""D-5: goods not received from payment on; the other kinds from delivery on."""
DISPUTES_DELIVERY = Guard(_DELIVERED, _disputes_delivery, payload=True)
"""D-5: goods not received after a delivery only when the delivery is disputed."""

_QUOTE_TEXTS: Mapping[str, RefusalText] = {
    "unknown_line": RefusalText(
        "unknown_line",
        "The order has no line {sku}.",
        "Name the lines as the order lists them.",
        "AS-1",
        _INVALID,
    ),
    "units_left": RefusalText(
        "units_left",
        "Only {left} unit(s) of {sku} are left for after-sales, not {asked}: the others are "
        "in open cases or already refunded.",
        "Ask for the units left, or wait for the open cases to end.",
        "D-6",
    ),
    "nothing_left": RefusalText(
        "nothing_left",
        "Every unit of this order is already in an open case or refunded.",
        "Wait for the open cases to end.",
        "D-6",
    ),
    "over_cap": RefusalText(
        "over_cap",
        "That is more than may still be refunded: {remaining} is left.",
        "Ask for {remaining} or less; nothing is ever clamped.",
        "D-6, AS-5",
    ),
    "currency": RefusalText(
        "wrong_currency",
        "Amounts on this order are in {currency}.",
        "Give the amount in {currency}.",
        "AS-5",
        _INVALID,
    ),
    "not_approved": RefusalText(
        "not_approved",
        "Line {sku} was not approved in this case.",
        "Receive only the lines the case approved.",
        "D-7",
        _INVALID,
    ),
    "more_than_approved": RefusalText(
        "more_than_approved",
        "{asked} unit(s) of {sku} is more than the {approved} approved.",
        "Receive at most the units approved; open another case for the rest.",
        "D-7",
        _INVALID,
    ),
    "nothing_to_deduct": RefusalText(
        "nothing_to_deduct",
        "An exchange refunds nothing, so there is nothing to deduct from.",
        "Receive the goods as they are, or reject the exchange with the reason.",
        "D-7",
        _INVALID,
    ),
    "deduction_too_large": RefusalText(
        "deduction_too_large",
        "The deduction must be less than the {amount} the units received would refund.",
        "Reject the return instead, with the reason.",
        "D-7",
        _INVALID,
    ),
}


_last_quote: list[tuple[Step, object, Quote] | None] = [None]
"""The quote the last quote guard read, with its step: a command's guards all read the same
one (the step is held, so no other can take its identity while it is kept)."""


def quote_guard(problem: str, quote: object, *, payload: bool = True) -> Guard:
    """A guard refusing a command whose quote (``quote(step)``) has this problem."""
    text = _QUOTE_TEXTS[problem]

    def check(step: Step) -> GuardResult:
        held = _last_quote[0]
        if held is not None and held[0] is step and held[1] is quote:
            found = held[2]
        else:
            assert callable(quote)
            found = quote(step)
            assert isinstance(found, Quote)
            _last_quote[0] = (step, quote, found)
        if found.problem == problem:
            return found.values
        return _OK

    return Guard(text, check, payload=payload)


def request_guards(decider: Decider, cases_per_order: int) -> tuple[Guard, ...]:
    """The guards of a request: the order's state (D-5), then its quote (D-6, D-11)."""

    def quote(step: Step) -> Quote:
        command = step.command
        assert isinstance(command, RequestAfterSales)
        return decider.judge(step.order, command, step.at).quote

    def cases_left(step: Step) -> GuardResult:
        if len(step.order.cases) >= cases_per_order:
            return {"most": cases_per_order}
        return _OK

    return (
        ORDER_OPEN,
        ORDER_ALLOWS,
        DISPUTES_DELIVERY,
        Guard(
            RefusalText(
                "too_many_cases",
                "This order has {most} after-sales cases, the most this shop allows.",
                "Handle the request within an existing case.",
                "AS-1",
            ),
            cases_left,
            probe=cases_left,
        ),
        *(
            quote_guard(problem, quote)
            for problem in ("unknown_line", "currency", "units_left", "nothing_left", "over_cap")
        ),
    )


# -- decisions --------------------------------------------------------------------------------


def _known_skus(step: Step) -> GuardResult:
    command = step.command
    assert isinstance(command, ApproveCase | RejectCase)
    case = case_of(step)
    for sku in command.skus:
        line = case.line(sku)
        if line is None or line.rejected:
            return {"sku": sku}
    return _OK


KNOWN_SKUS = Guard(
    RefusalText(
        "unknown_line",
        "Line {sku} is not in this case, or was rejected already.",
        "Name the lines the case is about.",
        "AS-1",
        _INVALID,
    ),
    _known_skus,
    payload=True,
)
"""An approval or a rejection names lines the case holds."""


def _reason_for_the_rest(step: Step) -> GuardResult:
    command = step.command
    assert isinstance(command, ApproveCase)
    if not command.skus or command.reason.strip():
        return _OK
    case = case_of(step)
    rest = [line.sku for line in case.lines if not line.rejected and line.sku not in command.skus]
    return {"skus": ", ".join(rest)} if rest else _OK


REASON_FOR_THE_REST = Guard(
    RefusalText(
        "reason_required",
        "Approving some lines rejects the others ({skus}), which needs a reason.",
        "Give the reason the other lines are rejected.",
        "D-8",
        _INVALID,
    ),
    _reason_for_the_rest,
    payload=True,
)
"""A partial approval rejects the other lines, with a reason (D-8)."""


def _not_reviewed(step: Step) -> GuardResult:
    command = step.command
    assert isinstance(command, AskForReview)
    return {} if case_of(step).reviewed else _OK


ASK_ONCE = Guard(
    RefusalText(
        "reviewed_already",
        "A review was already asked for in this case; the supervisor's decision was final.",
        "Open a new request if something else is wrong.",
        "D-8",
    ),
    _not_reviewed,
    payload=True,
)
"""The buyer asks for a review once per case (D-8)."""


def _shipping_currency(step: Step) -> GuardResult:
    command = step.command
    assert isinstance(command, ShipBack)
    cost = command.shipping_cost
    currency = step.order.currency
    return {"currency": currency} if cost is not None and cost.currency != currency else _OK


SHIPPING_CURRENCY = Guard(_QUOTE_TEXTS["currency"], _shipping_currency, payload=True)
"""A return's shipping cost is in the order's currency."""


def _nothing_unsettled(step: Step) -> GuardResult:
    case = case_of(step)
    for refund in step.order.ledger.refunds:
        if refund.case_id == case.case_id and refund.unsettled:
            return {"refund_id": refund.refund_id}
    return _OK


NOTHING_UNSETTLED = Guard(
    RefusalText(
        "refund_unsettled",
        "Refund {refund_id} of this case may still be paid (its outcome is unknown).",
        "Retry it, or wait for the payment side's answer.",
        "AS-6, D-17",
    ),
    _nothing_unsettled,
    payload=True,
)
"""A case closes by hand only when none of its refunds may still be paid (D-17)."""


def _not_manual(step: Step) -> GuardResult:
    return {} if case_of(step).decision.ruling is Ruling.MANUAL else _OK


NOT_MANUAL = Guard(
    RefusalText(
        "manual_review",
        "This request waits for an agent's review; the seller's silence does not decide it.",
        "Approve or reject it as staff.",
        "AS-4",
    ),
    _not_manual,
    payload=True,
)
"""A request the policy sent to manual review is never decided by the seller-response
timer (AS-4)."""


def _timer_due(step: Step) -> GuardResult:
    deadline = case_of(step).deadline
    if deadline is None:
        return {"due": "never (the case runs no timer)"}
    return None if deadline.is_due(step.at) else {"due": deadline.due_at}


CASE_TIMER_DUE = Guard(
    RefusalText(
        "not_yet_due",
        "The case's timer is due from {due}.",
        "Wait for the timer; the seller and the buyer keep their time until then.",
        "D-15",
    ),
    _timer_due,
    payload=True,
)
"""A case's timer command acts only once the case's deadline is due (D-15)."""
