"""Values are validated where they are built: actors, lines, addresses, orders, commands."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import attrs
import pytest

from orderflow import (
    Actor,
    ActorKind,
    Address,
    Close,
    CommandRefused,
    Hold,
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
from orderflow.order import Deadline, DeadlineKind, Ledger
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
        PlaceOrder("o", "c", lines, ADDRESS)


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
    return {field.name: getattr(order, field.name) for field in attrs.fields(Order)}


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
    forged = object.__new__(Order)
    base = place()
    forged.__attrs_init__(
        base.id, base.customer_id, base.lines, base.address, OrderState.PAID, base.ledger,
        base.history, None, None, None, (),
    )  # fmt: skip
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
