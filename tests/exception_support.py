"""Helpers the order-exception service tests share: a host's context port the test fills in,
and a shop (the service over an in-memory store, a manual clock, the timer sweep) with short
ways to walk an order to a state, send a command and expect a refusal."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

import pytest

from orderflow import (
    Actor,
    Address,
    ApproveReview,
    Command,
    CommandRefused,
    Lifecycle,
    Money,
    Order,
    OrderLine,
    Outcome,
    Pay,
    PlaceOrder,
    Ship,
    StartFulfilment,
)
from orderflow.adapters.memory import InMemoryStore
from orderflow.incidents.case import ExceptionCase
from orderflow.incidents.model import ExceptionType
from orderflow.ports import ManualClock
from orderflow.service import OrderService
from orderflow.sweep import SweepReport, TimerSweep
from tests.support import ADDRESS, CUSTOMER, STAFF, SYSTEM, T0, cny

LINES = (
    OrderLine("SKU-A", 2, cny("50.00"), name="tea"),
    OrderLine("SKU-B", 1, cny("19.90"), name="cup"),
)
"""119.90 CNY: 2 x 50.00 of SKU-A and 1 x 19.90 of SKU-B."""
TOTAL = cny("119.90")
ONE_LINE = (OrderLine("SKU-A", 2, cny("50.00"), name="tea"),)
"""100.00 CNY: one line of 2 units."""


class HostContext:
    """A host's context port (PT-4) the test fills in: stock, list prices, VIPs. A SKU left
    out has no data. Counts how often it was asked."""

    def __init__(self) -> None:
        self.stock: dict[str, int] = {}
        self.prices: dict[str, Money] = {}
        self.vips: set[str] = set()
        self.asked = 0

    def stock_levels(self, skus: Sequence[str]) -> Mapping[str, int]:
        """The stock of the SKUs asked that the test set."""
        self.asked += 1
        return {sku: self.stock[sku] for sku in skus if sku in self.stock}

    def list_prices(self, skus: Sequence[str]) -> Mapping[str, Money]:
        """The list prices of the SKUs asked that the test set."""
        return {sku: self.prices[sku] for sku in skus if sku in self.prices}

    def is_vip(self, customer_id: str) -> bool:
        """Whether the test made the customer a VIP."""
        return customer_id in self.vips


class Shop:
    """The service over an in-memory store with a clock the test moves, the host's context
    port, and the timer sweep."""

    def __init__(self, lifecycle: Lifecycle | None = None) -> None:
        self.clock = ManualClock(T0)
        self.store = InMemoryStore()
        self.host = HostContext()
        self.service = OrderService(self.store, lifecycle, self.clock, context=self.host)
        self.sweeper = TimerSweep(self.service, worker="sweep-ex")

    @property
    def now(self) -> datetime:
        """The clock's time."""
        return self.clock.now()

    def place(
        self,
        order_id: str = "o-1",
        *,
        lines: tuple[OrderLine, ...] = LINES,
        address: Address = ADDRESS,
        customer: Actor = CUSTOMER,
    ) -> Order:
        """Place an order now."""
        command = PlaceOrder(order_id, customer.id, lines, address)
        return self.service.place(command, customer).order

    def send(
        self,
        order_id: str,
        command: Command,
        actor: Actor = STAFF,
        after: timedelta = timedelta(minutes=1),
    ) -> Outcome:
        """Handle a command ``after`` from now (a minute by default)."""
        self.clock.advance(after)
        return self.service.handle(order_id, command, actor)

    def order(self, order_id: str = "o-1") -> Order:
        """The stored order."""
        return self.service.get(order_id)

    def refused(
        self,
        order_id: str,
        command: Command,
        actor: Actor = STAFF,
        after: timedelta = timedelta(minutes=1),
    ) -> CommandRefused:
        """The refusal of a command; the stored order is left as it was."""
        before = self.order(order_id)
        self.clock.advance(after)
        with pytest.raises(CommandRefused) as info:
            self.service.handle(order_id, command, actor)
        assert self.order(order_id) == before
        return info.value

    def paid(
        self, order_id: str = "o-1", *, lines: tuple[OrderLine, ...] = LINES,
        address: Address = ADDRESS,
    ) -> Order:  # fmt: skip
        """A new order, paid in full."""
        order = self.place(order_id, lines=lines, address=address)
        return self.send(order_id, Pay(order.amount_due, f"pay-{order_id}"), SYSTEM).order

    def reviewed(
        self, order_id: str = "o-1", *, lines: tuple[OrderLine, ...] = LINES,
        address: Address = ADDRESS,
    ) -> Order:  # fmt: skip
        """A new order, paid and reviewed (held or confirmed, as the host's context says)."""
        self.paid(order_id, lines=lines, address=address)
        return self.send(order_id, ApproveReview()).order

    def shipped(self, order_id: str = "o-1", *, lines: tuple[OrderLine, ...] = LINES) -> Order:
        """A new order walked to shipped (its review must find nothing)."""
        order = self.reviewed(order_id, lines=lines)
        assert order.hold is None, order.exceptions
        self.send(order_id, StartFulfilment())
        return self.send(order_id, Ship("SF Express", f"SF-{order_id}")).order

    def sweep(self, at: datetime) -> SweepReport:
        """Run the sweep with the clock at ``at``."""
        self.clock.set(at)
        return self.sweeper.run()


def only_case(order: Order, type: ExceptionType | None = None) -> ExceptionCase:
    """The order's one exception case (of ``type``, when given)."""
    cases = [case for case in order.exceptions if type is None or case.type is type]
    assert len(cases) == 1, cases
    return cases[0]
