"""Properties of the after-sales case machine over random sequences of commands from random
actors: requests, approvals, rejections, reviews, overrides, ship-backs, receipts, lost
returns, replacements, refund confirmations, failures and retries, money-only refunds, the
lifecycle's own steps, and timers fired when due (AS-5, AS-6, D-6, D-15, D-17).

After every step: confirmed refunds never exceed what was paid; no line's refunds exceed what
it cost; the pending amount is exactly the refunds in flight; nothing has negative room; every
case has ended or is open with its deadline among the order's; and a refused command changed
nothing and was refused by the dry run for the same reasons.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orderflow import (
    Actor,
    ApproveReview,
    Close,
    CloseReason,
    CommandRefused,
    ConfirmDelivery,
    ConfirmReceipt,
    ConfirmRefund,
    FailRefund,
    Money,
    Order,
    Outcome,
    RetryRefund,
    Ship,
    StartFulfilment,
)
from orderflow.aftersales import (
    ApproveCase,
    AskForReview,
    CaseKind,
    CaseReason,
    CaseState,
    DecideReview,
    OverrideDenial,
    ReceiveReturn,
    RefundMoneyOnly,
    RejectCase,
    ReportReturnLost,
    RequestAfterSales,
    ReturnCondition,
    ShareRequest,
    ShipBack,
    ShipReplacement,
    Units,
    standing,
)
from orderflow.commands import Command
from orderflow.errors import InvalidInput
from orderflow.ledger import RefundStatus
from orderflow.machine import check_invariants
from orderflow.model import OrderState
from orderflow.serialization import dump, load
from orderflow.timers import TIMERS
from tests.case_support import (
    AGENT,
    BUYER,
    CASHIER,
    LC,
    OTHER_BUYER,
    OVERRIDER,
    STAFF,
    SUPERVISOR,
    SYSTEM,
    delivered,
    paid,
)

SKUS = ("TEA", "CUP", "BOWL", "TEAPOT")
REASONS = (
    CaseReason.NOTHING_SHIPPED,
    CaseReason.CARRIER_PROBLEM,
    CaseReason.EMPTY_PARCEL,
    CaseReason.NOT_SHIPPED_ON_TIME,
    CaseReason.WRONG_ITEM,
    CaseReason.BOUGHT_BY_MISTAKE,
    CaseReason.NO_REASON,
    CaseReason.QUALITY_PROBLEM,
    CaseReason.NOT_AS_DESCRIBED,
    CaseReason.AGREED_AMOUNT,
)
ACTORS = (BUYER, OTHER_BUYER, AGENT, SUPERVISOR, OVERRIDER, CASHIER, STAFF, SYSTEM)
STARTS = {"paid": paid(), "delivered": delivered()}
PAUSES = (
    timedelta(0),
    timedelta(minutes=1),
    timedelta(hours=5),
    timedelta(days=1),
    timedelta(days=4),
)

Draw = st.DataObject
Built = tuple[Command, Actor]


def _cny(data: Draw, most: int = 6_000) -> Money:
    cents = data.draw(st.integers(1, most), label="cents")
    return Money(Decimal(cents).scaleb(-2), "CNY")


def _units(data: Draw, least: int = 0) -> tuple[Units, ...]:
    skus = data.draw(st.lists(st.sampled_from(SKUS), min_size=least, max_size=3, unique=True))
    return tuple(Units(sku, data.draw(st.integers(1, 3), label="units")) for sku in skus)


def _case_id(data: Draw, order: Order) -> str:
    ids = [item.case_id for item in order.cases] or ["o-1/case/1"]
    return data.draw(st.sampled_from(ids), label="case")


def _refund_id(data: Draw, order: Order, case_id: str | None = None) -> str:
    refunds = order.ledger.refunds
    own = [refund.refund_id for refund in refunds if refund.case_id == case_id]
    ids = own or [refund.refund_id for refund in refunds] or ["o-1/refund/1"]
    return data.draw(st.sampled_from(ids), label="refund")


def _skus(data: Draw) -> tuple[str, ...]:
    return tuple(data.draw(st.lists(st.sampled_from(SKUS[:3]), max_size=2, unique=True)))


def _request(data: Draw, order: Order) -> Built:
    kind = data.draw(st.sampled_from(CaseKind))
    reason = data.draw(st.sampled_from(REASONS))
    least = 1 if kind in (CaseKind.RETURN, CaseKind.EXCHANGE) else 0
    amount = _cny(data) if kind is CaseKind.REFUND_ONLY else None
    return RequestAfterSales(kind, reason, _units(data, least), amount), BUYER


def _approve(data: Draw, case_id: str) -> Built:
    reason = data.draw(st.sampled_from(["", "partly used"]))
    return ApproveCase(case_id, _skus(data), reason), AGENT


def _reject(data: Draw, case_id: str) -> Built:
    return RejectCase(case_id, "not as claimed", _skus(data)), AGENT


def _ask_for_review(data: Draw, case_id: str) -> Built:
    return AskForReview(case_id), BUYER


def _decide_review(data: Draw, case_id: str) -> Built:
    return DecideReview(case_id, data.draw(st.booleans()), "looked again"), SUPERVISOR


def _override(data: Draw, case_id: str) -> Built:
    return OverrideDenial(case_id, "goodwill"), OVERRIDER


def _ship_back(data: Draw, case_id: str) -> Built:
    cost = _cny(data, 2_000) if data.draw(st.booleans()) else None
    return ShipBack(case_id, "YTO", "YT1", cost), BUYER


def _receive(data: Draw, case_id: str, order: Order) -> Built:
    found = order.case(case_id)
    approved = [line for line in found.lines if line.approved] if found else []
    if approved and data.draw(st.integers(0, 4)) > 0:
        units = tuple(
            Units(line.sku, data.draw(st.integers(1, line.approved + 1), label="received"))
            for line in approved
            if data.draw(st.booleans(), label="line received")
        ) or (Units(approved[0].sku, approved[0].approved),)
    else:
        units = _units(data, 1)
    condition = data.draw(st.sampled_from(ReturnCondition))
    damaged = condition is ReturnCondition.DAMAGED_BY_BUYER
    deduction = _cny(data, 3_000) if damaged else None
    receipt = ReceiveReturn(case_id, units, condition, deduction, "chipped" if damaged else "")
    return receipt, AGENT


def _lost(data: Draw, case_id: str) -> Built:
    refund = data.draw(st.booleans())
    return ReportReturnLost(case_id, refund, "lost by the carrier"), AGENT


def _replace(data: Draw, case_id: str) -> Built:
    return ShipReplacement(case_id, "SF", "SF2"), AGENT


def _refund_answer(data: Draw, order: Order, case_id: str | None = None) -> Built:
    refund_id = _refund_id(data, order, case_id)
    answer = data.draw(st.sampled_from(["confirm", "confirm", "declined", "unknown", "retry"]))
    if answer == "confirm":
        return ConfirmRefund(refund_id), SYSTEM
    if answer == "retry":
        return RetryRefund(refund_id), SYSTEM
    return FailRefund(refund_id, "no", declined=answer == "declined"), SYSTEM


def _money_only(data: Draw, order: Order) -> Built:
    amount = _cny(data)
    shares: tuple[ShareRequest, ...] = ()
    if data.draw(st.booleans()):
        shares = (ShareRequest(data.draw(st.sampled_from(SKUS)), amount),)
    return RefundMoneyOnly(amount, "out of stock", shares), CASHIER


def _lifecycle(data: Draw, order: Order) -> Built:
    state = order.state
    if state is OrderState.PAID and data.draw(st.booleans()):
        return Close(CloseReason.OUT_OF_STOCK), STAFF
    steps: dict[OrderState, Command] = {
        OrderState.PAID: ApproveReview(),
        OrderState.AWAITING_SHIPMENT: StartFulfilment(),
        OrderState.IN_FULFILMENT: Ship("SF", "SF1"),
        OrderState.SHIPPED: ConfirmDelivery(),
    }
    return steps.get(state, ConfirmReceipt()), STAFF


S = CaseState
FITTING: dict[CaseState, tuple[str, ...]] = {
    S.REQUESTED: ("approve", "approve", "reject"),
    S.REJECTED: ("ask_for_review", "override", "approve"),
    S.IN_REVIEW: ("decide_review", "override"),
    S.APPROVED: ("ship_back", "ship_back", "lost", "receive"),
    S.RETURNING: ("receive", "receive", "lost"),
    S.RECEIVED: ("replace", "refund"),
    S.REFUND_PENDING: ("refund", "refund", "lost"),
    S.REFUND_FAILED: ("refund", "refund", "ask_for_review"),
    S.REFUNDED: ("refund", "approve", "replace"),
    S.EXCHANGED: ("replace", "receive"),
    S.CLOSED: ("approve", "ship_back", "refund"),
}
"""For a case in each state, the commands it waits for (and a few it does not)."""


def _for_case(data: Draw, order: Order, case_id: str, name: str) -> Built:
    """The case command called ``name`` for this case."""
    if name == "approve":
        return _approve(data, case_id)
    if name == "reject":
        return _reject(data, case_id)
    if name == "ask_for_review":
        return _ask_for_review(data, case_id)
    if name == "decide_review":
        return _decide_review(data, case_id)
    if name == "override":
        return _override(data, case_id)
    if name == "ship_back":
        return _ship_back(data, case_id)
    if name == "receive":
        return _receive(data, case_id, order)
    if name == "lost":
        return _lost(data, case_id)
    if name == "replace":
        return _replace(data, case_id)
    return _refund_answer(data, order, case_id)


def _build(data: Draw, order: Order) -> Built:
    """A command: mostly one a case of the order waits for, else a request, a money-only
    refund, a step of the lifecycle, or a command for any case or an unknown one."""
    roll = data.draw(st.integers(0, 9), label="what")
    if order.cases and roll < 6:
        case_id = _case_id(data, order)
        found = order.case(case_id)
        assert found is not None
        name = data.draw(st.sampled_from(FITTING[found.state]), label="fitting")
        return _for_case(data, order, case_id, name)
    if roll < 8:
        return _request(data, order)
    if roll == 8:
        return data.draw(st.sampled_from((_money_only, _lifecycle)), label="order")(data, order)
    names = ("approve", "reject", "ship_back", "receive", "lost", "replace", "refund")
    return _for_case(data, order, "o-1/case/9", data.draw(st.sampled_from(names)))


def _next(data: Draw, order: Order) -> tuple[Command, Actor, datetime] | None:
    """The next command, who sends it (usually the one it is meant for) and when; a due
    timer one time in eight."""
    last = order.updated_at
    if order.deadlines and data.draw(st.integers(0, 7), label="timer?") == 0:
        deadline = data.draw(st.sampled_from(order.deadlines), label="deadline")
        command = TIMERS[deadline.kind](order, deadline)
        return None if command is None else (command, SYSTEM, max(last, deadline.due_at))
    try:
        command, meant = _build(data, order)
    except InvalidInput:
        return None  # a malformed payload never reaches the order
    actor = meant
    if data.draw(st.integers(0, 9), label="other actor?") == 0:
        actor = data.draw(st.sampled_from(ACTORS), label="actor")
    return command, actor, last + data.draw(st.sampled_from(PAUSES), label="pause")


def _walk(data: Draw, start: str, after: Callable[[Outcome], None]) -> Order:
    """Run random commands from random actors on an order, checking each against the dry
    run: a refused command was foreseen by :meth:`Lifecycle.check` with the same reasons and
    changed nothing; an applied one was foreseen as allowed and added one version. ``after``
    checks each applied outcome. Returns the order at the end."""
    order = STARTS[start]
    for _ in range(data.draw(st.integers(1, 30), label="steps")):
        chosen = _next(data, order)
        if chosen is None:
            continue
        command, actor, at = chosen
        predicted = LC.check(order, command, actor, at)
        version = order.version
        if predicted:
            with pytest.raises(CommandRefused) as refused:
                LC.handle(order, command, actor, at)
            assert refused.value.reasons == predicted
            assert order.version == version
            continue
        outcome = LC.handle(order, command, actor, at)
        assert outcome.order.version == version + (0 if outcome.replayed else 1)
        order = outcome.order
        after(outcome)
    return order


def _closed_by(outcome: Outcome) -> frozenset[str]:
    return frozenset(
        moved.case_id for moved in outcome.entry.cases if moved.to_state is CaseState.CLOSED
    )


def assert_money_adds_up(order: Order) -> None:
    """AS-5, AS-6, D-6, D-17: confirmed refunds never exceed what was paid, the pending
    amount is exactly the refunds in flight, and the order's room is never negative."""
    ledger = order.ledger
    counted = [refund for refund in ledger.refunds if refund.counts_against_paid]
    confirmed = Money.sum((r.amount for r in counted if r.status is RefundStatus.REFUNDED), "CNY")
    in_flight = Money.sum((r.amount for r in counted if r.in_flight), "CNY")
    assert ledger.amount_refunded == confirmed
    assert ledger.amount_refund_pending == in_flight
    assert confirmed + in_flight <= ledger.amount_paid
    now = standing(order)
    assert now.pending == in_flight
    assert now.room >= Money.zero("CNY")


