"""The outbox relay: hands stored effects to the host's notifier and handlers (NT-2, D-14).

Effects are stored with the change that caused them (see :mod:`orderflow.service`);
:class:`OutboxRelay` claims the due ones and delivers each at least once:

* every effect class the library emits (:data:`~orderflow.effects.EFFECT_TYPES`) has a
  handler, or is dropped by an explicit decision; a relay that lacks one is never built
  (:class:`~orderflow.errors.InvalidConfiguration` names the missing kinds);
* an entry is claimed with a lease before it is handed over, so several relays (threads or
  processes) share the work and each entry is normally delivered once; only a crash or an
  expired lease repeats a delivery;
* a failure is recorded whatever the error looks like, and the entry waits (capped
  exponential backoff with jitter) while the others go on; after ``max_attempts`` failures
  it is parked dead, for an operator to list and requeue.

A handler runs in the relay's thread and cannot be interrupted by it: give every handler
(and the notifier) a timeout of its own, shorter than the lease. When a lease expires before
its delivery ends, another relay may deliver the entry again; hosts deduplicate by the
entry's id (``RequestRefund.idempotency_key`` for a payment provider).
"""

from __future__ import annotations

import enum
import os
import random as random_module
import uuid
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any, Final, TypeVar

import attrs

from orderflow.effects import EFFECT_TYPES, Effect, NotifyCustomer
from orderflow.errors import InvalidConfiguration, InvalidInput
from orderflow.ports import (
    WORKER_LENGTH,
    Clock,
    Notifier,
    Outbox,
    OutboxEntry,
    SystemClock,
)
from orderflow.retries import Backoff, Jitter, describe_error

__all__ = [
    "Backoff",
    "Delivery",
    "DeliveryResult",
    "Jitter",
    "OutboxRelay",
    "RelayReport",
    "Routes",
    "describe_error",
]
# Backoff, Jitter and describe_error live in orderflow.retries; named here for hosts.

E = TypeVar("E", bound=Effect)

DEFAULT_LEASE: Final = timedelta(minutes=5)
"""How long a relay holds the entries it claimed, unless told otherwise."""
DEFAULT_MAX_ATTEMPTS: Final = 10
"""How many failures park an entry dead, unless told otherwise."""


class Routes:
    """Which handler carries out each effect class: a typed way to build a relay's table.

    Each ``on`` links a class to a handler taking exactly that class, so a type checker
    verifies the pair and the handler needs no ``isinstance``::

        routes = Routes().on(RequestRefund, pay_back).on(ReleaseStock, warehouse.release)

    ``Routes`` is immutable: ``on`` returns a new table.
    """

    __slots__ = ("_handlers",)

    def __init__(
        self, handlers: Mapping[type[Effect], Callable[[Any], None]] | None = None
    ) -> None:
        self._handlers: dict[type[Effect], Callable[[Any], None]] = {}
        for kind, handler in (handlers or {}).items():
            self._add(kind, handler)

    def on(self, kind: type[E], handler: Callable[[E], None]) -> Routes:
        """A table with ``handler`` for the effects of class ``kind`` too.

        Args:
            kind: an effect class (``RequestRefund``, ``NotifyCustomer``, ...).
            handler: carries out one effect of that class; raises on failure.

        Returns:
            The new table.

        Raises:
            InvalidConfiguration: ``kind`` is not an effect class, is routed already, or the
                handler is not callable.
        """
        routes = Routes(self._handlers)
        routes._add(kind, handler)
        return routes

    def _add(self, kind: object, handler: object) -> None:
        _check_kind("handlers", kind)
        assert isinstance(kind, type)
        if kind in self._handlers:
            raise InvalidConfiguration("handlers", kind.__name__, "has a handler already")
        if not callable(handler):
            raise InvalidConfiguration(f"handlers[{kind.__name__}]", handler, "is not callable")
        self._handlers[kind] = handler

    def as_dict(self) -> dict[type[Effect], Callable[[Any], None]]:
        """The table as a plain mapping from effect class to handler."""
        return dict(self._handlers)

    def __repr__(self) -> str:
        """The routed classes."""
        return f"Routes({', '.join(sorted(kind.__name__ for kind in self._handlers))})"


def _check_kind(setting: str, kind: object) -> None:
    if isinstance(kind, str):
        raise InvalidConfiguration(
            setting, kind, "key handlers by effect class (RequestRefund), not by kind name"
        )
    if not isinstance(kind, type) or not issubclass(kind, Effect):
        raise InvalidConfiguration(setting, kind, "must be an effect class")
    if kind is Effect:
        raise InvalidConfiguration(setting, "Effect", "name each effect class, not their base")


class Delivery(enum.Enum):
    """What a relay did with one entry."""

    DELIVERED = "delivered"
    """The handler returned; the entry is delivered."""
    FAILED = "failed"
    """The handler raised; the entry is due again after a pause."""
    DEAD = "dead"
    """The handler raised for the last allowed time, or the entry has no route: parked."""
    DROPPED = "dropped"
    """Its kind is dropped by configuration: marked delivered, with a note saying so."""


