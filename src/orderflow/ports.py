"""Ports: what a host application implements so that orderflow can run against its world.

The core is pure. Everything outside it reaches it through one of these ``typing.Protocol``
ports (PT-1..PT-5); the reference adapters in :mod:`orderflow.adapters` implement them, and
:mod:`orderflow.testing.contracts` checks any implementation against the contracts written
here.

* :class:`OrderStore` keeps orders with optimistic concurrency and, in the same transaction,
  the outbox of effects their changes produced (PT-1, D-9, D-14). It is an :class:`Outbox`.
* :class:`Notifier` delivers customer notifications (PT-2, NT-2).
* :class:`Clock` tells the time (PT-3); :class:`IdSource` makes new ids.

Effect handlers are plain callables ``(effect) -> None`` registered per effect kind with the
:class:`~orderflow.service.OutboxRelay` (PT-5: refunds, stock reservations).
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable

import attrs

from orderflow.effects import Effect, NotifyCustomer
from orderflow.errors import InvalidInput
from orderflow.model import OrderState
from orderflow.order import Order

__all__ = [
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
    "outbox_entries",
]


class OutboxStatus(enum.StrEnum):
    """Where an outbox entry stands."""

    PENDING = "pending"
    DELIVERED = "delivered"


@attrs.frozen
class OutboxEntry:
    """An effect waiting to be (or already) handed to the outside world (D-14).

    Attributes:
        id: the effect's stable id; hosts pass it on as their idempotency key.
        order_id: the order whose change produced it.
        version: the order version that change produced.
        effect: the effect itself.
        created_at: when the change that produced it was saved.
        status: pending or delivered.
        attempts: how many deliveries were tried.
        last_error: the last delivery error, while pending.
        delivered_at: when it was delivered.
    """

    id: str
    order_id: str
    version: int
    effect: Effect
    created_at: datetime
    status: OutboxStatus = OutboxStatus.PENDING
    attempts: int = 0
    last_error: str = ""
    delivered_at: datetime | None = None

    @property
    def kind(self) -> str:
        """The effect's kind (``"notify_customer"``, ``"request_refund"``, ...)."""
        return self.effect.kind


@runtime_checkable
class Outbox(Protocol):
    """The outbox half of a store: effects saved with the change that caused them.

    Contract:

    * Entries are written only by :meth:`OrderStore.add` and :meth:`OrderStore.save`, in the
      same transaction as the order change; never on their own.
    * An entry's id is its effect's id. Writing an entry whose id exists already is a no-op
      (so a replayed command never duplicates an entry).
    * :meth:`pending` returns entries not yet delivered, the least-tried first and, among
      those, the oldest first (by ``created_at``, then version, then position in the
      outcome). So entries that keep failing never starve new ones; the order of delivery
      is not guaranteed once an entry has failed.
    * Delivery is at least once: an entry stays pending until :meth:`mark_delivered`. Two
      relays running at once may both deliver an entry; hosts drop duplicates by id.
    """

    def pending(self, limit: int = 100) -> list[OutboxEntry]:
        """Up to ``limit`` undelivered entries, least-tried first, then oldest first."""
        ...

    def mark_delivered(self, entry_id: str, at: datetime) -> None:
        """Record a successful delivery (idempotent: marking twice changes nothing).

        Raises:
            LookupError: no entry has this id.
        """
        ...

    def mark_failed(self, entry_id: str, error: str, at: datetime) -> None:
        """Record a failed delivery attempt: the entry stays pending, attempts + 1.

        Raises:
            LookupError: no entry has this id.
        """
        ...

    def entries(self, order_id: str) -> list[OutboxEntry]:
        """Every entry of one order, delivered or not, in the order they were written."""
        ...


