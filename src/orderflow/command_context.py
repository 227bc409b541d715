"""A command's context (PT-4), as :class:`~orderflow.service.OrderService` gathers it: the
host's context port, and the recent orders read from the store (RK-1), a customer's and those
shipped to an address, placed within the classifier's window up to the order's own placement.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from orderflow import commands as c
from orderflow.errors import ContextUnavailable, OrderflowError
from orderflow.incidents.commands import (
    CheckRestock,
    EscalateException,
    MissExceptionTarget,
    OpenException,
)
from orderflow.incidents.context import (
    MAX_RECENT_ORDERS,
    Context,
    ContextPort,
    Lookback,
    gather_context,
)
from orderflow.inputs import LATEST
from orderflow.model import Address
from orderflow.order import Order
from orderflow.ports import OrderStore

__all__ = [
    "READS_CONTEXT",
    "command_context",
    "recent_for_address",
    "recent_for_customer",
    "up_to",
]

READS_CONTEXT: tuple[type[c.Command], ...] = (
    c.ApproveReview,
    CheckRestock,
    EscalateException,
    MissExceptionTarget,
    OpenException,
)
"""The commands that read an order's context (PT-4) when the service has a context port."""


def command_context(
    store: OrderStore, port: ContextPort, order: Order, command: c.Command, lookback: Lookback
) -> Context | None:
    """The order's context for ``command``: ``None`` for a command that reads none, or for a
    replay (the original outcome stands, nothing is decided again).

    Raises:
        ContextUnavailable: the host's port failed (naming the order and the error's type).
    """
    if not isinstance(command, READS_CONTEXT):
        return None
    if command.command_id is not None and order.entry_for(command.command_id) is not None:
        return None
    try:
        return gather_context(
            order,
            port,
            lambda customer, since: recent_for_customer(store, customer, since, order),
            lambda address, since: recent_for_address(store, address, since, order),
            lookback=lookback,
        )
    except OrderflowError:
        raise
    except Exception as error:  # the host's port failed: say so, keep the sweep going
        raise ContextUnavailable(order.id, type(error).__name__) from error


def recent_for_customer(
    store: OrderStore, customer_id: str, since: datetime, order: Order
) -> list[Order]:
    """The customer's orders placed from ``since`` up to ``order``'s placement, from the
    store's customer index; like the address's, the pages start at the order's placement
    so that orders placed after it do not take the places of those in its window."""
    found: list[Order] = []
    before = up_to(order)
    while len(found) < MAX_RECENT_ORDERS:
        page = store.find_by_customer(customer_id, limit=100, before=before)
        for recent in page:
            if recent.created_at < since:
                return found
            found.append(recent)
        if len(page) < 100:
            return found
        last = page[-1]
        before = (last.created_at, last.id)
    return found


def recent_for_address(
    store: OrderStore, address: Address, since: datetime, order: Order
) -> list[Order]:
    """The orders to ``address`` placed from ``since`` up to ``order``'s placement (the
    newest :data:`~orderflow.incidents.context.MAX_RECENT_ORDERS` of them), from the store's
    address index.

    Every store has the query (the port requires it, and the service refuses a store
    without it), so the address check of RK-1 never goes quietly unasked. The page ends
    at the order's placement, so that orders placed after it (a review run late) do not
    take the places of those in its window.
    """
    return store.find_by_address(address, since=since, limit=MAX_RECENT_ORDERS, before=up_to(order))


def up_to(order: Order) -> tuple[datetime, str] | None:
    """The page cursor of the orders placed up to ``order``'s placement, that instant
    included: ``(t + 1 µs, "")`` (none when no later instant can be stored)."""
    end = order.created_at + timedelta(microseconds=1)
    return (end, "") if end < LATEST else None
