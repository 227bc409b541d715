"""Hypothesis strategies for after-sales commands on a given order (AS-1..AS-7, D-5..D-8).

Each strategy reads the order it is given and draws what makes sense for it (its line SKUs
and quantities, its cases' ids and states, its refunds, its currency), with a share of
commands that are wrong for it (an unknown SKU or case, a state the case is not in, an amount
above the caps). Every command drawn can be built. :mod:`orderflow.testing.case_strategies`
gathers these with the exception commands and says who sends each.
"""

from __future__ import annotations

from decimal import Decimal

from hypothesis import strategies as st

from orderflow import commands as c
from orderflow.aftersales.case import AfterSalesCase, CaseState
from orderflow.aftersales.commands import (
    ApproveCase,
    AskForReview,
    DecideReview,
    OverrideDenial,
    RejectCase,
    RequestAfterSales,
    ShareRequest,
    Units,
)
from orderflow.aftersales.followups import (
    ReceiveReturn,
    RefundMoneyOnly,
    ReportReturnLost,
    ShipBack,
    ShipReplacement,
)
from orderflow.aftersales.model import Basis, CaseKind, CaseReason, ReturnCondition
from orderflow.aftersales.money import standing
from orderflow.ledger import RefundStatus
from orderflow.model import OrderState
from orderflow.money import Money, currency_exponent
from orderflow.order import Order
from orderflow.testing.strategies import money

__all__ = [
    "case_commands",
    "case_decisions",
    "case_requests",
    "money_only_refunds",
    "refund_answers",
    "return_steps",
]

_REASONS: dict[CaseKind, tuple[Basis, ...]] = {
    CaseKind.NOT_RECEIVED: (Basis.NOT_RECEIVED, Basis.DELIVERY_DISPUTE),
    CaseKind.REFUND_ONLY: (Basis.AGREED, Basis.QUALITY),
    CaseKind.RETURN: (Basis.NO_REASON, Basis.QUALITY, Basis.DELIVERY_DISPUTE),
    CaseKind.EXCHANGE: (Basis.QUALITY, Basis.NO_REASON, Basis.DELIVERY_DISPUTE),
}
_AFTER_DELIVERY = (CaseKind.RETURN, CaseKind.EXCHANGE, CaseKind.REFUND_ONLY)
_KINDS_BY_STATE: dict[OrderState, tuple[CaseKind, ...]] = {
    OrderState.PAID: (CaseKind.NOT_RECEIVED,),
    OrderState.AWAITING_SHIPMENT: (CaseKind.NOT_RECEIVED,),
    OrderState.IN_FULFILMENT: (CaseKind.NOT_RECEIVED,),
    OrderState.SHIPPED: (CaseKind.NOT_RECEIVED,),
    OrderState.ON_HOLD: (CaseKind.NOT_RECEIVED,),
}
"""The kinds a request on an order in each state mostly asks for (D-5)."""
_UNSHIPPED = frozenset({OrderState.PAID, OrderState.AWAITING_SHIPMENT, OrderState.IN_FULFILMENT})
_NOTES = ("customer asked", "checked with the warehouse", "see the photos")

Draw = st.DrawFn


# -- what every strategy draws from the order ----------------------------------------------


def one_in(times: int) -> st.SearchStrategy[bool]:
    """``True`` about once in ``times`` draws (shrinking to ``False``)."""
    return st.sampled_from([False] * (times - 1) + [True])


def _smallest(order: Order) -> Decimal:
    return Decimal(1).scaleb(-currency_exponent(order.currency))


def _amounts(order: Order, *, most: Decimal | None = None) -> st.SearchStrategy[Money]:
    """Positive amounts in the order's currency, up to ``most`` (what the order costs, by
    default) and now and then a little above it."""
    top = most if most is not None else order.amount_due.amount
    top = max(top, _smallest(order))
    within = money(order.currency, min_value=_smallest(order), max_value=top)
    above = money(order.currency, min_value=top, max_value=top * 2 + 1)
    return st.one_of(within, within, within, above).filter(lambda amount: amount.is_positive())


