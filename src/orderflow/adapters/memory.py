"""An in-memory order store: the reference semantics of :class:`~orderflow.ports.OrderStore`.

Thread-safe (one lock, which also makes outbox claims atomic), exact (orders are immutable
values, kept as they are), and indexed like a database would be: by state, by next deadline
in a sorted list, and by customer in a sorted list per customer. Good for tests, prototypes
and single-process tools; everything is lost when the process ends.
"""

from __future__ import annotations

import bisect
import itertools
import threading
from datetime import datetime, timedelta

import attrs

from orderflow.adapters.arguments import (
    check_after_id,
    check_before,
    check_customer_id,
    check_entry_id,
    check_expected_version,
    check_limit,
    check_order_id,
    check_order_write,
    check_page_before,
    check_state,
)
from orderflow.adapters.history import check_extends
from orderflow.errors import (
    ConcurrencyConflict,
    EntryNotFound,
    InvalidInput,
    OrderAlreadyExists,
    OrderNotFound,
)
from orderflow.inputs import MAX_LONG_TEXT_LENGTH, check_text
from orderflow.model import OrderState
from orderflow.order import Order
from orderflow.ports import (
    OutboxEntry,
    OutboxStatus,
    check_claim,
    check_time,
    clean_error,
    outbox_entries,
)

__all__ = ["InMemoryStore"]


def _deadline_key(order: Order) -> tuple[datetime, str] | None:
    deadline = order.next_deadline
    return None if deadline is None else (deadline.due_at, order.id)


