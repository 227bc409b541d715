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

The handlers' table (:class:`~orderflow.routes.Routes`) and what a relay reports
(:mod:`orderflow.deliveries`) are modules of their own; their names are importable from here
too.
"""

from __future__ import annotations

import os
import random as random_module
import uuid
from collections.abc import Callable, Iterable, Mapping
from datetime import timedelta
from typing import Any, Final

from orderflow.deliveries import Delivery, DeliveryResult, RelayReport
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
from orderflow.routes import Routes, _check_kind

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


DEFAULT_LEASE: Final = timedelta(minutes=5)
"""How long a relay holds the entries it claimed, unless told otherwise."""
DEFAULT_MAX_ATTEMPTS: Final = 10
"""How many failures park an entry dead, unless told otherwise."""


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
