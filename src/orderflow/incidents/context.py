"""What the host knows about an order's surroundings, for the classifier (EX-2, PT-4).

The classifier is pure: it never asks anyone anything. The host gathers what it knows about
one order (stock levels, list prices, whether the customer is a VIP, the recent orders of the
customer and of the address) through a :class:`ContextPort` and the store, and hands the
classifier a :class:`Context`: an immutable, validated snapshot. :func:`gather_context` does
the gathering for a host that has a port and two store queries.

"No data" is part of the snapshot: a SKU without a stock level counts as in stock, and a SKU
without a list price is not price-checked. A port says "no data" by leaving the key out.

Carrier tracking events are not part of the context: they are recorded on the order (see
:mod:`orderflow.incidents.tracking`).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Final, NamedTuple, Protocol, runtime_checkable

import attrs

from orderflow.errors import InvalidConfiguration, InvalidInput
from orderflow.frozen import FrozenMap
from orderflow.inputs import EARLIEST, check_identifier, check_time
from orderflow.model import MAX_LINES, MAX_QUANTITY, Address, OrderState
from orderflow.money import Money

if TYPE_CHECKING:
    from orderflow.order import Order

__all__ = [
    "DEFAULT_LOOKBACK",
    "MAX_RECENT_ORDERS",
    "MAX_STOCK_UNITS",
    "Context",
    "ContextPort",
    "Lookback",
    "RecentLine",
    "RecentOrder",
    "gather_context",
]

MAX_RECENT_ORDERS: Final = 1_000
"""The most recent orders a context holds of the customer, and of the address."""
MAX_STOCK_UNITS: Final = 10**15
"""A stock level is below this in absolute value."""
MAX_WINDOW: Final = timedelta(days=3650)
"""The longest look back a context is gathered for."""


class RecentLine(NamedTuple):
    """One line of a recent order, as the duplicate check compares them (RK-2).

    Attributes:
        sku: the stock-keeping unit.
        quantity: how many units.
        unit_price: the price of one unit.
    """

    sku: str
    quantity: int
    unit_price: Money


def _recent_lines(value: object) -> tuple[RecentLine, ...]:
    field = "recent_order.lines"
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise InvalidInput(field, value, "must be a sequence of (sku, quantity, unit price)")
    lines = tuple(itertools.islice(value, MAX_LINES + 1))
    if not lines:
        raise InvalidInput(field, lines, "an order has at least one line")
    if len(lines) > MAX_LINES:
        raise InvalidInput(field, value, f"an order has at most {MAX_LINES:,} lines")
    checked: dict[str, RecentLine] = {}
    for index, line in enumerate(lines):
        where = f"{field}[{index}]"
        if not isinstance(line, tuple) or len(line) != 3:
            raise InvalidInput(where, line, "must be (sku, quantity, unit price)")
        sku, quantity, unit_price = line
        check_identifier(f"{where}.sku", sku)
        if isinstance(quantity, bool) or not isinstance(quantity, int):
            raise InvalidInput(f"{where}.quantity", quantity, "must be a whole number")
        if not 1 <= quantity <= MAX_QUANTITY:
            raise InvalidInput(f"{where}.quantity", quantity, f"must be 1 to {MAX_QUANTITY:,}")
        if not isinstance(unit_price, Money) or unit_price.amount < 0:
            raise InvalidInput(f"{where}.unit_price", unit_price, "must be Money, not negative")
        if sku in checked:
            raise InvalidInput(f"{where}.sku", sku, "SKUs must be unique")
        checked[sku] = RecentLine(sku, quantity, unit_price)
    return tuple(checked[sku] for sku in sorted(checked))


def _recent_id(instance: object, attribute: attrs.Attribute[str], value: object) -> None:
    check_identifier(f"recent_order.{attribute.name}", value)


def _recent_time(instance: object, attribute: attrs.Attribute[datetime], value: object) -> None:
    check_time("recent_order.placed_at", value)


def _recent_amount(instance: object, attribute: attrs.Attribute[Money], value: object) -> None:
    if not isinstance(value, Money) or value.amount < 0:
        raise InvalidInput("recent_order.amount_due", value, "must be Money, not negative")


def _recent_flag(instance: object, attribute: attrs.Attribute[bool], value: object) -> None:
    if not isinstance(value, bool):
        raise InvalidInput("recent_order.closed", value, "must be True or False")


@attrs.frozen
class RecentOrder:
    """Another order of the customer or to the address: what the risk checks compare
    (RK-1, RK-2). Build one from an order with :meth:`of`.

    Attributes:
        order_id: the order.
        customer_id: its customer.
        placed_at: when it was placed.
        amount_due: what it costs.
        lines: its lines as (sku, quantity, unit price), sorted by SKU (so two orders with the
            same lines in another order compare equal).
        closed: whether it was closed; a closed order is no duplicate (nothing of it ships),
            but it still counts towards how many orders were placed (RK-1).

    Raises:
        InvalidInput: a malformed field; lines that are empty, too many, malformed or repeat
            a SKU.
    """

    order_id: str = attrs.field(validator=_recent_id)
    customer_id: str = attrs.field(validator=_recent_id)
    placed_at: datetime = attrs.field(validator=_recent_time)
    amount_due: Money = attrs.field(validator=_recent_amount)
    lines: tuple[RecentLine, ...] = attrs.field(converter=_recent_lines)
    closed: bool = attrs.field(default=False, validator=_recent_flag, kw_only=True)

    @classmethod
    def of(cls, order: Order) -> RecentOrder:
        """The record of an order.

        Args:
            order: an order (of the customer, or to the address).

        Returns:
            Its id, customer, placement, amount due, lines, and whether it is closed.
        """
        return cls(
            order.id,
            order.customer_id,
            order.created_at,
            order.amount_due,
            tuple(RecentLine(line.sku, line.quantity, line.unit_price) for line in order.lines),
            closed=order.state is OrderState.CLOSED,
        )


def _bounded(field: str, value: object, max_entries: int) -> Mapping[object, object]:
    if not isinstance(value, Mapping):
        raise InvalidInput(field, value, "must be a mapping by SKU")
    if len(value) > max_entries:
        raise InvalidInput(field, len(value), f"at most {max_entries:,} SKUs")
    return value


def _stock(value: object) -> Mapping[str, int]:
    checked: dict[str, int] = {}
    for sku, units in _bounded("context.stock", value, MAX_LINES).items():
        key = check_identifier("context.stock", sku)
        if isinstance(units, bool) or not isinstance(units, int):
            raise InvalidInput(f"context.stock[{key!r}]", units, "must be a whole number")
        if not -MAX_STOCK_UNITS < units < MAX_STOCK_UNITS:
            raise InvalidInput(f"context.stock[{key!r}]", units, "must be below 10^15 units")
        checked[key] = units
    return FrozenMap(checked)


def _list_prices(value: object) -> Mapping[str, Money]:
    checked: dict[str, Money] = {}
    for sku, price in _bounded("context.list_prices", value, MAX_LINES).items():
        key = check_identifier("context.list_prices", sku)
        if not isinstance(price, Money) or price.amount < 0:
            raise InvalidInput(
                f"context.list_prices[{key!r}]", price, "must be Money, not negative"
            )
        checked[key] = price
    return FrozenMap(checked)


def _recent_orders(field: str, value: object) -> tuple[RecentOrder, ...]:
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise InvalidInput(field, value, "must be a sequence of RecentOrder")
    orders = tuple(itertools.islice(value, MAX_RECENT_ORDERS + 1))
    if len(orders) > MAX_RECENT_ORDERS:
        raise InvalidInput(field, value, f"at most {MAX_RECENT_ORDERS:,} orders")
    seen: set[str] = set()
    for index, recent in enumerate(orders):
        if not isinstance(recent, RecentOrder):
            raise InvalidInput(f"{field}[{index}]", recent, "must be a RecentOrder")
        if recent.order_id in seen:
            raise InvalidInput(f"{field}[{index}]", recent.order_id, "names an order twice")
        seen.add(recent.order_id)
    return orders


def _customer_orders(value: object) -> tuple[RecentOrder, ...]:
    return _recent_orders("context.customer_orders", value)


def _address_orders(value: object) -> tuple[RecentOrder, ...]:
    return _recent_orders("context.address_orders", value)


def _vip(instance: object, attribute: attrs.Attribute[bool], value: object) -> None:
    if not isinstance(value, bool):
        raise InvalidInput("context.vip", value, "must be True or False")


@attrs.frozen(kw_only=True)
class Context:
    """What the host knows about one order's surroundings (EX-2, PT-4): an immutable,
    validated snapshot the classifier reads.

    ``Context()`` is a context without any data: every SKU in stock, no price checked, no
    recent order.

    Attributes:
        stock: units available by SKU (negative when oversold). A SKU left out has no data
            and counts as in stock.
        list_prices: list prices by SKU. A SKU left out is not price-checked.
        vip: whether the customer is a VIP (for the escalation matrix, EX-4).
        customer_orders: the customer's recent orders (RK-1, RK-2); the order itself may be
            among them (the checks leave it out).
        address_orders: the recent orders to the same address, whoever placed them (RK-1).

    Raises:
        InvalidInput: a mapping that is not one, more than 1,000 SKUs, a malformed SKU, a
            stock level that is not a whole number or is 10^15 or more, a list price that is
            not Money or is negative, recent orders that are not :class:`RecentOrder`, more
            than 1,000 of them or one named twice, a ``vip`` that is not a bool.
    """

    stock: Mapping[str, int] = attrs.field(factory=FrozenMap, converter=_stock, hash=False)
    list_prices: Mapping[str, Money] = attrs.field(
        factory=FrozenMap, converter=_list_prices, hash=False
    )
    vip: bool = attrs.field(default=False, validator=_vip)
    customer_orders: tuple[RecentOrder, ...] = attrs.field(default=(), converter=_customer_orders)
    address_orders: tuple[RecentOrder, ...] = attrs.field(default=(), converter=_address_orders)


def _window(setting: str, value: object) -> timedelta:
    if not isinstance(value, timedelta):
        raise InvalidConfiguration(setting, value, "must be a timedelta")
    if not timedelta(0) <= value <= MAX_WINDOW:
        raise InvalidConfiguration(setting, value, "must be from 0 to 3650 days")
    return value


@attrs.frozen
class Lookback:
    """How far back the recent orders of a context must reach, before the order's placement.

    A classifier says what its detectors need (:attr:`Classifier.lookback
    <orderflow.incidents.classify.Classifier.lookback>`); :func:`gather_context` asks the
    store that far back. Zero means the detectors need none: the query is not made.

    Attributes:
        customer: for the customer's recent orders.
        address: for the address's recent orders.

    Raises:
        InvalidConfiguration: not a timedelta, negative, or beyond 3650 days.
    """

    customer: timedelta = attrs.field(default=timedelta(0))
    address: timedelta = attrs.field(default=timedelta(0))

    def __attrs_post_init__(self) -> None:
        _window("lookback.customer", self.customer)
        _window("lookback.address", self.address)

    def covering(self, other: Lookback) -> Lookback:
        """The look back that covers both this one and ``other``."""
        return Lookback(max(self.customer, other.customer), max(self.address, other.address))


DEFAULT_LOOKBACK: Final = Lookback(customer=timedelta(hours=1), address=timedelta(hours=24))
"""What the default detectors need: the customer's last hour (RK-1; it covers RK-2's ten
minutes) and the address's last 24 hours (RK-1)."""


