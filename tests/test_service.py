"""The order service over the in-memory store (PT-1..PT-3, D-3, D-9); the relay is in
test_relay.py."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orderflow import (
    Actor,
    Address,
    ApproveReview,
    ChangeAddress,
    ChangePrice,
    Close,
    CloseReason,
    CommandRefused,
    ConfirmRefund,
    InvalidInput,
    Money,
    Order,
    OrderState,
    Pay,
    PlaceOrder,
    Ship,
)
from orderflow.adapters.memory import InMemoryStore
from orderflow.errors import (
    ConcurrencyConflict,
    InvalidConfiguration,
    OrderAlreadyExists,
    OrderNotFound,
)
from orderflow.ports import (
    Clock,
    IdSource,
    ManualClock,
    Notifier,
    OrderStore,
    SystemClock,
    UuidIds,
)
from orderflow.retries import Backoff, Jitter
from orderflow.service import CONFLICT_BACKOFF, MAX_RETRIES, OrderService
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


class _Pauses:
    """A ``sleep`` that records the pauses it is asked for, and does not wait."""

    def __init__(self) -> None:
        self.seconds: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.seconds.append(seconds)


def test_conflicts_are_retried_only_when_asked(clock: ManualClock) -> None:
    """D-9: a conflict is raised, or retried a bounded number of times on fresh state."""
    store = _RacingStore(races=2)
    service = OrderService(store, clock=clock, sleep=_Pauses())
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


# -- retries pause, randomized (D-9) ---------------------------------------------------------


def test_each_retry_waits_the_backoff_of_its_number(clock: ManualClock) -> None:
    """D-9: the n-th retry after a conflict waits the backoff's n-th pause first; no pause
    before the first attempt nor after the last one."""
    store = _RacingStore(races=3)
    pauses = _Pauses()
    backoff = Backoff(
        base=timedelta(milliseconds=10),
        factor=2,
        cap=timedelta(milliseconds=25),
        jitter=Jitter.NONE,
    )
    service = OrderService(store, clock=clock, conflict_backoff=backoff, sleep=pauses)
    _place(service)
    assert service.handle("o-1", Pay(cny("119.90"), "p"), SYSTEM, retries=3).order.version == 2
    assert pauses.seconds == [0.01, 0.02, 0.025]
    store.races = 3
    with pytest.raises(ConcurrencyConflict):
        service.handle("o-1", Close(CloseReason.OUT_OF_STOCK), STAFF, retries=1)
    assert pauses.seconds == [0.01, 0.02, 0.025, 0.01]
    store.races = 0
    service.handle("o-1", ApproveReview(), STAFF, retries=5)
    assert len(pauses.seconds) == 4


def test_default_pauses_are_jittered_and_reproducible_with_a_seed(clock: ManualClock) -> None:
    """D-9: by default the n-th pause is between half and all of min(100 ms, 2 ms x 2^(n-1)),
    drawn from the service's random source: a seeded one gives the same pauses again."""
    runs: list[list[float]] = []
    for _ in range(2):
        pauses = _Pauses()
        store = _RacingStore(races=8)
        service = OrderService(store, clock=clock, sleep=pauses, random=random.Random(7))
        _place(service, f"o-{len(runs)}")
        service.handle(f"o-{len(runs)}", Pay(cny("119.90"), "p"), SYSTEM, retries=8)
        runs.append(pauses.seconds)
    rng = random.Random(7)
    expected = [CONFLICT_BACKOFF.delay(n, rng).total_seconds() for n in range(1, 9)]
    assert runs == [expected, expected]
    for n, pause in enumerate(runs[0], start=1):
        full = min(0.1, 0.002 * 2 ** (n - 1))
        assert full / 2 <= pause <= full
    assert len(set(runs[0])) == 8  # jittered: no two alike


