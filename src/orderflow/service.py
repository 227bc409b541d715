"""The order service and the outbox relay: the core, run against a store.

:class:`OrderService` runs a command against a stored order: load, decide in the pure core,
save with the version it was loaded at; the store writes the new history entry's effects
into the outbox in the same transaction. :class:`OutboxRelay` hands the outbox's pending
effects to the host's notifier and effect handlers, at least once.

Nothing is lost and nothing is doubled:

* a stale save is refused (:class:`~orderflow.errors.ConcurrencyConflict`) and nothing of it
  is stored; the service retries only when asked, and then decides again on fresh state;
* an effect is stored with the change that caused it, so a crash between saving and relaying
  loses nothing: the next relay delivers it;
* a command repeated with its command id (a payment webhook retried after a crash) is a replay:
  nothing is saved, no effect is added, and the original outcome is returned.
"""

from __future__ import annotations

from datetime import datetime

from orderflow import commands as c
from orderflow.errors import (
    ConcurrencyConflict,
    InvalidConfiguration,
    InvalidInput,
    OrderAlreadyExists,
    Refusal,
)
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

__all__ = ["MAX_RETRIES", "OrderService", "OutboxRelay", "RelayReport"]

MAX_RETRIES = 20
"""The most times :meth:`OrderService.handle` may be asked to retry on a conflict."""


class OrderService:
    """Runs commands against stored orders.

    Args:
        store: where orders and the outbox live.
        lifecycle: the lifecycle engine (``Lifecycle()`` by default).
        clock: the time source (the system clock by default).
        ids: the id source for :meth:`new_order_id` (random UUIDs by default).

    Raises:
        InvalidConfiguration: an argument that does not implement its port (or is not a
            :class:`~orderflow.Lifecycle`).
    """

    def __init__(
        self,
        store: OrderStore,
        lifecycle: Lifecycle | None = None,
        clock: Clock | None = None,
        ids: IdSource | None = None,
    ) -> None:
        for name, value, kind in (
            ("store", store, OrderStore),
            ("lifecycle", lifecycle, Lifecycle),
            ("clock", clock, Clock),
            ("ids", ids, IdSource),
        ):
            if value is not None and not isinstance(value, kind):
                raise InvalidConfiguration(name, value, f"must be a {kind.__name__}")
        if store is None:
            raise InvalidConfiguration("store", store, "an order service needs a store")
        self.store = store
        self.lifecycle = lifecycle or Lifecycle()
        self.clock = clock or SystemClock()
        self.ids = ids or UuidIds()

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
        self, order_id: str, command: c.Command, actor: Actor, *, retries: int = 0
    ) -> Outcome:
        """Run a command against the stored order and save the result with its effects.

        Args:
            order_id: the order.
            command: what to do.
            actor: who does it.
            retries: how many times to reload and decide again if another writer saved the
                order in between (0 to ``MAX_RETRIES``). Each retry decides on fresh state:
                a command that was allowed may then be refused.

        Returns:
            The outcome; for a replay (D-3) the original outcome, and nothing is saved.

        Raises:
            InvalidInput: malformed arguments.
            OrderNotFound: no order has this id.
            CommandRefused: the command is refused; nothing is saved.
            ConcurrencyConflict: another writer won and the retries are used up; nothing of
                this command is saved.
        """
        check_identifier("order_id", order_id)
        if isinstance(retries, bool) or not isinstance(retries, int):
            raise InvalidInput("retries", retries, "must be a whole number")
        if not 0 <= retries <= MAX_RETRIES:
            raise InvalidInput("retries", retries, f"must be between 0 and {MAX_RETRIES}")
        attempt = 0
        while True:
            order = self.store.get(order_id)
            outcome = self.lifecycle.handle(order, command, actor, self._now(order))
            if outcome.replayed:
                return outcome
            try:
                self.store.save(outcome.order, order.version)
            except ConcurrencyConflict:
                if attempt >= retries:
                    raise
                attempt += 1
                continue
            return outcome

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
        last = order.history[-1].at
        return last if now < last else now

    def _clock_now(self) -> datetime:
        now = self.clock.now()
        try:
            return check_time("clock.now()", now)
        except InvalidInput as error:
            raise InvalidConfiguration("clock", now, error.problem) from None
