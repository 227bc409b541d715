"""An in-memory order store: the reference semantics of :class:`~orderflow.ports.OrderStore`.

Thread-safe (one lock, which also makes outbox claims atomic), exact (orders are immutable
values, kept as they are), and indexed like a database would be, with ordered indexes
(:class:`~orderflow.adapters.ordered.OrderedIndex`) that keep their order as they change:
orders by state (by id), by next deadline, by customer and by address key (by creation
time and id); outbox
entries (:mod:`orderflow.adapters.memory_outbox`) by due time, by claim expiry, dead ones by
id and delivered ones by delivery time. So a save, a claim and a page cost O(log n) plus the
page, whatever the number of orders or entries. Good for tests, prototypes and
single-process tools; everything is lost when the process ends.

A timer sweeper's claims in flight (at most a batch per sweeper, soon released) are skipped
by the claims after them; an order a sweeper sets aside (``release_due`` with ``until``)
leaves the deadline index claims are taken from for one ordered by the end of its set-aside,
and comes back when a later claim finds that end passed. So however many orders wait set
aside, a claim reads only the due orders it takes and those in flight.
"""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from operator import itemgetter

from orderflow.adapters.arguments import (
    check_address,
    check_after_id,
    check_before,
    check_customer_id,
    check_expected_version,
    check_limit,
    check_order_id,
    check_order_write,
    check_page_before,
    check_since,
    check_state,
)
from orderflow.adapters.history import check_extends
from orderflow.adapters.memory_outbox import InMemoryOutbox
from orderflow.adapters.ordered import OrderedIndex
from orderflow.addresses import address_key
from orderflow.errors import (
    ConcurrencyConflict,
    InvalidInput,
    OrderAlreadyExists,
    OrderNotFound,
)
from orderflow.model import Address, OrderState
from orderflow.order import Order
from orderflow.ports import check_claim, check_time

__all__ = ["InMemoryStore"]


_DeadlineKey = tuple[datetime, str]
"""A time and an order id: its next deadline, the end of its set-aside, or its creation time."""
_time = itemgetter(0)


def _deadline_key(order: Order) -> _DeadlineKey | None:
    deadlines = order.deadlines
    if len(deadlines) == 1:  # the usual case: one timer running
        return (deadlines[0].due_at, order.id)
    deadline = order.next_deadline
    return None if deadline is None else (deadline.due_at, order.id)


