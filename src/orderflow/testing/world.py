"""The small world the store contracts build their orders in: a lifecycle, a manual clock
and a service over the store under test, and the actors, address and lines they use."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from orderflow import commands as c
from orderflow.machine import Lifecycle
from orderflow.model import Actor, Address, OrderLine, OrderState, Permission
from orderflow.money import Money
from orderflow.order import Order
from orderflow.ports import ManualClock, OrderStore
from orderflow.service import OrderService
from orderflow.testing import strategies as ofs

__all__ = ["ADDRESS", "CUSTOMER", "STAFF", "START", "SYSTEM", "ContractWorld", "contract_lines"]

START = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
CUSTOMER = Actor.customer("contract-customer")
STAFF = Actor.staff("contract-staff", *sorted(Permission.all()))
SYSTEM = Actor.system("contract-system")
ADDRESS = Address("Wang Fang", "13911112222", "9 Binjiang Road", "Hangzhou")


def contract_lines(currency: str = "CNY") -> tuple[OrderLine, ...]:
    """Two lines in ``currency`` (CNY, KWD or JPY), priced at that currency's smallest units."""
    prices = {"CNY": ("88.80", "0.01"), "KWD": ("12.345", "0.005"), "JPY": ("1200", "1")}
    first, second = prices[currency]
    return (
        OrderLine("TEA-1", 3, Money(first, currency), name="tea"),
        OrderLine("CUP-2", 1, Money(second, currency), name="cup"),
    )


class ContractWorld:
    """A lifecycle, a clock and a service over one store, for building test orders."""

    def __init__(self, store: OrderStore) -> None:
        self.clock = ManualClock(START)
        self.lifecycle = Lifecycle()
        self.service = OrderService(store, self.lifecycle, self.clock)

    def place(self, order_id: str, currency: str = "CNY") -> Order:
        """Place an order of the contract's customer through the service."""
        command = c.PlaceOrder(order_id, CUSTOMER.id, contract_lines(currency), ADDRESS)
        return self.service.place(command, CUSTOMER).order

    def run(self, order_id: str, *commands: tuple[c.Command, Actor]) -> Order:
        """Send commands to the order through the service, seven minutes apart."""
        order = self.service.get(order_id)
        for command, actor in commands:
            self.clock.advance(timedelta(minutes=7))
            order = self.service.handle(order_id, command, actor).order
        return order

    def to_state(self, order_id: str, state: OrderState, currency: str = "CNY") -> Order:
        """Place an order and walk it to ``state`` along the lifecycle's paths."""
        order = self.place(order_id, currency)
        return self.run(order_id, *ofs.path_to(order, state))
