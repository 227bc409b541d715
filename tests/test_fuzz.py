"""Hostile input at every public entry point: the library's own errors, and nothing changed.

The entry points include every command of the order lifecycle, of after-sales cases and of
order exceptions, built from hostile fields and handled on orders with open cases.

Each test draws arguments that are either valid or hostile (None, bools, floats with NaN and
infinities, huge integers, 5,000-digit and 1 MB strings, NUL characters, lone surrogates,
non-ASCII digits, a list nested 50,000 deep, bytes, naive datetimes and datetimes next to
``datetime.min`` and ``datetime.max``, Decimal NaN and huge exponents, objects of the wrong
type) and checks that every call either succeeds or raises an :class:`OrderflowError`; a
store that refused a call holds exactly what it held before.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orderflow import (
    Actor,
    Address,
    Close,
    CloseReason,
    InvalidConfiguration,
    InvalidInput,
    Lifecycle,
    Money,
    Order,
    OrderflowError,
    OrderLine,
    OrderState,
    Outcome,
    PlaceOrder,
    Settings,
    money,
    register_currency,
)
from orderflow.adapters.memory import InMemoryStore
from orderflow.adapters.sql import SqlStore
from orderflow.adapters.sql.translate import _redact, _translate
from orderflow.aftersales import (
    CASE_COMMAND_TYPES,
    ApproveCase,
    CaseKind,
    CaseReason,
    ReceiveReturn,
    RequestAfterSales,
    ReturnCondition,
    ShareRequest,
    Units,
)
from orderflow.commands import COMMAND_TYPES
from orderflow.errors import StoreError
from orderflow.incidents.commands import (
    EXCEPTION_COMMAND_TYPES,
    EscalateException,
    OpenException,
    RecordCompensation,
    RecordTracking,
    ResolveException,
)
from orderflow.incidents.compensation import Compensation, CompensationKind
from orderflow.incidents.model import ExceptionType, Level, Priority, Resolution
from orderflow.incidents.tracking import TrackingEvent, TrackingKind
from orderflow.inputs import EARLIEST
from orderflow.limits import Limits
from orderflow.order import ORDER_FIELDS
from orderflow.ports import ManualClock, UuidIds
from orderflow.serialization import dump
from orderflow.service import OrderService
from tests.support import (
    ADDRESS,
    CUSTOMER,
    LIFECYCLE,
    STAFF,
    SYSTEM,
    T0,
    closed,
    cny,
    delivered,
    held,
    paid,
    place,
    shipped,
)
from tests.test_sql_adapter import BACKENDS, Database, snapshot


def _deep(depth: int) -> list[Any]:
    nested: list[Any] = []
    for _ in range(depth):
        nested = [nested]
    return nested


FAR_EAST = timezone(timedelta(hours=14))
FAR_WEST = timezone(timedelta(hours=-12))

HOSTILE: tuple[object, ...] = (
    None,
    True,
    False,
    0,
    -1,
    2**63,
    10**5000,
    -(10**5000),
    1.5,
    math.nan,
    math.inf,
    -math.inf,
    "",
    " ",
    "\t\n",
    "5" * 5000,
    "x" * 1_000_000,
    "a\x00b",
    "\x00",
    "\ud800",
    "ok\udfffok",
    "١٢٣",
    "１２３.４５",
    "1_000",
    "1e30",
    "NaN",
    "paid",
    "CNY",
    _deep(50_000),
    [],
    {},
    {"recipient": "Li Lei"},
    ("o-1",),
    b"bytes",
    bytearray(b"\x00"),
    datetime(2026, 3, 2, 10, 0),
    datetime.max,
    datetime.max.replace(tzinfo=UTC),
    datetime.max.replace(tzinfo=FAR_WEST),
    datetime.min.replace(tzinfo=FAR_EAST),
    datetime.min.replace(tzinfo=UTC),
    datetime(1969, 12, 31, 23, 59, tzinfo=UTC),
    datetime(8999, 12, 31, 23, 59, tzinfo=UTC),
    date(2026, 3, 2),
    timedelta.max,
    timedelta.min,
    timedelta(days=-1),
    timedelta(days=4000),
    Decimal("NaN"),
    Decimal("sNaN"),
    Decimal("-Infinity"),
    Decimal("1E+999999999"),
    Decimal("1E-999999999"),
    Decimal("9" * 60),
    object(),
    OrderState.PAID,
    Money("999999999999999999.99", "CNY"),
    Money("1", "USD"),
    cny("-5.00"),
    ADDRESS,
    CUSTOMER,
    CloseReason.OTHER,
)

hostile: st.SearchStrategy[object] = st.one_of(
    st.sampled_from(HOSTILE),
    st.text(max_size=20),
    st.integers(),
    st.floats(),
    st.decimals(),
    st.binary(max_size=8),
    st.datetimes(timezones=st.sampled_from([None, UTC, FAR_EAST, FAR_WEST])),
    st.timedeltas(),
    st.lists(st.integers(), max_size=3),
)


def either(valid: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Valid values or hostile ones, about half and half."""
    return st.one_of(valid, hostile)