@st.composite
def _skus(draw: Draw, order: Order) -> str:
    """One of the order's SKUs, now and then (one in eight) one it does not have."""
    if draw(one_in(8), label="unknown SKU?"):
        return "SKU-unknown"
    return draw(st.sampled_from([line.sku for line in order.lines]), label="sku")


@st.composite
def _units(draw: Draw, order: Order, *, least: int = 0) -> tuple[Units, ...]:
    """Units of some of the order's lines (within each line's quantity, now and then one
    more), now and then of a SKU it does not have."""
    quantities = {line.sku: line.quantity for line in order.lines}
    skus = draw(st.lists(_skus(order), min_size=least, max_size=3, unique=True))
    return tuple(
        Units(sku, draw(st.integers(1, quantities.get(sku, 1) + 1), label="units")) for sku in skus
    )


@st.composite
def _case_id(draw: Draw, order: Order) -> str:
    """The id of one of the order's after-sales cases, now and then one it does not have."""
    ids = [case.case_id for case in order.cases]
    unknown = f"{order.id}/case/99"
    if not ids or draw(one_in(10), label="unknown case?"):
        return unknown
    return draw(st.sampled_from(ids), label="case")


def _note() -> st.SearchStrategy[str]:
    return st.sampled_from(_NOTES)


# -- after-sales -----------------------------------------------------------------------------


@st.composite
def case_requests(draw: Draw, order: Order) -> RequestAfterSales:
    """Requests of every kind (AS-1) on ``order``: mostly of a kind its state allows (D-5),
    with a reason that fits the kind
    and units of the order's lines, now and then any reason, more units than a line has, an
    unknown SKU, or the id of a case the order already has. A refund only names an amount
    up to what the order cost (now and then above it)."""
    kinds = _KINDS_BY_STATE.get(order.state, _AFTER_DELIVERY)
    kind = draw(st.one_of(st.sampled_from(kinds), st.sampled_from(CaseKind)), label="kind")
    fitting = [reason for reason in CaseReason.known() if reason.basis in _REASONS[kind]]
    known = [reason for reason in CaseReason.known() if reason.basis is not Basis.AGREED]
    reason = draw(st.one_of(st.sampled_from(fitting), st.sampled_from(fitting),
                            st.sampled_from(known)), label="reason")  # fmt: skip
    least = 1 if kind in (CaseKind.RETURN, CaseKind.EXCHANGE) else 0
    lines = draw(_units(order, least=least), label="lines")
    amount = draw(_amounts(order)) if kind is CaseKind.REFUND_ONLY else None
    case_id = None
    if draw(one_in(10), label="case id?") and order.cases:
        case_id = draw(st.sampled_from([case.case_id for case in order.cases]))
    return RequestAfterSales(
        kind,
        reason,
        lines,
        amount,
        note=draw(st.sampled_from(["", *_NOTES])),
        stated_unsealed=draw(one_in(10), label="unsealed?"),
        case_id=case_id,
    )


@st.composite
def _approve(draw: Draw, order: Order, case_id: str) -> ApproveCase:
    case = order.case(case_id)
    skus = [line.sku for line in case.lines] if case else []
    chosen = draw(st.lists(st.sampled_from(skus or ["SKU-unknown"]), max_size=2, unique=True))
    partly = set(chosen) != set(skus) and bool(chosen)
    reason = "partly used" if partly or draw(st.booleans()) else ""
    return ApproveCase(case_id, tuple(chosen), reason)


@st.composite
def _reject(draw: Draw, order: Order, case_id: str) -> RejectCase:
    case = order.case(case_id)
    skus = [line.sku for line in case.lines] if case else ["SKU-unknown"]
    chosen = draw(st.lists(st.sampled_from(skus), max_size=2, unique=True))
    return RejectCase(case_id, "not as the buyer says", tuple(chosen))


