"""The context a classifier reads, and its gathering through the host's port (EX-2, PT-4)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import attrs
import pytest

from orderflow import Address, InvalidConfiguration, InvalidInput, Money, Order
from orderflow.incidents import (
    DEFAULT_LOOKBACK,
    Context,
    ContextPort,
    Lookback,
    RecentLine,
    RecentOrder,
    gather_context,
)
from orderflow.incidents.context import MAX_RECENT_ORDERS
from tests.incidents_support import LINES, placed, recent
from tests.support import ADDRESS, T0, cny

MINUTE = timedelta(minutes=1)


# The snapshot ------------------------------------------------------------------------------


def test_pt4_an_empty_context_has_no_data() -> None:
    """PT-4: ``Context()`` knows nothing: no stock, no list price, no recent order."""
    context = Context()
    assert (dict(context.stock), dict(context.list_prices)) == ({}, {})
    assert (context.vip, context.customer_orders, context.address_orders) == (False, (), ())


def test_pt4_a_context_is_an_immutable_copy_of_what_it_was_given() -> None:
    """PT-4: changing the host's dicts afterwards changes nothing in the snapshot."""
    stock = {"SKU-A": 3}
    context = Context(stock=stock, list_prices={"SKU-A": cny("9.90")}, vip=True)
    stock["SKU-A"] = 0
    assert context.stock["SKU-A"] == 3
    with pytest.raises(TypeError):
        context.stock["SKU-A"] = 1  # type: ignore[index]
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        context.vip = False  # type: ignore[misc]
    assert context == Context(stock={"SKU-A": 3}, list_prices={"SKU-A": cny("9.90")}, vip=True)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"stock": [("SKU-A", 1)]}, "context.stock"),
        ({"stock": {"": 1}}, "context.stock"),
        ({"stock": {3: 1}}, "context.stock"),
        ({"stock": {"SKU-A": True}}, "context.stock['SKU-A']"),
        ({"stock": {"SKU-A": 1.0}}, "context.stock['SKU-A']"),
        ({"stock": {"SKU-A": 10**15}}, "context.stock['SKU-A']"),
        ({"stock": {f"S{n}": 1 for n in range(1001)}}, "context.stock"),
        ({"list_prices": {"SKU-A": "9.90"}}, "context.list_prices['SKU-A']"),
        ({"list_prices": {"SKU-A": cny("-1.00")}}, "context.list_prices['SKU-A']"),
        ({"list_prices": None}, "context.list_prices"),
        ({"vip": 1}, "context.vip"),
        ({"customer_orders": "o-1"}, "context.customer_orders"),
        ({"customer_orders": [placed()]}, "context.customer_orders[0]"),
        ({"address_orders": [recent("o-1"), recent("o-1")]}, "context.address_orders[1]"),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_pt4_a_malformed_context_is_refused_naming_the_field(
    fields: dict[str, Any], field: str
) -> None:
    """PT-4: every part of a context is validated where it is built."""
    with pytest.raises(InvalidInput) as raised:
        Context(**fields)
    assert raised.value.field == field


def test_pt4_a_context_holds_at_most_a_thousand_recent_orders_of_each_kind() -> None:
    """PT-4: recent orders are bounded; negative stock (oversold) is accepted."""
    record = recent("o-1")
    many = [attrs.evolve(record, order_id=f"o-{n}") for n in range(MAX_RECENT_ORDERS + 1)]
    Context(customer_orders=many[:-1], stock={"SKU-A": -5})
    with pytest.raises(InvalidInput) as raised:
        Context(customer_orders=many)
    assert raised.value.field == "context.customer_orders"


def test_rk2_a_recent_order_keeps_its_lines_sorted_by_sku() -> None:
    """RK-2: the record of an order lists (sku, quantity, unit price) by SKU."""
    record = RecentOrder.of(placed(lines=(LINES[1], LINES[0])))
    assert record.lines == (
        RecentLine("SKU-A", 2, cny("50.00")),
        RecentLine("SKU-B", 1, cny("19.90")),
    )
    assert (record.order_id, record.customer_id, record.placed_at) == ("o-1", "c-1", T0)
    assert record.amount_due == cny("119.90")
    assert not record.closed