def calling(call: Callable[[], object]) -> object:
    """Make the call: it may succeed or raise an orderflow error, nothing else."""
    try:
        return call()
    except OrderflowError as error:
        caught = error
    message = str(caught)  # the message builds, whatever the value, and stays short
    assert 0 < len(message) < 2_000
    return caught


# -- values -----------------------------------------------------------------------------------


def _with(order: Order, *steps: tuple[Any, Any]) -> Order:
    """The order after the steps, each a minute after the last change."""
    for command, actor in steps:
        order = LIFECYCLE.handle(
            order, command, actor, order.updated_at + timedelta(minutes=1)
        ).order
    return order


RETURN = RequestAfterSales(CaseKind.RETURN, CaseReason.NO_REASON, (Units("SKU-A", 1),))
NOT_RECEIVED = RequestAfterSales(CaseKind.NOT_RECEIVED, CaseReason.NOTHING_SHIPPED)
CASE_ORDERS = (
    _with(delivered(), (RETURN, CUSTOMER)),  # a return requested: o-1/case/1
    _with(delivered(), (RETURN, CUSTOMER), (ApproveCase("o-1/case/1"), STAFF)),
    _with(paid(), (NOT_RECEIVED, CUSTOMER), (ApproveCase("o-1/case/1"), STAFF)),  # refunding
    _with(paid(), (OpenException(ExceptionType.COMPLAINT, "rude", hold=True), STAFF)),
    _with(shipped(), (RecordTracking(TrackingEvent(TrackingKind.LOST, T0)), SYSTEM)),
)
"""Orders with open cases: after-sales (requested, approved, refund pending) and exception
cases (opened by hand, holding the order; opened by a tracking event)."""
ORDERS = (place(), paid(), shipped(), delivered(), closed(), held(paid()), *CASE_ORDERS)
valid_orders = st.sampled_from(ORDERS)
valid_actors = st.sampled_from([CUSTOMER, STAFF, SYSTEM])
valid_times = st.sampled_from(
    [T0 + timedelta(days=1), T0 + timedelta(days=30), datetime(8999, 1, 1, tzinfo=UTC)]
)
EDGE_TIMES = (
    datetime.max.replace(tzinfo=UTC),
    datetime.max.replace(tzinfo=FAR_WEST),
    datetime(8999, 12, 31, 23, 59, tzinfo=UTC),
    datetime(9000, 1, 1, tzinfo=UTC),
    datetime.min.replace(tzinfo=FAR_EAST),
    datetime(1969, 12, 31, 23, 59, tzinfo=UTC),
    datetime(2026, 3, 2, 10, 0),
)
times = st.one_of(valid_times, st.sampled_from(EDGE_TIMES), hostile)
MANY_LINES = tuple(OrderLine(f"SKU-{i}", 1, cny("1")) for i in range(150))
valid_lines = st.sampled_from(
    [
        (OrderLine("SKU-A", 2, cny("50.00"), name="tea"),),
        (OrderLine("SKU-A", 20_000, cny("1.00")),),
        (OrderLine("SKU-A", 1, Money("999999999999999999.99", "CNY")),),
        MANY_LINES,
    ]
)
VALID_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "order_id": st.sampled_from(["o-1", "o-new", "o" * 100]),
    "customer_id": st.sampled_from([CUSTOMER.id, "c-2"]),
    "lines": valid_lines,
    "address": st.just(ADDRESS),
    "payment_reference": st.sampled_from(["pay-1", "pay-2"]),
    "amount": st.sampled_from([cny("119.90"), cny("999999999999999999.99"), cny("0")]),
    "unit_price": st.sampled_from([cny("1.00"), cny("999999999999999999.99")]),
    "sku": st.sampled_from(["SKU-A", "SKU-B", "missing"]),
    "missing": st.one_of(st.none(), st.integers(-1, 10**7)),
    "carrier": st.sampled_from(["SF Express", ""]),
    "tracking_number": st.sampled_from(["SF1", ""]),
    "note": st.sampled_from(["", "customer asked", "n" * 2_000]),
    "error": st.sampled_from(["", "declined"]),
    "declined": st.booleans(),
    "reason": st.sampled_from(CloseReason.known()),
    "case_id": st.sampled_from([None, "case-1"]),
    "refund_id": st.sampled_from(["o-1/refund/1", "o-1/refund/2"]),
    "command_id": st.sampled_from([None, "cmd-1", "cmd-2"]),
    # after-sales and exception commands
    "kind": st.sampled_from(CaseKind),
    "skus": st.sampled_from([(), ("SKU-A",), ("SKU-A", "SKU-B"), ("SKU-A", "SKU-A")]),
    "justification": st.sampled_from(["", "goodwill", "j" * 2_000]),
    "shipping_cost": st.sampled_from([None, cny("8.00"), cny("0")]),
    "condition": st.sampled_from(ReturnCondition),
    "deduction": st.sampled_from([None, cny("5.00"), cny("999999999999999999.99")]),
    "window": st.sampled_from(["no_reason", "quality", "other"]),
    "shares": st.sampled_from(
        [(), (ShareRequest("SKU-A", cny("119.90")),), (ShareRequest("SKU-B", cny("1.00")),)]
    ),
    "stated_unsealed": st.booleans(),
    "approve": st.booleans(),
    "refund": st.booleans(),
    "type": st.sampled_from(ExceptionType),
    "summary": st.sampled_from(["rude courier", ""]),
    "priority": st.sampled_from(Priority),
    "major": st.booleans(),
    "hold": st.booleans(),
    "orders_affected": st.sampled_from([1, 40, 10**9]),
    "level": st.sampled_from([None, *Level]),
    "resolution": st.sampled_from(Resolution),
    "eta": st.sampled_from([None, T0 + timedelta(days=3), datetime(8999, 12, 31, tzinfo=UTC)]),
    "compensation": st.builds(
        Compensation,
        st.sampled_from(CompensationKind),
        st.sampled_from([cny("10.00"), cny("5000.00"), Money("1", "USD")]),
        st.just("voucher"),
        st.sampled_from([None, "lead-1"]),
    ),
    "tracking": st.builds(
        TrackingEvent,
        st.sampled_from(TrackingKind),
        st.sampled_from([T0, datetime(8999, 12, 31, tzinfo=UTC), EARLIEST]),
        st.sampled_from(["", "depot"]),
    ),
}
CASE_IDS = st.sampled_from(["o-1/case/1", "o-1/case/2", "o-1/exception/1", "case-1"])
CASE_TYPES: tuple[type[Any], ...] = (*CASE_COMMAND_TYPES, *EXCEPTION_COMMAND_TYPES)
ALL_COMMAND_TYPES: tuple[type[Any], ...] = (*COMMAND_TYPES, *CASE_TYPES)
CLASS_FIELDS: dict[tuple[type[Any], str], st.SearchStrategy[Any]] = {
    **{(kind, "case_id"): st.one_of(st.none(), CASE_IDS) for kind in CASE_TYPES},
    **{
        (kind, "lines"): st.sampled_from(
            [(), (Units("SKU-A", 1),), (Units("SKU-A", 3), Units("SKU-B", 1)), (Units("X", 1),)]
        )
        for kind in CASE_TYPES
    },
    **{(kind, "reason"): st.sampled_from(["", "partly used"]) for kind in CASE_TYPES},
    (RequestAfterSales, "reason"): st.sampled_from(CaseReason.known()),
    (RequestAfterSales, "amount"): st.sampled_from([None, cny("10.00"), cny("500.00")]),
}
"""Fields whose valid values depend on the command class (a case's lines are units)."""