@st.composite
def case_decisions(draw: Draw, order: Order) -> c.Command:
    """Decisions on the order's after-sales cases (or an unknown case): approve all lines
    or some (rejecting the others with a reason), reject all or some, ask for a review,
    decide a review either way, override a denial with a justification (D-8)."""
    case_id = draw(_case_id(order))
    choice = draw(st.sampled_from(["approve", "reject", "ask", "decide", "override"]))
    return draw(_case_command(order, case_id, choice))


@st.composite
def _ship_back(draw: Draw, order: Order, case_id: str) -> ShipBack:
    cost = draw(st.one_of(st.none(), _amounts(order, most=Decimal(30))), label="shipping")
    carrier = draw(st.sampled_from(["YTO", "SF Express"]))
    return ShipBack(case_id, carrier, f"RT-{draw(st.integers(1, 3))}", cost)


@st.composite
def _receive(draw: Draw, order: Order, case_id: str) -> ReceiveReturn:
    case = order.case(case_id)
    approved = [line for line in case.lines if line.approved] if case else []
    if approved and draw(st.integers(0, 4), label="as approved?") > 0:
        units = tuple(
            Units(line.sku, draw(st.integers(1, line.approved + 1), label="received"))
            for line in approved
            if draw(st.booleans(), label="line received")
        ) or (Units(approved[0].sku, approved[0].approved),)
    else:
        units = draw(_units(order, least=1))
    condition = draw(st.sampled_from(ReturnCondition), label="condition")
    if condition is ReturnCondition.DAMAGED_BY_BUYER:
        deduction = draw(_amounts(order, most=Decimal(20)), label="deduction")
        return ReceiveReturn(case_id, units, condition, deduction, "scratched by the buyer")
    return ReceiveReturn(case_id, units, condition)


@st.composite
def return_steps(draw: Draw, order: Order) -> c.Command:
    """What follows an approved return or exchange, on the order's cases (or an unknown
    one): ship back (carrier, tracking, sometimes a shipping cost), receive (the approved
    units in some condition, now and then more units or another SKU; a deduction with its
    justification for goods damaged by the buyer), report the return lost (refunded or not,
    D-7), ship the replacement of an exchange."""
    case_id = draw(_case_id(order))
    choice = draw(st.sampled_from(["ship_back", "receive", "lost", "replace"]))
    return draw(_case_command(order, case_id, choice))


@st.composite
def money_only_refunds(draw: Draw, order: Order) -> RefundMoneyOnly:
    """Money-only refunds (AS-7) of up to what the order may still be refunded (now and then
    more), spread over the lines, or shared out to one or two of them; sometimes with a
    caller-given refund id, which may be one the order already has."""
    room = standing(order).room.amount
    amount = draw(_amounts(order, most=room if room > 0 else None), label="amount")
    shares: tuple[ShareRequest, ...] = ()
    shared = draw(st.sampled_from([0, 0, 1, 2]), label="lines shared to")
    skus = draw(st.lists(_skus(order), min_size=shared, max_size=shared, unique=True))
    if len(skus) == 1:
        shares = (ShareRequest(skus[0], amount),)
    elif len(skus) == 2 and amount.amount > _smallest(order):
        first = Money(_smallest(order), order.currency)
        shares = (ShareRequest(skus[0], first), ShareRequest(skus[1], amount - first))
    refund_id = None
    if draw(one_in(5), label="refund id?"):
        used = [refund.refund_id for refund in order.ledger.refunds]
        refund_id = draw(st.sampled_from([*used, f"{order.id}/refund/given"]))
    return RefundMoneyOnly(amount, "part of a line out of stock", shares, refund_id)