@pytest.mark.parametrize(
    ("lines", "field"),
    [
        ((), "recent_order.lines"),
        ("SKU-A", "recent_order.lines"),
        ((("SKU-A", 1),), "recent_order.lines[0]"),
        ((("", 1, cny("1")),), "recent_order.lines[0].sku"),
        ((("SKU-A", 0, cny("1")),), "recent_order.lines[0].quantity"),
        ((("SKU-A", True, cny("1")),), "recent_order.lines[0].quantity"),
        ((("SKU-A", 1, "1.00"),), "recent_order.lines[0].unit_price"),
        ((("SKU-A", 1, cny("1")), ("SKU-A", 2, cny("1"))), "recent_order.lines[1].sku"),
        (tuple(("S", 1, cny("1")) for _ in range(1001)), "recent_order.lines"),
    ],
    ids=repr,
)
def test_rk2_a_malformed_recent_order_is_refused(lines: Any, field: str) -> None:
    """RK-2: the lines of a recent order are validated like an order's."""
    with pytest.raises(InvalidInput) as raised:
        RecentOrder("o-1", "c-1", T0, cny("1.00"), lines)
    assert raised.value.field == field


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"order_id": ""}, "recent_order.order_id"),
        ({"customer_id": None}, "recent_order.customer_id"),
        ({"placed_at": T0.replace(tzinfo=None)}, "recent_order.placed_at"),
        ({"amount_due": 5}, "recent_order.amount_due"),
        ({"closed": "no"}, "recent_order.closed"),
    ],
    ids=repr,
)
def test_rk1_a_recent_order_with_a_malformed_field_is_refused(
    changes: dict[str, Any], field: str
) -> None:
    """RK-1: every field of a recent order is validated."""
    with pytest.raises(InvalidInput) as raised:
        attrs.evolve(recent("o-1"), **changes)
    assert raised.value.field == field


# The look back -----------------------------------------------------------------------------


def test_pt4_a_lookback_covers_another_field_by_field() -> None:
    """PT-4: covering takes the longer look back of each kind."""
    hour = Lookback(customer=timedelta(hours=1))
    day = Lookback(customer=MINUTE, address=timedelta(days=1))
    assert hour.covering(day) == Lookback(timedelta(hours=1), timedelta(days=1))
    assert Lookback(timedelta(hours=1), timedelta(hours=24)) == DEFAULT_LOOKBACK


@pytest.mark.parametrize("value", [-MINUTE, timedelta(days=3651), 60], ids=repr)
def test_pt4_a_lookback_is_a_duration_from_zero_to_ten_years(value: Any) -> None:
    """PT-4: a negative, overlong or non-duration look back is a configuration error."""
    with pytest.raises(InvalidConfiguration) as raised:
        Lookback(address=value)
    assert raised.value.setting == "lookback.address"


# Gathering through the port ----------------------------------------------------------------


@attrs.define
class Port:
    """A host's context port answering from dicts, recording what it was asked."""

    stock: Any = attrs.field(factory=dict)
    prices: Any = attrs.field(factory=dict)
    vip: Any = False
    asked: list[tuple[str, object]] = attrs.field(factory=list)

    def stock_levels(self, skus: Sequence[str]) -> Mapping[str, int]:
        """The stock of the SKUs asked that the host knows."""
        self.asked.append(("stock", tuple(skus)))
        return self.stock  # type: ignore[no-any-return]

    def list_prices(self, skus: Sequence[str]) -> Mapping[str, Money]:
        """The list prices the host knows."""
        self.asked.append(("prices", tuple(skus)))
        return self.prices  # type: ignore[no-any-return]

    def is_vip(self, customer_id: str) -> bool:
        """Whether the customer is a VIP."""
        self.asked.append(("vip", customer_id))
        return self.vip  # type: ignore[no-any-return]


@attrs.define
class Queries:
    """Two store queries answering from lists, recording what they were asked."""

    customer: Sequence[Any] = ()
    address: Sequence[Any] = ()
    asked: list[tuple[str, object, datetime]] = attrs.field(factory=list)

    def for_customer(self, customer_id: str, since: datetime) -> Sequence[Order]:
        """The customer's orders."""
        self.asked.append(("customer", customer_id, since))
        return self.customer

    def for_address(self, address: Address, since: datetime) -> Sequence[Order]:
        """The address's orders."""
        self.asked.append(("address", address, since))
        return self.address


ORDER = placed("o-9")


