"""A customer's orders, newest first, in pages: both stores against a plain sort (PT-1)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from orderflow import Actor, Order, PlaceOrder
from orderflow.adapters.memory import InMemoryStore
from orderflow.adapters.sql import SqlStore
from orderflow.ports import OrderStore
from tests.support import ADDRESS, LIFECYCLE, T0, place

CUSTOMERS = ("c-a", "c-b", "c-c")
LINES = place().lines

placements = st.lists(
    st.tuples(
        st.text("abxyz019-", min_size=1, max_size=4),  # ids that share prefixes
        st.sampled_from(CUSTOMERS),
        st.integers(0, 3),  # minutes after T0: many orders placed at the same instant
    ),
    max_size=25,
    unique_by=lambda placement: placement[0],
)
cursors = st.tuples(
    st.integers(-1, 4).map(lambda minutes: T0 + timedelta(minutes=minutes)),
    st.text("abxyz019-", max_size=4),
)


def _fill(store: OrderStore, placed: list[tuple[str, str, int]]) -> list[Order]:
    orders = []
    for order_id, customer, minutes in placed:
        command = PlaceOrder(order_id, customer, LINES, ADDRESS)
        order = LIFECYCLE.place(command, Actor.customer(customer), T0 + timedelta(minutes=minutes))
        store.add(order.order)
        orders.append(order.order)
    return orders


def _newest_first(orders: list[Order], customer: str) -> list[Order]:
    mine = [order for order in orders if order.customer_id == customer]
    return sorted(mine, key=lambda order: (order.created_at, order.id), reverse=True)


def _check_pages(
    make: Callable[[], OrderStore],
    placed: list[tuple[str, str, int]],
    size: int,
    cursor: tuple[datetime, str],
) -> None:
    store = make()
    orders = _fill(store, placed)
    for customer in CUSTOMERS:
        expected = _newest_first(orders, customer)
        walked: list[Order] = []
        page = store.find_by_customer(customer, limit=size)
        while page:
            assert len(page) <= size
            assert len(walked) < len(expected), "a page repeats orders of an earlier one"
            walked += page
            last = page[-1]
            page = store.find_by_customer(customer, limit=size, before=(last.created_at, last.id))
        assert walked == expected
        below = [order for order in expected if (order.created_at, order.id) < cursor]
        assert store.find_by_customer(customer, limit=size, before=cursor) == below[:size]


@given(placements, st.integers(1, 6), cursors)
def test_memory_pages_are_the_sorted_orders_in_slices(
    placed: list[tuple[str, str, int]], size: int, cursor: tuple[datetime, str]
) -> None:
    """PT-1: walking a customer's pages gives every order of that customer once, by
    (created_at, id) descending; any cursor gives the orders strictly below it."""
    _check_pages(InMemoryStore, placed, size, cursor)


@settings(max_examples=40)
@given(placements, st.integers(1, 6), cursors)
def test_sql_pages_are_the_sorted_orders_in_slices(
    placed: list[tuple[str, str, int]], size: int, cursor: tuple[datetime, str]
) -> None:
    """PT-1: the SQL store (SQLite in memory) pages a customer's orders like a plain sort,
    ids compared by code point as Python compares them."""
    _check_pages(lambda: SqlStore.sqlite(":memory:", cache_size=0), placed, size, cursor)
