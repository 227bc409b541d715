"""The cached-order half of the store conformance kit: the optional ``cached_order`` of
:class:`~orderflow.ports.OrderStore` (D-9, D-3). :class:`CachedOrderContract` is a base of
:class:`~orderflow.testing.contracts.OrderStoreContract`; its tests skip for a store without
the method, and the stale-cache ones for a contract without :meth:`~CachedOrderContract.make_peer`.
Needs ``pytest`` (``pip install "orderflow-commerce[testing]"``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

import pytest

from orderflow import commands as c
from orderflow.errors import ConcurrencyConflict
from orderflow.order import Order
from orderflow.ports import OrderStore
from orderflow.testing.world import STAFF, SYSTEM, ContractWorld

__all__ = ["CachedOrderContract"]

Peek = Callable[[str], Order | None]


def _peek(store: OrderStore) -> Peek:
    """The store's ``cached_order``; the test is skipped for a store without one."""
    method = getattr(store, "cached_order", None)
    if method is None:
        pytest.skip("the store offers no cached_order")
    return cast(Peek, method)


class CachedOrderContract:
    """Stores offering ``cached_order``. It uses the ``store`` fixture of the contract it is
    a base of."""

    def make_peer(self, store: OrderStore) -> OrderStore | None:
        """Another store on the same storage as ``store``, as another process would open it
        (``None``, the default: the stale-cache tests are skipped)."""
        return None

    def dispose_peer(self, peer: OrderStore) -> None:
        """Release a store :meth:`make_peer` made (by default, nothing)."""

    def _peer(self, store: OrderStore) -> OrderStore:
        peer = self.make_peer(store)
        if peer is None:
            pytest.skip("the contract makes no peer store (make_peer)")
        return peer

    def test_a_cached_order_is_the_order_last_written(self, store: OrderStore) -> None:
        """PT-1: ``cached_order`` gives nothing for an unknown order, and for a stored one
        nothing or the order as the store last wrote it."""
        peek = _peek(store)
        world = ContractWorld(store)
        assert peek("never-stored") is None
        placed = world.place("cached")
        assert peek("cached") in (None, placed)
        paid = world.run("cached", (c.Pay(placed.amount_due, "p"), SYSTEM))
        assert peek("cached") in (None, paid)

    def test_a_stale_cached_order_is_never_saved_over(self, store: OrderStore) -> None:
        """D-9, D-3: after another store saved the order, a save from the cached order
        conflicts and writes nothing; the service then decides on the stored order (with
        no retry asked), and a command the other store applied is a replay."""
        peek = _peek(store)
        peer = self._peer(store)
        try:
            world = ContractWorld(store)
            placed = world.place("stale-cache")
            store.get("stale-cache")
            stale = peek("stale-cache")
            pay = c.Pay(placed.amount_due, "p", command_id="hook-1")
            paid = ContractWorld(peer).service.handle("stale-cache", pay, SYSTEM)
            if stale is not None:
                decided = world.lifecycle.handle(stale, c.Hold("check"), STAFF, stale.updated_at)
                with pytest.raises(ConcurrencyConflict):
                    store.save(decided.order, stale.version)
                assert peer.get("stale-cache") == paid.order
            again = world.service.handle("stale-cache", pay, SYSTEM)
            assert again.replayed
            assert again.entry == paid.entry
            held = world.service.handle("stale-cache", c.Hold("check"), STAFF)
            assert held.order.version == paid.order.version + 1
            assert peer.get("stale-cache") == held.order
        finally:
            self.dispose_peer(peer)
