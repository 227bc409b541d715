"""Ports: what a host application implements so that orderflow can run against its world.

The core is pure. Everything outside it reaches it through one of these ``typing.Protocol``
ports (PT-1..PT-5); the reference adapters in :mod:`orderflow.adapters` implement them, and
:mod:`orderflow.testing.contracts` checks any implementation against the contracts written
here.

* :class:`OrderStore` keeps orders with optimistic concurrency and, in the same transaction,
  the outbox of effects their changes produced (PT-1, D-9, D-14). It is an :class:`Outbox`.
* :class:`Notifier` delivers customer notifications (PT-2, NT-2).
* :class:`Clock` tells the time (PT-3); :class:`IdSource` makes new ids.

Effect handlers are plain callables ``(effect) -> None`` registered per effect class with the
:class:`~orderflow.relay.OutboxRelay` (PT-5: refunds, stock reservations).
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Final, Protocol, runtime_checkable

import attrs

from orderflow.effects import Effect, NotifyCustomer
from orderflow.errors import InvalidInput
from orderflow.inputs import (
    LATEST,
    MAX_IDENTIFIER_LENGTH,
    check_identifier,
    check_text,
    check_time,
)
from orderflow.model import Address, OrderState
from orderflow.order import Order

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


class OutboxStatus(enum.StrEnum):
    """Where an outbox entry stands."""

    PENDING = "pending"
    """Waiting to be delivered (or retried at its ``next_attempt_at``)."""
    DELIVERED = "delivered"
    """Handed over (or dropped by the relay's configuration, which says so in the record)."""
    DEAD = "dead"
    """Parked: its attempts ran out, it has no route, or it cannot be read. An operator
    lists it with :meth:`Outbox.dead` and puts it back with :meth:`Outbox.requeue`."""


ERROR_LIMIT: Final = 500
"""The most characters of a delivery error an outbox keeps."""


def clean_error(error: object, limit: int = ERROR_LIMIT) -> str:
    """A delivery error as any store can keep it: NUL characters dropped, lone surrogates
    written as ``\\udXXX`` escapes, at most ``limit`` characters (cut with an ellipsis).

    Never raises: an object whose ``__str__`` raises gives a placeholder. Stores call it on
    every error they are given, whatever the caller already did (for store authors).

    Args:
        error: the error text (any object is turned into text first).
        limit: the most characters to keep (at least 2).

    Returns:
        The cleaned text.
    """
    if isinstance(error, str):
        text = error
    else:
        try:
            text = str(error)
        except Exception:
            text = "(the error's message could not be read)"
    if len(text) > limit * 8:  # no need to clean what is cut off anyway
        text = text[: limit * 8]
    text = text.replace("\x00", "")
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    if len(text) > limit:
        text = text[: max(limit, 2) - 1] + "\u2026"
    return text


@attrs.frozen
class OutboxEntry:
    """An effect waiting to be (or already) handed to the outside world (D-14).

    Attributes:
        id: the effect's stable id; hosts pass it on as their idempotency key.
        order_id: the order whose change produced it.
        version: the order version that change produced.
        effect: the effect itself. An entry whose stored document cannot be read back
            carries a bare :class:`~orderflow.effects.Effect` (order id, version and position
            only) and says why in ``last_error`` (``"unreadable: ..."``).
        created_at: when the change that produced it was saved.
        next_attempt_at: when it is due: ``created_at`` when written, the retry time after
            a failure; for a dead entry, when it was parked.
        status: pending, delivered or dead.
        attempts: how many deliveries failed (an operator's requeue starts it again at 0).
        last_error: the last delivery error (type and message, cleaned and bounded); for an
            entry delivered without a handler (a kind dropped by configuration), why.
        delivered_at: when it was delivered.
        claimed_by: the relay holding it for delivery, while its lease lasts.
        claimed_until: when that relay's lease ends; after it, another relay may take it.
    """

    id: str
    order_id: str
    version: int
    effect: Effect
    created_at: datetime
    next_attempt_at: datetime = attrs.field(
        default=attrs.Factory(lambda self: self.created_at, takes_self=True)
    )
    status: OutboxStatus = OutboxStatus.PENDING
    attempts: int = 0
    last_error: str = ""
    delivered_at: datetime | None = None
    claimed_by: str | None = None
    claimed_until: datetime | None = None

    @property
    def kind(self) -> str:
        """The effect's kind (``"notify_customer"``, ``"request_refund"``, ...)."""
        return self.effect.kind


@runtime_checkable
class Outbox(Protocol):
    """The outbox half of a store: effects saved with the change that caused them (D-14).

    Contract:

    * Entries are written only by :meth:`OrderStore.add` and :meth:`OrderStore.save`, in the
      same transaction as the order change; never on their own. A new entry is pending and
      due at once (``next_attempt_at == created_at``), with no claim.
    * An entry's id is its effect's id. Writing an entry whose id exists already is a no-op
      (so a replayed command never duplicates an entry).
    * Relays take work with :meth:`claim`: atomically, so that of several relays (threads or
      processes) on one store, each due entry is claimed by one of them until its lease
      ends. A relay then records the result with :meth:`mark_delivered` or
      :meth:`mark_failed`, which end the claim. An entry whose lease ended without a result
      (its relay crashed or hung) is due again: delivery is at least once, and hosts drop
      duplicates by the entry's id.
    * No entry blocks the others: a failed entry waits until the ``retry_at`` its relay
      gave, an entry parked ``dead`` is never claimed again until an operator requeues it,
      and an entry whose stored document cannot be read is parked dead by :meth:`claim`
      with the reason, never raised.
    * Times are timezone-aware; stores compare them as UTC instants.
    """

    def claim(
        self, worker: str, now: datetime, *, limit: int = 100, lease: timedelta
    ) -> list[OutboxEntry]:
        """Atomically claim up to ``limit`` due entries for ``worker`` until ``now + lease``.

        Due: pending, ``next_attempt_at <= now`` and not claimed under a live lease
        (``claimed_until`` unset or ``<= now``). The entries first due (by
        ``next_attempt_at``, then ``created_at``, then the order they were written in) are
        claimed; they are returned oldest first (by ``created_at``, then written order) with
        ``claimed_by`` and ``claimed_until`` set. Entries whose stored document cannot be
        read are parked dead instead, with ``last_error`` ``"unreadable: <reason>"``, and are
        not returned.

        Args:
            worker: the claiming relay's name (1 to 100 characters).
            now: the current time (timezone-aware).
            limit: the most entries to claim (0 or more).
            lease: how long the claim holds (more than zero).

        Returns:
            The claimed entries.

        Raises:
            InvalidInput: a malformed worker, time, limit or lease; nothing is claimed.
            StoreError: the backend failed; nothing is claimed.
        """
        ...

    def mark_delivered(self, entry_id: str, at: datetime, *, note: str = "") -> None:
        """Record a delivery and end the claim (idempotent: marking twice changes nothing).

        A pending or dead entry becomes delivered, with ``last_error`` set to ``note``
        (cleaned and bounded; empty for an ordinary delivery). A delivered entry is left as
        it is.

        Args:
            entry_id: the entry's (its effect's) id.
            at: when it was delivered (timezone-aware).
            note: why it counts as delivered without a handler, if so.

        Raises:
            LookupError: no entry has this id.
        """
        ...

    def mark_failed(
        self, entry_id: str, error: str, at: datetime, *, retry_at: datetime | None
    ) -> None:
        """Record a failed delivery and end the claim: attempts + 1, ``last_error = error``.

        With ``retry_at`` the entry stays pending and is due again at ``retry_at``; with
        ``None`` it is parked dead (``next_attempt_at = at``). The error is cleaned (NUL
        characters dropped, lone surrogates escaped) and bounded by the store itself
        (:func:`clean_error`): no text makes this method raise. A delivered or dead entry is
        left as it is.

        Args:
            entry_id: the entry's id.
            error: what went wrong.
            at: when (timezone-aware).
            retry_at: when to try again, or ``None`` to park the entry dead.

        Raises:
            LookupError: no entry has this id.
        """
        ...

    def pending(self, limit: int = 100) -> list[OutboxEntry]:
        """Up to ``limit`` pending entries (claimed or not, due or not), for operators: by
        ``next_attempt_at``, then ``created_at``, then the order they were written in."""
        ...

    def dead(self, limit: int = 100, after_id: str | None = None) -> list[OutboxEntry]:
        """Up to ``limit`` dead entries, by id, starting after ``after_id`` (paging)."""
        ...

    def requeue(self, entry_id: str, at: datetime) -> bool:
        """Put a dead entry back: pending, due at ``at``, attempts counted again from 0 (its
        ``last_error`` stays until the next attempt). Idempotent: an entry that is not dead
        (pending or delivered) is left as it is.

        Args:
            entry_id: the entry's id.
            at: when it is due (timezone-aware).

        Returns:
            Whether a dead entry was put back.

        Raises:
            LookupError: no entry has this id.
        """
        ...

    def purge_delivered(self, before: datetime, *, limit: int = 1000) -> int:
        """Delete up to ``limit`` delivered entries whose ``delivered_at`` is before
        ``before``; call again until it returns less than ``limit``. Pending and dead entries
        are never deleted. A purged entry's id is forgotten.

        Returns:
            How many entries were deleted.
        """
        ...

    def entries(self, order_id: str) -> list[OutboxEntry]:
        """Every entry of one order, whatever its status, in the order they were written."""
        ...


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

    Its time stays within the range the library accepts (timezone-aware, from 1970 up to,
    not including, 9000; see :func:`~orderflow.inputs.check_time`).

    Args:
        start: the time it starts at.

    Raises:
        InvalidInput: ``start`` is not an aware datetime in that range.
    """

    def __init__(self, start: datetime) -> None:
        self._now = check_time("start", start)

    def now(self) -> datetime:
        """The clock's current time."""
        return self._now

    def advance(self, delta: timedelta) -> datetime:
        """Move the clock forward by ``delta`` and return the new time.

        Raises:
            InvalidInput: ``delta`` is not a timedelta, is negative, or would take the clock
                to 9000 or beyond; the clock does not move.
        """
        if not isinstance(delta, timedelta) or delta < timedelta(0):
            raise InvalidInput("delta", delta, "must be a timedelta of zero or more")
        if delta >= LATEST - self._now:
            raise InvalidInput("delta", delta, "would take the clock to 9000-01-01 or beyond")
        self._now += delta
        return self._now

    def set(self, when: datetime) -> None:
        """Move the clock to ``when``, which must not be in its past.

        Raises:
            InvalidInput: ``when`` is not an aware datetime in range, or is earlier than the
                clock's time.
        """
        check_time("when", when)
        if when < self._now:
            raise InvalidInput("when", when, "must not be earlier than the clock's time")
        self._now = when


_LONGEST_PREFIX = MAX_IDENTIFIER_LENGTH - 32  # a UUID in hex is 32 characters


class UuidIds:
    """Random UUID4 ids, optionally prefixed (``UuidIds("SO-")``).

    Args:
        prefix: text put before every id: empty, or identifier text (see
            :func:`~orderflow.inputs.check_identifier`) of at most 68 characters, so that the
            ids stay within the 100 characters of an identifier.

    Raises:
        InvalidInput: a malformed prefix.
    """

    def __init__(self, prefix: str = "") -> None:
        if check_text("prefix", prefix, _LONGEST_PREFIX):
            check_identifier("prefix", prefix)
        self.prefix = prefix

    def new_id(self) -> str:
        """A new id."""
        return f"{self.prefix}{uuid.uuid4().hex}"


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


def outbox_entries(order: Order, first_new_version: int = 1) -> list[OutboxEntry]:
    """The outbox entries a store writes with ``order`` (for store authors): one for every
    effect of the history entries from version ``first_new_version`` on, in order.

    ``add`` writes those of every entry (``first_new_version=1``), ``save`` those of the
    entries after the version it was given (``expected_version + 1``). Each is pending and due
    at the order's last change (``order.updated_at``).

    Args:
        order: the order being written.
        first_new_version: the version of the first history entry being written (1 or more).

    Returns:
        The entries, in the order of their history entries and, within one, of their effects.

    Raises:
        InvalidInput: ``first_new_version`` is not a whole number of 1 or more.
    """
    if (
        isinstance(first_new_version, bool)
        or not isinstance(first_new_version, int)
        or (first_new_version < 1)
    ):
        raise InvalidInput("first_new_version", first_new_version, "must be a whole number >= 1")
    created = order.updated_at
    return [
        OutboxEntry(effect.id, effect.order_id, effect.version, effect, created)
        for entry in order.history[first_new_version - 1 :]
        for effect in entry.effects
    ]