@attrs.frozen
class DeliveryResult:
    """What a relay did with one entry.

    Attributes:
        entry_id: the entry's (its effect's) id.
        kind: the effect's kind.
        outcome: delivered, failed, dead or dropped.
        error: the error recorded, for a failed or dead entry.
        retry_at: when a failed entry is due again.
    """

    entry_id: str
    kind: str
    outcome: Delivery
    error: str = ""
    retry_at: datetime | None = None


@attrs.frozen
class RelayReport:
    """What one or more relay passes did.

    Attributes:
        delivered: entries handed over and marked delivered.
        failed: entries whose handler raised; they are due again after a pause.
        dead: entries parked dead (attempts used up, or no route).
        dropped: entries of a kind dropped by configuration (marked delivered, with a note).
        results: what was done with each entry, in order.
    """

    delivered: int = 0
    failed: int = 0
    dead: int = 0
    dropped: int = 0
    results: tuple[DeliveryResult, ...] = ()

    @property
    def claimed(self) -> int:
        """How many entries the passes claimed."""
        return self.delivered + self.failed + self.dead + self.dropped

    def __add__(self, other: RelayReport) -> RelayReport:
        """The totals of two reports."""
        return RelayReport(
            self.delivered + other.delivered,
            self.failed + other.failed,
            self.dead + other.dead,
            self.dropped + other.dropped,
            self.results + other.results,
        )


def _default_worker() -> str:
    return f"relay-{os.getpid()}-{uuid.uuid4().hex[:12]}"


