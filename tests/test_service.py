"""The order service over the in-memory store (PT-1..PT-3, D-3, D-9); the relay is in
test_relay.py."""

from __future__ import annotations

from datetime import timedelta

import pytest

from orderflow import (
    ApproveReview,
    Close,
    CloseReason,
    CommandRefused,
    ConfirmRefund,
    InvalidInput,
    Order,
    OrderState,
    Pay,
    PlaceOrder,
    Ship,
)
from orderflow.adapters.memory import InMemoryStore
from orderflow.errors import ConcurrencyConflict, OrderAlreadyExists, OrderNotFound
from orderflow.ports import (
    Clock,
    IdSource,
    ManualClock,
    Notifier,
    OrderStore,
    SystemClock,
    UuidIds,
)
from orderflow.service import MAX_RETRIES, OrderService
from orderflow.testing.fakes import RecordingNotifier
from tests.support import ADDRESS, CUSTOMER, STAFF, SYSTEM, T0, cny, place


@pytest.fixture
def clock() -> ManualClock:
    """A clock at T0."""
    return ManualClock(T0)


@pytest.fixture
def store() -> InMemoryStore:
    """An empty in-memory store."""
    return InMemoryStore()


@pytest.fixture
def service(store: InMemoryStore, clock: ManualClock) -> OrderService:
    """A service over the store with the manual clock."""
    return OrderService(store, clock=clock)


def _place(service: OrderService, order_id: str = "o-1") -> None:
    service.place(PlaceOrder(order_id, CUSTOMER.id, place().lines, ADDRESS), CUSTOMER)


def test_ports_are_runtime_checkable_protocols(store: InMemoryStore) -> None:
    """PT-1..PT-3: the reference implementations satisfy the port protocols."""
    assert isinstance(store, OrderStore)
    assert isinstance(RecordingNotifier(), Notifier)
    assert isinstance(SystemClock(), Clock)
    assert isinstance(UuidIds(), IdSource)


def test_service_places_loads_and_handles(service: OrderService, clock: ManualClock) -> None:
    """PT-1: the service stores the new order and each command's result."""
    _place(service)
    clock.advance(timedelta(minutes=3))
    outcome = service.handle("o-1", Pay(cny("119.90"), "p"), SYSTEM)
    assert outcome.order == service.get("o-1")
    assert outcome.order.updated_at == T0 + timedelta(minutes=3)
    assert service.check("o-1", Ship("SF", "1"), STAFF)[0].code == "ship.not_ready"
    assert "approve_review" in service.available("o-1", STAFF).allowed_events


def test_refused_commands_store_nothing(service: OrderService, store: InMemoryStore) -> None:
    """A refusal through the service leaves the stored order and outbox as they were."""
    _place(service)
    before, entries = store.get("o-1"), store.entries("o-1")
    with pytest.raises(CommandRefused):
        service.handle("o-1", ApproveReview(), STAFF)
    assert store.get("o-1") == before
    assert store.entries("o-1") == entries


def test_placing_twice_is_a_replay_and_another_order_is_refused(service: OrderService) -> None:
    """D-3: the same PlaceOrder again is a replay; a different one under the id is refused."""
    command = PlaceOrder("o-1", CUSTOMER.id, place().lines, ADDRESS)
    first = service.place(command, CUSTOMER)
    again = service.place(command, CUSTOMER)
    assert again.replayed
    assert again.order == first.order
    assert again.effects == first.effects
    with pytest.raises(OrderAlreadyExists):
        service.place(PlaceOrder("o-1", "c-9", place().lines, ADDRESS), STAFF)


def test_the_service_never_records_time_before_the_last_change(
    store: InMemoryStore, clock: ManualClock
) -> None:
    """LC-8: a worker whose clock is behind records the order's last change time instead."""
    late_worker = OrderService(store, clock=ManualClock(T0 - timedelta(minutes=5)))
    OrderService(store, clock=clock).place(
        PlaceOrder("o-1", CUSTOMER.id, place().lines, ADDRESS), CUSTOMER
    )
    order = late_worker.handle("o-1", Pay(cny("119.90"), "p"), SYSTEM).order
    assert order.updated_at == T0