VALID_VALUES: dict[str, Any] = {
    "order_id": "o-new",
    "customer_id": CUSTOMER.id,
    "lines": (OrderLine("SKU-A", 2, cny("50.00"), name="tea"),),
    "address": ADDRESS,
    "payment_reference": "pay-1",
    "amount": cny("119.90"),
    "unit_price": cny("1.00"),
    "sku": "SKU-A",
    "carrier": "SF Express",
    "tracking_number": "SF1",
    "note": "customer asked",
    "reason": CloseReason.OUT_OF_STOCK,
    "refund_id": "o-1/refund/1",
    "case_id": "o-1/case/1",
    "kind": CaseKind.RETURN,
    "condition": ReturnCondition.AS_SOLD,
    "window": "no_reason",
    "approve": True,
    "refund": True,
    "type": ExceptionType.COMPLAINT,
    "summary": "rude courier",
    "resolution": Resolution.ANSWERED,
    "compensation": Compensation(CompensationKind.DISCOUNT, cny("10.00")),
    "tracking": TrackingEvent(TrackingKind.DELAYED, T0),
    "justification": "goodwill",
}
CLASS_VALUES: dict[tuple[type[Any], str], Any] = {
    **{(kind, "lines"): (Units("SKU-A", 1),) for kind in CASE_TYPES},
    **{(kind, "reason"): "not as the buyer says" for kind in CASE_TYPES},
    (RequestAfterSales, "reason"): CaseReason.NO_REASON,
    (RequestAfterSales, "case_id"): None,
    (RequestAfterSales, "amount"): None,
    (OpenException, "case_id"): None,
    (OpenException, "sku"): None,
    (ResolveException, "sku"): None,
    (ResolveException, "unit_price"): None,
}
"""Valid values that depend on the command class."""