def test_pt4_gathering_asks_the_port_for_the_orders_skus_and_keeps_what_it_knows() -> None:
    """PT-4: the port is asked for the order's SKUs; a key left out is no data; keys not
    asked for are dropped."""
    port = Port(stock={"SKU-A": 4, "SKU-Z": 1}, prices={"SKU-B": cny("30.00")}, vip=True)
    queries = Queries()
    context = gather_context(ORDER, port, queries.for_customer, queries.for_address)
    assert context == Context(stock={"SKU-A": 4}, list_prices={"SKU-B": cny("30.00")}, vip=True)
    assert port.asked == [
        ("vip", "c-1"),
        ("stock", ("SKU-A", "SKU-B")),
        ("prices", ("SKU-A", "SKU-B")),
    ]
    assert isinstance(port, ContextPort)


def test_rk1_gathering_asks_the_store_from_the_window_start_and_keeps_the_window() -> None:
    """RK-1: the queries reach back the look back from the order's placement; the order
    itself, later orders and orders at the window's start are left out."""
    inside = placed("o-1", at=T0 - 59 * MINUTE)
    edge = placed("o-2", at=T0 - timedelta(hours=1))
    later = placed("o-3", at=T0 + MINUTE)
    other_account = placed("o-4", customer="c-2", at=T0 - timedelta(hours=23))
    queries = Queries(customer=[inside, edge, later, ORDER, inside], address=[other_account])
    context = gather_context(ORDER, Port(), queries.for_customer, queries.for_address)
    assert [r.order_id for r in context.customer_orders] == ["o-1"]
    assert [r.order_id for r in context.address_orders] == ["o-4"]
    assert queries.asked == [
        ("customer", "c-1", T0 - timedelta(hours=1)),
        ("address", ADDRESS, T0 - timedelta(hours=24)),
    ]


def test_pt4_a_zero_lookback_makes_no_query() -> None:
    """PT-4: detectors that need no recent orders cost no store query."""
    queries = Queries()
    context = gather_context(
        ORDER, Port(), queries.for_customer, queries.for_address, lookback=Lookback()
    )
    assert queries.asked == []
    assert context.customer_orders == context.address_orders == ()


def test_pt4_gathering_keeps_the_newest_thousand_orders() -> None:
    """PT-4: of more recent orders than a context holds, the newest are kept."""
    many = [placed(f"o-{n:04d}", at=T0 - timedelta(seconds=n + 1)) for n in range(1002)]
    queries = Queries(customer=many)
    context = gather_context(ORDER, Port(), queries.for_customer, queries.for_address)
    kept = [r.order_id for r in context.customer_orders]
    assert len(kept) == MAX_RECENT_ORDERS
    assert kept[0] == "o-0000"
    assert kept[-1] == "o-0999"


@pytest.mark.parametrize(
    ("port", "queries", "field"),
    [
        (Port(stock=[("SKU-A", 1)]), Queries(), "stock_levels"),
        (Port(prices={"SKU-A": "1.00"}), Queries(), "context.list_prices['SKU-A']"),
        (Port(stock={"SKU-A": "many"}), Queries(), "context.stock['SKU-A']"),
        (Port(vip="yes"), Queries(), "is_vip"),
        (Port(), Queries(customer="o-1"), "recent_for_customer"),
        (Port(), Queries(address=[recent("o-1")]), "recent_for_address[0]"),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_pt4_a_malformed_answer_is_refused_naming_it(
    port: Port, queries: Queries, field: str
) -> None:
    """PT-4: what the port and the queries answer is validated like any input."""
    with pytest.raises(InvalidInput) as raised:
        gather_context(ORDER, port, queries.for_customer, queries.for_address)
    assert raised.value.field == field


def test_pt4_gathering_refuses_what_is_not_an_order_a_port_or_a_lookback() -> None:
    """PT-4: the order, the port and the look back are checked before anything is asked."""
    queries = Queries()
    with pytest.raises(InvalidInput):
        gather_context("o-9", Port(), queries.for_customer, queries.for_address)  # type: ignore[arg-type]
    with pytest.raises(InvalidConfiguration):
        gather_context(ORDER, object(), queries.for_customer, queries.for_address)  # type: ignore[arg-type]
    with pytest.raises(InvalidConfiguration):
        gather_context(
            ORDER,
            Port(),
            queries.for_customer,
            queries.for_address,
            lookback=timedelta(hours=1),  # type: ignore[arg-type]
        )
    assert queries.asked == []
