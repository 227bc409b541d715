"""Values are validated where they are built: actors, lines, addresses, orders, commands."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import attrs
import pytest

from orderflow import (
    Actor,
    ActorKind,
    Address,
    ChangeAddress,
    ChangePrice,
    Close,
    CloseReason,
    CommandRefused,
    ConfirmReceipt,
    FailRefund,
    Hold,
    InvalidConfiguration,
    InvalidInput,
    InvariantViolation,
    Money,
    Order,
    OrderLine,
    OrderState,
    Pay,
    PlaceOrder,
    Refusal,
    Ship,
    check_invariants,
)
from orderflow.adapters.memory import InMemoryStore
from orderflow.errors import (
    ConcurrencyConflict,
    OrderAlreadyExists,
    OrderNotFound,
    describe,
    is_personal,
)
from orderflow.order import ORDER_FIELDS, Deadline, DeadlineKind, Ledger
from orderflow.ports import ManualClock, UuidIds
from tests.support import (
    ADDRESS,
    CUSTOMER,
    LIFECYCLE,
    STAFF,
    T0,
    closed,
    cny,
    delivered,
    paid,
    place,
)


def test_actor_constructors_and_validation() -> None:
    """CL-6: actors are customers, staff with permissions, or the system."""
    staff = Actor.staff("s", "order.close")
    assert staff.may("order.close")
    assert not staff.may("order.ship")
    assert str(staff) == "staff:s"
    assert Actor.system().kind is ActorKind.SYSTEM
    with pytest.raises(InvalidInput, match="only staff"):
        Actor("customer", "c", {"order.close"})
    with pytest.raises(InvalidInput, match="customer, staff or system"):
        Actor("robot", "r")
    with pytest.raises(InvalidInput, match="empty"):
        Actor.customer(" ")
    with pytest.raises(InvalidInput, match="set of names"):
        Actor("staff", "s", "order.close")
    with pytest.raises(InvalidInput):
        Actor.customer(7)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: OrderLine("", 1, cny("1")), "sku"),
        (lambda: OrderLine("A", 0, cny("1")), "quantity"),
        (lambda: OrderLine("A", -2, cny("1")), "quantity"),
        (lambda: OrderLine("A", 1.0, cny("1")), "quantity"),  # type: ignore[arg-type]
        (lambda: OrderLine("A", 1, "1.00"), "unit_price"),  # type: ignore[arg-type]
        (lambda: OrderLine("A", 1, cny("-1")), "unit_price"),
        (lambda: Address("a", "b", "c", 4), "address.city"),  # type: ignore[arg-type]
    ],
)
def test_lines_and_addresses_refuse_bad_values(build: object, field: str) -> None:
    """LC-2: a line needs a SKU, a positive whole quantity and a non-negative price."""
    with pytest.raises(InvalidInput) as info:
        build()  # type: ignore[operator]
    assert info.value.field == field


def test_address_reports_missing_parts() -> None:
    """LC-2: the missing required parts are named."""
    address = Address(" ", "", "1 Road", "Hangzhou")
    assert address.missing() == ("recipient", "phone")
    assert not address.is_complete()
    assert ADDRESS.is_complete()


@pytest.mark.parametrize(
    ("lines", "problem"),
    [
        ((), "at least one line"),
        ("SKU", "sequence of order lines"),
        ((OrderLine("A", 1, cny("1")), OrderLine("A", 2, cny("1"))), "unique"),
        ((OrderLine("A", 1, cny("1")), OrderLine("B", 1, Money("1", "USD"))), "one currency"),
        (("not a line",), "must be an OrderLine"),
    ],
)
def test_placing_refuses_bad_lines(lines: object, problem: str) -> None:
    """An order needs lines with unique SKUs in one currency."""
    with pytest.raises(InvalidInput, match=problem):
        PlaceOrder("o", "c", lines, ADDRESS)  # type: ignore[arg-type]


def test_commands_validate_their_payload_types() -> None:
    """Commands refuse malformed payloads when they are built."""
    with pytest.raises(InvalidInput):
        Pay(1.5, "p")  # type: ignore[arg-type]
    with pytest.raises(InvalidInput):
        Pay(cny("1"), "")
    with pytest.raises(InvalidInput):
        Ship(None, "1")  # type: ignore[arg-type]
    with pytest.raises(InvalidInput):
        Close("out_of_stock")  # type: ignore[arg-type]
    with pytest.raises(InvalidInput):
        Hold("note", command_id="")
    with pytest.raises(InvalidInput):
        PlaceOrder("o", "c", (OrderLine("A", 1, cny("1")),), "address")  # type: ignore[arg-type]
    assert Hold("note").reason_text == "note"
    assert Pay(cny("1"), "p").reason_text is None


def _fields(order: Order) -> dict[str, object]:
    return dict(zip(ORDER_FIELDS, order, strict=True))


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"id": ""}, "id"),
        ({"customer_id": None}, "customer_id"),
        ({"lines": ()}, "lines"),
        ({"address": "x"}, "address"),
        ({"state": "paid"}, "state"),
        ({"state": OrderState.PAID}, "state"),
        ({"ledger": None}, "ledger"),
        ({"history": ()}, "history"),
        ({"history": ("entry",)}, "history[0]"),
        ({"hold": None, "state": OrderState.ON_HOLD}, "state"),
        ({"deadlines": ("soon",)}, "deadlines[0]"),
        ({"deadlines": (Deadline(DeadlineKind.AUTO_CLOSE_UNPAID, datetime(2026, 1, 1)),)},
         "deadlines[0].due_at"),
    ],
)  # fmt: skip
def test_order_construction_validates_every_field(change: dict[str, object], field: str) -> None:
    """Loading an order validates it whole, naming the bad field."""
    fields = {**_fields(place()), **change}
    with pytest.raises(InvalidInput) as info:
        Order(**fields)  # type: ignore[arg-type]
    assert info.value.field == field


def test_order_construction_checks_money_and_records_against_the_state() -> None:
    """An order whose ledger or records contradict its lines or state is refused."""
    base = _fields(paid())
    ledger = base["ledger"]
    assert isinstance(ledger, Ledger)
    bad_ledgers = {
        "ledger.amount_due": attrs.evolve(ledger, amount_due=cny("1")),
        "ledger.amount_paid": attrs.evolve(ledger, amount_paid=cny("1")),
        "ledger.amount_refunded": attrs.evolve(ledger, amount_refunded=cny("1")),
        "ledger.amount_refund_pending": attrs.evolve(ledger, amount_refund_pending=cny("1")),
    }
    for field, bad in bad_ledgers.items():
        with pytest.raises(InvalidInput) as info:
            Order(**{**base, "ledger": bad})  # type: ignore[arg-type]
        assert info.value.field == field
    with pytest.raises(InvalidInput, match="must be Money in CNY"):
        Order(**{**base, "ledger": attrs.evolve(ledger, amount_paid=Money("1", "USD"))})  # type: ignore[arg-type]
    shipped_order = _fields(delivered())
    with pytest.raises(InvalidInput) as info:
        Order(**{**shipped_order, "shipment": None})  # type: ignore[arg-type]
    assert info.value.field == "shipment"
    closed_order = _fields(closed())
    with pytest.raises(InvalidInput) as info:
        Order(**{**closed_order, "closure": None})  # type: ignore[arg-type]
    assert info.value.field == "closure"


def test_order_construction_checks_the_history_chain() -> None:
    """LC-8: history is a chain: each entry starts where the previous one ended."""
    order = paid()
    broken = (order.history[0], order.history[1]._replace(from_state=OrderState.SHIPPED))
    with pytest.raises(InvalidInput) as info:
        Order(**{**_fields(order), "history": broken})  # type: ignore[arg-type]
    assert info.value.field == "history[1].from_state"


def test_check_invariants_accepts_lifecycle_orders_and_reports_broken_ones() -> None:
    """check_invariants passes every order the lifecycle makes and names a broken one."""
    for order in (place(), paid(), delivered(), closed(paid())):
        check_invariants(order)
    base = place()
    forged = tuple.__new__(Order, (
        base.id, base.customer_id, base.lines, base.address, OrderState.PAID, base.ledger,
        base.history, None, None, None, (),
    ))  # fmt: skip
    with pytest.raises(InvariantViolation, match="state"):
        check_invariants(forged)


def test_order_properties_read_from_the_records() -> None:
    """Derived properties agree with the records."""
    order = place()
    assert order.currency == "CNY"
    assert order.carrier is None
    assert order.tracking_number is None
    assert order.close_reason is None
    assert order.held_from is None
    assert order.next_deadline == order.deadlines[0]
    assert order.command_ids == frozenset()
    assert order.ledger.refund("missing") is None
    assert order.ledger.payment("missing") is None
    assert order.deadlines[0].is_due(T0 + timedelta(minutes=30))
    assert not order.deadlines[0].is_due(T0 + timedelta(minutes=29))


def test_handle_refuses_malformed_arguments_without_changing_anything() -> None:
    """Every entry point validates its arguments and raises InvalidInput."""
    order = place()
    at = order.updated_at
    command = Pay(cny("119.90"), "p")
    bad_calls: list[Callable[[], object]] = [
        lambda: LIFECYCLE.handle("order", command, STAFF, at),  # type: ignore[arg-type]
        lambda: LIFECYCLE.handle(order, "pay", STAFF, at),  # type: ignore[arg-type]
        lambda: LIFECYCLE.handle(order, PlaceOrder("o", "c", order.lines, ADDRESS), STAFF, at),
        lambda: LIFECYCLE.handle(order, command, "staff", at),  # type: ignore[arg-type]
        lambda: LIFECYCLE.handle(order, command, STAFF, "now"),  # type: ignore[arg-type]
        lambda: LIFECYCLE.handle(order, command, STAFF, datetime(2026, 3, 2, 11)),
        lambda: LIFECYCLE.place("order", CUSTOMER, at),  # type: ignore[arg-type]
        lambda: LIFECYCLE.available("order", STAFF, at),  # type: ignore[arg-type]
    ]
    for call in bad_calls:
        with pytest.raises(InvalidInput):
            call()
    assert order == place()


def test_refusal_error_carries_its_context() -> None:
    """A refusal names the order, state, command, code, message and hint, as data too."""
    reason = Refusal("close.already_shipped", "Shipped.", "Open a return.", "CL-1")
    error = CommandRefused("o-1", "shipped", "close", (reason, Refusal("x.y", "Also.")))
    assert error.codes == ("close.already_shipped", "x.y")
    assert "(+1 more)" in str(error)
    assert str(reason) == "[close.already_shipped] Shipped. Open a return."
    assert str(Refusal("a.b", "No.")) == "[a.b] No."
    data = error.to_dict()
    assert data["code"] == "close.already_shipped"
    assert data["reasons"][1]["code"] == "x.y"
    with pytest.raises(ValueError, match="at least one reason"):
        CommandRefused("o", "s", "c", ())


LONG_TEXT = "x" * 2_001


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: Actor.customer("c\x00"), "actor.id"),
        (lambda: Actor.customer("c\ud800"), "actor.id"),
        (lambda: Actor.customer("c" * 101), "actor.id"),
        (lambda: Actor.staff("s", "order.\x00close"), "actor.permissions"),
        (lambda: Actor.staff("s", *(f"p{i}" for i in range(101))), "actor.permissions"),
        (lambda: Actor(ActorKind.STAFF, "s", map(str, itertools.count())), "actor.permissions"),
        (lambda: OrderLine("A\x00", 1, cny("1")), "sku"),
        (lambda: OrderLine("A", 1, cny("1"), name="\udfff"), "name"),
        (lambda: OrderLine("A", 1, cny("1"), name="n" * 201), "name"),
        (lambda: OrderLine("A", 1_000_001, cny("1")), "quantity"),
        (lambda: OrderLine("A", 2, Money("999999999999999999", "CNY")), "quantity"),
        (lambda: Address("Li Lei\x00", "1", "2", "3"), "address.recipient"),
        (lambda: Address("Li Lei", "138\ud800", "2", "3"), "address.phone"),
        (lambda: Address("Li Lei", "1", "r" * 201, "3"), "address.line1"),
        (lambda: CloseReason("x" * 101, "words"), "close_reason.code"),
        (lambda: CloseReason("code", ""), "close_reason.description"),
        (lambda: CloseReason("code", "words", needs_note="yes"), "close_reason.needs_note"),  # type: ignore[arg-type]
        (lambda: Pay(cny("1"), "p\x00"), "payment_reference"),
        (lambda: Pay(cny("1"), "p", command_id="c" * 101), "command_id"),
        (lambda: Ship("\ud800", "1"), "carrier"),
        (lambda: Ship("SF", "t" * 101), "tracking_number"),
        (lambda: Close(CloseReason.OTHER, LONG_TEXT), "note"),
        (lambda: Hold(" "), "note"),
        (lambda: Hold("n", case_id="\x00"), "case_id"),
        (lambda: FailRefund("r", error=LONG_TEXT), "error"),
        (lambda: PlaceOrder("o" * 101, "c", (OrderLine("A", 1, cny("1")),), ADDRESS), "order_id"),
        (lambda: ChangePrice("A\x00", cny("1")), "sku"),
    ],
)  # fmt: skip
def test_text_is_checked_at_the_edge(build: Callable[[], object], field: str) -> None:
    """No NUL, no lone surrogate, bounded lengths, everywhere a value is built."""
    with pytest.raises(InvalidInput) as info:
        build()
    assert info.value.field == field


def test_blank_texts_keep_their_meaning() -> None:
    """LC-2: blank address parts are built and caught at review; LC-3: a blank carrier is
    refused when the shipment is built (its payload alone decides it)."""
    assert not Address("", "", "", "").is_complete()
    with pytest.raises(InvalidInput):
        Ship("", "SF1")
    assert Close(CloseReason.OTHER, "n" * 2_000).note == "n" * 2_000
    assert OrderLine("A", 1_000_000, cny("1")).total == cny("1000000")


def test_lines_are_bounded_without_reading_an_endless_iterable() -> None:
    """An order has at most 1,000 lines; an endless iterable is refused, not read whole."""
    endless = (OrderLine(f"S{i}", 1, cny("1")) for i in itertools.count())
    with pytest.raises(InvalidInput, match="at most 1,000 lines"):
        PlaceOrder("o", "c", endless, ADDRESS)
    with pytest.raises(InvalidInput, match="order total reaches 10"):
        PlaceOrder(
            "o",
            "c",
            (
                OrderLine("A", 1, Money("999999999999999999", "CNY")),
                OrderLine("B", 1, Money("1", "CNY")),
            ),
            ADDRESS,
        )


def test_error_messages_never_carry_personal_data() -> None:
    """Errors about an address, a line name or a note name the field and the problem, and
    give the value's type and size, never its content; the value stays on .value."""
    cases: list[tuple[Callable[[], object], str]] = [
        (lambda: Address("Li Lei", "13800138000\x00", "1 Wensan Road", "Hangzhou"), "13800138000"),
        (lambda: Address("Li Lei" * 50, "1", "2", "3"), "Li Lei"),
        (lambda: OrderLine("A", 1, cny("1"), name="gift for Li Lei" * 20), "Li Lei"),
        (lambda: Close(CloseReason.OTHER, "call Li Lei on 13800138000" * 100), "13800138000"),
        (lambda: PlaceOrder("o", "c", (OrderLine("A", 1, cny("1")),), {"r": "Li Lei"}), "Li Lei"),  # type: ignore[arg-type]
        (lambda: ChangeAddress("Li Lei, 1 Wensan Road"), "Li Lei"),  # type: ignore[arg-type]
    ]  # fmt: skip
    for build, secret in cases:
        with pytest.raises(InvalidInput) as info:
            build()
        assert secret not in str(info.value)
        assert secret not in repr(info.value)
        assert info.value.value is not None