class _RacingStore(InMemoryStore):
    """A store where another writer slips in before each of the first ``races`` saves."""

    def __init__(self, races: int) -> None:
        super().__init__()
        self.races = races

    def save(self, order: Order, expected_version: int) -> None:
        """Refuse the save as a conflict while races are left; then save."""
        if self.races > 0:
            self.races -= 1
            raise ConcurrencyConflict(order.id, expected_version, expected_version + 1)
        super().save(order, expected_version)


def test_conflicts_are_retried_only_when_asked(clock: ManualClock) -> None:
    """D-9: a conflict is raised, or retried a bounded number of times on fresh state."""
    store = _RacingStore(races=2)
    service = OrderService(store, clock=clock)
    _place(service)
    with pytest.raises(ConcurrencyConflict):
        service.handle("o-1", Pay(cny("119.90"), "p"), SYSTEM)
    store.races = 2
    with pytest.raises(ConcurrencyConflict):
        service.handle("o-1", Pay(cny("119.90"), "p"), SYSTEM, retries=1)
    store.races = 2
    assert service.handle("o-1", Pay(cny("119.90"), "p"), SYSTEM, retries=2).order.version == 2
    for bad in (-1, MAX_RETRIES + 1, True, 1.5):
        with pytest.raises(InvalidInput):
            service.handle("o-1", Pay(cny("119.90"), "p"), SYSTEM, retries=bad)  # type: ignore[arg-type]


def test_unknown_orders_raise_not_found(service: OrderService) -> None:
    """PT-1: commands for an unknown order raise OrderNotFound."""
    with pytest.raises(OrderNotFound):
        service.handle("nope", Pay(cny("1"), "p"), SYSTEM)


def test_a_confirmed_refund_completes_the_obligation_through_the_service(
    service: OrderService, store: InMemoryStore
) -> None:
    """AS-6: the payment side's confirmation is stored with its notification."""
    _place(service)
    service.handle("o-1", Pay(cny("119.90"), "p"), SYSTEM)
    closed = service.handle("o-1", Close(CloseReason.OUT_OF_STOCK), STAFF).order
    refund_id = closed.ledger.refunds[0].refund_id
    done = service.handle("o-1", ConfirmRefund(refund_id), SYSTEM).order
    assert done.amount_refunded == cny("119.90")
    assert done.state is OrderState.CLOSED
    assert store.entries("o-1")[-1].kind == "notify_customer"


def test_manual_clock_and_ids() -> None:
    """PT-3: the manual clock only moves forward; ids are unique and prefixed."""
    clock = ManualClock(T0)
    assert clock.advance(timedelta(hours=1)) == T0 + timedelta(hours=1)
    clock.set(T0 + timedelta(hours=2))
    assert clock.now() == T0 + timedelta(hours=2)
    for bad_call in (
        lambda: clock.advance(timedelta(seconds=-1)),
        lambda: clock.set(T0),
        lambda: ManualClock(T0.replace(tzinfo=None)),
    ):
        with pytest.raises(InvalidInput):
            bad_call()
    ids = UuidIds("SO-")
    first, second = ids.new_id(), ids.new_id()
    assert first.startswith("SO-")
    assert first != second
    assert OrderService(InMemoryStore(), ids=ids).new_order_id().startswith("SO-")
    assert SystemClock().now().tzinfo is not None


def test_memory_store_refuses_non_orders_and_backward_saves(store: InMemoryStore) -> None:
    """PT-1: the store validates what it is given."""
    with pytest.raises(InvalidInput):
        store.add("order")  # type: ignore[arg-type]
    order = place()
    store.add(order)
    with pytest.raises(InvalidInput):
        store.save(order, order.version)