class OutboxRelay:
    """Claims due outbox entries and hands each to the handler of its class.

    Args:
        store: the outbox to relay (any :class:`~orderflow.ports.OrderStore`).
        handlers: a handler per effect class, as :class:`Routes` or a plain mapping; each
            receives an instance of its class.
        notifier: delivers :class:`~orderflow.effects.NotifyCustomer` effects.
        drop: effect classes this host does not act on: their entries are marked delivered
            with a note saying they were dropped by configuration.
        clock: the time source for claims, leases and records.
        worker: this relay's name in the claims it takes (1 to 100 characters; a random one
            by default). Relays sharing a store must have different names.
        lease: how long a claim holds; a delivery must end within it, or another relay may
            deliver the entry again. Clocks of relays sharing a store must agree to well
            within it.
        max_attempts: how many failures park an entry dead.
        backoff: the pause before an entry that failed is due again.
        random: the source of the backoff's jitter (seed it for reproducible runs).

    Raises:
        InvalidConfiguration: an effect class of :data:`~orderflow.effects.EFFECT_TYPES` has
            neither a handler nor a place in ``drop`` (the message names them), a class is
            both handled and dropped, or another setting is malformed.

    A relay may be used by one thread at a time; run one relay per thread or process to share
    the work. :meth:`run_once` lets a store error propagate: the claim then lapses with its
    lease, and the host's loop calls again.
    """

    def __init__(
        self,
        store: Outbox,
        *,
        handlers: Routes | Mapping[type[Effect], Callable[[Any], None]] | None = None,
        notifier: Notifier | None = None,
        drop: Iterable[type[Effect]] = (),
        clock: Clock | None = None,
        worker: str | None = None,
        lease: timedelta = DEFAULT_LEASE,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        backoff: Backoff | None = None,
        random: random_module.Random | None = None,
    ) -> None:
        if isinstance(handlers, Routes):
            table = handlers.as_dict()
        elif handlers is None or isinstance(handlers, Mapping):
            table = Routes(handlers).as_dict()
        else:
            raise InvalidConfiguration("handlers", handlers, "must be Routes or a mapping")
        if notifier is not None:
            if NotifyCustomer in table:
                raise InvalidConfiguration(
                    "notifier", "NotifyCustomer", "give a notifier or a handler, not both"
                )
            deliver = getattr(notifier, "deliver", None)
            if not callable(deliver):
                raise InvalidConfiguration("notifier", notifier, "must have a deliver method")
            table[NotifyCustomer] = deliver
        dropped: set[type[Effect]] = set()
        for kind in drop:
            _check_kind("drop", kind)
            if kind in table:
                raise InvalidConfiguration("drop", kind.__name__, "has a handler too")
            dropped.add(kind)
        missing = [kind for kind in EFFECT_TYPES if kind not in table and kind not in dropped]
        if missing:
            names = tuple(kind.__name__ for kind in missing)
            raise InvalidConfiguration(
                "handlers",
                names,
                f"no handler for {', '.join(f'{k.__name__} ({k.kind})' for k in missing)}: "
                "give each a handler, or name it in drop= to mark its entries delivered "
                "without acting on them",
            )
        if worker is None:
            worker = _default_worker()
        if not isinstance(worker, str) or not 0 < len(worker) <= WORKER_LENGTH:
            raise InvalidConfiguration("worker", worker, f"use 1 to {WORKER_LENGTH} characters")
        if not isinstance(lease, timedelta) or lease <= timedelta(0):
            raise InvalidConfiguration("lease", lease, "must be a timedelta above zero")
        if isinstance(max_attempts, bool) or not isinstance(max_attempts, int) or max_attempts < 1:
            raise InvalidConfiguration("max_attempts", max_attempts, "must be a whole number >= 1")
        if backoff is not None and not isinstance(backoff, Backoff):
            raise InvalidConfiguration("backoff", backoff, "must be a Backoff")
        self.store = store
        self.clock = clock or SystemClock()
        self.worker = worker
        self.lease = lease
        self.max_attempts = max_attempts
        self.backoff = backoff or Backoff()
        self.random = random or random_module.Random()
        self._routes = table
        self._dropped = frozenset(dropped)

    @property
    def routes(self) -> dict[type[Effect], Callable[[Any], None]]:
        """The handler of each routed effect class (the notifier's ``deliver`` included)."""
        return dict(self._routes)

    @property
    def dropped(self) -> frozenset[type[Effect]]:
        """The effect classes dropped by configuration."""
        return self._dropped

    def run_once(self, limit: int = 100) -> RelayReport:
        """Claim up to ``limit`` due entries and deliver them, oldest first.

        Args:
            limit: the most entries to claim.

        Returns:
            What was done with each claimed entry.

        Raises:
            InvalidInput: a negative limit.
            StoreError: the store failed (entries claimed and not yet recorded are due again
                when their lease ends).
        """
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
            raise InvalidInput("limit", limit, "must be a whole number, 0 or more")
        entries = self.store.claim(self.worker, self.clock.now(), limit=limit, lease=self.lease)
        results = [self._deliver(entry) for entry in entries]
        counts = dict.fromkeys(Delivery, 0)
        for result in results:
            counts[result.outcome] += 1
        return RelayReport(
            counts[Delivery.DELIVERED],
            counts[Delivery.FAILED],
            counts[Delivery.DEAD],
            counts[Delivery.DROPPED],
            tuple(results),
        )

    def drain(self, batch: int = 100, max_passes: int = 1000) -> RelayReport:
        """Run passes until one claims nothing (or ``max_passes`` ran): the totals.

        Entries that fail are not due again until their pause ends, so a drain ends even when
        a handler keeps failing.

        Args:
            batch: the most entries per pass.
            max_passes: the most passes.

        Returns:
            The totals of every pass.
        """
        total = RelayReport()
        for _ in range(max_passes):
            report = self.run_once(batch)
            total += report
            if report.claimed == 0:
                break
        return total

    def dead(self, limit: int = 100, after_id: str | None = None) -> list[OutboxEntry]:
        """The store's dead entries, by id, after ``after_id`` (for operators)."""
        return self.store.dead(limit, after_id)

    def requeue(self, entry_id: str) -> bool:
        """Put a dead entry back, due now, with a fresh count of attempts (for operators).

        Returns:
            Whether a dead entry was put back (``False``: it was not dead).

        Raises:
            LookupError: no entry has this id.
        """
        return self.store.requeue(entry_id, self.clock.now())

    def purge(self, retention: timedelta, batch: int = 1000) -> int:
        """Delete the entries delivered more than ``retention`` ago.

        Args:
            retention: how long delivered entries are kept.
            batch: how many to delete per store call.

        Returns:
            How many were deleted.

        Raises:
            InvalidInput: a negative retention, or a batch below 1.
        """
        if not isinstance(retention, timedelta) or retention < timedelta(0):
            raise InvalidInput("retention", retention, "must be a timedelta of zero or more")
        if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
            raise InvalidInput("batch", batch, "must be a whole number, 1 or more")
        before = self.clock.now() - retention
        total = 0
        while True:
            deleted = self.store.purge_delivered(before, limit=batch)
            total += deleted
            if deleted < batch:
                return total

    def _deliver(self, entry: OutboxEntry) -> DeliveryResult:
        effect = entry.effect
        kind = type(effect)
        handler = self._routes.get(kind)
        if handler is None:
            if kind in self._dropped:
                note = f"dropped by configuration: no handler for {kind.__name__}"
                self.store.mark_delivered(entry.id, self.clock.now(), note=note)
                return DeliveryResult(entry.id, entry.kind, Delivery.DROPPED, note)
            reason = entry.last_error if entry.last_error.startswith("unreadable") else ""
            error = reason or f"no route: this relay has no handler for {kind.__name__}"
            self.store.mark_failed(entry.id, error, self.clock.now(), retry_at=None)
            return DeliveryResult(entry.id, entry.kind, Delivery.DEAD, error)
        try:
            handler(effect)
        except Exception as raised:
            error = describe_error(raised)
            now = self.clock.now()
            failures = entry.attempts + 1
            if failures >= self.max_attempts:
                self.store.mark_failed(entry.id, error, now, retry_at=None)
                return DeliveryResult(entry.id, entry.kind, Delivery.DEAD, error)
            retry_at = now + self.backoff.delay(failures, self.random)
            self.store.mark_failed(entry.id, error, now, retry_at=retry_at)
            return DeliveryResult(entry.id, entry.kind, Delivery.FAILED, error, retry_at)
        self.store.mark_delivered(entry.id, self.clock.now())
        return DeliveryResult(entry.id, entry.kind, Delivery.DELIVERED)