def test_error_messages_quote_a_bounded_excerpt_of_other_values() -> None:
    """A refused id or amount is quoted, cut to 40 characters with control characters
    escaped; huge numbers and deep structures are described, never rendered."""
    with pytest.raises(InvalidInput) as info:
        Pay(cny("1"), "ref-\x1b[31m" + "9" * 1_000_000)
    message = str(info.value)
    assert "payment_reference" in message
    assert "'ref-\\x1b[31m" in message
    assert "(1000009 characters)" in message
    assert len(message) < 200
    nested: list[object] = []
    for _ in range(50_000):
        nested = [nested]
    for value, shown in ((10**5000, "an int of 16610 bits"), (nested, "a list of length 1")):
        with pytest.raises(InvalidInput) as info:
            Actor.customer(value)  # type: ignore[arg-type]
        assert shown in str(info.value)
    assert "Decimal('sNaN')" in describe(Decimal("sNaN"))
    assert describe(b"secret") == "a bytes of length 6"
    assert describe("Li Lei", personal=True) == "a str of 6 characters"
    assert is_personal("lines[0].name")
    assert not is_personal("lines[0].sku")


def test_order_errors_bound_the_ids_they_name() -> None:
    """Not-found, conflict and refusal messages quote a hostile id in bounded form."""
    hostile = "o\n" + "x" * 10_000
    for error in (
        OrderNotFound(hostile),
        OrderAlreadyExists(hostile),
        ConcurrencyConflict(hostile, 10**5000, None),
        CommandRefused(hostile, "paid", "close", (Refusal("a.b", "No."),)),
        InvariantViolation(hostile, "x", "y" * 10_000),
        InvalidConfiguration("limits", [[[]]], "must be Limits"),
    ):
        assert len(str(error)) < 800
        assert "\n" not in str(error)