@settings(max_examples=100)
@given(races=st.integers(0, 6), retries=st.integers(0, 6), seed=st.integers(0, 2**32))
def test_retries_pause_once_per_retry_within_the_backoff(
    races: int, retries: int, seed: int
) -> None:
    """D-9: with r conflicts in a row and k retries, the command lands after r pauses when
    r <= k, or raises after k pauses and stores nothing; every pause is within the backoff's
    bounds for its retry's number."""
    store = _RacingStore(races=0)
    pauses = _Pauses()
    service = OrderService(store, clock=ManualClock(T0), sleep=pauses, random=random.Random(seed))
    _place(service)
    before = store.get("o-1")
    store.races = races
    if races <= retries:
        assert service.handle("o-1", Pay(cny("119.90"), "p"), SYSTEM, retries=retries).order
        assert store.get("o-1").version == 2
    else:
        with pytest.raises(ConcurrencyConflict):
            service.handle("o-1", Pay(cny("119.90"), "p"), SYSTEM, retries=retries)
        assert store.get("o-1") == before
    assert len(pauses.seconds) == min(races, retries)
    for n, pause in enumerate(pauses.seconds, start=1):
        full = min(0.1, 0.002 * 2 ** (n - 1))
        assert full / 2 <= pause <= full


@pytest.mark.parametrize(
    ("argument", "value"),
    [
        ("conflict_backoff", timedelta(milliseconds=5)),
        ("conflict_backoff", 0.005),
        ("sleep", None),
        ("sleep", 0.5),
        ("random", 42),
        ("random", random),
    ],
)
def test_the_service_refuses_a_malformed_retry_configuration(argument: str, value: object) -> None:
    """D-9: a backoff that is not a Backoff, a sleep that cannot be called, a random source
    that is not a random.Random are InvalidConfiguration naming the setting."""
    with pytest.raises(InvalidConfiguration) as info:
        OrderService(InMemoryStore(), **{argument: value})  # type: ignore[arg-type]
    assert info.value.setting == argument


# -- commands at an expected version (D-9, D-3) ----------------------------------------------


def _paid(service: OrderService, clock: ManualClock) -> Order:
    _place(service)
    clock.advance(timedelta(minutes=1))
    pay = Pay(cny("119.90"), "alipay-1", command_id="req-pay")
    return service.handle("o-1", pay, SYSTEM, expected_version=1).order


def test_a_command_at_its_expected_version_is_applied(
    service: OrderService, clock: ManualClock
) -> None:
    """D-9: at the expected version the command is decided and saved as usual."""
    paid = _paid(service, clock)
    assert paid.version == 2
    assert paid.state is OrderState.PAID
    assert service.handle("o-1", ApproveReview(), STAFF, expected_version=2).order.version == 3


def test_a_command_at_another_version_is_a_conflict_even_if_it_would_be_refused(
    service: OrderService, store: InMemoryStore, clock: ManualClock
) -> None:
    """D-9: at another version nothing is decided nor saved; the caller gets a conflict
    (its If-Match failed), not a refusal of a command it decided on older state."""
    _paid(service, clock)
    before, entries = store.get("o-1"), store.entries("o-1")
    for command in (ApproveReview(), ChangePrice("SKU-A", cny("40.00"))):  # allowed, refused
        for version in (0, 1, 3, 99):
            with pytest.raises(ConcurrencyConflict) as info:
                service.handle("o-1", command, STAFF, expected_version=version)
            assert (info.value.order_id, info.value.expected_version) == ("o-1", version)
            assert info.value.actual_version == 2
    assert store.get("o-1") == before
    assert store.entries("o-1") == entries