@runtime_checkable
class ContextPort(Protocol):
    """What a host tells the classifier about stock, prices and customers (PT-4).

    Every method is required and must not change anything. Each answers for what it is asked
    and may leave out what it does not know: a SKU missing from the answer means "no data"
    (in stock; not price-checked). Keys that were not asked for are ignored. Answers are
    read once per order, when its context is gathered. A method that raises makes the
    command fail with :class:`~orderflow.errors.ContextUnavailable` (nothing is changed; the
    sweep retries the order later); a method should give up by itself after a timeout of
    its own, since the service cannot interrupt it.
    """

    def stock_levels(self, skus: Sequence[str]) -> Mapping[str, int]:
        """Units available now by SKU (negative when oversold), for the SKUs asked."""
        ...

    def list_prices(self, skus: Sequence[str]) -> Mapping[str, Money]:
        """The list price of each SKU asked, in the order's currency."""
        ...

    def is_vip(self, customer_id: str) -> bool:
        """Whether the customer is a VIP."""
        ...


RecentForCustomer = Callable[[str, datetime], Sequence["Order"]]
"""A store query: the customer's orders placed at or after an instant (newest first is
best; the context keeps at most :data:`MAX_RECENT_ORDERS`)."""
RecentForAddress = Callable[[Address, datetime], Sequence["Order"]]
"""A store query: the orders to an address placed at or after an instant."""