def assert_cases_are_sound(order: Order, closed_now: frozenset[str]) -> None:
    """AS-6, D-13, D-15: every case has ended or is open with its deadline among the
    order's; its state agrees with its refunds; a case the step closed has no money in
    flight (``closed_now``)."""
    refunds = order.ledger.refunds
    for item in order.cases:
        if item.is_open:
            assert item.deadline is not None, item.case_id
            assert item.deadline in order.deadlines, item.case_id
            assert item.deadline.case_id == item.case_id
        else:
            assert item.deadline is None, item.case_id
        assert item.amount >= Money.zero("CNY")
        own = [refund for refund in refunds if refund.case_id == item.case_id]
        assert sorted(r.refund_id for r in own) == sorted(item.refund_ids), item.case_id
        statuses = {refund.status for refund in own}
        if item.state is CaseState.REFUNDED:
            assert statuses == {RefundStatus.REFUNDED}, item.case_id
        elif item.state is CaseState.REFUND_PENDING:
            assert RefundStatus.PENDING in statuses, item.case_id
        elif item.state is CaseState.REFUND_FAILED:
            assert RefundStatus.FAILED in statuses, item.case_id
        elif item.case_id in closed_now:
            moving = [r for r in own if r.status is RefundStatus.PENDING or r.in_flight]
            assert moving == [], item.case_id
    after_sales = {case.case_id for case in order.cases}
    case_deadlines = [d for d in order.deadlines if d.case_id in after_sales]
    assert len(case_deadlines) == len(order.open_cases)
    for exception in order.exceptions:  # EX-6: an exception case open has its timer too
        if exception.is_open:
            assert exception.deadline is not None, exception.case_id
            assert exception.deadline in order.deadlines, exception.case_id


