"""An in-memory order store: the reference semantics of :class:`~orderflow.ports.OrderStore`.

Thread-safe (one lock), exact (orders are immutable values, kept as they are), and indexed
like a database would be: by state, and by next deadline in a sorted list. Good for tests,
prototypes and single-process tools; everything is lost when the process ends.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Sequence
from datetime import datetime

import attrs

from orderflow.adapters.history import check_extends
from orderflow.effects import Effect
from orderflow.errors import ConcurrencyConflict, InvalidInput, OrderAlreadyExists, OrderNotFound
from orderflow.model import OrderState
from orderflow.order import Order
from orderflow.ports import OutboxEntry, OutboxStatus, outbox_entries

__all__ = ["InMemoryStore"]


def _deadline_key(order: Order) -> tuple[datetime, str] | None:
    deadline = order.next_deadline
    return None if deadline is None else (deadline.due_at, order.id)


class InMemoryStore:
    """An :class:`~orderflow.ports.OrderStore` in memory."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._orders: dict[str, Order] = {}
        self._by_state: dict[OrderState, set[str]] = {state: set() for state in OrderState}
        self._deadlines: list[tuple[datetime, str]] = []
        self._outbox: dict[str, OutboxEntry] = {}
        self._sequence: dict[str, int] = {}

    # -- orders --------------------------------------------------------------------------

    def get(self, order_id: str) -> Order:
        """The order with this id.

        Raises:
            OrderNotFound: no order has this id.
        """
        with self._lock:
            try:
                return self._orders[order_id]
            except (KeyError, TypeError):
                raise OrderNotFound(order_id) from None

    def add(self, order: Order, effects: Sequence[Effect] = ()) -> None:
        """Store a new order and its outbox entries.

        Raises:
            OrderAlreadyExists: an order with this id is stored already.
        """
        _check_order(order)
        with self._lock:
            if order.id in self._orders:
                raise OrderAlreadyExists(order.id)
            self._index(None, order)
            self._orders[order.id] = order
            self._append_outbox(order, effects)

    def save(self, order: Order, expected_version: int, effects: Sequence[Effect] = ()) -> None:
        """Replace the stored order if it is still at ``expected_version``.

        Raises:
            ConcurrencyConflict: the stored version differs; nothing is written.
            OrderNotFound: no order has this id.
            InvalidInput: not an order, its version is not above ``expected_version``, or its
                history does not begin with the stored one (a rewrite); nothing is written.
        """
        _check_order(order)
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
            self._append_outbox(order, effects)

    def find_by_state(
        self, state: OrderState, *, limit: int = 100, after_id: str | None = None
    ) -> list[Order]:
        """Up to ``limit`` orders in ``state``, by id, after ``after_id``."""
        with self._lock:
            ids = sorted(
                i for i in self._by_state[OrderState(state)] if after_id is None or i > after_id
            )
            return [self._orders[i] for i in ids[:limit]]

    def find_due(self, before: datetime, *, limit: int = 100) -> list[Order]:
        """Up to ``limit`` orders whose next deadline is at or before ``before``."""
        with self._lock:
            end = bisect.bisect_right(self._deadlines, (before, "\U0010ffff"))
            return [self._orders[order_id] for _, order_id in self._deadlines[:end][:limit]]

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

    def _append_outbox(self, order: Order, effects: Sequence[Effect]) -> None:
        for entry in outbox_entries(order, effects):
            if entry.id not in self._outbox:
                self._outbox[entry.id] = entry
                self._sequence[entry.id] = len(self._sequence)

    def pending(self, limit: int = 100) -> list[OutboxEntry]:
        """Up to ``limit`` undelivered entries, least-tried first, then oldest first."""
        with self._lock:
            waiting = [e for e in self._outbox.values() if e.status is OutboxStatus.PENDING]
            waiting.sort(key=lambda e: (e.attempts, e.created_at, self._sequence[e.id]))
            return waiting[:limit]

    def mark_delivered(self, entry_id: str, at: datetime) -> None:
        """Record a delivery (idempotent).

        Raises:
            LookupError: no entry has this id.
        """
        with self._lock:
            entry = self._entry(entry_id)
            if entry.status is not OutboxStatus.DELIVERED:
                self._outbox[entry_id] = attrs.evolve(
                    entry, status=OutboxStatus.DELIVERED, delivered_at=at, last_error=""
                )

    def mark_failed(self, entry_id: str, error: str, at: datetime) -> None:
        """Record a failed attempt; the entry stays pending.

        Raises:
            LookupError: no entry has this id.
        """
        with self._lock:
            entry = self._entry(entry_id)
            if entry.status is OutboxStatus.PENDING:
                self._outbox[entry_id] = attrs.evolve(
                    entry, attempts=entry.attempts + 1, last_error=str(error)
                )

    def entries(self, order_id: str) -> list[OutboxEntry]:
        """Every entry of one order, in the order they were written."""
        with self._lock:
            found = [e for e in self._outbox.values() if e.order_id == order_id]
            return sorted(found, key=lambda e: self._sequence[e.id])

    def _entry(self, entry_id: str) -> OutboxEntry:
        try:
            return self._outbox[entry_id]
        except KeyError:
            raise LookupError(f"no outbox entry {entry_id!r}") from None


def _check_order(order: object) -> None:
    if type(order) is not Order:
        raise InvalidInput("order", order, "must be an Order")
