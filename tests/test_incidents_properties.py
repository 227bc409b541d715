"""Properties of order exceptions over random sequences of commands through the service, from
random actors: payments (surplus ones too), review with a random context from the host's port
(stock, list prices, VIP), fulfilment and ship attempts, carrier tracking events, agents opening
cases, case commands (acknowledge, escalate, resolve, compensate, close, follow up), holds,
releases, closing the order, and the timer sweep after random pauses (EX-2..EX-7, LC-6, RK-4,
TM-2..TM-7, D-13, D-15).

After every step: a held order never ships (LC-6, EX-6); an open case that holds the order
keeps it on hold; every exception case is closed or open with its deadline among the order's
(D-15: a visible next deadline); a refused command changed nothing in the store; the order
keeps every invariant. Review with any context never fails other than by a refusal: the
classifier never crashes.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from orderflow import (
    Actor,
    ApproveReview,
    Close,
    CloseReason,
    CommandRefused,
    ConfirmDelivery,
    Hold,
    Money,
    Order,
    OrderLine,
    Pay,
    Permission,
    Release,
    Ship,
    StartFulfilment,
    WithdrawFromFulfilment,
)
from orderflow.commands import Command
from orderflow.incidents import (
    PLAYBOOKS,
    Compensation,
    CompensationKind,
    ExceptionType,
    Level,
    Priority,
    Resolution,
    TrackingEvent,
    TrackingKind,
)
from orderflow.incidents.case import ExceptionState
from orderflow.incidents.commands import (
    AcknowledgeException,
    CloseException,
    EscalateException,
    OpenException,
    RecordCompensation,
    RecordFollowUp,
    RecordTracking,
    ResolveException,
)
from orderflow.machine import check_invariants
from orderflow.model import OrderState
from orderflow.sweep import SweepStatus
from tests.exception_support import LINES, Shop
from tests.support import ADDRESS, CUSTOMER, OTHER_CUSTOMER, STAFF, SYSTEM, cny

SKUS = ("SKU-A", "SKU-B", "SKU-C")
AGENT = Actor.staff("agent-2", Permission.EXCEPTIONS)
"""Handles exception cases and nothing more."""
CLERK = Actor.staff("clerk-1", Permission.FULFIL, Permission.SHIP, Permission.REVIEW)
"""Works the warehouse and reviews; may not touch exception cases."""
ACTORS = (STAFF, STAFF, STAFF, STAFF, AGENT, CLERK, CUSTOMER, OTHER_CUSTOMER, SYSTEM)
PAUSES = (
    timedelta(0),
    timedelta(minutes=1),
    timedelta(minutes=30),
    timedelta(hours=4),
    timedelta(days=1),
    timedelta(days=3),
)
Draw = st.DataObject


def _money(data: Draw, most: int = 30_000) -> Money:
    return Money(Decimal(data.draw(st.integers(1, most), label="cents")).scaleb(-2), "CNY")


def _case_id(data: Draw, order: Order) -> str:
    ids = [case.case_id for case in order.exceptions] or ["o-1/exception/1"]
    return data.draw(st.sampled_from(ids), label="case")


def _context(data: Draw, shop: Shop) -> None:
    """Fill the host's port with a random context (PT-4); half the time one without data."""
    if data.draw(st.booleans(), label="no data"):
        shop.host.stock, shop.host.prices, shop.host.vips = {}, {}, set()
        return
    skus = data.draw(st.lists(st.sampled_from(SKUS), max_size=3, unique=True), label="stocked")
    shop.host.stock = {sku: data.draw(st.integers(-3, 4), label="stock") for sku in skus}
    priced = data.draw(st.lists(st.sampled_from(SKUS), max_size=3, unique=True), label="priced")
    shop.host.prices = {sku: _money(data) for sku in priced}
    shop.host.vips = {CUSTOMER.id} if data.draw(st.booleans(), label="vip") else set()


def _resolve(data: Draw, shop: Shop, order: Order, case_id: str) -> Command:
    case = order.exception(case_id)
    fitting = PLAYBOOKS[case.type] if case is not None else ()
    if fitting and data.draw(st.integers(0, 4), label="from the playbook") > 0:
        resolution = data.draw(st.sampled_from(fitting), label="resolution")
    else:
        resolution = data.draw(st.sampled_from(Resolution), label="resolution")
    eta = None
    if resolution in (Resolution.WAIT_FOR_RESTOCK, Resolution.NEW_ETA):
        eta = shop.now + data.draw(st.sampled_from(PAUSES), label="eta")
    address = ADDRESS if resolution is Resolution.CORRECT_INFO else None
    if resolution is Resolution.CORRECT_PRICE:
        sku = data.draw(st.sampled_from([*SKUS, "SKU-Z"]), label="sku")
        price = _money(data, 12_000)
        return ResolveException(case_id, resolution, "agreed", sku=sku, unit_price=price)
    return ResolveException(case_id, resolution, "agreed", address, eta)


def _compensation(data: Draw, case_id: str) -> Command:
    approver = data.draw(st.sampled_from([None, "sup-1"]), label="approver")
    kind = data.draw(st.sampled_from(CompensationKind))
    return RecordCompensation(case_id, Compensation(kind, _money(data, 12_000), "", approver))