@st.composite
def commands(draw: st.DrawFn, classes: tuple[type[Any], ...] = ALL_COMMAND_TYPES) -> object:
    """A command of any class (the lifecycle's, after-sales and exception commands) built
    from valid or hostile fields; or what building raised."""
    command_class = draw(st.sampled_from(classes))
    fields = {
        field.alias: draw(
            either(CLASS_FIELDS.get((command_class, field.alias), VALID_FIELDS[field.alias]))
        )
        for field in attrs.fields(command_class)
    }
    return calling(lambda: command_class(**fields))


def built(value: object) -> st.SearchStrategy[Any]:
    """Commands that built, and hostile values in their place."""
    return either(st.just(value)) if not isinstance(value, OrderflowError) else hostile


def test_the_pool_holds_every_kind_of_hostile_value() -> None:
    """The hostile pool covers the cases the entry points must survive."""
    kinds = {type(value) for value in HOSTILE}
    assert {str, int, float, bool, bytes, list, dict, datetime, Decimal, timedelta} <= kinds
    assert any(isinstance(v, str) and len(v) >= 1_000_000 for v in HOSTILE)


# -- value constructors -----------------------------------------------------------------------


@settings(max_examples=300)
@given(either(st.sampled_from(["1.00", "-3", " 7 ", "0.001"])), either(st.just("CNY")))
def test_money_is_built_or_refused(amount: Any, currency: Any) -> None:
    """AS-5: Money accepts valid amounts and refuses anything else with InvalidInput."""
    result = calling(lambda: Money(amount, currency))
    if isinstance(result, Money):
        assert abs(result.amount) < 10**18


@settings(max_examples=100)
@given(either(st.sampled_from(["XTA", "XTB"])), either(st.sampled_from([0, 2, 8])))
def test_register_currency_is_done_or_refused(code: Any, places: Any) -> None:
    """register_currency registers or refuses; the registry is restored afterwards."""
    known = dict(money._EXPONENTS), dict(money._QUANTUM)
    try:
        calling(lambda: register_currency(code, places))
    finally:
        money._EXPONENTS.clear()
        money._EXPONENTS.update(known[0])
        money._QUANTUM.clear()
        money._QUANTUM.update(known[1])


@settings(max_examples=150)
@given(
    either(st.just(cny("10.00"))),
    either(st.integers(1, 12)),
    st.one_of(st.integers(-3, 3), st.integers(), st.sampled_from([10**17, 10**18, 10**5000])),
)
def test_money_arithmetic_and_split(amount: Any, parts: Any, factor: Any) -> None:
    """D-11: splitting and multiplying by whole numbers succeed or raise InvalidInput (other
    operand types follow Python's operator protocol: NotImplemented, then TypeError)."""
    if isinstance(amount, Money):
        calling(lambda: amount.split(parts))
        calling(lambda: Money.sum([amount, parts], "CNY"))
        if isinstance(factor, int) and not isinstance(factor, bool):
            calling(lambda: amount * factor)


@pytest.mark.parametrize(
    ("command_class", "field"),
    [
        (RequestAfterSales, "kind"),
        (RequestAfterSales, "reason"),
        (ReceiveReturn, "condition"),
        (OpenException, "type"),
        (OpenException, "priority"),
        (EscalateException, "level"),
        (ResolveException, "resolution"),
        (ResolveException, "address"),
        (RecordCompensation, "compensation"),
        (RecordTracking, "tracking"),
    ],
    ids=lambda value: getattr(value, "__name__", value),
)
def test_case_commands_refuse_a_value_of_another_type_with_invalid_input(
    command_class: type[Any], field: str
) -> None:
    """A case or exception command given a plain string where an enum or a value object
    belongs raises InvalidInput naming the field, not attrs' TypeError."""
    valid = next(command for command in VALID_COMMANDS if type(command) is command_class)
    fields = {name.alias: getattr(valid, name.name) for name in attrs.fields(command_class)}
    with pytest.raises(InvalidInput) as info:
        command_class(**{**fields, field: "wrong"})
    assert info.value.field == field


@settings(max_examples=200)
@given(
    either(st.just("SKU-A")),
    either(st.sampled_from([1, 10_000, 1_000_000])),
    either(st.sampled_from([cny("1.00"), cny("999999999999.99")])),
    either(st.just("tea")),
)
def test_order_lines(sku: Any, quantity: Any, price: Any, name: Any) -> None:
    """LC-2: a line is built or refused with InvalidInput."""
    calling(lambda: OrderLine(sku, quantity, price, name))


@settings(max_examples=200)
@given(st.lists(either(st.just("1 Road")), min_size=4, max_size=8))
def test_addresses(parts: list[Any]) -> None:
    """LC-7: an address is built or refused with InvalidInput."""
    calling(lambda: Address(*parts))


