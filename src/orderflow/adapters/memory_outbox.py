"""The outbox half of the in-memory store (D-14): entries, claims, delivery records, purges.

:class:`InMemoryOutbox` is the base of :class:`~orderflow.adapters.memory.InMemoryStore`, which
writes entries with the order changes that cause them. It holds the lock both halves share.

Entries are kept by id, and indexed so that no call reads every entry: pending entries by
when they are due (next attempt, creation time, written order), in one index of all of them
(:meth:`~InMemoryOutbox.pending`) and in one of those free to claim; a claimed entry leaves
the second for an index ordered by the end of its claim, and comes back when a later claim
finds that end passed; dead entries by id; delivered entries by delivery time (for purges);
and each order's entry ids in written order.
"""

from __future__ import annotations

import itertools
import threading
from datetime import datetime, timedelta
from operator import itemgetter

import attrs

from orderflow.adapters.arguments import check_entry_id, check_limit, check_order_id
from orderflow.adapters.ordered import OrderedIndex
from orderflow.errors import EntryNotFound, InvalidInput
from orderflow.inputs import MAX_LONG_TEXT_LENGTH, check_text
from orderflow.order import Order
from orderflow.ports import (
    OutboxEntry,
    OutboxStatus,
    check_claim,
    check_time,
    clean_error,
    outbox_entries,
)

__all__ = ["InMemoryOutbox"]

_DueKey = tuple[datetime, datetime, int, str]
"""An entry's next attempt, creation time, place in written order, and id."""
_EntryKey = tuple[datetime, int, str]
"""A time of an entry (its claim's end, or its delivery), its place and its id."""
_time = itemgetter(0)
_age = itemgetter(0, 1)


