"""Helpers the classifier tests share: orders placed by any customer at any instant, and
their records as a context holds them."""

from __future__ import annotations

from datetime import datetime, timedelta

from orderflow import Actor, Address, Order, OrderLine, PlaceOrder
from orderflow.incidents import RecentOrder
from tests.support import ADDRESS, LIFECYCLE, T0, cny

LINES = (
    OrderLine("SKU-A", 2, cny("50.00"), name="tea"),
    OrderLine("SKU-B", 1, cny("19.90"), name="cup"),
)
"""The lines of :func:`placed` orders unless told otherwise: 119.90 CNY."""


def placed(
    order_id: str = "o-1",
    *,
    customer: str = "c-1",
    at: datetime = T0,
    lines: tuple[OrderLine, ...] = LINES,
    address: Address = ADDRESS,
) -> Order:
    """An order of ``customer`` placed at ``at``."""
    command = PlaceOrder(order_id, customer, lines, address)
    return LIFECYCLE.place(command, Actor.customer(customer), at).order


def recent(
    order_id: str,
    *,
    customer: str = "c-1",
    after: timedelta = timedelta(0),
    lines: tuple[OrderLine, ...] = LINES,
) -> RecentOrder:
    """The record of an order of ``customer`` placed ``after`` T0 (negative: before)."""
    return RecentOrder.of(placed(order_id, customer=customer, at=T0 + after, lines=lines))