@settings(max_examples=200)
@given(
    either(st.sampled_from(["customer", "staff", "system"])),
    either(st.just("agent-1")),
    either(st.sampled_from([(), ("order.close",), ("p",) * 200])),
)
def test_actors(kind: Any, actor_id: Any, permissions: Any) -> None:
    """CL-6: actors from every factory are built or refused with InvalidInput."""
    calling(lambda: Actor(kind, actor_id, permissions))
    calling(lambda: Actor.customer(actor_id))
    calling(lambda: Actor.system(actor_id))
    if isinstance(permissions, tuple):
        calling(lambda: Actor.staff(actor_id, *permissions))


@settings(max_examples=100)
@given(either(st.just("fuzz_reason")), either(st.just("words")), either(st.booleans()))
def test_close_reasons(code: Any, description: Any, needs_note: Any) -> None:
    """CL-2: close reasons are registered or refused; the registry is restored afterwards."""
    known = dict(CloseReason._known)
    try:
        calling(lambda: CloseReason.register(code, description, needs_note=needs_note))
        calling(lambda: CloseReason.of(code))
        calling(lambda: CloseReason(code, description, needs_note))
    finally:
        CloseReason._known.clear()
        CloseReason._known.update(known)


@settings(max_examples=400)
@given(commands())
def test_every_command_constructor(command: object) -> None:
    """Every command class is built or refused with InvalidInput, whatever its fields."""
    assert isinstance(command, (OrderflowError, *ALL_COMMAND_TYPES))


@settings(max_examples=300)
@given(commands(CASE_TYPES))
def test_every_case_and_exception_command_constructor(command: object) -> None:
    """AS-1, EX-2: every after-sales and exception command class is built or refused with
    InvalidInput, whatever its fields."""
    assert isinstance(command, (OrderflowError, *CASE_TYPES))


@settings(max_examples=200)
@given(
    either(st.just("SKU-A")),
    either(st.sampled_from([1, 3, 1_000_000])),
    either(st.sampled_from([cny("1.00"), cny("0.01")])),
    either(st.sampled_from(CompensationKind)),
    either(st.sampled_from([None, "lead-1"])),
    either(st.sampled_from(TrackingKind)),
    times,
)
def test_case_values(
    sku: Any, quantity: Any, amount: Any, kind: Any, approver: Any, event: Any, at: Any
) -> None:
    """The values case commands carry (units, shares, compensations, tracking events) are
    built or refused with InvalidInput."""
    calling(lambda: Units(sku, quantity))
    calling(lambda: ShareRequest(sku, amount))
    calling(lambda: Compensation(kind, amount, "voucher", approver))
    calling(lambda: TrackingEvent(event, at, sku))


@settings(max_examples=150)
@given(
    either(st.sampled_from([timedelta(minutes=30), None])),
    either(st.sampled_from([timedelta(days=10), None])),
    either(st.builds(Limits)),
    either(st.integers(0, 2_000)),
)
def test_settings_and_limits(unpaid: Any, confirm: Any, limits: Any, count: Any) -> None:
    """Settings and limits are built or refused with InvalidConfiguration."""
    calling(lambda: Settings(unpaid_timeout=unpaid, auto_confirm_after=confirm, limits=limits))
    calling(lambda: Limits(lines_per_order=count))
    calling(lambda: Limits(quantity_per_line=count, corrections_per_order=count))


# -- the lifecycle ----------------------------------------------------------------------------


@settings(max_examples=200)
@given(commands((PlaceOrder,)).flatmap(built), either(valid_actors), times)
def test_lifecycle_place(command: Any, actor: Any, at: Any) -> None:
    """Lifecycle.place places an order or raises an orderflow error."""
    calling(lambda: LIFECYCLE.place(command, actor, at))


@settings(max_examples=300)
@given(
    either(valid_orders),
    commands().flatmap(built),
    either(valid_actors),
    times,
)
def test_lifecycle_handle_check_and_available(
    order: Any, command: Any, actor: Any, at: Any
) -> None:
    """Lifecycle.handle, check and available answer or raise an orderflow error."""
    calling(lambda: LIFECYCLE.handle(order, command, actor, at))
    calling(lambda: LIFECYCLE.check(order, command, actor, at))
    calling(lambda: LIFECYCLE.available(order, actor, at))


@settings(max_examples=300)
@given(
    either(st.sampled_from(CASE_ORDERS)),
    commands(CASE_TYPES).flatmap(built),
    either(valid_actors),
    times,
    either(st.one_of(st.none(), CASE_IDS)),
)
def test_case_and_exception_commands_on_orders_with_cases(
    order: Any, command: Any, actor: Any, at: Any, case_id: Any
) -> None:
    """AS-1, EX-6: on orders with open after-sales and exception cases, case commands from
    any actor at any time are handled, checked, offered (for a case too) and previewed, or
    raise an orderflow error."""
    calling(lambda: LIFECYCLE.handle(order, command, actor, at))
    calling(lambda: LIFECYCLE.check(order, command, actor, at))
    calling(lambda: LIFECYCLE.available(order, actor, at, case_id=case_id))
    calling(lambda: LIFECYCLE.preview(order, command, actor, at))


