"""The conformance kit passes the reference store and catches a broken one."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from orderflow.adapters.memory import InMemoryStore
from orderflow.effects import Effect
from orderflow.order import Order
from orderflow.ports import OrderStore
from orderflow.testing.contracts import OrderStoreContract, differential_test


class TestInMemoryStore(OrderStoreContract):
    """The reference store passes its own contract."""

    def make_store(self) -> OrderStore:
        """A fresh in-memory store."""
        return InMemoryStore()


TestInMemoryStoreAgainstReference = differential_test(InMemoryStore, max_examples=15)


class VersionIgnoringStore(InMemoryStore):
    """A broken store: it saves whatever version it is given (a lost-update bug)."""

    def save(self, order: Order, expected_version: int, effects: Sequence[Effect] = ()) -> None:
        """Save without checking the expected version: the last writer silently wins."""
        with self._lock:
            self._index(self.get(order.id), order)
            self._orders[order.id] = order
            self._append_outbox(order, effects)


class OutboxDroppingStore(InMemoryStore):
    """A broken store: it saves the order but forgets the outbox entries."""

    def save(self, order: Order, expected_version: int, effects: Sequence[Effect] = ()) -> None:
        """Save the order only."""
        super().save(order, expected_version, ())


class _Broken(OrderStoreContract):
    def __init__(self, factory: type[InMemoryStore]) -> None:
        self.factory = factory

    def make_store(self) -> OrderStore:
        return self.factory()


CONTRACT_FAILURE = (AssertionError, pytest.fail.Exception)


def test_the_contract_catches_a_store_that_ignores_versions() -> None:
    """A store that ignores the expected version fails the stale-version and race tests."""
    contract = _Broken(VersionIgnoringStore)
    with pytest.raises(CONTRACT_FAILURE):
        contract.test_a_stale_version_is_refused_and_nothing_is_written(VersionIgnoringStore())
    with pytest.raises(CONTRACT_FAILURE):
        contract.test_concurrent_savers_have_exactly_one_winner_per_version(VersionIgnoringStore())


def test_the_contract_catches_a_store_that_drops_the_outbox() -> None:
    """A store that loses effects fails the atomicity and idempotency tests."""
    contract = _Broken(OutboxDroppingStore)
    with pytest.raises(CONTRACT_FAILURE):
        contract.test_order_and_outbox_are_written_together(OutboxDroppingStore())


@pytest.mark.parametrize("broken", [VersionIgnoringStore, OutboxDroppingStore])
def test_the_differential_test_catches_broken_stores(broken: type[InMemoryStore]) -> None:
    """The stateful differential test finds the disagreement with the reference."""
    case = differential_test(broken, max_examples=100, shrink=False, derandomize=True)
    with pytest.raises(AssertionError):
        case("runTest").runTest()
