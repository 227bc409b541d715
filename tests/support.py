"""Plain helpers the tests share: a clock start, actors, and orders walked to a state."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from orderflow import (
    Actor,
    Address,
    ApproveReview,
    Close,
    CloseReason,
    Command,
    ConfirmDelivery,
    ConfirmReceipt,
    Hold,
    Lifecycle,
    Money,
    Order,
    OrderLine,
    Outcome,
    Pay,
    Permission,
    PlaceOrder,
    Ship,
    StartFulfilment,
)

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
LIFECYCLE = Lifecycle()
CUSTOMER = Actor.customer("c-1")
OTHER_CUSTOMER = Actor.customer("c-2")
STAFF = Actor.staff("agent-1", *sorted(Permission.all()))
SYSTEM = Actor.system("scheduler")
ADDRESS = Address(
    recipient="Li Lei",
    phone="13800138000",
    line1="1 Wensan Road",
    city="Hangzhou",
    region="Zhejiang",
    postal_code="310000",
)


def cny(amount: str) -> Money:
    """An amount in yuan."""
    return Money(amount, "CNY")


def place(order_id: str = "o-1", *, lines: tuple[OrderLine, ...] | None = None,
          address: Address = ADDRESS) -> Order:  # fmt: skip
    """A freshly placed order of 2 x 50.00 + 1 x 19.90 = 119.90 CNY."""
    lines = lines or (
        OrderLine("SKU-A", 2, cny("50.00"), name="tea"),
        OrderLine("SKU-B", 1, cny("19.90"), name="cup"),
    )
    command = PlaceOrder(order_id, CUSTOMER.id, lines, address)
    return LIFECYCLE.place(command, CUSTOMER, T0).order


def apply(order: Order, command: Command, actor: Actor = STAFF,
          at: datetime | None = None) -> Outcome:  # fmt: skip
    """Handle a command a minute after the order's last change (unless ``at`` is given)."""
    return LIFECYCLE.handle(order, command, actor, at or order.updated_at + timedelta(minutes=1))


HAPPY_PATH: tuple[tuple[Command, Actor], ...] = (
    (Pay(cny("119.90"), "pay-1"), SYSTEM),
    (ApproveReview(), STAFF),
    (StartFulfilment(), STAFF),
    (Ship("SF Express", "SF1234567890"), STAFF),
    (ConfirmDelivery(), SYSTEM),
    (ConfirmReceipt(), CUSTOMER),
)


def walk(steps: int, order: Order | None = None) -> Order:
    """An order moved ``steps`` commands along the happy path (0 = just placed)."""
    order = order or place()
    for command, actor in HAPPY_PATH[:steps]:
        order = apply(order, command, actor).order
    return order


def paid() -> Order:
    """An order paid in full."""
    return walk(1)


def awaiting_shipment() -> Order:
    """An order that passed review."""
    return walk(2)


def in_fulfilment() -> Order:
    """An order the warehouse is packing."""
    return walk(3)


def shipped() -> Order:
    """An order with the carrier."""
    return walk(4)


def delivered() -> Order:
    """An order the carrier delivered."""
    return walk(5)


def completed() -> Order:
    """An order whose receipt was confirmed."""
    return walk(6)


def held(from_order: Order) -> Order:
    """``from_order`` put on hold."""
    return apply(from_order, Hold("address check")).order


def closed(from_order: Order | None = None) -> Order:
    """An order closed by staff for being out of stock."""
    return apply(from_order or place(), Close(CloseReason.OUT_OF_STOCK)).order