VALID_COMMANDS = tuple(
    command_class(
        **{
            field.alias: CLASS_VALUES.get((command_class, field.alias), VALID_VALUES[field.alias])
            for field in attrs.fields(command_class)
            if field.alias in VALID_VALUES or (command_class, field.alias) in CLASS_VALUES
        }
    )
    for command_class in ALL_COMMAND_TYPES
)


@pytest.mark.parametrize("at", EDGE_TIMES, ids=repr)
def test_every_command_on_every_order_at_the_edges_of_time(at: datetime) -> None:
    """TM, D-18: a time at either end of the range never overflows adding a deadline: every
    command on orders in every state either applies or raises an orderflow error."""
    for order in ORDERS:
        for command in VALID_COMMANDS:
            for actor in (CUSTOMER, STAFF, SYSTEM):
                calling(lambda: LIFECYCLE.handle(order, command, actor, at))  # noqa: B023
                calling(lambda: LIFECYCLE.check(order, command, actor, at))  # noqa: B023
        calling(lambda: LIFECYCLE.available(order, STAFF, at))  # noqa: B023
    placing = VALID_COMMANDS[0]
    assert isinstance(placing, PlaceOrder)
    calling(lambda: LIFECYCLE.place(placing, CUSTOMER, at))


@settings(max_examples=100)
@given(either(valid_orders), commands().flatmap(built))
def test_serialization_dump(order: Any, command: Any) -> None:
    """serialization.dump writes a value or raises InvalidInput."""
    calling(lambda: dump(order))
    calling(lambda: dump(command))


@settings(max_examples=150)
@given(either(st.just(T0)), either(st.just(timedelta(hours=1))), either(valid_times))
def test_manual_clock(start: Any, delta: Any, when: Any) -> None:
    """ManualClock starts, advances and is set, or refuses with InvalidInput; a refused
    move leaves its time as it was."""
    clock = calling(lambda: ManualClock(start))
    if isinstance(clock, ManualClock):
        before = clock.now()
        if isinstance(calling(lambda: clock.advance(delta)), OrderflowError):
            assert clock.now() == before
        before = clock.now()
        if isinstance(calling(lambda: clock.set(when)), OrderflowError):
            assert clock.now() == before
    calling(lambda: UuidIds(start))


# -- stores -----------------------------------------------------------------------------------


def _order_with(**change: object) -> Order:
    """An order with some fields changed behind its constructor's back (as a buggy or hostile
    host could build one), so that these reach the stores' own checks."""
    base = place("forged")
    fields = {**dict(zip(ORDER_FIELDS, base, strict=True)), **change}
    return tuple.__new__(Order, tuple(fields[name] for name in ORDER_FIELDS))


STORE_ORDERS = (
    place("s-1"),
    place("s-2"),
    place("o" * 100),
    _order_with(id="a\x00b"),
    _order_with(id="\ud800"),
    _order_with(id="x" * 101),
    _order_with(customer_id="c\x00"),
    _order_with(customer_id="\udfff"),
    *CASE_ORDERS[1::2],  # orders with an approved return and with an exception case
)
store_orders = st.sampled_from(STORE_ORDERS)


def _memory_snapshot(store: InMemoryStore) -> object:
    customers = {customer: list(keys) for customer, keys in store._by_customer.items()}
    return dict(store._orders), dict(store._outbox), customers


def _sql_snapshot(store: SqlStore) -> object:
    import sqlalchemy as sa

    with store.engine.connect() as connection:
        return [
            connection.execute(sa.select(table)).all()
            for table in (store.tables.orders, store.tables.history, store.tables.outbox)
        ]


@contextmanager
def unchanged_if_refused(snapshot: Callable[[], object]) -> Iterator[list[object]]:
    """Collect results; when any of them is an error, the store must be as before."""
    before = snapshot()
    results: list[object] = []
    yield results
    for result in results:
        if isinstance(result, OrderflowError):
            assert snapshot() == before, result


STORE_CALLS = st.sampled_from(
    ["get", "add", "save", "find_by_state", "find_due", "find_by_customer"]
)
store_arguments = st.fixed_dictionaries(
    {
        "call": STORE_CALLS,
        "order_id": either(st.sampled_from(["s-1", "missing", "o" * 100])),
        "order": either(store_orders),
        "customer_id": either(st.sampled_from([CUSTOMER.id, "nobody", "c" * 100])),
        "cursor": either(st.one_of(st.none(), st.tuples(times, either(st.just("s-1"))))),
        "version": either(st.sampled_from([0, 1, 2])),
        "state": either(st.sampled_from(list(OrderState))),
        "limit": either(st.integers(0, 5)),
        "after_id": either(st.sampled_from([None, "", "s-1"])),
        "before": either(valid_times),
    }
)


