"""The order service and the outbox relay: the core, run against a store.

:class:`OrderService` runs a command against a stored order: load, decide in the pure core,
save with the version it was loaded at; the store writes the new history entry's effects
into the outbox in the same transaction. :class:`OutboxRelay` hands the outbox's pending
effects to the host's notifier and effect handlers, at least once.

Nothing is lost and nothing is doubled:

* a stale save is refused (:class:`~orderflow.errors.ConcurrencyConflict`) and nothing of it
  is stored; the service retries only when asked, after a short randomized pause, and then
  decides again on fresh state;
* a client that decided on a version it read (an HTTP ``If-Match``) passes it as
  ``expected_version``: a command is applied only at that version, never retried on another;
* an effect is stored with the change that caused it, so a crash between saving and relaying
  loses nothing: the next relay delivers it;
* a command repeated with its command id (a payment webhook retried after a crash) is a replay:
  nothing is saved, no effect is added, and the original outcome is returned.
"""

from __future__ import annotations

import random as random_module
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime, timedelta
from typing import cast

from orderflow import commands as c
from orderflow.adapters.arguments import check_expected_version
from orderflow.command_context import READS_CONTEXT, command_context
from orderflow.errors import (
    CommandRefused,
    ConcurrencyConflict,
    InvalidConfiguration,
    InvalidInput,
    OrderAlreadyExists,
    OrderflowError,
    Refusal,
)
from orderflow.incidents.context import Context, ContextPort
from orderflow.inputs import check_identifier, check_time
from orderflow.machine import Availability, Lifecycle, Outcome
from orderflow.model import Actor
from orderflow.order import Order
from orderflow.ports import (
    Clock,
    IdSource,
    OrderStore,
    SystemClock,
    UuidIds,
)
from orderflow.relay import OutboxRelay, RelayReport
from orderflow.retries import Backoff, Jitter

__all__ = ["CONFLICT_BACKOFF", "MAX_RETRIES", "OrderService", "OutboxRelay", "RelayReport"]

MAX_RETRIES = 20
"""The most times :meth:`OrderService.handle` may be asked to retry on a conflict."""

CONFLICT_BACKOFF = Backoff(
    base=timedelta(milliseconds=2),
    factor=2.0,
    cap=timedelta(milliseconds=100),
    jitter=Jitter.EQUAL,
)
"""The pause before each retry after a conflict, by default: 2 ms doubling up to 100 ms,
each randomized between half and all of it, so that writers who collided spread out."""


def _missing_store_methods(store: object) -> list[str]:
    """The methods of :class:`~orderflow.ports.OrderStore` that ``store`` lacks, by name."""
    names = sorted(
        name
        for kind in OrderStore.__mro__
        if getattr(kind, "_is_protocol", False) and kind is not object
        for name, member in vars(kind).items()
        if callable(member) and not name.startswith("_")
    )
    return [name for name in names if not callable(getattr(store, name, None))]


