"""The outbox half of the SQL store (D-14): pending entries and delivery records."""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from orderflow.adapters.sql.codec import _aware, _check_limit, _naive_utc, _read
from orderflow.adapters.sql.schema import SqlTables
from orderflow.effects import Effect
from orderflow.ports import OutboxEntry, OutboxStatus


class SqlOutbox:
    """The outbox methods of :class:`~orderflow.adapters.sql.SqlStore`.

    It runs on the store's tables and transactions; it is not used on its own.
    """

    _tables: SqlTables

    def _transaction(
        self, action: str, *, order_id: str | None = None, expected_version: int = 0
    ) -> AbstractContextManager[sa.Connection]:
        raise NotImplementedError

    # -- outbox ----------------------------------------------------------------------------

    def pending(self, limit: int = 100) -> list[OutboxEntry]:
        """Up to ``limit`` undelivered entries, least-tried first, then oldest first (by
        ``created_at``, then the order they were written in).

        Args:
            limit: the most entries to return.

        Returns:
            The pending entries.

        Raises:
            InvalidInput: a negative limit.
            StoreError: the database failed.
        """
        outbox = self._tables.outbox
        query = (
            sa.select(outbox)
            .where(outbox.c.status == OutboxStatus.PENDING.value)
            .order_by(outbox.c.attempts, outbox.c.created_at, outbox.c.position)
            .limit(_check_limit(limit))
        )
        return self._entries("read pending outbox entries", query)

    def mark_delivered(self, entry_id: str, at: datetime) -> None:
        """Record a successful delivery (idempotent: marking twice changes nothing).

        Args:
            entry_id: the entry's (its effect's) id.
            at: when it was delivered (timezone-aware).

        Raises:
            LookupError: no entry has this id.
            InvalidInput: ``at`` is naive.
            StoreError: the database failed.
        """
        self._mark(
            entry_id,
            {"status": OutboxStatus.DELIVERED.value, "delivered_at": _naive_utc(at)},
            last_error="",
        )

    def mark_failed(self, entry_id: str, error: str, at: datetime) -> None:
        """Record a failed delivery attempt: a pending entry stays pending, attempts + 1.

        Args:
            entry_id: the entry's (its effect's) id.
            error: what went wrong.
            at: when (timezone-aware).

        Raises:
            LookupError: no entry has this id.
            InvalidInput: ``at`` is naive.
            StoreError: the database failed.
        """
        _naive_utc(at)
        self._mark(entry_id, {"attempts": self._tables.outbox.c.attempts + 1}, str(error))

    def entries(self, order_id: str) -> list[OutboxEntry]:
        """Every entry of one order, delivered or not, in the order they were written.

        Args:
            order_id: the order's id.

        Returns:
            The entries (none for an unknown order).

        Raises:
            StoreError: the database failed.
        """
        outbox = self._tables.outbox
        query = sa.select(outbox).where(outbox.c.order_id == order_id).order_by(outbox.c.position)
        return self._entries(f"read the outbox of order {order_id!r}", query)

    def _mark(self, entry_id: str, values: dict[str, Any], last_error: str) -> None:
        if not isinstance(entry_id, str):
            raise LookupError(f"no outbox entry {entry_id!r}")
        outbox = self._tables.outbox
        update = (
            sa.update(outbox)
            .where(outbox.c.id == entry_id, outbox.c.status == OutboxStatus.PENDING.value)
            .values({**values, "last_error": last_error})
        )
        with self._transaction(f"update outbox entry {entry_id!r}") as connection:
            if connection.execute(update).rowcount == 0:
                exists = connection.execute(
                    sa.select(outbox.c.position).where(outbox.c.id == entry_id)
                ).first()
                if exists is None:
                    raise LookupError(f"no outbox entry {entry_id!r}")

    def _entries(self, action: str, query: sa.Select[Any]) -> list[OutboxEntry]:
        with self._transaction(action) as connection:
            rows = connection.execute(query).all()
        return [
            OutboxEntry(
                id=row.id,
                order_id=row.order_id,
                version=row.version,
                effect=_read(row.document, Effect, f"outbox entry {row.id!r}"),
                created_at=row.created_at.replace(tzinfo=UTC),
                status=OutboxStatus(row.status),
                attempts=row.attempts,
                last_error=row.last_error,
                delivered_at=_aware(row.delivered_at),
            )
            for row in rows
        ]