def _call_store(store: Any, arguments: dict[str, Any]) -> object:
    call = arguments["call"]
    if call == "get":
        return calling(lambda: store.get(arguments["order_id"]))
    if call == "add":
        return calling(lambda: store.add(arguments["order"]))
    if call == "save":
        order = arguments["order"]
        if isinstance(order, Order) and order.version == 1:
            closing = Close(CloseReason.OTHER, "x")
            stepped = calling(lambda: LIFECYCLE.handle(order, closing, STAFF, T0))
            order = stepped.order if isinstance(stepped, Outcome) else order
        return calling(lambda: store.save(order, arguments["version"]))
    if call == "find_by_state":
        return calling(
            lambda: store.find_by_state(
                arguments["state"], limit=arguments["limit"], after_id=arguments["after_id"]
            )
        )
    if call == "find_by_customer":
        return calling(
            lambda: store.find_by_customer(
                arguments["customer_id"], limit=arguments["limit"], before=arguments["cursor"]
            )
        )
    return calling(lambda: store.find_due(arguments["before"], limit=arguments["limit"]))


def _memory_store() -> InMemoryStore:
    store = InMemoryStore()
    store.add(place("s-1"))
    store.add(CASE_ORDERS[1])  # o-1, with an approved return (o-1/case/1)
    return store


@settings(max_examples=300)
@given(st.lists(store_arguments, min_size=1, max_size=4))
def test_memory_store(calls: list[dict[str, Any]]) -> None:
    """PT-1: the in-memory store answers or refuses, and a refused call changes nothing."""
    store = _memory_store()
    for arguments in calls:
        with unchanged_if_refused(lambda: _memory_snapshot(store)) as results:
            results.append(_call_store(store, arguments))


_SQL: list[SqlStore] = []


def _sql_store() -> SqlStore:
    if not _SQL:
        store = SqlStore.sqlite()
        store.add(place("s-1"))
        _SQL.append(store)
    return _SQL[0]


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(store_arguments, min_size=1, max_size=3))
def test_sql_store(calls: list[dict[str, Any]]) -> None:
    """PT-1: the SQL store (SQLite in memory) answers or refuses with orderflow errors only,
    never a driver's, and a refused call changes nothing."""
    store = _sql_store()
    for arguments in calls:
        with unchanged_if_refused(lambda: _sql_snapshot(store)) as results:
            results.append(_call_store(store, arguments))


# -- the service ------------------------------------------------------------------------------


@settings(max_examples=200)
@given(
    either(st.sampled_from(["s-1", "o-1", "missing"])),
    commands().flatmap(built),
    commands((PlaceOrder,)).flatmap(built),
    either(valid_actors),
    either(st.integers(0, 3)),
    st.one_of(st.none(), either(st.integers(0, 3))),
)
def test_order_service(
    order_id: Any, command: Any, placing: Any, actor: Any, retries: Any, expected: Any
) -> None:
    """The service handles (at an expected version too), places, checks and lists, or
    raises an orderflow error; a refused call leaves the store as it was."""
    store = _memory_store()
    service = OrderService(
        store, clock=ManualClock(T0 + timedelta(days=1)), sleep=lambda seconds: None
    )
    with unchanged_if_refused(lambda: _memory_snapshot(store)) as results:
        results.append(
            calling(
                lambda: service.handle(
                    order_id, command, actor, expected_version=expected, retries=retries
                )
            )
        )
    with unchanged_if_refused(lambda: _memory_snapshot(store)) as results:
        results.append(calling(lambda: service.place(placing, actor)))
    calling(lambda: service.get(order_id))
    calling(lambda: service.check(order_id, command, actor))
    calling(lambda: service.available(order_id, actor))
    calling(lambda: service.find_by_customer(order_id, limit=retries))


@pytest.mark.parametrize(
    "argument", ["store", "lifecycle", "clock", "ids", "conflict_backoff", "sleep", "random"]
)
def test_order_service_refuses_parts_that_are_not_ports(argument: str) -> None:
    """The service's parts are checked when it is built (InvalidConfiguration)."""
    parts: dict[str, Any] = {"store": InMemoryStore(), argument: "not a port"}
    with pytest.raises(InvalidConfiguration) as info:
        OrderService(**parts)
    assert info.value.setting == argument
    assert isinstance(OrderService(InMemoryStore(), Lifecycle()), OrderService)


# -- stores: hostile ids never reach a driver; driver messages never carry values -------------

HOSTILE_IDS = ("a\x00b", "\ud800", "ok\udfffok", "x" * 101, "", " ", None, 7, b"o-1")


@pytest.fixture(params=BACKENDS)
def sql_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlStore]:
    """A store on an empty database of each backend (servers when their URL is set)."""
    database = Database(request.param, tmp_path)
    try:
        yield database.open()
    finally:
        database.close()