class InMemoryOutbox:
    """The outbox of an :class:`~orderflow.adapters.memory.InMemoryStore` (see
    :class:`~orderflow.ports.Outbox` for the contract), and the store's lock."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._outbox: dict[str, OutboxEntry] = {}
        self._sequence: dict[str, int] = {}
        self._by_order: dict[str, dict[str, None]] = {}
        self._pending: OrderedIndex[_DueKey] = OrderedIndex()
        # A pending entry is either free (claims are taken from _free) or held: then its
        # claim's end key is in _held_entries and in _entry_ends.
        self._free: OrderedIndex[_DueKey] = OrderedIndex()
        self._held_entries: dict[str, _EntryKey] = {}
        self._entry_ends: OrderedIndex[_EntryKey] = OrderedIndex()
        self._dead: OrderedIndex[str] = OrderedIndex()
        self._delivered: OrderedIndex[_EntryKey] = OrderedIndex()
        self._written = itertools.count()

    def _append_outbox(self, order: Order, first_new_version: int) -> None:
        for entry in outbox_entries(order, first_new_version):
            if entry.id not in self._outbox:
                written = next(self._written)
                self._outbox[entry.id] = entry
                self._sequence[entry.id] = written
                ids = self._by_order.get(entry.order_id)
                if ids is None:
                    ids = self._by_order[entry.order_id] = {}
                ids[entry.id] = None
                key = (entry.next_attempt_at, entry.created_at, written, entry.id)
                self._pending.add(key)
                self._free.add(key)

    def _due_key(self, entry: OutboxEntry) -> _DueKey:
        return (entry.next_attempt_at, entry.created_at, self._sequence[entry.id], entry.id)

    def _unindex(self, entry: OutboxEntry) -> None:
        """Take a pending or dead entry out of the indexes of its status."""
        if entry.status is OutboxStatus.DEAD:
            self._dead.discard(entry.id)
            return
        key = self._due_key(entry)
        self._pending.discard(key)
        end = self._held_entries.pop(entry.id, None)
        if end is None:
            self._free.discard(key)
        else:
            self._entry_ends.discard(end)

    def claim(
        self, worker: str, now: datetime, *, limit: int = 100, lease: timedelta
    ) -> list[OutboxEntry]:
        """Claim up to ``limit`` due entries for ``worker`` until ``now + lease`` (atomic:
        under the store's lock).

        Raises:
            InvalidInput: a malformed worker, time, limit or lease.
        """
        check_claim(worker, now, limit, lease)
        until = now + lease
        with self._lock:
            self._end_entry_claims(now)
            outbox = self._outbox
            chosen: list[_DueKey] = []
            if limit:
                for key in self._free.leading(now, _time):
                    claimed_until = outbox[key[3]].claimed_until
                    if claimed_until is None or claimed_until <= now:
                        chosen.append(key)
                        if len(chosen) == limit:
                            break
                    # else its claim, found ended at a later ``now`` than this, still holds
            claimed: list[tuple[datetime, int, OutboxEntry]] = []
            for key in chosen:
                _, created_at, written, entry_id = key
                self._free.discard(key)
                taken = attrs.evolve(outbox[entry_id], claimed_by=worker, claimed_until=until)
                outbox[entry_id] = taken
                end = (until, written, entry_id)
                self._held_entries[entry_id] = end
                self._entry_ends.add(end)
                claimed.append((created_at, written, taken))
            claimed.sort(key=_age)
            return [entry for _, _, entry in claimed]

    def _end_entry_claims(self, now: datetime) -> None:
        """Put back among the claimable the entries whose claims end at or before ``now``
        (they keep their ``claimed_by`` and ``claimed_until`` until claimed again)."""
        if self._entry_ends:
            for key in list(self._entry_ends.leading(now, _time)):
                self._entry_ends.discard(key)
                del self._held_entries[key[2]]
                self._free.add(self._due_key(self._outbox[key[2]]))

    def mark_delivered(self, entry_id: str, at: datetime, *, note: str = "") -> None:
        """Record a delivery and end the claim (idempotent).

        Raises:
            EntryNotFound: no entry has this id.
            InvalidInput: a malformed id or note, or ``at`` is naive.
        """
        check_entry_id(entry_id)
        check_time("at", at)
        check_text("note", note, MAX_LONG_TEXT_LENGTH)
        with self._lock:
            entry = self._entry(entry_id)
            if entry.status is not OutboxStatus.DELIVERED:
                self._unindex(entry)
                self._outbox[entry_id] = attrs.evolve(
                    entry,
                    status=OutboxStatus.DELIVERED,
                    delivered_at=at,
                    last_error=clean_error(note),
                    claimed_by=None,
                    claimed_until=None,
                )
                self._delivered.add((at, self._sequence[entry_id], entry_id))

    def mark_failed(
        self, entry_id: str, error: str, at: datetime, *, retry_at: datetime | None
    ) -> None:
        """Record a failed attempt: due again at ``retry_at``, or dead without one.

        Raises:
            EntryNotFound: no entry has this id.
            InvalidInput: a malformed id, an error that is not text, or ``at`` or
                ``retry_at`` is naive.
        """
        check_entry_id(entry_id)
        if not isinstance(error, str):
            raise InvalidInput("error", error, "must be text")
        check_time("at", at)
        if retry_at is not None:
            check_time("retry_at", retry_at)
        with self._lock:
            entry = self._entry(entry_id)
            if entry.status is OutboxStatus.PENDING:
                self._unindex(entry)
                failed = attrs.evolve(
                    entry,
                    status=OutboxStatus.DEAD if retry_at is None else OutboxStatus.PENDING,
                    next_attempt_at=at if retry_at is None else retry_at,
                    attempts=entry.attempts + 1,
                    last_error=clean_error(error),
                    claimed_by=None,
                    claimed_until=None,
                )
                self._outbox[entry_id] = failed
                self._index_entry(failed)

    def _index_entry(self, entry: OutboxEntry) -> None:
        """Put an unclaimed pending or dead entry in the indexes of its status."""
        if entry.status is OutboxStatus.DEAD:
            self._dead.add(entry.id)
        else:
            key = self._due_key(entry)
            self._pending.add(key)
            self._free.add(key)

    def pending(self, limit: int = 100) -> list[OutboxEntry]:
        """Up to ``limit`` pending entries, by next attempt, then age, then written order.

        Raises:
            InvalidInput: a limit that is not a whole number from 0 to 1,000,000.
        """
        check_limit(limit)
        with self._lock:
            keys = itertools.islice(self._pending.ascending(), limit)
            return [self._outbox[key[3]] for key in keys]

    def dead(self, limit: int = 100, after_id: str | None = None) -> list[OutboxEntry]:
        """Up to ``limit`` dead entries, by id, starting after ``after_id``.

        Raises:
            InvalidInput: a malformed limit or ``after_id``.
        """
        check_limit(limit)
        if after_id is not None:
            check_entry_id(after_id)
        with self._lock:
            ids = itertools.islice(self._dead.ascending(after_id, strict=True), limit)
            return [self._outbox[entry_id] for entry_id in ids]

    def requeue(self, entry_id: str, at: datetime) -> bool:
        """Put a dead entry back, due at ``at`` (idempotent).

        Raises:
            EntryNotFound: no entry has this id.
            InvalidInput: a malformed id, or ``at`` is naive.
        """
        check_entry_id(entry_id)
        check_time("at", at)
        with self._lock:
            entry = self._entry(entry_id)
            if entry.status is not OutboxStatus.DEAD:
                return False
            self._unindex(entry)
            back = attrs.evolve(entry, status=OutboxStatus.PENDING, next_attempt_at=at, attempts=0)
            self._outbox[entry_id] = back
            self._index_entry(back)
            return True

    def purge_delivered(self, before: datetime, *, limit: int = 1000) -> int:
        """Delete up to ``limit`` entries delivered before ``before``, the earliest delivered
        first; how many.

        Raises:
            InvalidInput: ``before`` is naive, or a negative limit.
        """
        check_time("before", before)
        check_limit(limit)
        with self._lock:
            old = list(
                itertools.islice(self._delivered.leading(before, _time, inclusive=False), limit)
            )
            for key in old:
                entry_id = key[2]
                self._delivered.discard(key)
                order_id = self._outbox.pop(entry_id).order_id
                del self._sequence[entry_id]
                ids = self._by_order[order_id]
                del ids[entry_id]
                if not ids:
                    del self._by_order[order_id]
            return len(old)

    def entries(self, order_id: str) -> list[OutboxEntry]:
        """Every entry of one order, in the order they were written.

        Raises:
            InvalidInput: the id is not an identifier.
        """
        check_order_id(order_id)
        with self._lock:
            return [self._outbox[entry_id] for entry_id in self._by_order.get(order_id, ())]

    def _entry(self, entry_id: str) -> OutboxEntry:
        try:
            return self._outbox[entry_id]
        except KeyError:
            raise EntryNotFound(entry_id) from None