def test_a_retried_request_at_an_old_version_is_a_replay_not_a_conflict(
    service: OrderService, store: InMemoryStore, clock: ManualClock
) -> None:
    """D-3, D-9: a command whose id (or payment reference) was applied already returns the
    original outcome at any expected version: a retried HTTP request is not a conflict."""
    paid = _paid(service, clock)
    service.handle("o-1", ApproveReview(command_id="req-review"), STAFF, expected_version=2)
    stored = store.get("o-1")
    again = service.handle(
        "o-1", Pay(cny("119.90"), "alipay-1", command_id="req-pay"), SYSTEM, expected_version=1
    )
    assert again.replayed
    assert again.entry == paid.history[1]
    webhook = service.handle("o-1", Pay(cny("119.90"), "alipay-1"), SYSTEM, expected_version=1)
    assert webhook.replayed
    review = service.handle(
        "o-1", ApproveReview(command_id="req-review"), STAFF, expected_version=2
    )
    assert review.replayed
    assert store.get("o-1") == stored
    with pytest.raises(ConcurrencyConflict):  # the same id with another payload: not a replay
        service.handle("o-1", Close(CloseReason.OTHER, "x", command_id="req-pay"), STAFF,
                       expected_version=1)  # fmt: skip


def test_a_conflict_while_saving_at_an_expected_version_is_never_retried(
    clock: ManualClock,
) -> None:
    """D-9: another writer saving between the load and the save makes the command a
    conflict at once: the caller decided on that version, so nothing is decided again."""
    store = _RacingStore(races=0)
    pauses = _Pauses()
    service = OrderService(store, clock=clock, sleep=pauses)
    _place(service)
    store.races = 1
    with pytest.raises(ConcurrencyConflict) as info:
        service.handle("o-1", Pay(cny("119.90"), "p"), SYSTEM, expected_version=1)
    assert info.value.expected_version == 1
    assert pauses.seconds == []
    assert store.get("o-1").version == 1


@pytest.mark.parametrize(
    ("expected_version", "retries", "field"),
    [
        (True, 0, "expected_version"),
        (-1, 0, "expected_version"),
        (2**31, 0, "expected_version"),
        ("1", 0, "expected_version"),
        (1.0, 0, "expected_version"),
        (1, 1, "retries"),
        (1, MAX_RETRIES, "retries"),
    ],
)
def test_a_malformed_expected_version_is_refused(
    service: OrderService,
    store: InMemoryStore,
    expected_version: object,
    retries: int,
    field: str,
) -> None:
    """D-9: an expected version that is not a whole number from 0 to 2^31 - 1, or retries
    asked together with one, are InvalidInput naming the argument; nothing is saved."""
    _place(service)
    before = store.get("o-1")
    with pytest.raises(InvalidInput) as info:
        service.handle(
            "o-1",
            Pay(cny("119.90"), "p"),
            SYSTEM,
            expected_version=expected_version,  # type: ignore[arg-type]
            retries=retries,
        )
    assert info.value.field == field
    assert store.get("o-1") == before


@settings(max_examples=60)
@given(steps=st.integers(0, 4), expected=st.integers(0, 7))
def test_a_command_lands_exactly_when_its_expected_version_is_current(
    steps: int, expected: int
) -> None:
    """D-9: over an order at any version, a command with an expected version is applied iff
    that version is the stored one; otherwise it is a conflict and nothing changes."""
    store = InMemoryStore()
    clock = ManualClock(T0)
    service = OrderService(store, clock=clock)
    _place(service)
    for step in range(steps):
        address = Address(f"step {step}", "13800000000", "1 Road", "Hangzhou")
        service.handle("o-1", ChangeAddress(address), STAFF)
    before, entries = store.get("o-1"), store.entries("o-1")
    command = ChangeAddress(Address("If-Match", "13800000000", "2 Road", "Hangzhou"))
    if expected == before.version:
        outcome = service.handle("o-1", command, STAFF, expected_version=expected)
        assert store.get("o-1") == outcome.order
        assert outcome.order.version == expected + 1
    else:
        with pytest.raises(ConcurrencyConflict):
            service.handle("o-1", command, STAFF, expected_version=expected)
        assert store.get("o-1") == before
        assert store.entries("o-1") == entries


# -- a customer's orders ---------------------------------------------------------------------