@pytest.mark.parametrize("order_id", HOSTILE_IDS, ids=repr)
def test_hostile_ids_are_refused_before_any_driver_call(sql_store: SqlStore, order_id: Any) -> None:
    """PT-1: a NUL, a lone surrogate or an over-long id is InvalidInput on every backend and
    in the reference store, and nothing is written."""
    memory = InMemoryStore()
    sql_store.add(place("kept"))
    before = snapshot(sql_store)
    for store in (memory, sql_store):
        with pytest.raises(InvalidInput):
            store.get(order_id)
        with pytest.raises(InvalidInput):
            store.find_by_customer(order_id)
        if order_id not in ("", " ", None):  # blank cursors and None are fine for paging
            with pytest.raises(InvalidInput):
                store.find_by_state(OrderState.PENDING_PAYMENT, after_id=order_id)
            with pytest.raises(InvalidInput):
                store.find_by_customer(CUSTOMER.id, before=(T0, order_id))
        if isinstance(order_id, str) and order_id.strip():
            forged = _order_with(id=order_id)
            with pytest.raises(InvalidInput):
                store.add(forged)
            with pytest.raises(InvalidInput):
                store.save(forged, 1)
            with pytest.raises(InvalidInput):
                store.add(_order_with(id="fine", customer_id=order_id))
    assert snapshot(sql_store) == before
    assert memory.find_by_state(OrderState.PENDING_PAYMENT) == []


def test_store_errors_do_not_carry_the_values_of_the_statement(sql_store: SqlStore) -> None:
    """A database error becomes a StoreError whose message carries none of the values of
    the statement, and the SQL error chained to it shows no bound parameters."""
    secret = "Li Lei 13800138000"
    meta = sql_store.tables.meta
    with (
        pytest.raises(StoreError) as info,
        _translate("write the test rows"),
        sql_store.engine.begin() as connection,
    ):
        connection.execute(meta.insert(), [{"key": secret, "value": "1"}] * 2)
    assert secret not in str(info.value)
    assert "SQL parameters hidden" in str(info.value.__cause__)


@pytest.mark.parametrize(
    ("message", "kept", "secret"),
    [
        (
            'duplicate key value violates unique constraint "t_pkey"\n'
            "DETAIL:  Key (id)=(Li Lei) already exists.",
            '"t_pkey"',
            "Li Lei",
        ),
        ("Key (id, version)=(13800138000, 2) already exists.", "Key (id, version)", "138001"),
        (
            'new row for relation "t" violates check constraint "c": '
            "Failing row contains (1, Li Lei, 1 Road).",
            '"c"',
            "Li Lei",
        ),
        ("Duplicate entry 'Li Lei' for key 'PRIMARY'", "'PRIMARY'", "Li Lei"),
        ("Incorrect string value: '\\xF0\\x9F' for column 'document' at row 1", "'document'", "F0"),
        ("x" * 5000, "x" * 300, "x" * 301),
    ],
)
def test_driver_messages_lose_the_values_they_quote(message: str, kept: str, secret: str) -> None:
    """Database objects' names stay in a driver's message; the values it quotes go."""
    redacted = _redact(message)
    assert kept in redacted
    assert secret not in redacted
    assert "\n" not in redacted


def test_malformed_store_configuration_is_refused_without_showing_the_url() -> None:
    """A malformed URL, path or engine options raise InvalidConfiguration; a URL, which may
    carry a password, is never quoted."""
    for url in ("not a url", "postgresql://app:s3cret@db:port/shop", "nosuch://app:s3cret@db/x"):
        with pytest.raises(InvalidConfiguration) as info:
            SqlStore.from_url(url)
        assert "s3cret" not in str(info.value)
    for options in ({"engine_options": {"no_such_option": 1}}, {"engine_options": [1]}):
        with pytest.raises(InvalidConfiguration):
            SqlStore.sqlite(**options)
    for path in (7, "orders\x00.db"):
        with pytest.raises(InvalidConfiguration):
            SqlStore.sqlite(path)  # type: ignore[arg-type]


def test_a_text_the_driver_cannot_encode_is_a_store_error() -> None:
    """Translation in one place: even an encoding failure inside a driver is a StoreError."""
    with pytest.raises(StoreError, match="surrogates not allowed"), _translate("encode"):
        "\ud800".encode("utf-8")


def test_a_clock_giving_a_naive_time_is_a_configuration_error() -> None:
    """The service checks its clock's answer, so a broken clock never raises a TypeError."""

    class NaiveClock:
        def now(self) -> datetime:
            return datetime(2026, 3, 2, 10, 0)

    service = OrderService(_memory_store(), clock=NaiveClock())
    with pytest.raises(InvalidConfiguration, match="timezone-aware"):
        service.handle("s-1", Close(CloseReason.OTHER, "x"), STAFF)
    with pytest.raises(InvalidConfiguration):
        service.place(PlaceOrder("o-2", CUSTOMER.id, place().lines, ADDRESS), CUSTOMER)