def _answer(field: str, answer: object, asked: tuple[str, ...]) -> dict[str, object]:
    if not isinstance(answer, Mapping):
        raise InvalidInput(field, answer, "a port answers with a mapping by SKU")
    return {sku: answer[sku] for sku in asked if sku in answer}


def _recent(field: str, found: object, order: Order, start: datetime) -> tuple[RecentOrder, ...]:
    """The orders ``found`` placed after ``start`` and not after ``order``, as records."""
    from orderflow.order import Order

    if isinstance(found, str | bytes) or not isinstance(found, Iterable):
        raise InvalidInput(field, found, "a query answers with a sequence of orders")
    placed = order.created_at
    kept: list[RecentOrder] = []
    for index, other in enumerate(found):
        if not isinstance(other, Order):
            raise InvalidInput(f"{field}[{index}]", other, "must be an Order")
        if other.id != order.id and start < other.created_at <= placed:
            kept.append(RecentOrder.of(other))
    kept.sort(key=lambda recent: (recent.placed_at, recent.order_id), reverse=True)
    newest: dict[str, RecentOrder] = {}
    for recent in kept:
        newest.setdefault(recent.order_id, recent)
        if len(newest) == MAX_RECENT_ORDERS:
            break
    return tuple(newest.values())


def gather_context(
    order: Order,
    port: ContextPort,
    recent_for_customer: RecentForCustomer,
    recent_for_address: RecentForAddress,
    *,
    lookback: Lookback = DEFAULT_LOOKBACK,
) -> Context:
    """Gather what the host knows about an order into a :class:`Context` (PT-4).

    Asks the port for the stock and list prices of the order's SKUs and whether its customer
    is a VIP, and the store for the customer's and the address's orders placed within the
    look back before the order (the order itself left out; at most
    :data:`MAX_RECENT_ORDERS` each, the newest). A query whose look back is zero is not made.

    Args:
        order: the order to classify.
        port: the host's context port.
        recent_for_customer: ``(customer_id, since) -> orders`` of the store.
        recent_for_address: ``(address, since) -> orders`` of the store.
        lookback: how far back each query reaches (the classifier's
            :attr:`~orderflow.incidents.classify.Classifier.lookback`).

    Returns:
        The context.

    Raises:
        InvalidInput: ``order`` is not an Order, a port answer that is not a mapping or holds
            a malformed value, a VIP answer that is not a bool, a query answer that is not a
            sequence of orders.
        InvalidConfiguration: ``lookback`` is not a :class:`Lookback`, or ``port`` lacks a
            method of :class:`ContextPort`.
    """
    from orderflow.order import Order

    if not isinstance(order, Order):
        raise InvalidInput("order", order, "must be an Order")
    if not isinstance(lookback, Lookback):
        raise InvalidConfiguration("lookback", lookback, "must be a Lookback")
    if not isinstance(port, ContextPort):
        raise InvalidConfiguration("port", port, "must implement ContextPort")
    skus = tuple(line.sku for line in order.lines)
    placed = order.created_at
    customer_orders: tuple[RecentOrder, ...] = ()
    address_orders: tuple[RecentOrder, ...] = ()
    if lookback.customer:
        start = placed - lookback.customer
        found = recent_for_customer(order.customer_id, max(start, EARLIEST))
        customer_orders = _recent("recent_for_customer", found, order, start)
    if lookback.address:
        start = placed - lookback.address
        found = recent_for_address(order.address, max(start, EARLIEST))
        address_orders = _recent("recent_for_address", found, order, start)
    vip = port.is_vip(order.customer_id)
    if not isinstance(vip, bool):
        raise InvalidInput("is_vip", vip, "must be True or False")
    return Context(
        stock=_answer("stock_levels", port.stock_levels(skus), skus),
        list_prices=_answer("list_prices", port.list_prices(skus), skus),
        vip=vip,
        customer_orders=customer_orders,
        address_orders=address_orders,
    )