def _next_step(data: Draw, shop: Shop, order: Order) -> Command:
    """The lifecycle's next step from the order's state (paying, reviewing with a random
    context, fulfilling, shipping, delivering)."""
    state = order.hold.from_state if order.hold is not None else order.state
    if state is OrderState.PAID:
        _context(data, shop)
    steps: dict[OrderState, Command] = {
        OrderState.PENDING_PAYMENT: Pay(order.amount_due, "pay-1"),
        OrderState.PAID: ApproveReview(),
        OrderState.AWAITING_SHIPMENT: StartFulfilment(),
        OrderState.IN_FULFILMENT: Ship("SF Express", "SF1"),
        OrderState.SHIPPED: ConfirmDelivery(),
    }
    return steps.get(state, Pay(order.amount_due, "pay-2"))


def _command(data: Draw, shop: Shop, order: Order) -> Command | None:
    """A random command for the order; ``None`` for a sweep."""
    name = data.draw(
        st.sampled_from(
            (
                "next", "next", "next", "pay", "review", "fulfil", "withdraw", "ship", "ship",
                "deliver",
                "tracking", "tracking", "open", "acknowledge", "escalate", "resolve", "resolve",
                "compensate", "close_case", "follow_up", "hold", "release", "close", "sweep",
            )
        ),
        label="command",
    )  # fmt: skip
    if name == "sweep":
        return None
    if name == "next":
        return _next_step(data, shop, order)
    if name == "pay":
        reference = data.draw(st.sampled_from(["pay-1", "pay-2"]), label="reference")
        amount = order.amount_due if data.draw(st.booleans(), label="exact") else _money(data)
        return Pay(amount, reference)
    if name == "review":
        _context(data, shop)
        return ApproveReview()
    simple: dict[str, Command] = {
        "fulfil": StartFulfilment(),
        "withdraw": WithdrawFromFulfilment(),
        "ship": Ship("SF Express", "SF1"),
        "deliver": ConfirmDelivery(),
        "release": Release("go on"),
        "hold": Hold("checking"),
    }
    if name in simple:
        return simple[name]
    if name == "close":
        reason = data.draw(st.sampled_from([CloseReason.OUT_OF_STOCK, CloseReason.OTHER]))
        return Close(reason, "closing")
    if name == "tracking":
        kind = data.draw(st.sampled_from(TrackingKind), label="tracking")
        return RecordTracking(TrackingEvent(kind, shop.now))
    if name == "open":
        return OpenException(
            data.draw(st.sampled_from(ExceptionType), label="type"),
            "the buyer called",
            data.draw(st.sampled_from(Priority), label="priority"),
            major=data.draw(st.booleans(), label="major"),
            hold=data.draw(st.booleans(), label="hold"),
        )
    case_id = _case_id(data, order)
    if name == "acknowledge":
        return AcknowledgeException(case_id)
    if name == "escalate":
        level = data.draw(st.sampled_from([None, None, *Level]), label="level")
        return EscalateException(case_id, "needs more", level)
    if name == "resolve":
        return _resolve(data, shop, order, case_id)
    if name == "compensate":
        return _compensation(data, case_id)
    if name == "close_case":
        return CloseException(case_id)
    return RecordFollowUp(case_id, "called back")


def _check(order: Order) -> None:
    """The invariants every step keeps."""
    check_invariants(order)
    entries = list(order.history)
    for entry in entries:
        assert not (entry.from_state is OrderState.ON_HOLD and entry.to_state is OrderState.SHIPPED)
    if any(case.holds_order for case in order.exceptions):
        assert order.state is OrderState.ON_HOLD, "an open holding case keeps the order held"
    timed = {d.case_id: d for d in order.deadlines if d.case_id is not None}
    for case in order.exceptions:
        if case.state is ExceptionState.CLOSED:
            continue
        assert case.deadline is not None, f"{case.case_id} is open without a deadline"
        assert timed.get(case.case_id) == case.deadline, "the order shows the case's deadline"


@given(st.data())
def test_ex6_lc6_d15_random_sequences_keep_the_exception_invariants(data: Draw) -> None:
    """LC-6, EX-2..EX-7, RK-4, D-13, D-15, TM-2..TM-7: over random commands from random actors
    and sweeps after random pauses, a held order never ships, an open holding case keeps the
    order held, every case is closed or open with its deadline on the order, a refusal changes
    nothing, review with any context never fails but by a refusal, and every invariant holds."""
    shop = Shop()
    if data.draw(st.booleans(), label="earlier twin"):
        shop.place("o-0")  # the same lines a few minutes before: a duplicate at review (RK-2)
        shop.clock.advance(data.draw(st.sampled_from(PAUSES[:3]), label="twin gap"))
    lines = LINES if data.draw(st.booleans(), label="same lines") else (
        *LINES, OrderLine("SKU-C", 3, cny("2.00")),
    )  # fmt: skip
    if data.draw(st.integers(0, 3), label="paid at the start") > 0:
        shop.paid("o-1", lines=lines)
    else:
        shop.place("o-1", lines=lines)
    for _ in range(data.draw(st.integers(1, 40), label="steps")):
        before = shop.order()
        shop.clock.advance(data.draw(st.sampled_from(PAUSES), label="pause"))
        command = _command(data, shop, before)
        if command is None:
            report = shop.sweeper.run()
            assert all(r.status is not SweepStatus.FAILED for r in report.results), report
            _check(shop.order())
            continue
        actor = data.draw(st.sampled_from(ACTORS), label="actor")
        try:
            after = shop.service.handle("o-1", command, actor).order
        except CommandRefused:
            assert shop.order() == before, "a refusal changes nothing"
            continue
        if isinstance(command, Ship):
            assert before.state is not OrderState.ON_HOLD, "a held order never ships"
        _check(after)