@st.composite
def refund_answers(draw: Draw, order: Order, case_id: str | None = None) -> c.Command:
    """The payment side's answers on the order's refunds: confirm (most often), fail
    (declined or not) or retry. Mostly on a refund the answer fits (a pending one to confirm
    or fail, a failed one to retry), of ``case_id`` when it has one; else on any refund of
    the order, or an unknown one."""
    answer = draw(st.sampled_from(["confirm", "confirm", "declined", "failed", "retry"]))
    wanted = RefundStatus.FAILED if answer == "retry" else RefundStatus.PENDING
    refunds = [r for r in order.ledger.refunds if not case_id or r.case_id == case_id]
    fitting = [r.refund_id for r in refunds if r.status is wanted]
    every = [r.refund_id for r in order.ledger.refunds]
    if not fitting or draw(one_in(5), label="any refund?"):
        fitting = every or [f"{order.id}/refund/99"]
    refund_id = draw(st.sampled_from(fitting), label="refund")
    if answer == "confirm":
        return c.ConfirmRefund(refund_id)
    if answer == "retry":
        return c.RetryRefund(refund_id)
    return c.FailRefund(refund_id, "card expired", declined=answer == "declined")


def _case_command(order: Order, case_id: str, choice: str) -> st.SearchStrategy[c.Command]:
    """The case command named ``choice`` on the case ``case_id``."""
    builders: dict[str, st.SearchStrategy[c.Command]] = {
        "approve": _approve(order, case_id),
        "reject": _reject(order, case_id),
        "ask": st.builds(AskForReview, st.just(case_id), _note()),
        "decide": st.builds(DecideReview, st.just(case_id), st.booleans(), _note()),
        "override": st.builds(OverrideDenial, st.just(case_id), st.just("goodwill")),
        "ship_back": _ship_back(order, case_id),
        "receive": _receive(order, case_id),
        "lost": st.builds(ReportReturnLost, st.just(case_id), st.booleans(), _note()),
        "replace": st.builds(
            ShipReplacement, st.just(case_id), st.just("SF Express"), st.just("SF-R1")
        ),
        "refund": refund_answers(order, case_id),
    }
    return builders[choice]


S = CaseState
_WAITS_FOR: dict[CaseState, tuple[str, ...]] = {
    S.REQUESTED: ("approve", "approve", "reject"),
    S.REJECTED: ("ask", "override", "approve"),
    S.IN_REVIEW: ("decide", "decide", "override"),
    S.APPROVED: ("ship_back", "ship_back", "lost", "receive"),
    S.RETURNING: ("receive", "receive", "lost"),
    S.RECEIVED: ("replace", "replace", "refund"),
    S.REFUND_PENDING: ("refund", "refund", "lost"),
    S.REFUND_FAILED: ("refund", "refund", "ask"),
    S.REFUNDED: ("refund", "approve", "replace"),
    S.EXCHANGED: ("replace", "receive"),
    S.CLOSED: ("approve", "ship_back", "refund"),
}
"""For a case in each state, the commands it waits for (and a few it does not)."""


@st.composite
def case_commands(draw: Draw, order: Order) -> c.Command:
    """Any after-sales command on ``order``: mostly one that a case of the order waits for
    in its state (approve a request, ship back an approved return, receive a returning one,
    answer a pending refund, ...), else a new request, a money-only refund, an answer on a
    refund, or a command for a case in a state that refuses it or for an unknown case. A
    money-only refund is drawn for an order not shipped yet, an answer on a refund else."""
    roll = draw(st.integers(0, 9), label="what")
    cases = order.open_cases
    if not cases or draw(one_in(5), label="any case?"):
        ended = draw(one_in(4), label="an ended case?")
        cases = order.cases if ended else ()
    if cases and roll < 6:
        case: AfterSalesCase = draw(st.sampled_from(cases), label="case")
        choice = draw(st.sampled_from(_WAITS_FOR[case.state]), label="waits for")
        return draw(_case_command(order, case.case_id, choice))
    if roll < 8:
        return draw(case_requests(order))
    if roll == 8:
        unshipped = order.state in _UNSHIPPED or (
            order.hold is not None and order.hold.from_state in _UNSHIPPED
        )
        return draw(money_only_refunds(order) if unshipped else refund_answers(order))
    return draw(st.one_of(case_decisions(order), return_steps(order)))