@given(st.data(), st.sampled_from(sorted(STARTS)))
def test_as5_d15_random_case_commands_keep_the_money_and_the_cases_sound(
    data: Draw, start: str
) -> None:
    """AS-5, AS-6, D-6, D-13, D-15, D-17: over random commands from random actors, each
    refused command was foreseen by the dry run and changed nothing, and after every step
    the order's money adds up and every case is sound."""

    def after(outcome: Outcome) -> None:
        assert_money_adds_up(outcome.order)
        assert_cases_are_sound(outcome.order, _closed_by(outcome))

    _walk(data, start, after)


def assert_lines_hold(order: Order) -> None:
    """AS-5, D-6, D-11, D-17: no line's refunds (in flight or confirmed) exceed what it cost,
    no line has negative room, units left stay between none and the line's quantity, and
    the order passes every invariant the library checks."""
    refunds = [refund for refund in order.ledger.refunds if refund.counts_against_paid]
    for line in order.lines:
        taken = Money.sum(
            (
                share.amount
                for refund in refunds
                if refund.in_flight or refund.status is RefundStatus.REFUNDED
                for share in refund.shares
                if share.sku == line.sku
            ),
            "CNY",
        )
        assert taken <= line.paid_total, line.sku
    for line_standing in standing(order).lines:
        assert line_standing.room >= Money.zero("CNY"), line_standing.sku
        assert 0 <= line_standing.units_left <= line_standing.quantity, line_standing.sku
    check_invariants(order)


@given(st.data(), st.sampled_from(sorted(STARTS)))
def test_as5_d11_random_case_commands_never_refund_a_line_above_its_cost(
    data: Draw, start: str
) -> None:
    """AS-5, D-6, D-11, D-17: over random commands from random actors, after every step no
    line is refunded above what it cost, its units left are never negative, and the order
    passes check_invariants; at the end it round-trips through JSON."""

    def after(outcome: Outcome) -> None:
        assert_lines_hold(outcome.order)

    order = _walk(data, start, after)
    assert load(json.loads(json.dumps(dump(order))), Order) == order
