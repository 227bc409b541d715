"""Timer sweepers' claims on due orders, in the SQL store (D-15).

A claim is two columns of the orders row, ``due_claimed_by`` and ``due_claimed_until``,
written only here: a save of the order never touches them. Claiming reads the deadline index
``(next_deadline, id)``:

* PostgreSQL, MySQL and MariaDB select the due, unclaimed rows ``FOR UPDATE SKIP LOCKED`` and
  mark them in the same transaction, so two sweepers claiming at once skip each other's rows
  instead of waiting for them;
* SQLite, whose writers take turns, marks them with one ``UPDATE ... RETURNING``.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import datetime, timedelta

import sqlalchemy as sa

from orderflow.adapters.sql.codec import _naive_utc
from orderflow.adapters.sql.schema import SqlTables
from orderflow.ports import check_claim


class SqlClaims:
    """The claim methods of :class:`~orderflow.adapters.sql.SqlStore`.

    It runs on the store's tables and transactions; it is not used on its own.
    """

    _tables: SqlTables

    def _transaction(
        self, action: str, *, order_id: str | None = None, expected_version: int = 0
    ) -> AbstractContextManager[sa.Connection]:
        raise NotImplementedError

    def claim_due(
        self, worker: str, now: datetime, *, limit: int = 100, lease: timedelta
    ) -> list[str]:
        """Claim up to ``limit`` due orders for ``worker`` until ``now + lease``.

        Args:
            worker: the sweeper's name.
            now: the time the sweep runs at (timezone-aware).
            limit: the most orders to claim.
            lease: how long the claim keeps other sweepers away.

        Returns:
            The claimed orders' ids, earliest deadline first (then by id).

        Raises:
            InvalidInput: malformed arguments.
            StoreError: the database failed; nothing is claimed.
        """
        check_claim(worker, now, limit, lease)
        if limit == 0:
            return []
        orders = self._tables.orders
        cutoff = _naive_utc(now, "now")
        until = _naive_utc(now + lease, "now")
        due = (
            sa.select(orders.c.id, orders.c.next_deadline)
            .where(
                orders.c.next_deadline.is_not(None),
                orders.c.next_deadline <= cutoff,
                sa.or_(
                    orders.c.due_claimed_until.is_(None),
                    orders.c.due_claimed_until <= cutoff,
                ),
            )
            .order_by(orders.c.next_deadline, orders.c.id)
            .limit(limit)
        )
        mark = {"due_claimed_by": worker, "due_claimed_until": until}
        with self._transaction("claim due orders") as connection:
            if connection.dialect.name == "sqlite":
                chosen = sa.select(due.subquery().c.id).scalar_subquery()
                returned = connection.execute(
                    sa.update(orders)
                    .where(orders.c.id.in_(chosen))
                    .values(mark)
                    .returning(orders.c.id, orders.c.next_deadline)
                ).all()
                rows = sorted(returned, key=lambda row: (row.next_deadline, row.id))
            else:
                rows = list(connection.execute(due.with_for_update(skip_locked=True)))
                if rows:
                    connection.execute(
                        sa.update(orders)
                        .where(orders.c.id.in_([row.id for row in rows]))
                        .values(mark)
                    )
        return [row.id for row in rows]

    def release_due(self, order_id: str, worker: str, *, until: datetime | None = None) -> None:
        """End ``worker``'s claim on an order, or keep it until ``until``.

        Args:
            order_id: the order.
            worker: the sweeper that holds the claim; another one's claim is left alone.
            until: keep the order claimed until then (set it aside) instead of releasing it.

        Raises:
            InvalidInput: a naive ``until``.
            StoreError: the database failed.
        """
        orders = self._tables.orders
        values = (
            {"due_claimed_by": None, "due_claimed_until": None}
            if until is None
            else {"due_claimed_until": _naive_utc(until, "until")}
        )
        if not isinstance(order_id, str) or not isinstance(worker, str):
            return
        with self._transaction("release a claim") as connection:
            connection.execute(
                sa.update(orders)
                .where(orders.c.id == order_id, orders.c.due_claimed_by == worker)
                .values(values)
            )