class InMemoryStore(InMemoryOutbox):
    """An :class:`~orderflow.ports.OrderStore` in memory.

    It checks its arguments like the SQL store (:mod:`orderflow.adapters.arguments`): ids are
    identifiers of at most 100 characters, pages hold at most 1,000,000 orders, times are aware;
    anything else is refused with :class:`~orderflow.errors.InvalidInput` before the store
    is touched.
    """

    def __init__(self) -> None:
        super().__init__()
        self._orders: dict[str, Order] = {}
        self._by_state: dict[OrderState, OrderedIndex[str]] = {
            state: OrderedIndex() for state in OrderState
        }
        # Orders with a deadline, by (deadline, id): those a sweeper may claim in
        # _deadlines, those set aside (release_due with ``until``) apart in _aside until
        # a claim finds the end of their set-aside (_aside_ends) passed.
        self._deadlines: OrderedIndex[_DeadlineKey] = OrderedIndex()
        self._aside: OrderedIndex[_DeadlineKey] = OrderedIndex()
        self._aside_ends: OrderedIndex[_DeadlineKey] = OrderedIndex()
        self._set_aside: dict[str, datetime] = {}
        # Sweeper claims, (worker, until) per order: a claim in flight (at most a batch per
        # sweeper) is skipped by the claims after it; a set-aside one is kept apart.
        self._claims: dict[str, tuple[str, datetime]] = {}
        # Per customer, (created_at, id); an order's customer and placing time never change,
        # so an order enters its customer's index once, when it is added.
        self._by_customer: dict[str, OrderedIndex[_DeadlineKey]] = {}
        # Per address key (orderflow.addresses), (created_at, id); a corrected address
        # (LC-7) moves the order from its old key's index to its new one's.
        self._by_address: dict[str, OrderedIndex[_DeadlineKey]] = {}

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
            customer = self._by_customer.get(order.customer_id)
            if customer is None:
                customer = self._by_customer[order.customer_id] = OrderedIndex()
            customer.add((order.created_at, order.id))
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
            ids = self._by_state[wanted].ascending(after_id, strict=True)
            return [self._orders[i] for i in itertools.islice(ids, limit)]

    def find_due(self, before: datetime, *, limit: int = 100) -> list[Order]:
        """Up to ``limit`` orders whose next deadline is at or before ``before``.

        Raises:
            InvalidInput: ``before`` is not an aware datetime from 1970 up to 9000, or a limit
                that is not from 0 to 1,000,000.
        """
        check_before(before)
        check_limit(limit)
        with self._lock:
            due = list(itertools.islice(self._deadlines.leading(before, _time), limit))
            if self._aside:
                aside = itertools.islice(self._aside.leading(before, _time), limit)
                due = sorted([*due, *aside])[:limit]
            return [self._orders[order_id] for _, order_id in due]

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
            keys = self._by_customer.get(customer_id)
            if keys is None:
                return []
            page = itertools.islice(keys.descending(cursor), limit)
            return [self._orders[order_id] for _, order_id in page]

    def find_by_address(
        self,
        address: Address,
        *,
        since: datetime,
        limit: int = 100,
        before: tuple[datetime, str] | None = None,
    ) -> list[Order]:
        """Up to ``limit`` orders to the place ``address`` names (its
        :func:`~orderflow.addresses.address_key`) placed at or after ``since``, newest first
        (by ``created_at``, then id, both descending), after the ``before`` cursor.

        Raises:
            InvalidInput: not an Address, a ``since`` that is not an aware datetime from
                1970 up to 9000, a limit that is not from 0 to 1,000,000, or a ``before``
                that is not a pair of an aware datetime and an id.
        """
        check_address(address)
        earliest = check_since(since)
        check_limit(limit)
        cursor = check_page_before(before)
        key = address_key(address)
        with self._lock:
            keys = None if key is None else self._by_address.get(key)
            if keys is None:
                return []
            recent = itertools.takewhile(lambda k: k[0] >= earliest, keys.descending(cursor))
            return [self._orders[order_id] for _, order_id in itertools.islice(recent, limit)]

    def claim_due(
        self, worker: str, now: datetime, *, limit: int = 100, lease: timedelta
    ) -> list[str]:
        """Claim up to ``limit`` due orders for ``worker`` until ``now + lease``."""
        check_claim(worker, now, limit, lease)
        until = now + lease
        with self._lock:
            self._end_set_asides(now)
            claims = self._claims
            chosen: list[str] = []
            if limit:
                for _, order_id in self._deadlines.leading(now, _time):
                    held = claims.get(order_id)
                    if held is None or held[1] <= now:
                        chosen.append(order_id)
                        if len(chosen) == limit:
                            break
            for order_id in chosen:
                claims[order_id] = (worker, until)
            return chosen

    def release_due(self, order_id: str, worker: str, *, until: datetime | None = None) -> None:
        """End ``worker``'s claim on an order, or keep it until ``until`` (set it aside)."""
        if until is not None:
            check_time("until", until)
        with self._lock:
            held = self._claims.get(order_id)
            if held is None or held[0] != worker:
                return
            if order_id in self._set_aside:
                self._take_back(order_id)
            if until is None:
                del self._claims[order_id]
            else:
                self._claims[order_id] = (worker, until)
                self._put_aside(order_id, until)

    def _put_aside(self, order_id: str, until: datetime) -> None:
        self._set_aside[order_id] = until
        self._aside_ends.add((until, order_id))
        key = _deadline_key(self._orders[order_id])
        if key is not None:
            self._deadlines.discard(key)
            self._aside.add(key)

    def _take_back(self, order_id: str) -> None:
        until = self._set_aside.pop(order_id)
        self._aside_ends.discard((until, order_id))
        key = _deadline_key(self._orders[order_id])
        if key is not None:
            self._aside.discard(key)
            self._deadlines.add(key)

    def _end_set_asides(self, now: datetime) -> None:
        """Put back among the claimable the orders set aside until ``now`` or before.

        Their claims stay recorded: their holder may still release or extend them, and a
        claim asked at an earlier time skips them (see :meth:`claim_due`).
        """
        if self._aside_ends:
            for _, order_id in list(self._aside_ends.leading(now, _time)):
                self._take_back(order_id)

    def _index(self, old: Order | None, new: Order) -> None:
        if old is None or old.state is not new.state:
            if old is not None:
                self._by_state[old.state].discard(old.id)
            self._by_state[new.state].add(new.id)
        old_key = None if old is None else _deadline_key(old)
        new_key = _deadline_key(new)
        if old_key != new_key:
            index = self._aside if new.id in self._set_aside else self._deadlines
            if old_key is not None:
                index.discard(old_key)
            if new_key is not None:
                index.add(new_key)
        if old is None or (old.address is not new.address and old.address != new.address):
            self._index_address(old, new)

    def _index_address(self, old: Order | None, new: Order) -> None:
        """Move the order from its old address key's index to its new one's."""
        old_key = None if old is None else address_key(old.address)
        new_key = address_key(new.address)
        if old_key == new_key:
            return
        placed = (new.created_at, new.id)
        if old_key is not None:
            keys = self._by_address[old_key]
            keys.discard(placed)
            if not keys:
                del self._by_address[old_key]
        if new_key is not None:
            found = self._by_address.get(new_key)
            if found is None:
                found = self._by_address[new_key] = OrderedIndex()
            found.add(placed)