class InMemoryStore:
    """An :class:`~orderflow.ports.OrderStore` in memory.

    It checks its arguments like the SQL store (:mod:`orderflow.adapters.arguments`): ids are
    identifiers of at most 100 characters, pages hold at most 1,000,000 orders, times are aware;
    anything else is refused with :class:`~orderflow.errors.InvalidInput` before the store
    is touched.
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._orders: dict[str, Order] = {}
        self._by_state: dict[OrderState, set[str]] = {state: set() for state in OrderState}
        self._deadlines: list[tuple[datetime, str]] = []
        # Per customer, (created_at, id) ascending; an order's customer and placing time
        # never change, so an order enters its customer's list once, when it is added.
        self._by_customer: dict[str, list[tuple[datetime, str]]] = {}
        self._claims: dict[str, tuple[str, datetime]] = {}
        self._outbox: dict[str, OutboxEntry] = {}
        self._sequence: dict[str, int] = {}
        self._written = itertools.count()

    # -- orders --------------------------------------------------------------------------

    def get(self, order_id: str) -> Order:
        """The order with this id.

        Raises:
            InvalidInput: the id is not an identifier.
            OrderNotFound: no order has this id.
        """
        check_order_id(order_id)
        with self._lock:
            try:
                return self._orders[order_id]
            except KeyError:
                raise OrderNotFound(order_id) from None

    def add(self, order: Order) -> None:
        """Store a new order and the outbox entries of its history's effects.

        Raises:
            InvalidInput: not an order, or an id or customer id that is not an identifier.
            OrderAlreadyExists: an order with this id is stored already.
        """
        check_order_write(order)
        with self._lock:
            if order.id in self._orders:
                raise OrderAlreadyExists(order.id)
            self._index(None, order)
            bisect.insort(
                self._by_customer.setdefault(order.customer_id, []), (order.created_at, order.id)
            )
            self._orders[order.id] = order
            self._append_outbox(order, 1)

    def save(self, order: Order, expected_version: int) -> None:
        """Replace the stored order if it is still at ``expected_version``, with the outbox
        entries of the effects of its history entries after that version.

        Raises:
            ConcurrencyConflict: the stored version differs; nothing is written.
            OrderNotFound: no order has this id.
            InvalidInput: malformed arguments (as for :meth:`add`, or a version that is not a
                whole number from 0 to 2^31 - 1), the order's version is not above
                ``expected_version``, or its history does not begin with the stored one (a
                rewrite); nothing is written.
        """
        check_order_write(order)
        check_expected_version(expected_version)
        with self._lock:
            stored = self._orders.get(order.id)
            if stored is None:
                raise OrderNotFound(order.id)
            if stored.version != expected_version:
                raise ConcurrencyConflict(order.id, expected_version, stored.version)
            if order.version <= expected_version:
                raise InvalidInput(
                    "order.version", order.version, f"must be above {expected_version} to save"
                )
            check_extends(order, stored.history)
            self._index(stored, order)
            self._orders[order.id] = order
            self._append_outbox(order, expected_version + 1)

    def find_by_state(
        self, state: OrderState, *, limit: int = 100, after_id: str | None = None
    ) -> list[Order]:
        """Up to ``limit`` orders in ``state``, by id, after ``after_id``.

        Raises:
            InvalidInput: not a state, a limit that is not from 0 to 1,000,000, or a malformed
                ``after_id``.
        """
        wanted = check_state(state)
        check_limit(limit)
        check_after_id(after_id)
        with self._lock:
            ids = sorted(i for i in self._by_state[wanted] if after_id is None or i > after_id)
            return [self._orders[i] for i in ids[:limit]]

    def find_due(self, before: datetime, *, limit: int = 100) -> list[Order]:
        """Up to ``limit`` orders whose next deadline is at or before ``before``.

        Raises:
            InvalidInput: ``before`` is not an aware datetime from 1970 up to 9000, or a limit
                that is not from 0 to 1,000,000.
        """
        check_before(before)
        check_limit(limit)
        with self._lock:
            end = bisect.bisect_right(self._deadlines, (before, "\U0010ffff"))
            return [self._orders[order_id] for _, order_id in self._deadlines[:end][:limit]]

    def find_by_customer(
        self,
        customer_id: str,
        *,
        limit: int = 100,
        before: tuple[datetime, str] | None = None,
    ) -> list[Order]:
        """Up to ``limit`` orders of one customer, newest first (by ``created_at``, then id,
        both descending), after the ``before`` cursor.

        Raises:
            InvalidInput: a customer id that is not an identifier, a limit that is not from
                0 to 1,000,000, or a ``before`` that is not a pair of an aware datetime and
                an id.
        """
        check_customer_id(customer_id)
        check_limit(limit)
        cursor = check_page_before(before)
        with self._lock:
            keys = self._by_customer.get(customer_id, [])
            end = len(keys) if cursor is None else bisect.bisect_left(keys, cursor)
            page = keys[max(end - limit, 0) : end]
            return [self._orders[order_id] for _, order_id in reversed(page)]

    def claim_due(
        self, worker: str, now: datetime, *, limit: int = 100, lease: timedelta
    ) -> list[str]:
        """Claim up to ``limit`` due orders for ``worker`` until ``now + lease``."""
        check_claim(worker, now, limit, lease)
        claimed: list[str] = []
        with self._lock:
            end = bisect.bisect_right(self._deadlines, (now, "\U0010ffff"))
            for _, order_id in self._deadlines[:end]:
                if len(claimed) >= limit:
                    break
                held = self._claims.get(order_id)
                if held is not None and held[1] > now:
                    continue
                self._claims[order_id] = (worker, now + lease)
                claimed.append(order_id)
        return claimed

    def release_due(self, order_id: str, worker: str, *, until: datetime | None = None) -> None:
        """End ``worker``'s claim on an order, or keep it until ``until``."""
        if until is not None:
            check_time("until", until)
        with self._lock:
            held = self._claims.get(order_id)
            if held is None or held[0] != worker:
                return
            if until is None:
                del self._claims[order_id]
            else:
                self._claims[order_id] = (worker, until)

    def _index(self, old: Order | None, new: Order) -> None:
        if old is not None:
            self._by_state[old.state].discard(old.id)
            key = _deadline_key(old)
            if key is not None:
                self._deadlines.pop(bisect.bisect_left(self._deadlines, key))
        self._by_state[new.state].add(new.id)
        key = _deadline_key(new)
        if key is not None:
            bisect.insort(self._deadlines, key)

    # -- outbox --------------------------------------------------------------------------

    def _append_outbox(self, order: Order, first_new_version: int) -> None:
        for entry in outbox_entries(order, first_new_version):
            if entry.id not in self._outbox:
                self._outbox[entry.id] = entry
                self._sequence[entry.id] = next(self._written)

    def _due_order(self, entry: OutboxEntry) -> tuple[datetime, datetime, int]:
        return (entry.next_attempt_at, entry.created_at, self._sequence[entry.id])

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
            due = [
                entry
                for entry in self._outbox.values()
                if entry.status is OutboxStatus.PENDING
                and entry.next_attempt_at <= now
                and (entry.claimed_until is None or entry.claimed_until <= now)
            ]
            due.sort(key=self._due_order)
            claimed = []
            for entry in due[:limit]:
                taken = attrs.evolve(entry, claimed_by=worker, claimed_until=until)
                self._outbox[entry.id] = taken
                claimed.append(taken)
            claimed.sort(key=lambda e: (e.created_at, self._sequence[e.id]))
            return claimed

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
                self._outbox[entry_id] = attrs.evolve(
                    entry,
                    status=OutboxStatus.DELIVERED,
                    delivered_at=at,
                    last_error=clean_error(note),
                    claimed_by=None,
                    claimed_until=None,
                )

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
                self._outbox[entry_id] = attrs.evolve(
                    entry,
                    status=OutboxStatus.DEAD if retry_at is None else OutboxStatus.PENDING,
                    next_attempt_at=at if retry_at is None else retry_at,
                    attempts=entry.attempts + 1,
                    last_error=clean_error(error),
                    claimed_by=None,
                    claimed_until=None,
                )

    def pending(self, limit: int = 100) -> list[OutboxEntry]:
        """Up to ``limit`` pending entries, by next attempt, then age, then written order.

        Raises:
            InvalidInput: a limit that is not a whole number from 0 to 1,000,000.
        """
        check_limit(limit)
        with self._lock:
            waiting = [e for e in self._outbox.values() if e.status is OutboxStatus.PENDING]
            waiting.sort(key=self._due_order)
            return waiting[:limit]

    def dead(self, limit: int = 100, after_id: str | None = None) -> list[OutboxEntry]:
        """Up to ``limit`` dead entries, by id, starting after ``after_id``.

        Raises:
            InvalidInput: a malformed limit or ``after_id``.
        """
        check_limit(limit)
        if after_id is not None:
            check_entry_id(after_id)
        with self._lock:
            parked = sorted(
                (
                    e
                    for e in self._outbox.values()
                    if e.status is OutboxStatus.DEAD and (after_id is None or e.id > after_id)
                ),
                key=lambda e: e.id,
            )
            return parked[:limit]

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
            self._outbox[entry_id] = attrs.evolve(
                entry, status=OutboxStatus.PENDING, next_attempt_at=at, attempts=0
            )
            return True

    def purge_delivered(self, before: datetime, *, limit: int = 1000) -> int:
        """Delete up to ``limit`` entries delivered before ``before``; how many.

        Raises:
            InvalidInput: ``before`` is naive, or a negative limit.
        """
        check_time("before", before)
        check_limit(limit)
        with self._lock:
            old = [
                e.id
                for e in self._outbox.values()
                if e.status is OutboxStatus.DELIVERED
                and e.delivered_at is not None
                and e.delivered_at < before
            ][:limit]
            for entry_id in old:
                del self._outbox[entry_id]
                del self._sequence[entry_id]
            return len(old)

    def entries(self, order_id: str) -> list[OutboxEntry]:
        """Every entry of one order, in the order they were written.

        Raises:
            InvalidInput: the id is not an identifier.
        """
        check_order_id(order_id)
        with self._lock:
            found = [e for e in self._outbox.values() if e.order_id == order_id]
            return sorted(found, key=lambda e: self._sequence[e.id])

    def _entry(self, entry_id: str) -> OutboxEntry:
        try:
            return self._outbox[entry_id]
        except KeyError:
            raise EntryNotFound(entry_id) from None
