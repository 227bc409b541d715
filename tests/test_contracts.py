"""The conformance kit passes the reference store and catches a broken one."""

from __future__ import annotations

from datetime import datetime

import pytest

from orderflow.adapters.memory import InMemoryStore
from orderflow.aftersales import CASE_COMMAND_TYPES
from orderflow.incidents.commands import EXCEPTION_COMMAND_TYPES
from orderflow.model import Address
from orderflow.order import Order
from orderflow.ports import OrderStore
from orderflow.testing import differential
from orderflow.testing.contracts import OrderStoreContract, differential_test


class TestInMemoryStore(OrderStoreContract):
    """The reference store passes its own contract."""

    def make_store(self) -> OrderStore:
        """A fresh in-memory store."""
        return InMemoryStore()


TestInMemoryStoreAgainstReference = differential_test(InMemoryStore, max_examples=15)


class VersionIgnoringStore(InMemoryStore):
    """A broken store: it saves whatever version it is given (a lost-update bug)."""

    def save(self, order: Order, expected_version: int) -> None:
        """Save without checking the expected version: the last writer silently wins."""
        with self._lock:
            self._index(self.get(order.id), order)
            self._orders[order.id] = order
            self._append_outbox(order, expected_version + 1)


class OutboxDroppingStore(InMemoryStore):
    """A broken store: it writes a new order's outbox entries but forgets a save's."""

    def _append_outbox(self, order: Order, first_new_version: int) -> None:
        if first_new_version == 1:
            super()._append_outbox(order, first_new_version)


class LastEntryOnlyStore(InMemoryStore):
    """A broken store: it writes the effects of the order's last history entry only, as if
    every save added one entry."""

    def _append_outbox(self, order: Order, first_new_version: int) -> None:
        super()._append_outbox(order, order.version)


class CreatedOrderIgnoringStore(InMemoryStore):
    """A broken store: it lists a customer's orders by id alone, not newest first."""

    def find_by_customer(
        self,
        customer_id: str,
        *,
        limit: int = 100,
        before: tuple[datetime, str] | None = None,
    ) -> list[Order]:
        """Every order of the customer by id, descending, below the cursor's id."""
        found = sorted(
            (o for o in self._orders.values() if o.customer_id == customer_id),
            key=lambda o: o.id,
            reverse=True,
        )
        return [o for o in found if before is None or o.id < before[1]][:limit]


class AddressKeptAtPlacingStore(InMemoryStore):
    """A broken store: it indexes an order's address when the order is added, and never
    again (a corrected address leaves the order where it was)."""

    def _index_address(self, old: Order | None, new: Order) -> None:
        if old is None:
            super()._index_address(old, new)


class SinceExclusiveStore(InMemoryStore):
    """A broken store: it leaves out the orders placed at exactly ``since``."""

    def find_by_address(
        self,
        address: Address,
        *,
        since: datetime,
        limit: int = 100,
        before: tuple[datetime, str] | None = None,
    ) -> list[Order]:
        """The orders the reference finds, less those placed at ``since``."""
        found = super().find_by_address(address, since=since, limit=limit, before=before)
        return [order for order in found if order.created_at != since]


class CaseDroppingStore(InMemoryStore):
    """A broken store: it saves an order without its after-sales cases (a document mapping
    that forgot the field)."""

    def save(self, order: Order, expected_version: int) -> None:
        """Save the order with no after-sales cases."""
        super().save(order._replace(cases=()), expected_version)


_CASE_COMMANDS = (*CASE_COMMAND_TYPES, *EXCEPTION_COMMAND_TYPES)


class CaseCommandIgnoringStore(InMemoryStore):
    """A broken store: a save whose new entries are all case commands (after-sales,
    exceptions, tracking) is acknowledged but never written, so reads return the order as it
    was before (a stale order)."""

    def save(self, order: Order, expected_version: int) -> None:
        """Skip saves of case commands only."""
        new = order.history[expected_version:]
        if all(isinstance(entry.command, _CASE_COMMANDS) for entry in new):
            self.get(order.id)  # the order must exist, as in a real save
            return
        super().save(order, expected_version)


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


def test_the_contract_catches_a_store_that_writes_only_the_last_entrys_effects() -> None:
    """D-14: a store that writes the effects of one entry per save fails when a save adds
    several entries, and when an order is added with its whole history."""
    contract = _Broken(LastEntryOnlyStore)
    with pytest.raises(CONTRACT_FAILURE):
        contract.test_a_save_writes_the_effects_of_every_new_entry(LastEntryOnlyStore())


def test_the_contract_catches_a_store_that_lists_a_customer_by_id() -> None:
    """PT-1: a store that ignores the creation time fails the customer queries."""
    contract = _Broken(CreatedOrderIgnoringStore)
    with pytest.raises(CONTRACT_FAILURE):
        contract.test_find_by_customer_is_newest_first_ties_by_id(CreatedOrderIgnoringStore())
    with pytest.raises(CONTRACT_FAILURE):
        contract.test_find_by_customer_pages_by_the_last_order_of_a_page(
            CreatedOrderIgnoringStore(), 2
        )


def test_the_contract_catches_a_store_that_keeps_the_address_it_was_placed_with() -> None:
    """LC-7, RK-1: a store that does not move an order whose address was corrected fails
    the address queries."""
    contract = _Broken(AddressKeptAtPlacingStore)
    with pytest.raises(CONTRACT_FAILURE):
        contract.test_a_corrected_address_moves_the_order(AddressKeptAtPlacingStore())


def test_the_contract_catches_a_store_whose_since_is_exclusive() -> None:
    """RK-1: a store that leaves out the orders placed at exactly ``since`` fails."""
    contract = _Broken(SinceExclusiveStore)
    with pytest.raises(CONTRACT_FAILURE):
        contract.test_find_by_address_counts_since_inclusive_and_pages(SinceExclusiveStore())


@pytest.mark.parametrize(
    "broken", [VersionIgnoringStore, OutboxDroppingStore, CreatedOrderIgnoringStore]
)
def test_the_differential_test_catches_broken_stores(broken: type[InMemoryStore]) -> None:
    """The stateful differential test finds the disagreement with the reference."""
    case = differential_test(broken, max_examples=100, shrink=False, derandomize=True)
    with pytest.raises(AssertionError):
        case("runTest").runTest()


@pytest.mark.parametrize("broken", [CaseDroppingStore, CaseCommandIgnoringStore])
def test_the_differential_test_catches_stores_that_lose_case_commands(
    broken: type[InMemoryStore],
) -> None:
    """AS-1, EX-6: the differential test sends after-sales, exception and tracking commands,
    so a store that drops an order's cases, or that loses a save of case commands (a stale
    order on the next read), disagrees with the reference."""
    case = differential_test(broken, max_examples=100, shrink=False, derandomize=True)
    with pytest.raises(AssertionError):
        case("runTest").runTest()


def test_the_differential_test_is_importable_from_the_contracts() -> None:
    """The differential test moved to its own module; the contracts module still offers it."""
    from orderflow.testing import contracts

    assert contracts.differential_test is differential.differential_test
    assert contracts.StoreDifferential is differential.StoreDifferential