class OrderService:
    """Runs commands against stored orders.

    Args:
        store: where orders and the outbox live.
        lifecycle: the lifecycle engine (``Lifecycle()`` by default).
        clock: the time source (the system clock by default).
        ids: the id source for :meth:`new_order_id` (random UUIDs by default).
        conflict_backoff: the pause before each retry after a conflict
            (:data:`CONFLICT_BACKOFF` by default); the ``n``-th retry waits
            ``conflict_backoff.delay(n, random)``.
        sleep: how the service pauses, given seconds (``time.sleep`` by default; the pure
            core never pauses, only this service does, between retries).
        random: the source of the pauses' jitter (a new ``random.Random()`` by default; give a
            seeded one for reproducible pauses).
        context: the host's context port (PT-4: stock, list prices, VIP customers). With
            one, the service gathers an order's context (with the customer's and the
            address's recent orders from the store) for the commands that read it: review
            (the classifier, EX-2), a restock check, an escalation (the matrix's VIP fact).
            Without one, review checks only what the order itself shows.

    Raises:
        InvalidConfiguration: an argument that does not implement its port (or is not a
            :class:`~orderflow.Lifecycle`, a :class:`~orderflow.retries.Backoff`, a callable,
            a ``random.Random``); for a store, the message names the methods it lacks (a
            store written before :meth:`~orderflow.ports.OrderStore.find_by_address` lacks
            that one: every method of the port is required, and the service does without
            none, so that no risk check goes quietly unasked).
    """

    def __init__(
        self,
        store: OrderStore,
        lifecycle: Lifecycle | None = None,
        clock: Clock | None = None,
        ids: IdSource | None = None,
        *,
        conflict_backoff: Backoff | None = None,
        sleep: Callable[[float], None] = time.sleep,
        random: random_module.Random | None = None,
        context: ContextPort | None = None,
    ) -> None:
        if store is not None and not isinstance(store, OrderStore):
            missing = ", ".join(_missing_store_methods(store))
            raise InvalidConfiguration(
                "store", store, f"must implement OrderStore (it lacks {missing or 'nothing'})"
            )
        for name, value, kind in (
            ("lifecycle", lifecycle, Lifecycle),
            ("clock", clock, Clock),
            ("ids", ids, IdSource),
            ("conflict_backoff", conflict_backoff, Backoff),
            ("random", random, random_module.Random),
        ):
            if value is not None and not isinstance(value, kind):
                raise InvalidConfiguration(name, value, f"must be a {kind.__name__}")
        if store is None:
            raise InvalidConfiguration("store", store, "an order service needs a store")
        if not callable(sleep):
            raise InvalidConfiguration("sleep", sleep, "must be a callable taking seconds")
        if context is not None and not isinstance(context, ContextPort):
            raise InvalidConfiguration("context", context, "must implement ContextPort")
        self.context = context
        self.store = store
        self.lifecycle = lifecycle or Lifecycle()
        self.clock = clock or SystemClock()
        self.ids = ids or UuidIds()
        self.conflict_backoff = conflict_backoff or CONFLICT_BACKOFF
        self._sleep = sleep
        self._random = random or random_module.Random()

    def new_order_id(self) -> str:
        """A fresh order id from the id source."""
        return self.ids.new_id()

    def get(self, order_id: str) -> Order:
        """The stored order.

        Raises:
            InvalidInput: the id is not an identifier.
            OrderNotFound: no order has this id.
        """
        return self.store.get(check_identifier("order_id", order_id))

    def place(self, command: c.PlaceOrder, actor: Actor) -> Outcome:
        """Place and store a new order with its effects.

        Placing is idempotent by order id: the same ``PlaceOrder`` again returns the
        original outcome (``replayed``); a different one for an existing id is refused.

        Raises:
            InvalidInput: malformed arguments.
            CommandRefused: the actor may not place this order.
            OrderAlreadyExists: another order has this id.
        """
        outcome = self.lifecycle.place(command, actor, self._clock_now())
        try:
            self.store.add(outcome.order)
        except OrderAlreadyExists:
            stored = self.store.get(command.order_id)
            first = stored.history[0]
            if first.command == command:
                return Outcome(stored, first.effects, first, replayed=True)
            raise
        return outcome

    def handle(
        self,
        order_id: str,
        command: c.Command,
        actor: Actor,
        *,
        expected_version: int | None = None,
        retries: int = 0,
    ) -> Outcome:
        """Run a command against the stored order and save the result; the store writes its
        effects into the outbox in the same transaction.

        With a store's ``cached_order`` (see :class:`~orderflow.ports.OrderStore`) a cached
        order is decided on and saved without a load; if it is stale, the command is decided
        again on the loaded order in the same attempt (no retry is spent).

        Args:
            order_id: the order.
            command: what to do.
            actor: who does it.
            expected_version: the version the caller decided on (an HTTP ``If-Match``): the
                command is applied only if the stored order is still at this version, and is
                never retried. A command whose id was applied already is still a replay (the
                original outcome), whatever the version: a retried request does not turn into
                a conflict.
            retries: how many times to reload and decide again if another writer saved the
                order in between (0 to ``MAX_RETRIES``; 0 with ``expected_version``). Each
                retry waits a randomized pause first (``conflict_backoff``) and decides on
                fresh state: a command that was allowed may then be refused.

        Returns:
            The outcome; for a replay (D-3) the original outcome, and nothing is saved.

        Raises:
            InvalidInput: malformed arguments, or retries asked together with an expected
                version.
            OrderNotFound: no order has this id.
            CommandRefused: the command is refused; nothing is saved.
            ConcurrencyConflict: the stored order is not at ``expected_version`` (nothing is
                decided on it), or another writer won and the retries are used up; nothing of
                this command is saved.
        """
        check_identifier("order_id", order_id)
        if isinstance(retries, bool) or not isinstance(retries, int):
            raise InvalidInput("retries", retries, "must be a whole number")
        if not 0 <= retries <= MAX_RETRIES:
            raise InvalidInput("retries", retries, f"must be between 0 and {MAX_RETRIES}")
        if expected_version is not None:
            check_expected_version(expected_version)
            if retries:
                raise InvalidInput(
                    "retries",
                    retries,
                    "must be 0 with expected_version: the caller decided on that version",
                )
        attempt = 0
        while True:
            try:
                with self._scope():
                    outcome = self._from_cache(order_id, command, actor, expected_version)
                    if outcome is None:
                        outcome = self._attempt(order_id, command, actor, expected_version)
            except ConcurrencyConflict:
                if expected_version is not None or attempt >= retries:
                    raise
                attempt += 1
                self._pause(attempt)  # outside the scope: no connection is held while waiting
                continue
            return outcome

    def _attempt(
        self, order_id: str, command: c.Command, actor: Actor, expected_version: int | None
    ) -> Outcome:
        """Load the order, decide, and save at the version loaded."""
        order = self.store.get(order_id)
        if expected_version is not None and order.version != expected_version:
            return self._replay_or_conflict(order, command, actor, expected_version)
        outcome = self.lifecycle.handle(
            order, command, actor, self._now(order), context=self._gather(order, command)
        )
        if not outcome.replayed:
            self.store.save(outcome.order, order.version)
        return outcome

    def _from_cache(
        self, order_id: str, command: c.Command, actor: Actor, expected_version: int | None
    ) -> Outcome | None:
        """The command decided on the store's cached order and saved at its version (a
        stale one's save conflicts: nothing is written, the entry is dropped); ``None``,
        nothing saved, when the outcome cannot stand without a load: no cached order (or
        one at another version than ``expected_version``), a command reading the context
        port, a refusal or a replay (either may come from a stale order), or that conflict.
        """
        peek = getattr(self.store, "cached_order", None)
        if peek is None or (self.context is not None and isinstance(command, READS_CONTEXT)):
            return None
        order = cast(Order | None, peek(order_id))
        if order is None or (expected_version is not None and order.version != expected_version):
            return None
        now = self._now(order)
        try:
            outcome = self.lifecycle.handle(order, command, actor, now)
        except OrderflowError:
            return None
        if outcome.replayed:
            return None
        try:
            self.store.save(outcome.order, order.version)
        except ConcurrencyConflict:
            return None
        return outcome

    def find_by_customer(
        self,
        customer_id: str,
        *,
        limit: int = 100,
        before: tuple[datetime, str] | None = None,
    ) -> list[Order]:
        """Up to ``limit`` orders of one customer, newest first (by ``created_at``, then id,
        both descending), from the store's index.

        Args:
            customer_id: the customer.
            limit: the most orders to return (0 to 1,000,000).
            before: for the next page, the ``(created_at, id)`` of the last order of the
                previous page.

        Returns:
            The orders, newest first.

        Raises:
            InvalidInput: a malformed customer id, limit or ``before``.
        """
        return self.store.find_by_customer(customer_id, limit=limit, before=before)

    def _gather(self, order: Order, command: c.Command) -> Context | None:
        """The order's context, for the commands that read it, when a port is configured."""
        if self.context is None:
            return None
        return command_context(
            self.store, self.context, order, command, self.lifecycle.settings.classifier.lookback
        )

    def _replay_or_conflict(
        self, order: Order, command: c.Command, actor: Actor, expected_version: int
    ) -> Outcome:
        """The original outcome if the command was applied already; otherwise a conflict,
        whether the command would be allowed on the current order or refused.

        Raises:
            ConcurrencyConflict: the command is not a replay.
        """
        try:
            outcome = self.lifecycle.handle(order, command, actor, self._now(order))
        except CommandRefused:
            outcome = None
        if outcome is not None and outcome.replayed:
            return outcome
        raise ConcurrencyConflict(order.id, expected_version, order.version)

    def _scope(self) -> AbstractContextManager[object]:
        """The store's command scope (its calls share one connection), if it has one."""
        scope = getattr(self.store, "command_scope", None)
        return nullcontext() if scope is None else cast(AbstractContextManager[object], scope())

    def _pause(self, attempt: int) -> None:
        """Wait before the ``attempt``-th retry (1 for the first)."""
        self._sleep(self.conflict_backoff.delay(attempt, self._random).total_seconds())

    def check(self, order_id: str, command: c.Command, actor: Actor) -> tuple[Refusal, ...]:
        """Dry run against the stored order: every reason the command would be refused.

        Raises:
            InvalidInput: malformed arguments.
            OrderNotFound: no order has this id.
        """
        order = self.store.get(check_identifier("order_id", order_id))
        return self.lifecycle.check(order, command, actor, self._now(order))

    def available(self, order_id: str, actor: Actor) -> Availability:
        """What ``actor`` may do to the stored order now, and why not the rest.

        Raises:
            InvalidInput: malformed arguments.
            OrderNotFound: no order has this id.
        """
        order = self.store.get(check_identifier("order_id", order_id))
        return self.lifecycle.available(order, actor, self._now(order))

    def _now(self, order: Order) -> datetime:
        """The clock's time, never earlier than the order's last change.

        Workers' clocks may differ by a little; a command is never recorded before the change
        it follows (LC-8).

        Raises:
            InvalidConfiguration: the clock gave something other than an aware datetime
                from 1970 up to 9000.
        """
        now = self._clock_now()
        last = order.history.last.at
        return last if now < last else now

    def _clock_now(self) -> datetime:
        now = self.clock.now()
        try:
            return check_time("clock.now()", now)
        except InvalidInput as error:
            raise InvalidConfiguration("clock", now, error.problem) from None
