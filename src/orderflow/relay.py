"""The outbox relay: hands stored effects to the host's notifier and handlers (NT-2, D-14).

Effects are stored with the change that caused them (see :mod:`orderflow.service`);
:class:`OutboxRelay` takes the pending ones and delivers each at least once.
"""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from orderflow.effects import Effect, NotifyCustomer
from orderflow.ports import Clock, EffectHandler, Notifier, OrderStore, SystemClock

__all__ = ["OutboxRelay", "RelayReport"]


@attrs.frozen
class RelayReport:
    """What one relay pass did.

    Attributes:
        delivered: entries handed over and marked delivered.
        failed: entries whose handler raised; they stay pending with the error recorded.
        unhandled: entries of a kind no handler was given for; left pending untouched.
    """

    delivered: int = 0
    failed: int = 0
    unhandled: int = 0


class OutboxRelay:
    """Hands pending outbox entries to the notifier and the effect handlers.

    Args:
        store: the store whose outbox to relay.
        notifier: delivers ``notify_customer`` effects.
        handlers: more handlers by effect kind (``"request_refund"``, ``"release_stock"``,
            ...), each a callable taking the effect.
        clock: the time source for the delivery records.

    A handler that raises leaves its entry pending, with the attempt count and the error
    recorded, and the relay moves on to the next entry. Delivery is at least once: an entry
    delivered just before a crash may be delivered again; hosts drop duplicates by the
    effect's id.
    """

    def __init__(
        self,
        store: OrderStore,
        notifier: Notifier | None = None,
        handlers: Mapping[str, EffectHandler] | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.store = store
        self.clock = clock or SystemClock()
        routes: dict[str, EffectHandler] = dict(handlers or {})
        if notifier is not None:
            deliver = notifier.deliver

            def notify(effect: Effect) -> None:
                assert isinstance(effect, NotifyCustomer)
                deliver(effect)

            routes.setdefault(NotifyCustomer.kind, notify)
        self.handlers = routes

    def run_once(self, limit: int = 100) -> RelayReport:
        """Deliver up to ``limit`` pending entries, oldest first."""
        delivered = failed = unhandled = 0
        for entry in self.store.pending(limit):
            handler = self.handlers.get(entry.kind)
            if handler is None:
                unhandled += 1
                continue
            try:
                handler(entry.effect)
            except Exception as error:
                self.store.mark_failed(
                    entry.id, f"{type(error).__name__}: {error}", self.clock.now()
                )
                failed += 1
                continue
            self.store.mark_delivered(entry.id, self.clock.now())
            delivered += 1
        return RelayReport(delivered, failed, unhandled)

    def drain(self, batch: int = 100, max_passes: int = 1000) -> RelayReport:
        """Relay until a pass delivers nothing new; the totals of every pass."""
        total = RelayReport()
        for _ in range(max_passes):
            report = self.run_once(batch)
            total = RelayReport(
                total.delivered + report.delivered,
                total.failed + report.failed,
                total.unhandled + report.unhandled,
            )
            if report.delivered == 0:
                break
        return total
