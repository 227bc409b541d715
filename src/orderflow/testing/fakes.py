"""Fakes for the ports that hosts implement: notifiers and effect handlers that record or fail,
and a context port that answers from fixed tables.

Example::

    notifier, stock = RecordingNotifier(), RecordingHandler()
    routes = Routes().on(ReserveStock, stock).on(ReleaseStock, stock)
    relay = OutboxRelay(store, handlers=routes, notifier=notifier,
                        drop=[RequestRefund, OpenCase, AlertStaff])
    relay.run_once()
    assert [n.topic for n in notifier.delivered] == ["order_placed"]
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence

from orderflow.effects import Effect, NotifyCustomer
from orderflow.money import Money

__all__ = [
    "FailingHandler",
    "FixedContext",
    "FlakyHandler",
    "RecordingHandler",
    "RecordingNotifier",
]


class RecordingNotifier:
    """A :class:`~orderflow.ports.Notifier` that keeps what it delivers (thread-safe).

    Args:
        fail_times: how many deliveries fail (raise ``ConnectionError``) before they succeed.
    """

    def __init__(self, fail_times: int = 0) -> None:
        self._lock = threading.Lock()
        self._failures_left = fail_times
        self.delivered: list[NotifyCustomer] = []

    def deliver(self, notification: NotifyCustomer) -> None:
        """Record the notification, or fail while failures are left."""
        with self._lock:
            if self._failures_left > 0:
                self._failures_left -= 1
                raise ConnectionError("notification channel unavailable")
            self.delivered.append(notification)

    @property
    def ids(self) -> list[str]:
        """The ids of the delivered notifications, in delivery order."""
        return [notification.id for notification in self.delivered]


class RecordingHandler:
    """An effect handler that keeps the effects it is given (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.handled: list[Effect] = []

    def __call__(self, effect: Effect) -> None:
        """Record the effect."""
        with self._lock:
            self.handled.append(effect)


class FlakyHandler(RecordingHandler):
    """An effect handler that fails its first ``fail_times`` calls, then records.

    Args:
        fail_times: how many calls raise ``RuntimeError`` first.
    """

    def __init__(self, fail_times: int) -> None:
        super().__init__()
        self._failures_left = fail_times

    def __call__(self, effect: Effect) -> None:
        """Fail while failures are left, then record the effect."""
        with self._lock:
            if self._failures_left > 0:
                self._failures_left -= 1
                raise RuntimeError("payment gateway timed out")
        super().__call__(effect)


class FailingHandler:
    """An effect handler that always raises: for checking how failures are recorded.

    Args:
        error: the exception to raise, or a callable making one per call (so that each call
            raises a fresh exception).
    """

    def __init__(self, error: BaseException | Callable[[], BaseException]) -> None:
        self._lock = threading.Lock()
        self._error = error
        self.calls: list[Effect] = []

    def __call__(self, effect: Effect) -> None:
        """Record the call and raise."""
        with self._lock:
            self.calls.append(effect)
        raise self._error if isinstance(self._error, BaseException) else self._error()


class FixedContext:
    """A :class:`~orderflow.incidents.ContextPort` that answers from fixed tables: what a
    host knows about stock, list prices and VIP customers (PT-4).

    Args:
        stock: units available by SKU; a SKU left out has no data (in stock).
        list_prices: list prices by SKU; a SKU left out is not price-checked.
        vips: the ids of the VIP customers.
    """

    def __init__(
        self,
        stock: Mapping[str, int] | None = None,
        list_prices: Mapping[str, Money] | None = None,
        vips: Sequence[str] = (),
    ) -> None:
        self.stock = dict(stock or {})
        self.prices = dict(list_prices or {})
        self.vips = frozenset(vips)

    def stock_levels(self, skus: Sequence[str]) -> Mapping[str, int]:
        """The stock of the SKUs asked that the table knows."""
        return {sku: self.stock[sku] for sku in skus if sku in self.stock}

    def list_prices(self, skus: Sequence[str]) -> Mapping[str, Money]:
        """The list prices of the SKUs asked that the table knows."""
        return {sku: self.prices[sku] for sku in skus if sku in self.prices}

    def is_vip(self, customer_id: str) -> bool:
        """Whether the customer is among the VIPs."""
        return customer_id in self.vips