@runtime_checkable
class OrderStore(Outbox, Protocol):
    """Where orders live (PT-1). Every method is required.

    Contract:

    * Optimistic concurrency (D-9): :meth:`save` writes only if the stored order's version
      equals ``expected_version``; otherwise it raises
      :class:`~orderflow.errors.ConcurrencyConflict` and writes nothing at all. Of two
      writers saving on the same version, exactly one wins.
    * Atomicity (D-14): the order, its new history entries and its outbox entries are written
      in one transaction, or none of them is.
    * Round trip: :meth:`get` returns an order equal (``==``) to the one saved, with every
      field, every history entry and every amount exact (Decimal, never float).
    * History is append-only (LC-8): :meth:`save` refuses with
      :class:`~orderflow.errors.InvalidInput`, writing nothing, an order whose history does
      not begin with the stored one (see :func:`orderflow.adapters.history.check_extends`).
    * Queries: :meth:`find_by_state` and :meth:`find_due` read from indexes, not by loading
      every order; ``find_due(before)`` returns orders whose earliest deadline is at or
      before ``before`` (D-15: a deadline is due at its own instant), earliest first.
    * Errors from the backend are translated into :class:`~orderflow.errors.StoreError`
      (or the more precise orderflow errors), chained with ``raise ... from``.
    * Thread safety: a store may be shared by the threads of one process.
    """

    def get(self, order_id: str) -> Order:
        """The order with this id.

        Raises:
            OrderNotFound: no order has this id.
        """
        ...

    def add(self, order: Order, effects: Sequence[Effect] = ()) -> None:
        """Store a new order (with its outbox entries) in one transaction.

        Raises:
            OrderAlreadyExists: an order with this id is stored already; nothing is written.
        """
        ...

    def save(self, order: Order, expected_version: int, effects: Sequence[Effect] = ()) -> None:
        """Replace the stored order if its version is ``expected_version``, appending the new
        history entries and the outbox entries, in one transaction.

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


@runtime_checkable
class Notifier(Protocol):
    """Delivers a notification to a customer (PT-2): SMS, e-mail, app push.

    Contract: :meth:`deliver` returns when the notification is handed over, and raises any
    exception when it is not (the entry then stays pending and is retried). It may be called
    more than once for one notification (at-least-once delivery, NT-2): use
    ``notification.id`` to drop duplicates.
    """

    def deliver(self, notification: NotifyCustomer) -> None:
        """Hand the notification to the customer's channel."""
        ...


EffectHandler = Callable[[Effect], None]
"""Carries out one effect of a kind (a refund request, a stock release); raises on failure."""


@runtime_checkable
class Clock(Protocol):
    """Tells the time (PT-3). Nothing in orderflow reads the wall clock except
    :class:`SystemClock`."""

    def now(self) -> datetime:
        """The current time, timezone-aware."""
        ...


@runtime_checkable
class IdSource(Protocol):
    """Makes new ids (for orders a host does not name itself)."""

    def new_id(self) -> str:
        """A new, unique id."""
        ...


class SystemClock:
    """The wall clock, in UTC."""

    def now(self) -> datetime:
        """The current time in UTC."""
        return datetime.now(UTC)


class ManualClock:
    """A clock that moves only when told to: for tests, simulations and replays.

    Args:
        start: the time it starts at (timezone-aware).
    """

    def __init__(self, start: datetime) -> None:
        if not isinstance(start, datetime) or start.tzinfo is None:
            raise InvalidInput("start", start, "must be a timezone-aware datetime")
        self._now = start

    def now(self) -> datetime:
        """The clock's current time."""
        return self._now

    def advance(self, delta: timedelta) -> datetime:
        """Move the clock forward by ``delta`` and return the new time.

        Raises:
            InvalidInput: ``delta`` is negative.
        """
        if not isinstance(delta, timedelta) or delta < timedelta(0):
            raise InvalidInput("delta", delta, "must be a timedelta of zero or more")
        self._now += delta
        return self._now

    def set(self, when: datetime) -> None:
        """Move the clock to ``when``, which must not be in its past.

        Raises:
            InvalidInput: ``when`` is earlier than the clock's time, or naive.
        """
        if not isinstance(when, datetime) or when.tzinfo is None or when < self._now:
            raise InvalidInput("when", when, "must be aware and not earlier than now")
        self._now = when


class UuidIds:
    """Random UUID4 ids, optionally prefixed (``UuidIds("SO-")``)."""

    def __init__(self, prefix: str = "") -> None:
        self.prefix = prefix

    def new_id(self) -> str:
        """A new id."""
        return f"{self.prefix}{uuid.uuid4().hex}"


def outbox_entries(order: Order, effects: Sequence[Effect]) -> list[OutboxEntry]:
    """The outbox entries for the effects of one change of ``order`` (for store authors)."""
    created = order.updated_at
    return [
        OutboxEntry(effect.id, effect.order_id, effect.version, effect, created)
        for effect in effects
    ]
