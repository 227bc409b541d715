"""How the service uses a store's optional ``cached_order`` (D-9, D-3, PT-4): a decision on a
stale cached order is never reported nor committed, and costs no retry; commands reading the
context port load the order; stores without the method are loaded as before."""

from __future__ import annotations

import pytest

from orderflow import ApproveReview, Hold, Order, Pay, Release
from orderflow.adapters.memory import InMemoryStore
from orderflow.errors import ConcurrencyConflict
from orderflow.ports import ManualClock
from orderflow.service import OrderService
from orderflow.testing.fakes import FixedContext
from tests.support import STAFF, SYSTEM, T0, apply, place


class CachingStore(InMemoryStore):
    """A store with a cache the test makes stale at will: ``cached_order`` gives what the
    cache holds; a save refused as stale forgets it, as the port asks."""

    def __init__(self) -> None:
        super().__init__()
        self.cache: dict[str, Order] = {}
        self.peeks = 0
        self.loads = 0

    def cached_order(self, order_id: str) -> Order | None:
        """The cached order, if any."""
        self.peeks += 1
        return self.cache.get(order_id)

    def get(self, order_id: str) -> Order:
        """The stored order, cached."""
        self.loads += 1
        order = super().get(order_id)
        self.cache[order_id] = order
        return order

    def add(self, order: Order) -> None:
        """Store and cache a new order."""
        super().add(order)
        self.cache[order.id] = order

    def save(self, order: Order, expected_version: int) -> None:
        """Save and cache; forget the order on a conflict."""
        try:
            super().save(order, expected_version)
        except ConcurrencyConflict:
            self.cache.pop(order.id, None)
            raise
        self.cache[order.id] = order


def _service(
    store: InMemoryStore, pauses: list[float], context: FixedContext | None = None
) -> OrderService:
    return OrderService(store, clock=ManualClock(T0), sleep=pauses.append, context=context)


def _pay() -> Pay:
    return Pay(place().amount_due, "pay-1", command_id="webhook-1")


def test_a_cached_order_is_decided_on_without_a_load() -> None:
    """D-9: the order in the store's cache is decided on and saved; nothing is loaded."""
    store = CachingStore()
    store.add(place())
    outcome = _service(store, []).handle("o-1", _pay(), SYSTEM)
    assert store.loads == 0
    assert InMemoryStore.get(store, "o-1") == outcome.order


def test_a_stale_cached_order_costs_no_retry_and_no_pause() -> None:
    """D-9: a stale cached order's save conflicts; the service loads the order and decides
    again in the same attempt, with ``retries=0`` and no pause."""
    store = CachingStore()
    store.add(place())
    stale = store.cache["o-1"]
    InMemoryStore.save(store, apply(apply(stale, Hold("check")).order, Release()).order, 1)
    pauses: list[float] = []
    outcome = _service(store, pauses).handle("o-1", Hold("again"), STAFF, retries=0)
    assert store.loads == 1
    assert outcome.order.version == 4
    assert pauses == []


def test_a_refusal_or_a_replay_on_a_cached_order_is_decided_again_on_the_stored_one() -> None:
    """D-3: a refusal or a replay decided on the cached order is not reported: the order is
    loaded and the command decided again (here allowed, then replayed on what is stored)."""
    store = CachingStore()
    store.add(place())
    stale = store.cache["o-1"]
    InMemoryStore.save(store, apply(stale, Hold("check")).order, 1)
    pauses: list[float] = []
    service = _service(store, pauses)
    released = service.handle("o-1", Release(), STAFF)
    assert store.loads == 1
    assert released.order.version == 3
    paid = service.handle("o-1", _pay(), SYSTEM)
    store.cache["o-1"] = released.order  # a stale cache without the payment
    again = service.handle("o-1", _pay(), SYSTEM)
    assert again.replayed
    assert again.entry == paid.entry
    assert pauses == []


def test_a_conflict_after_the_load_spends_a_retry() -> None:
    """D-9: once the order was loaded, a conflict is a real one: it spends a retry (and a
    pause), and with none left it is raised."""

    class Contended(CachingStore):
        def save(self, order: Order, expected_version: int) -> None:
            self.cache.pop(order.id, None)
            raise ConcurrencyConflict(order.id, expected_version, expected_version + 1)

    store = Contended()
    store.add(place())
    pauses: list[float] = []
    with pytest.raises(ConcurrencyConflict):
        _service(store, pauses).handle("o-1", Hold("check"), STAFF, retries=1)
    assert len(pauses) == 1
    assert store.loads == 2  # one per attempt, after the cached order's conflict


def test_commands_reading_the_context_port_load_the_order() -> None:
    """PT-4: with a context port, review is decided on the loaded order, never on a cached
    one; other commands still use the cache."""
    store = CachingStore()
    store.add(place())
    service = _service(store, [], context=FixedContext())
    service.handle("o-1", _pay(), SYSTEM)
    assert (store.peeks, store.loads) == (1, 0)
    service.handle("o-1", ApproveReview(), STAFF)
    assert (store.peeks, store.loads) == (1, 1)