@pytest.mark.parametrize(
    "at",
    [
        datetime(2026, 3, 2, 11),
        datetime(1969, 12, 31, 23, 59, tzinfo=UTC),
        datetime(9000, 1, 1, tzinfo=UTC),
        datetime.max.replace(tzinfo=UTC),
        datetime.min.replace(tzinfo=timezone(timedelta(hours=14))),
    ],
    ids=str,
)
def test_times_are_aware_and_within_1970_to_9000(at: datetime) -> None:
    """TM: every entry point refuses naive times and times that could overflow a deadline."""
    order = delivered()
    calls: list[Callable[[], object]] = [
        lambda: LIFECYCLE.place(PlaceOrder("o", CUSTOMER.id, order.lines, ADDRESS), CUSTOMER, at),
        lambda: LIFECYCLE.handle(order, ConfirmReceipt(), CUSTOMER, at),
        lambda: LIFECYCLE.check(order, ConfirmReceipt(), CUSTOMER, at),
        lambda: LIFECYCLE.available(order, CUSTOMER, at),
        lambda: ManualClock(at),
        lambda: ManualClock(T0).set(at),
        lambda: InMemoryStore().find_due(at),
    ]
    for call in calls:
        with pytest.raises(InvalidInput):
            call()


def test_manual_clock_and_id_source_check_their_arguments() -> None:
    """ManualClock never moves past 9000; UuidIds keeps ids within 100 characters."""
    clock = ManualClock(datetime(8999, 12, 31, tzinfo=UTC))
    with pytest.raises(InvalidInput):
        clock.advance(timedelta(days=1))
    assert clock.now() == datetime(8999, 12, 31, tzinfo=UTC)
    assert clock.advance(timedelta(hours=23)).hour == 23
    assert len(UuidIds("p" * 68).new_id()) == 100
    for prefix in ("p" * 69, " ", "a\x00", 7):
        with pytest.raises(InvalidInput):
            UuidIds(prefix)  # type: ignore[arg-type]
