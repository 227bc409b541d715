"""The outbox half of the SQL store (D-14): claims, delivery records, dead entries, purges.

Claims are atomic on every backend. On PostgreSQL and MySQL/MariaDB a claim selects the due
rows with ``FOR UPDATE SKIP LOCKED`` (relays claiming at the same moment take different
rows instead of waiting for each other) and marks them in the same transaction. SQLite
serializes writers: a claim is one ``UPDATE ... WHERE position IN (SELECT ... LIMIT n)``
statement, which reads the rows it updates under the write lock, and the claimed rows are
read back with ``RETURNING`` (SQLite 3.35 and later) or, on older libraries, by their claim
in the same transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from orderflow.adapters.arguments import check_entry_id, check_limit, check_order_id
from orderflow.adapters.sql.codec import _aware, _naive_utc, _read
from orderflow.adapters.sql.schema import _MYSQL_LIKE, SqlTables
from orderflow.adapters.sql.translate import _is_collision
from orderflow.effects import Effect
from orderflow.errors import EntryNotFound, InvalidInput, StoreError
from orderflow.inputs import MAX_LONG_TEXT_LENGTH, check_text
from orderflow.ports import (
    OutboxEntry,
    OutboxStatus,
    check_claim,
    clean_error,
)

_PENDING = OutboxStatus.PENDING.value
_DELIVERED = OutboxStatus.DELIVERED.value
_DEAD = OutboxStatus.DEAD.value
_ATTEMPTS = 3

T = TypeVar("T")


class SqlOutbox:
    """The outbox methods of :class:`~orderflow.adapters.sql.SqlStore`.

    It runs on the store's tables and transactions; it is not used on its own.
    """

    _tables: SqlTables
    _max_size: int

    def _transaction(
        self, action: str, *, order_id: str | None = None, expected_version: int = 0
    ) -> AbstractContextManager[sa.Connection]:
        raise NotImplementedError

    # -- relays ----------------------------------------------------------------------------

    def claim(
        self, worker: str, now: datetime, *, limit: int = 100, lease: timedelta
    ) -> list[OutboxEntry]:
        """Atomically claim up to ``limit`` due entries for ``worker`` until ``now + lease``.

        Due: pending, ``next_attempt_at <= now``, and no live lease. The first due (by
        ``next_attempt_at``, ``created_at``, then written order) are claimed and returned
        oldest first (``created_at``, then written order). Rows whose document cannot be read
        are parked dead in the same transaction, with ``last_error`` ``"unreadable: ..."``,
        and are not returned.

        Args:
            worker: the claiming relay's name (1 to 100 characters).
            now: the current time (timezone-aware).
            limit: the most entries to claim.
            lease: how long the claim holds.

        Returns:
            The claimed entries.

        Raises:
            InvalidInput: a malformed worker, time, limit or lease; nothing is claimed.
            StoreError: the database failed; nothing is claimed.
        """
        check_claim(worker, now, limit, lease)
        if limit == 0:
            return []
        at, until = _naive_utc(now, "now"), _naive_utc(now + lease, "lease")
        outbox = self._tables.outbox
        due = (
            sa.select(outbox)
            .where(
                outbox.c.status == _PENDING,
                outbox.c.next_attempt_at <= at,
                sa.or_(outbox.c.claimed_until.is_(None), outbox.c.claimed_until <= at),
            )
            .order_by(outbox.c.next_attempt_at, outbox.c.created_at, outbox.c.position)
            .limit(limit)
        )
        mark = {"claimed_by": worker, "claimed_until": until}

        def take(connection: sa.Connection) -> list[tuple[int, OutboxEntry]]:
            dialect = connection.dialect.name
            if dialect == "sqlite":
                chosen = due.with_only_columns(outbox.c.position)
                update = sa.update(outbox).where(outbox.c.position.in_(chosen)).values(mark)
                if connection.dialect.update_returning:
                    rows = connection.execute(update.returning(*outbox.c)).all()
                else:  # SQLite before 3.35: read the claim back in the same transaction
                    connection.execute(update)
                    rows = connection.execute(
                        sa.select(outbox).where(
                            outbox.c.status == _PENDING,
                            outbox.c.claimed_by == worker,
                            outbox.c.claimed_until == until,
                        )
                    ).all()
            else:
                if dialect in _MYSQL_LIKE:
                    # No gap locks: claimers and delivery records do not deadlock on the
                    # index ranges a claim scans (the next transaction only).
                    connection.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL READ COMMITTED")
                rows = connection.execute(due.with_for_update(skip_locked=True)).all()
                if rows:
                    connection.execute(
                        sa.update(outbox)
                        .where(outbox.c.position.in_([row.position for row in rows]))
                        .values(mark)
                    )
            claimed: list[tuple[int, OutboxEntry]] = []
            unreadable: list[dict[str, Any]] = []
            for row in rows:
                entry = _entry(row, self._max_size, claimed_by=worker, claimed_until=until)
                if type(entry.effect) is Effect:
                    unreadable.append({"row": row.position, "reason": entry.last_error})
                else:
                    claimed.append((row.position, entry))
            if unreadable:
                connection.execute(
                    sa.update(outbox)
                    .where(outbox.c.position == sa.bindparam("row"))
                    .values(
                        status=_DEAD,
                        last_error=sa.bindparam("reason"),
                        next_attempt_at=at,
                        claimed_by=None,
                        claimed_until=None,
                    ),
                    unreadable,
                )
            return claimed

        claimed = self._retrying("claim outbox entries", take)
        claimed.sort(key=lambda item: (item[1].created_at, item[0]))
        return [entry for _, entry in claimed]

    def mark_delivered(self, entry_id: str, at: datetime, *, note: str = "") -> None:
        """Record a delivery and end the claim (idempotent: marking twice changes nothing).

        A pending or dead entry becomes delivered with ``last_error = note``; a delivered one
        is left as it is.

        Args:
            entry_id: the entry's (its effect's) id.
            at: when it was delivered (timezone-aware).
            note: why it counts as delivered without a handler, if so.

        Raises:
            EntryNotFound: no entry has this id.
            InvalidInput: a malformed id or note, or ``at`` is naive.
            StoreError: the database failed.
        """
        check_text("note", note, MAX_LONG_TEXT_LENGTH)
        self._mark(
            entry_id,
            (_PENDING, _DEAD),
            {
                "status": _DELIVERED,
                "delivered_at": _naive_utc(at),
                "last_error": clean_error(note),
            },
        )

    def mark_failed(
        self, entry_id: str, error: str, at: datetime, *, retry_at: datetime | None
    ) -> None:
        """Record a failed delivery and end the claim: attempts + 1, the error kept (NUL
        characters dropped, lone surrogates escaped, bounded); due again at ``retry_at``, or
        parked dead without one. A delivered or dead entry is left as it is.

        Args:
            entry_id: the entry's (its effect's) id.
            error: what went wrong.
            at: when (timezone-aware).
            retry_at: when to try again (timezone-aware), or ``None`` to park it dead.

        Raises:
            EntryNotFound: no entry has this id.
            InvalidInput: a malformed id, an error that is not text, or ``at`` or
                ``retry_at`` is naive.
            StoreError: the database failed.
        """
        if not isinstance(error, str):
            raise InvalidInput("error", error, "must be text")
        failed_at = _naive_utc(at)
        self._mark(
            entry_id,
            (_PENDING,),
            {
                "status": _DEAD if retry_at is None else _PENDING,
                "next_attempt_at": (
                    failed_at if retry_at is None else _naive_utc(retry_at, "retry_at")
                ),
                "attempts": self._tables.outbox.c.attempts + 1,
                "last_error": clean_error(error),
            },
        )

    # -- operators -------------------------------------------------------------------------

    def pending(self, limit: int = 100) -> list[OutboxEntry]:
        """Up to ``limit`` pending entries (claimed or not, due or not): by
        ``next_attempt_at``, then ``created_at``, then the order they were written in.

        Args:
            limit: the most entries to return.

        Returns:
            The pending entries.

        Raises:
            InvalidInput: a limit that is not a whole number from 0 to 1,000,000.
            StoreError: the database failed.
        """
        outbox = self._tables.outbox
        query = (
            sa.select(outbox)
            .where(outbox.c.status == _PENDING)
            .order_by(outbox.c.next_attempt_at, outbox.c.created_at, outbox.c.position)
            .limit(check_limit(limit))
        )
        return self._entries("read pending outbox entries", query)

    def dead(self, limit: int = 100, after_id: str | None = None) -> list[OutboxEntry]:
        """Up to ``limit`` dead entries, by id, starting after ``after_id`` (paging).

        Args:
            limit: the most entries to return.
            after_id: the last id of the previous page.

        Returns:
            The dead entries.

        Raises:
            InvalidInput: a malformed limit or ``after_id``.
            StoreError: the database failed.
        """
        outbox = self._tables.outbox
        query = sa.select(outbox).where(outbox.c.status == _DEAD)
        if after_id is not None:
            check_entry_id(after_id)
            query = query.where(outbox.c.id > after_id)
        query = query.order_by(outbox.c.id).limit(check_limit(limit))
        return self._entries("read dead outbox entries", query)

    def requeue(self, entry_id: str, at: datetime) -> bool:
        """Put a dead entry back: pending, due at ``at``, attempts counted again from 0.
        Idempotent: an entry that is not dead is left as it is.

        Args:
            entry_id: the entry's id.
            at: when it is due (timezone-aware).

        Returns:
            Whether a dead entry was put back.

        Raises:
            EntryNotFound: no entry has this id.
            InvalidInput: a malformed id, or ``at`` is naive.
            StoreError: the database failed.
        """
        return self._mark(
            entry_id,
            (_DEAD,),
            {"status": _PENDING, "next_attempt_at": _naive_utc(at), "attempts": 0},
        )

    def purge_delivered(self, before: datetime, *, limit: int = 1000) -> int:
        """Delete up to ``limit`` entries delivered before ``before``.

        Args:
            before: the cut-off (timezone-aware); an entry delivered at it is kept.
            limit: the most entries to delete.

        Returns:
            How many were deleted.

        Raises:
            InvalidInput: ``before`` is naive, or a negative limit.
            StoreError: the database failed.
        """
        cutoff = _naive_utc(before, "before")
        outbox = self._tables.outbox
        chosen = (
            sa.select(outbox.c.position)
            .where(outbox.c.status == _DELIVERED, outbox.c.delivered_at < cutoff)
            .limit(check_limit(limit))
        )
        with self._transaction("purge delivered outbox entries") as connection:
            positions = list(connection.execute(chosen).scalars())
            if positions:
                connection.execute(sa.delete(outbox).where(outbox.c.position.in_(positions)))
        return len(positions)

    def entries(self, order_id: str) -> list[OutboxEntry]:
        """Every entry of one order, whatever its status, in the order they were written.

        Args:
            order_id: the order's id.

        Returns:
            The entries (none for an unknown order).

        Raises:
            InvalidInput: the id is not an identifier.
            StoreError: the database failed.
        """
        check_order_id(order_id)
        outbox = self._tables.outbox
        query = sa.select(outbox).where(outbox.c.order_id == order_id).order_by(outbox.c.position)
        return self._entries(f"read the outbox of order {order_id!r}", query)

    # -- helpers ---------------------------------------------------------------------------

    def _mark(self, entry_id: str, statuses: tuple[str, ...], values: dict[str, Any]) -> bool:
        """Update the entry if its status is one of ``statuses``, ending any claim; whether
        it was updated.

        Raises:
            EntryNotFound: no entry has this id.
            InvalidInput: a malformed id.
        """
        check_entry_id(entry_id)
        outbox = self._tables.outbox
        update = (
            sa.update(outbox)
            .where(outbox.c.id == entry_id, outbox.c.status.in_(statuses))
            .values({**values, "claimed_by": None, "claimed_until": None})
        )

        def mark(connection: sa.Connection) -> bool:
            if connection.execute(update).rowcount:
                return True
            exists = connection.execute(
                sa.select(outbox.c.position).where(outbox.c.id == entry_id)
            ).first()
            if exists is None:
                raise EntryNotFound(entry_id)
            return False

        return self._retrying(f"update outbox entry {entry_id!r}", mark)

    def _retrying(self, action: str, work: Callable[[sa.Connection], T]) -> T:
        """Run ``work`` in a transaction, again (up to three times in all) when the database
        gave it up as the loser of a deadlock or a lock wait: claims and delivery records
        are safe to repeat, and a relay should not stop on a collision with another."""
        for attempt in range(1, _ATTEMPTS + 1):
            try:
                with self._transaction(action) as connection:
                    return work(connection)
            except StoreError as error:
                cause = error.__cause__
                collided = isinstance(cause, DBAPIError) and _is_collision(cause)
                if attempt == _ATTEMPTS or not collided:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _entries(self, action: str, query: sa.Select[Any]) -> list[OutboxEntry]:
        with self._transaction(action) as connection:
            rows = connection.execute(query).all()
        return [_entry(row, self._max_size) for row in rows]


def _entry(
    row: sa.Row[Any],
    max_size: int,
    claimed_by: str | None = None,
    claimed_until: datetime | None = None,
) -> OutboxEntry:
    """The entry of one outbox row; ``claimed_*`` override the row's claim (a claim read
    before its update). A document that cannot be read gives a bare :class:`Effect` and the
    reason in ``last_error``."""
    last_error = row.last_error
    try:
        effect = _read(row.document, Effect, f"outbox entry {row.id!r}", max_size=max_size)
    except Exception as error:  # any decoding failure parks the entry, never blocks others
        effect = Effect(row.order_id, row.version, row.seq)
        last_error = clean_error(f"unreadable: {error}")
    if claimed_by is None:
        claimed_by, claimed_until = row.claimed_by, _aware(row.claimed_until)
    else:
        claimed_until = None if claimed_until is None else claimed_until.replace(tzinfo=UTC)
    return OutboxEntry(
        id=row.id,
        order_id=row.order_id,
        version=row.version,
        effect=effect,
        created_at=row.created_at.replace(tzinfo=UTC),
        next_attempt_at=row.next_attempt_at.replace(tzinfo=UTC),
        status=OutboxStatus(row.status),
        attempts=row.attempts,
        last_error=last_error,
        delivered_at=_aware(row.delivered_at),
        claimed_by=claimed_by,
        claimed_until=claimed_until,
    )
