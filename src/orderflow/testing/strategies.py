"""Hypothesis strategies for orderflow values, orders in any state, and command scripts.

Install with ``pip install "orderflow-commerce[testing]"``. Every strategy that builds orders
runs real commands through a :class:`~orderflow.Lifecycle` (the default one, or the one you
pass), so the orders it yields are reachable and consistent under your own settings.

Example::

    from hypothesis import given
    from orderflow import OrderState
    from orderflow.testing import strategies as ofs

    @given(ofs.orders(state=OrderState.SHIPPED))
    def test_shipped_orders_have_tracking(order):
        assert order.tracking_number
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import attrs
from hypothesis import strategies as st

from orderflow import commands as c
from orderflow.errors import CommandRefused
from orderflow.machine import Lifecycle
from orderflow.model import Actor, Address, CloseReason, OrderLine, OrderState, Permission
from orderflow.money import Money, currency_exponent
from orderflow.order import Order

__all__ = [
    "CUSTOMER_ID",
    "START",
    "Scripted",
    "actors",
    "addresses",
    "any_commands",
    "close_reasons",
    "command_scripts",
    "money",
    "order_lines",
    "orders",
    "path_to",
    "place_orders",
    "run_script",
    "staff",
]

CUSTOMER_ID = "customer-1"
"""The customer who owns the orders these strategies build."""

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
"""The moment generated orders are placed, unless told otherwise."""

_DEFAULT = Lifecycle()
_CURRENCIES = ("CNY", "USD", "EUR", "JPY", "KWD")


def money(
    currency: str | None = None,
    *,
    min_value: Decimal | int = 0,
    max_value: Decimal | int = 100_000,
) -> st.SearchStrategy[Money]:
    """Amounts of money with as many decimal places as the currency allows."""
    currencies = st.just(currency) if currency else st.sampled_from(_CURRENCIES)

    def build(code: str) -> st.SearchStrategy[Money]:
        places = currency_exponent(code)
        return st.decimals(
            min_value=Decimal(min_value),
            max_value=Decimal(max_value),
            places=places,
            allow_nan=False,
            allow_infinity=False,
        ).map(lambda amount: Money(amount, code))

    return currencies.flatmap(build)


def order_lines(
    currency: str = "CNY", *, max_lines: int = 4
) -> st.SearchStrategy[tuple[OrderLine, ...]]:
    """One to ``max_lines`` lines with unique SKUs, all priced in ``currency``."""
    line = st.builds(
        lambda quantity, price: (quantity, price),
        st.integers(min_value=1, max_value=5),
        money(currency, min_value=Decimal("0.01") if currency_exponent(currency) else 1,
              max_value=5_000),
    )  # fmt: skip
    return st.lists(line, min_size=1, max_size=max_lines).map(
        lambda items: tuple(
            OrderLine(f"SKU-{index}", quantity, price, name=f"item {index}")
            for index, (quantity, price) in enumerate(items)
        )
    )


def addresses(*, complete: bool | None = True) -> st.SearchStrategy[Address]:
    """Shipping addresses; ``complete=False`` gives ones missing a required part, ``None`` any."""
    text = st.text(alphabet="abcdefghij 0123456789", min_size=1, max_size=12).filter(str.strip)
    full = st.builds(
        Address,
        recipient=text,
        phone=st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True),
        line1=text,
        city=text,
        region=text,
        postal_code=st.from_regex(r"[0-9]{6}", fullmatch=True),
    )
    if complete is True:
        return full

    def blank_one(address: Address, name: str) -> Address:
        return attrs.evolve(address, **{name: " "})

    broken = st.builds(blank_one, full, st.sampled_from(Address.REQUIRED))
    return broken if complete is False else st.one_of(full, broken)


def staff(*, permissions: Sequence[str] | None = None) -> st.SearchStrategy[Actor]:
    """Staff actors with the given permissions, or any subset of the known ones."""
    if permissions is not None:
        return st.just(Actor.staff("staff-1", *permissions))
    return st.frozensets(st.sampled_from(sorted(Permission.all()))).map(
        lambda granted: Actor.staff("staff-1", *sorted(granted))
    )


def actors(customer_id: str = CUSTOMER_ID) -> st.SearchStrategy[Actor]:
    """Any actor: the owner, another customer, staff with any permissions, the system."""
    return st.one_of(
        st.just(Actor.customer(customer_id)),
        st.just(Actor.customer("someone-else")),
        st.just(Actor.staff("staff-all", *sorted(Permission.all()))),
        staff(),
        st.just(Actor.system("scheduler")),
    )


def close_reasons() -> st.SearchStrategy[CloseReason]:
    """Every known close reason."""
    return st.sampled_from(CloseReason.known())


def place_orders(
    *, currency: str = "CNY", order_id: str = "order-1", complete_address: bool | None = True
) -> st.SearchStrategy[c.PlaceOrder]:
    """Valid commands placing an order for :data:`CUSTOMER_ID`."""
    return st.builds(
        c.PlaceOrder,
        order_id=st.just(order_id),
        customer_id=st.just(CUSTOMER_ID),
        lines=order_lines(currency),
        address=addresses(complete=complete_address),
    )


@attrs.frozen
class Scripted:
    """One step of a command script: a command, who sends it, and how long after the last."""

    command: c.Command
    actor: Actor
    after: timedelta


def path_to(order: Order, state: OrderState) -> list[tuple[c.Command, Actor]]:
    """The commands, with who sends them, that take a just-placed ``order`` to ``state``.

    The happy path for the states along it; a staff close after payment for ``closed``;
    a staff hold after payment (with a case id) for ``on_hold``.
    """
    everyone = Actor.staff("staff-all", *sorted(Permission.all()))
    system = Actor.system("gateway")
    happy: list[tuple[c.Command, Actor]] = [
        (c.Pay(order.amount_due, "pay-1"), system),
        (c.ApproveReview(), everyone),
        (c.StartFulfilment(), everyone),
        (c.Ship("SF Express", "SF100200300"), everyone),
        (c.ConfirmDelivery(), system),
        (c.ConfirmReceipt(), Actor.customer(order.customer_id)),
    ]
    along = [
        OrderState.PENDING_PAYMENT,
        OrderState.PAID,
        OrderState.AWAITING_SHIPMENT,
        OrderState.IN_FULFILMENT,
        OrderState.SHIPPED,
        OrderState.DELIVERED,
        OrderState.COMPLETED,
    ]
    if state is OrderState.CLOSED:
        return [*happy[:1], (c.Close(CloseReason.OUT_OF_STOCK), everyone)]
    if state is OrderState.ON_HOLD:
        return [*happy[:1], (c.Hold("suspected fraud", case_id="case-1"), everyone)]
    return happy[: along.index(state)]


@st.composite
def orders(
    draw: st.DrawFn,
    state: OrderState | None = None,
    *,
    lifecycle: Lifecycle | None = None,
    currency: str = "CNY",
    order_id: str = "order-1",
) -> Order:
    """Orders in ``state`` (or any state), built by running real commands.

    Args:
        state: the state wanted; any state when ``None``.
        lifecycle: the lifecycle to run the commands through (your settings).
        currency: the order's currency.
        order_id: the order's id.
    """
    engine = lifecycle or _DEFAULT
    wanted = state or draw(st.sampled_from(list(OrderState)))
    placed = draw(place_orders(currency=currency, order_id=order_id))
    at = START
    order = engine.place(placed, Actor.customer(CUSTOMER_ID), at).order
    for command, actor in path_to(order, wanted):
        at += timedelta(minutes=draw(st.integers(min_value=0, max_value=20)))
        order = engine.handle(order, command, actor, at).order
    return order


def any_commands(order: Order) -> st.SearchStrategy[c.Command]:
    """Any command with plausible and implausible payloads for ``order``, including repeats.

    Every command is one that can be built (a payload its class refuses raises when it is
    built, not when it meets the order); the payloads are implausible for the order: another
    currency, an unknown SKU or refund, a payment reference of another payment. Payment
    references, command ids and refund ids are drawn from small pools so that repeats and
    conflicts happen often.
    """
    currency = order.currency
    skus = [line.sku for line in order.lines]
    command_ids = st.one_of(st.none(), st.sampled_from(["cmd-1", "cmd-2", "cmd-3"]))
    references = st.sampled_from(["pay-1", "pay-2", "pay-3"])
    refund_ids = st.sampled_from([f"{order.id}/refund/{n}" for n in (1, 2, 3)])
    smallest = Decimal(1).scaleb(-currency_exponent(currency))
    amount = st.one_of(
        st.just(order.amount_due), money(currency, min_value=smallest, max_value=2_000)
    )
    text = st.sampled_from(["", " ", "note", "customer asked"])
    note = st.sampled_from(["note", "customer asked"])
    lines = order_lines(currency, max_lines=2)
    options: list[st.SearchStrategy[c.Command]] = [
        st.builds(c.Pay, amount=amount, payment_reference=references, command_id=command_ids),
        st.builds(c.BeginPayment, payment_reference=references, command_id=command_ids),
        st.builds(c.FailPayment, payment_reference=references, command_id=command_ids),
        st.builds(c.ApproveReview, command_id=command_ids),
        st.builds(c.StartFulfilment, command_id=command_ids),
        st.builds(c.WithdrawFromFulfilment, note=text, command_id=command_ids),
        st.builds(
            c.Ship,
            carrier=st.sampled_from(["SF Express", "YTO"]),
            tracking_number=st.sampled_from(["SF1", "YT22"]),
            command_id=command_ids,
        ),
        st.builds(c.ConfirmDelivery, command_id=command_ids),
        st.builds(c.ConfirmReceipt, command_id=command_ids),
        st.builds(c.AutoConfirmReceipt, command_id=command_ids),
        st.builds(c.Close, reason=close_reasons(), note=note, command_id=command_ids),
        st.builds(
            c.Close,
            reason=close_reasons().filter(lambda reason: not reason.needs_note),
            command_id=command_ids,
        ),
        st.builds(c.AutoCloseUnpaid, command_id=command_ids),
        st.builds(c.Hold, note=st.just("check"), command_id=command_ids),
        st.builds(c.Release, note=text, command_id=command_ids),
        st.builds(
            c.ChangePrice,
            sku=st.sampled_from([*skus, "SKU-missing"]),
            unit_price=money(currency, max_value=500),
            command_id=command_ids,
        ),
        st.builds(c.ChangeLines, lines=lines, command_id=command_ids),
        st.builds(c.ChangeAddress, address=addresses(complete=None), command_id=command_ids),
        st.builds(c.ConfirmRefund, refund_id=refund_ids, command_id=command_ids),
        st.builds(c.FailRefund, refund_id=refund_ids, error=text, command_id=command_ids),
        st.builds(c.RetryRefund, refund_id=refund_ids, command_id=command_ids),
    ]
    return st.one_of(options)


def command_scripts(order: Order, *, max_size: int = 25) -> st.SearchStrategy[list[Scripted]]:
    """Scripts of random commands from random actors, with time advancing between them."""
    gaps = st.sampled_from(
        [timedelta(0), timedelta(minutes=1), timedelta(minutes=31), timedelta(days=11)]
    )
    step = st.builds(Scripted, any_commands(order), actors(order.customer_id), gaps)
    return st.lists(step, max_size=max_size)


def run_script(
    lifecycle: Lifecycle, order: Order, script: Sequence[Scripted], start: datetime | None = None
) -> list[tuple[Order, Scripted, Order | CommandRefused]]:
    """Run a script, collecting ``(before, step, after or refusal)`` for every step."""
    at = start or order.updated_at
    trace: list[tuple[Order, Scripted, Order | CommandRefused]] = []
    for step in script:
        at += step.after
        try:
            after: Order | CommandRefused = lifecycle.handle(
                order, step.command, step.actor, at
            ).order
        except CommandRefused as refused:
            after = refused
        trace.append((order, step, after))
        if isinstance(after, Order):
            order = after
    return trace
