"""orderflow in a few lines: one order to completion, one closed, one refused a close.

Run it with ``python3 tasks.py demo`` (or ``python examples/quickstart.py`` inside the
project's virtual environment).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from orderflow import (
    Actor,
    Address,
    ApproveReview,
    Close,
    CloseReason,
    CommandRefused,
    ConfirmDelivery,
    ConfirmReceipt,
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

lifecycle = Lifecycle()  # defined once per process, shared by every order
START = datetime(2026, 11, 11, 9, 0, tzinfo=UTC)  # time is always passed in, never read
_elapsed = [timedelta(0)]

buyer = Actor.customer("c-1001")
agent = Actor.staff("agent-7", *Permission.all())
gateway = Actor.system("payment-gateway")
carrier_feed = Actor.system("carrier-feed")
address = Address(
    recipient="Li Lei",
    phone="13800138000",
    line1="1 Wensan Road",
    city="Hangzhou",
    region="Zhejiang",
    postal_code="310000",
)
lines = (
    OrderLine("TEA-LONGJING-250G", 2, Money("88.00", "CNY"), name="Longjing tea, 250 g"),
    OrderLine("CUP-CELADON", 1, Money("45.50", "CNY"), name="Celadon cup"),
)


def show(outcome: Outcome) -> Order:
    """Print what a command did and return the new order."""
    entry = outcome.entry
    source = entry.from_state.value if entry.from_state else "(new)"
    print(f"  {entry.event:<18} {source:>17} -> {entry.to_state.value:<17} by {entry.actor}")
    for effect in outcome.effects:
        print(f"  {'':<18} effect {effect.kind}: {describe(effect)}")
    return outcome.order


def describe(effect: object) -> str:
    """One line about an effect."""
    message = getattr(effect, "message", None)
    if message:
        return str(message)
    amount = getattr(effect, "amount", None)
    if amount is not None:
        return f"{amount} ({getattr(effect, 'reason', '')})"
    return ", ".join(f"{line.sku} x{line.quantity}" for line in getattr(effect, "lines", ()))


def tick(minutes: int = 5) -> datetime:
    """Advance the demo clock and return the new time."""
    _elapsed[0] += timedelta(minutes=minutes)
    return START + _elapsed[0]


print("1. An order from placement to completion")
order = show(lifecycle.place(PlaceOrder("SO-1", buyer.id, lines, address), buyer, START))
print(f"  amount due {order.amount_due}; unpaid auto-close at {order.deadlines[0].due_at:%H:%M}")
order = show(lifecycle.handle(order, Pay(order.amount_due, "alipay-778", command_id="webhook-1"),
                              gateway, tick()))  # fmt: skip
again = lifecycle.handle(order, Pay(order.amount_due, "alipay-778", command_id="webhook-1"),
                         gateway, tick())  # fmt: skip
print(
    f"  the payment webhook arrived twice: replayed={again.replayed}, version {again.order.version}"
)
for command, actor in (
    (ApproveReview(), agent),
    (StartFulfilment(), agent),
    (Ship("SF Express", "SF1402778832"), agent),
    (ConfirmDelivery(), carrier_feed),
    (ConfirmReceipt(), buyer),
):
    order = show(lifecycle.handle(order, command, actor, tick(60 * 7)))
print(f"  final state {order.state.value}, {order.version} history entries\n")

print("2. A paid order closed because the goods are out of stock")
second = lifecycle.place(PlaceOrder("SO-2", buyer.id, lines, address), buyer, tick()).order
second = lifecycle.handle(second, Pay(second.amount_due, "alipay-779"), gateway, tick()).order
second = show(lifecycle.handle(second, Close(CloseReason.OUT_OF_STOCK), agent, tick()))
print(f"  refund pending: {second.ledger.amount_refund_pending}\n")

print("3. A shipped order cannot be closed")
third = lifecycle.place(PlaceOrder("SO-3", buyer.id, lines, address), buyer, tick()).order
for command, actor in (
    (Pay(third.amount_due, "alipay-780"), gateway),
    (ApproveReview(), agent),
    (StartFulfilment(), agent),
    (Ship("YTO", "YT7788"), agent),
):
    third = lifecycle.handle(third, command, actor, tick()).order
try:
    lifecycle.handle(third, Close(CloseReason.CUSTOMER_CANCELLED), agent, tick())
except CommandRefused as refused:
    print(f"  refused [{refused.code}]: {refused.message}")
    print(f"  what to do instead: {refused.hint}")
allowed = lifecycle.available(third, agent, tick()).allowed_events
print(f"  what the agent may do now: {', '.join(allowed)}")
