"""The checks a store makes of its arguments before it touches its storage.

Both reference stores (and any store a host writes) refuse malformed arguments the same way,
with :class:`~orderflow.errors.InvalidInput`, before anything is read or written: so a
malformed id never reaches a database driver (a NUL or a lone surrogate would make each
driver fail in its own way), and a refused call changes nothing.

Limits: ids are identifiers (:func:`~orderflow.inputs.check_identifier`: at most 100
characters, no NUL characters, no lone surrogates); a page holds at most 1,000,000 orders
(:data:`MAX_PAGE`); a version is below 2^31 (:data:`MAX_VERSION`, the SQL column's range);
times are aware and from 1970 up to 9000 (:func:`~orderflow.inputs.check_time`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

from orderflow.errors import InvalidInput
from orderflow.inputs import (
    MAX_IDENTIFIER_LENGTH,
    check_identifier,
    check_text,
    check_time,
)
from orderflow.model import Address, OrderState
from orderflow.order import Order

__all__ = [
    "MAX_ENTRY_ID_LENGTH",
    "MAX_PAGE",
    "MAX_VERSION",
    "check_address",
    "check_after_id",
    "check_before",
    "check_customer_id",
    "check_entry_id",
    "check_expected_version",
    "check_limit",
    "check_order_id",
    "check_order_write",
    "check_page_before",
    "check_since",
    "check_state",
]

MAX_PAGE: Final = 1_000_000
"""The most orders one query may return."""
MAX_VERSION: Final = 2**31 - 1
"""The highest version a store keeps."""


def check_order_id(order_id: object) -> str:
    """Check an order id given to a store.

    Raises:
        InvalidInput: not an identifier.
    """
    return check_identifier("order_id", order_id)


MAX_ENTRY_ID_LENGTH: Final = 200
"""The longest outbox entry id (an effect id: an order id, a version and a position)."""


def check_entry_id(entry_id: object) -> str:
    """Check an outbox entry id given to a store.

    Raises:
        InvalidInput: not text of 1 to 200 characters without NUL characters or lone
            surrogates.
    """
    return check_text("entry_id", entry_id, MAX_ENTRY_ID_LENGTH, required=True)


def check_order_write(order: object) -> Order:
    """Check the order given to ``add`` or ``save``.

    Its effects need no check of their own: an :class:`~orderflow.Order` holds only effects
    of its own entries, at their entry's version (the store writes those).

    Raises:
        InvalidInput: not an :class:`~orderflow.Order`, or an id or customer id that is not
            an identifier.
    """
    if type(order) is not Order:
        raise InvalidInput("order", order, "must be an Order")
    check_identifier("order.id", order.id)
    check_identifier("order.customer_id", order.customer_id)
    return order


def check_expected_version(expected_version: object) -> int:
    """Check the version a writer says it loaded.

    Raises:
        InvalidInput: not a whole number from 0 to :data:`MAX_VERSION`.
    """
    if (
        isinstance(expected_version, bool)
        or not isinstance(expected_version, int)
        or not 0 <= expected_version <= MAX_VERSION
    ):
        raise InvalidInput(
            "expected_version", expected_version, f"must be a whole number from 0 to {MAX_VERSION}"
        )
    return expected_version


def check_state(state: object) -> OrderState:
    """Check a state given to a query (an :class:`~orderflow.OrderState` or its value).

    Raises:
        InvalidInput: not a state.
    """
    if isinstance(state, str):
        try:
            return OrderState(state)
        except ValueError:
            pass
    raise InvalidInput("state", state, "must be an OrderState")


def check_limit(limit: object) -> int:
    """Check the most orders a query may return.

    Raises:
        InvalidInput: not a whole number from 0 to :data:`MAX_PAGE`.
    """
    if isinstance(limit, bool) or not isinstance(limit, int) or not 0 <= limit <= MAX_PAGE:
        raise InvalidInput("limit", limit, f"must be a whole number from 0 to {MAX_PAGE}")
    return limit


def check_after_id(after_id: object) -> str | None:
    """Check the paging cursor of a query: ``None``, or the last id of the previous page.

    Raises:
        InvalidInput: not ``None`` nor text of at most 100 characters without NUL
            characters or lone surrogates.
    """
    if after_id is None:
        return None
    return check_text("after_id", after_id, MAX_IDENTIFIER_LENGTH)


def check_before(before: object) -> datetime:
    """Check the moment a query for due orders is asked about.

    Raises:
        InvalidInput: not an aware datetime from 1970 up to 9000.
    """
    return check_time("before", before)


def check_customer_id(customer_id: object) -> str:
    """Check a customer id given to a query.

    Raises:
        InvalidInput: not an identifier.
    """
    return check_identifier("customer_id", customer_id)


def check_page_before(before: object) -> tuple[datetime, str] | None:
    """Check the paging cursor of :meth:`~orderflow.ports.OrderStore.find_by_customer`:
    ``None``, or the ``(created_at, id)`` of the last order of the previous page.

    Raises:
        InvalidInput: not ``None`` nor a pair of an aware datetime from 1970 up to 9000 and
            text of at most 100 characters without NUL characters or lone surrogates.
    """
    if before is None:
        return None
    if not isinstance(before, tuple) or len(before) != 2:
        raise InvalidInput("before", before, "must be None or a (created_at, order id) pair")
    created_at, order_id = before
    check_time("before[0]", created_at)
    check_text("before[1]", order_id, MAX_IDENTIFIER_LENGTH)
    return created_at, order_id


def check_address(address: object) -> Address:
    """Check the address given to :meth:`~orderflow.ports.OrderStore.find_by_address`.

    Raises:
        InvalidInput: not an :class:`~orderflow.Address`.
    """
    if not isinstance(address, Address):
        raise InvalidInput("address", address, "must be an Address")
    return address


def check_since(since: object) -> datetime:
    """Check the earliest placing instant a query asks about.

    Raises:
        InvalidInput: not an aware datetime from 1970 up to 9000.
    """
    return check_time("since", since)