def test_the_service_lists_a_customers_orders_from_the_store(
    service: OrderService, store: InMemoryStore, clock: ManualClock
) -> None:
    """PT-1: find_by_customer through the service is the store's: newest first, in pages,
    arguments checked."""
    for order_id in ("o-1", "o-3", "o-2"):
        _place(service, order_id)
        clock.advance(timedelta(seconds=1))
    first = service.find_by_customer(CUSTOMER.id, limit=2)
    assert [o.id for o in first] == ["o-2", "o-3"]
    rest = service.find_by_customer(
        CUSTOMER.id, limit=2, before=(first[-1].created_at, first[-1].id)
    )
    assert [o.id for o in rest] == ["o-1"]
    assert service.find_by_customer(CUSTOMER.id) == store.find_by_customer(CUSTOMER.id)
    with pytest.raises(InvalidInput):
        service.find_by_customer(CUSTOMER.id, before=(T0.replace(tzinfo=None), "o-1"))


# -- the orders to an address (RK-1, PT-4) ----------------------------------------------------


class _Port:
    """A context port that knows nothing: every SKU in stock, no list price, no VIP."""

    def stock_levels(self, skus: Sequence[str]) -> Mapping[str, int]:
        """No stock data."""
        return {}

    def list_prices(self, skus: Sequence[str]) -> Mapping[str, Money]:
        """No list prices."""
        return {}

    def is_vip(self, customer_id: str) -> bool:
        """Nobody is a VIP."""
        return False


class _AskedStore(InMemoryStore):
    """The reference store, recording what the service asks of its address index."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: list[tuple[datetime, int, tuple[datetime, str] | None]] = []

    def find_by_address(
        self,
        address: Address,
        *,
        since: datetime,
        limit: int = 100,
        before: tuple[datetime, str] | None = None,
    ) -> list[Order]:
        """The reference's answer; the question recorded."""
        self.asked.append((since, limit, before))
        return super().find_by_address(address, since=since, limit=limit, before=before)


class _OlderStore(InMemoryStore):
    """A host's store written against the port before it had find_by_address."""

    find_by_address = None  # type: ignore[assignment]


def test_rk1_review_counts_the_accounts_the_store_finds_at_the_address() -> None:
    """RK-1, PT-4: review asks the store for the orders to the order's place (written any
    way) from 24 hours before its placement up to it: an order placed later is not asked
    for, and three accounts in the window freeze the order as suspected fraud."""
    store, clock = _AskedStore(), ManualClock(T0)
    service = OrderService(store, clock=clock, context=_Port())
    same_place = Address(
        "Han Meimei", "13900001111", f" {ADDRESS.line1.upper()} ", ADDRESS.city.lower(),
        ADDRESS.region, ADDRESS.postal_code, ADDRESS.country,
    )  # fmt: skip
    for number, (customer, address) in enumerate(
        [("c-1", ADDRESS), ("c-2", same_place), ("c-3", ADDRESS)]
    ):
        command = PlaceOrder(f"o-{number}", customer, place().lines, address)
        service.place(command, Actor.customer(customer))
        clock.advance(timedelta(hours=1))
    reviewed = {}
    for order_id in ("o-1", "o-2"):
        service.handle(order_id, Pay(store.get(order_id).amount_due, "p-1"), SYSTEM)
        reviewed[order_id] = service.handle(order_id, ApproveReview(), STAFF).order
    placed = store.get("o-1").created_at
    assert store.asked[0] == (
        placed - timedelta(hours=24),
        1000,
        (placed + timedelta(microseconds=1), ""),
    )
    assert reviewed["o-1"].state is OrderState.AWAITING_SHIPMENT  # c-1 and c-2: two accounts
    (case,) = reviewed["o-2"].exceptions
    assert reviewed["o-2"].state is OrderState.ON_HOLD
    assert (case.detector, case.evidence["count"]) == ("RK-1-address", 3)


def test_a_store_without_find_by_address_is_refused_naming_it() -> None:
    """PT-4: a store written against the port before find_by_address is refused when the
    service is made, naming the method, rather than leaving RK-1's address check unasked."""
    with pytest.raises(InvalidConfiguration, match="lacks find_by_address"):
        OrderService(_OlderStore())  # type: ignore[arg-type]
