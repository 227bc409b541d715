"""Ports: what a host application implements so that orderflow can run against its world.

The core is pure. Everything outside it reaches it through one of these ``typing.Protocol``
ports (PT-1..PT-5); the reference adapters in :mod:`orderflow.adapters` implement them, and
:mod:`orderflow.testing.contracts` checks any implementation against the contracts written
here.

* :class:`OrderStore` keeps orders with optimistic concurrency and, in the same transaction,
  the outbox of effects their changes produced (PT-1, D-9, D-14). It is an :class:`Outbox`.
* :class:`Notifier` delivers customer notifications (PT-2, NT-2).
* :class:`Clock` tells the time (PT-3); :class:`IdSource` makes new ids.

The outbox's entries live in :mod:`orderflow.outbox`, the clocks and ids in
:mod:`orderflow.clocks`; every name is importable from here as well.

Effect handlers are plain callables ``(effect) -> None`` registered per effect class with the
:class:`~orderflow.relay.OutboxRelay` (PT-5: refunds, stock reservations).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Final, Protocol, runtime_checkable

from orderflow.clocks import Clock, IdSource, ManualClock, SystemClock, UuidIds
from orderflow.effects import Effect, NotifyCustomer
from orderflow.errors import InvalidInput
from orderflow.inputs import (
    check_time,
)
from orderflow.model import Address, OrderState
from orderflow.order import Order
from orderflow.outbox import (
    ERROR_LIMIT,
    Outbox,
    OutboxEntry,
    OutboxStatus,
    clean_error,
    outbox_entries,
)

__all__ = [
    "ERROR_LIMIT",
    "WORKER_LENGTH",
    "Clock",
    "EffectHandler",
    "IdSource",
    "ManualClock",
    "Notifier",
    "OrderStore",
    "Outbox",
    "OutboxEntry",
    "OutboxStatus",
    "SystemClock",
    "UuidIds",
    "check_claim",
    "check_time",
    "clean_error",
    "outbox_entries",
]


@runtime_checkable
class OrderStore(Outbox, Protocol):
    """Where orders live (PT-1). Every method is required.

    Contract:

    * Optimistic concurrency (D-9): :meth:`save` writes only if the stored order's version
      equals ``expected_version``; otherwise it raises
      :class:`~orderflow.errors.ConcurrencyConflict` and writes nothing at all. Of two
      writers saving on the same version, exactly one wins.
    * Effects come from the order (D-14): :meth:`add` and :meth:`save` write an outbox entry
      for every effect of every history entry they write (see :func:`outbox_entries`), and
      nothing else; there is no other way to put an entry in the outbox.
    * Atomicity (D-14): the order, its new history entries and its outbox entries are written
      in one transaction, or none of them is.
    * Round trip: :meth:`get` returns an order equal (``==``) to the one saved, with every
      field, every history entry and every amount exact (Decimal, never float).
    * History is append-only (LC-8): :meth:`save` refuses with
      :class:`~orderflow.errors.InvalidInput`, writing nothing, an order whose history does
      not begin with the stored one (see :func:`orderflow.adapters.history.check_extends`).
    * Queries: :meth:`find_by_state`, :meth:`find_due`, :meth:`find_by_customer` and
      :meth:`find_by_address` read from indexes, not by loading every order (nor every
      order of a customer, nor every order since an instant);
      ``find_due(before)`` returns orders whose earliest deadline is at or before ``before``
      (D-15: a deadline is due at its own instant), earliest first.
    * Sweeper claims: :meth:`claim_due` hands due orders to one timer sweeper at a time, read
      from the same deadline index; :meth:`release_due` ends or extends a claim.
    * Errors from the backend are translated into :class:`~orderflow.errors.StoreError`
      (or the more precise orderflow errors), chained with ``raise ... from``.
    * Thread safety: a store may be shared by the threads of one process.

    Optional: a store may offer ``command_scope()``, a context manager within which the
    calls one thread makes share what a call would otherwise take and give back (the SQL
    store: one connection of its pool). :meth:`~orderflow.service.OrderService.handle` runs
    each attempt of a command (load, decide, save) in it when the store has one; every call
    behaves as it does outside a scope.

    Optional: a store that caches orders may offer ``cached_order(order_id)``, the order as
    it last wrote or loaded it, without asking its database, or ``None``. The order may be
    stale; :meth:`~orderflow.service.OrderService.handle` decides on it and saves at its
    version, so the store must then refuse the save
    (:class:`~orderflow.errors.ConcurrencyConflict`, nothing written) unless the stored order
    is still exactly the one it returned, and :meth:`get` must then give the stored order
    (never the cached one unchecked); the service loads the order with :meth:`get` and
    decides again, without counting a retry. A refusal or a replay
    decided on a cached order is never reported: the service loads the order and decides
    again. A store without the method is loaded with :meth:`get` for every command.
    """

    def get(self, order_id: str) -> Order:
        """The order with this id.

        Raises:
            OrderNotFound: no order has this id.
        """
        ...

    def add(self, order: Order) -> None:
        """Store a new order with the outbox entries of its history's effects (for a new
        order, those of the entry that placed it), in one transaction.

        Raises:
            OrderAlreadyExists: an order with this id is stored already; nothing is written.
        """
        ...

    def save(self, order: Order, expected_version: int) -> None:
        """Replace the stored order if its version is ``expected_version``, appending the new
        history entries (``order.history[expected_version:]``) and the outbox entries of
        their effects, in one transaction.

        Raises:
            ConcurrencyConflict: the stored version is not ``expected_version``; nothing is
                written.
            OrderNotFound: no order has this id.
            InvalidInput: the order's history does not begin with the stored history;
                nothing is written.
        """
        ...

    def find_by_state(
        self, state: OrderState, *, limit: int = 100, after_id: str | None = None
    ) -> list[Order]:
        """Up to ``limit`` orders in ``state``, by id, starting after ``after_id`` (paging)."""
        ...

    def find_due(self, before: datetime, *, limit: int = 100) -> list[Order]:
        """Up to ``limit`` orders whose next deadline is at or before ``before``, earliest
        first."""
        ...

    def find_by_customer(
        self,
        customer_id: str,
        *,
        limit: int = 100,
        before: tuple[datetime, str] | None = None,
    ) -> list[Order]:
        """Up to ``limit`` orders of one customer, newest first: by ``created_at``
        descending, then by id descending (code point order) among orders placed at the
        same instant.

        Args:
            customer_id: the customer.
            limit: the most orders to return (0 to 1,000,000).
            before: for the next page, the ``(created_at, id)`` of the last order of the
                previous one: only orders after it in this order are returned.

        Raises:
            InvalidInput: a malformed customer id, limit or ``before``.
        """
        ...

    def find_by_address(
        self,
        address: Address,
        *,
        since: datetime,
        limit: int = 100,
        before: tuple[datetime, str] | None = None,
    ) -> list[Order]:
        """Up to ``limit`` orders shipped to the same place as ``address`` and placed at or
        after ``since``, whoever placed them (RK-1), newest first: by ``created_at``
        descending, then by id descending, as :meth:`find_by_customer`.

        The same place is the same :func:`~orderflow.addresses.address_key`: the location
        parts in canonical form (case, width and whitespace do not matter; the recipient and
        the phone are not compared). An order is found by the address it has now: a
        corrected address (LC-7) moves it at once. An address without a key (no street
        line, city or country) finds nothing. Stores index the key, never the address.

        Args:
            address: the place.
            since: the earliest placing instant (timezone-aware; an order placed at exactly
                ``since`` is found).
            limit: the most orders to return (0 to 1,000,000).
            before: for the next page, the ``(created_at, id)`` of the last order of the
                previous one: only orders after it in this order are returned.

        Raises:
            InvalidInput: not an :class:`~orderflow.Address`, a ``since`` that is not an
                aware datetime from 1970 up to 9000, a malformed limit or ``before``.
        """
        ...

    def claim_due(
        self, worker: str, now: datetime, *, limit: int = 100, lease: timedelta
    ) -> list[str]:
        """Claim up to ``limit`` due orders for a timer sweeper, and return their ids.

        An order is claimable when its next deadline is at or before ``now`` and it holds no
        claim that lasts beyond ``now``. Claiming records ``worker`` and ``now + lease`` on
        each order, atomically: two sweepers claiming at once never get the same order.
        Orders come earliest deadline first (then by id), read from the deadline index.
        A claim is only a hint for sweepers: saving an order neither needs nor clears it.

        Raises:
            InvalidInput: a blank worker, a naive ``now``, a negative limit or a lease that
                is not a positive ``timedelta``.
        """
        ...

    def release_due(self, order_id: str, worker: str, *, until: datetime | None = None) -> None:
        """End ``worker``'s claim on an order (nothing happens if it holds none).

        With ``until``, the order stays claimed by ``worker`` until then instead: the sweeper
        sets aside an order it could not settle, so the others go first.

        Raises:
            InvalidInput: a naive ``until``.
        """
        ...


@runtime_checkable
class Notifier(Protocol):
    """Delivers a notification to a customer (PT-2): SMS, e-mail, app push.

    Contract: :meth:`deliver` returns when the notification is handed over, and raises any
    exception when it is not (the entry is then retried after a pause, and parked dead when
    its attempts run out). It gives up by itself after a timeout of its own: the relay cannot
    interrupt it. It may be called more than once for one notification (at-least-once
    delivery, NT-2): use ``notification.id`` to drop duplicates.
    """

    def deliver(self, notification: NotifyCustomer) -> None:
        """Hand the notification to the customer's channel."""
        ...


EffectHandler = Callable[[Effect], None]
"""Carries out one effect (a refund request, a stock release); raises on failure. It should
give up by itself after a timeout of its own: the relay cannot interrupt it."""


WORKER_LENGTH: Final = 100
"""The longest relay name a store must keep."""


def check_claim(worker: object, now: object, limit: object, lease: object) -> None:
    """Check the arguments of :meth:`Outbox.claim` and :meth:`OrderStore.claim_due` (for
    store authors).

    Raises:
        InvalidInput: naming the first malformed argument: a blank or over-long worker, a
            naive ``now``, a negative limit, or a lease that is not a positive ``timedelta``.
    """
    if not isinstance(worker, str) or not worker.strip() or len(worker) > WORKER_LENGTH:
        raise InvalidInput("worker", worker, f"must be a name of 1 to {WORKER_LENGTH} characters")
    check_time("now", now)
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
        raise InvalidInput("limit", limit, "must be a whole number, 0 or more")
    if not isinstance(lease, timedelta) or lease <= timedelta(0):
        raise InvalidInput("lease", lease, "must be a timedelta above zero")
