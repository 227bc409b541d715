"""The SQL store's queries for orders: by state, by deadline, by customer, by address
(PT-1, D-15, RK-1).

Each reads one index of the orders table, in the index's order, and loads the page's orders
with one more query for the history rows the store's cache lacks:

* by state: ``(state, id)``;
* by deadline: ``(next_deadline, id)``;
* by customer, newest first: ``(customer_id, created_at, id)``, read backwards. A page
  after a ``(created_at, id)`` cursor is the range ``created_at <= t`` of that index, less
  the rows at ``t`` whose id is not below the cursor's (the form every backend's planner
  turns into an index range, where a row-value comparison is not always one);
* by address, newest first: ``(address_key, created_at, id)``, read backwards from the
  cursor down to ``since``, the same way. The key is
  :func:`orderflow.addresses.address_key`; every order found is checked to ship to that
  key, so a row whose key was changed by hand is refused, not miscounted.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from orderflow.adapters.arguments import (
    check_address,
    check_after_id,
    check_before,
    check_customer_id,
    check_limit,
    check_page_before,
    check_since,
    check_state,
)
from orderflow.adapters.sql.codec import _naive_utc
from orderflow.adapters.sql.schema import SqlTables
from orderflow.addresses import address_key
from orderflow.errors import StoreError
from orderflow.model import Address, OrderState
from orderflow.order import Order


class SqlQueries:
    """The query methods of :class:`~orderflow.adapters.sql.SqlStore`.

    It runs on the store's tables and loader; it is not used on its own.
    """

    _tables: SqlTables

    def _order_columns(self) -> list[sa.Column[Any]]:
        raise NotImplementedError

    def _load(
        self, action: str, query: sa.Select[Any], values: Mapping[str, Any] | None = None
    ) -> list[Order]:
        raise NotImplementedError

    def find_by_state(
        self, state: OrderState, *, limit: int = 100, after_id: str | None = None
    ) -> list[Order]:
        """Up to ``limit`` orders in ``state``, by id, starting after ``after_id`` (paging).

        Args:
            state: the state (or its value, ``"paid"``).
            limit: the most orders to return.
            after_id: the last id of the previous page.

        Returns:
            The orders, in id order (code point order, as Python sorts strings).

        Raises:
            InvalidInput: not a state, a limit that is not from 0 to 1,000,000, or a malformed
                ``after_id``.
            StoreError: the database failed, or a stored order cannot be read or its row
                disagrees with its document (its state column, say).
        """
        wanted = check_state(state)
        check_limit(limit)
        check_after_id(after_id)
        orders = self._tables.orders
        query = sa.select(*self._order_columns()).where(orders.c.state == wanted.value)
        if after_id is not None:
            query = query.where(orders.c.id > after_id)
        query = query.order_by(orders.c.id).limit(limit)
        return self._load(f"find orders in state {wanted.value}", query)

    def find_due(self, before: datetime, *, limit: int = 100) -> list[Order]:
        """Up to ``limit`` orders whose next deadline is at or before ``before``, earliest
        first (ties by id).

        Args:
            before: the moment (timezone-aware); a deadline at exactly this instant is due.
            limit: the most orders to return.

        Returns:
            The orders, earliest deadline first.

        Raises:
            InvalidInput: ``before`` is not an aware datetime from 1970 up to 9000, or a
                limit that is not from 0 to 1,000,000.
            StoreError: the database failed, or a stored order cannot be read or its row
                disagrees with its document (its deadline column, say).
        """
        check_limit(limit)
        cutoff = _naive_utc(check_before(before), "before")
        orders = self._tables.orders
        query = (
            sa.select(*self._order_columns())
            .where(orders.c.next_deadline.is_not(None), orders.c.next_deadline <= cutoff)
            .order_by(orders.c.next_deadline, orders.c.id)
            .limit(limit)
        )
        return self._load("find due orders", query)

    def find_by_customer(
        self,
        customer_id: str,
        *,
        limit: int = 100,
        before: tuple[datetime, str] | None = None,
    ) -> list[Order]:
        """Up to ``limit`` orders of one customer, newest first: by ``created_at``
        descending, then by id descending (code point order).

        Args:
            customer_id: the customer.
            limit: the most orders to return.
            before: for the next page, the ``(created_at, id)`` of the last order of the
                previous page (``created_at`` timezone-aware).

        Returns:
            The orders, newest first.

        Raises:
            InvalidInput: a customer id that is not an identifier, a limit that is not from 0
                to 1,000,000, or a ``before`` that is not a pair of an aware datetime from
                1970 up to 9000 and an id.
            StoreError: the database failed, or a stored order cannot be read or its row
                disagrees with its document (its customer or creation time, say).
        """
        check_customer_id(customer_id)
        check_limit(limit)
        cursor = check_page_before(before)
        orders = self._tables.orders
        query = sa.select(*self._order_columns()).where(orders.c.customer_id == customer_id)
        if cursor is not None:
            at, last_id = _naive_utc(cursor[0], "before[0]"), cursor[1]
            query = query.where(
                orders.c.created_at <= at,
                sa.or_(orders.c.created_at < at, orders.c.id < last_id),
            )
        query = query.order_by(orders.c.created_at.desc(), orders.c.id.desc()).limit(limit)
        return self._load("find a customer's orders", query)

    def find_by_address(
        self,
        address: Address,
        *,
        since: datetime,
        limit: int = 100,
        before: tuple[datetime, str] | None = None,
    ) -> list[Order]:
        """Up to ``limit`` orders to the place ``address`` names, placed at or after
        ``since``, newest first: by ``created_at`` descending, then by id descending.

        Read from the ``(address_key, created_at, id)`` index (see
        :func:`orderflow.addresses.address_key`); an address without a key finds nothing.

        Args:
            address: the place.
            since: the earliest placing instant (timezone-aware, inclusive).
            limit: the most orders to return.
            before: for the next page, the ``(created_at, id)`` of the last order of the
                previous page (``created_at`` timezone-aware).

        Returns:
            The orders, newest first.

        Raises:
            InvalidInput: not an Address, a ``since`` that is not an aware datetime from
                1970 up to 9000, a limit that is not from 0 to 1,000,000, or a ``before``
                that is not a pair of an aware datetime from 1970 up to 9000 and an id.
            StoreError: the database failed, a stored order cannot be read or its row
                disagrees with its document (its address key, say).
        """
        check_address(address)
        earliest = _naive_utc(check_since(since), "since")
        check_limit(limit)
        cursor = check_page_before(before)
        key = address_key(address)
        if key is None:
            return []
        orders = self._tables.orders
        query = sa.select(*self._order_columns()).where(
            orders.c.address_key == key, orders.c.created_at >= earliest
        )
        if cursor is not None:
            at, last_id = _naive_utc(cursor[0], "before[0]"), cursor[1]
            query = query.where(
                orders.c.created_at <= at,
                sa.or_(orders.c.created_at < at, orders.c.id < last_id),
            )
        query = query.order_by(orders.c.created_at.desc(), orders.c.id.desc()).limit(limit)
        found = self._load("find the orders to an address", query)
        for order in found:
            if address_key(order.address) != key:
                raise StoreError(
                    f"stored order {order.id!r} cannot be read: the address_key column of "
                    "its row disagrees with its document; the row was changed outside "
                    "orderflow"
                )
        return found
