"""The outbox relay: routes by effect class, retries with backoff, parks dead entries, shares
the work by claims (NT-2, D-14, PT-5).

Store-level behaviour (claims, leases, dead entries, purges, hostile error texts) is pinned
for every store by the conformance kit; these tests pin the relay itself, over the in-memory
store.
"""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any, ClassVar

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from orderflow import (
    AlertStaff,
    Close,
    CloseReason,
    Effect,
    InvalidConfiguration,
    InvalidInput,
    NotifyCustomer,
    OpenCase,
    Order,
    Pay,
    PlaceOrder,
    ReleaseStock,
    RequestRefund,
    ReserveStock,
)
from orderflow.adapters.memory import InMemoryStore
from orderflow.effects import EFFECT_TYPES
from orderflow.ports import ERROR_LIMIT, ManualClock, OutboxStatus
from orderflow.relay import (
    Backoff,
    Delivery,
    Jitter,
    OutboxRelay,
    RelayReport,
    Routes,
    describe_error,
)
from orderflow.service import OrderService
from orderflow.testing.fakes import (
    FailingHandler,
    FlakyHandler,
    RecordingHandler,
    RecordingNotifier,
)
from tests.support import ADDRESS, CUSTOMER, STAFF, SYSTEM, T0, cny, place

EXACT = Backoff(jitter=Jitter.NONE)


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


def _closed_after_payment(service: OrderService, order_id: str = "o-1") -> None:
    """Placed, paid, closed: a reservation, a refund, a release, two notifications."""
    _place(service, order_id)
    service.handle(order_id, Pay(cny("119.90"), f"pay-{order_id}"), SYSTEM)
    service.handle(order_id, Close(CloseReason.OUT_OF_STOCK), STAFF)


def _everything(handler: Any) -> dict[type[Effect], Any]:
    return dict.fromkeys(EFFECT_TYPES, handler)


# -- configuration -------------------------------------------------------------------------


def test_a_relay_lacking_a_handler_for_a_kind_is_refused(store: InMemoryStore) -> None:
    """D-14: the old documented set (no OpenCase or AlertStaff handler) cannot build a
    relay; the error names every missing kind, and dropping them explicitly is accepted."""
    stock = RecordingHandler()
    routes = Routes().on(RequestRefund, stock).on(ReserveStock, stock).on(ReleaseStock, stock)
    with pytest.raises(InvalidConfiguration) as refused:
        OutboxRelay(store, handlers=routes, notifier=RecordingNotifier())
    assert refused.value.setting == "handlers"
    assert refused.value.value == ("OpenCase", "AlertStaff")
    assert "OpenCase (open_case)" in str(refused.value)
    assert "AlertStaff (alert_staff)" in str(refused.value)
    with pytest.raises(InvalidConfiguration) as nothing:
        OutboxRelay(store)
    assert nothing.value.value == tuple(kind.__name__ for kind in EFFECT_TYPES)
    relay = OutboxRelay(
        store, handlers=routes, notifier=RecordingNotifier(), drop=[OpenCase, AlertStaff]
    )
    assert relay.dropped == {OpenCase, AlertStaff}
    assert set(relay.routes) == set(EFFECT_TYPES) - {OpenCase, AlertStaff}


@pytest.mark.parametrize(
    ("options", "setting"),
    [
        ({"handlers": {"request_refund": print}}, "handlers"),
        ({"handlers": {Effect: print}}, "handlers"),
        ({"handlers": {int: print}}, "handlers"),
        ({"handlers": {RequestRefund: "not callable"}}, "handlers[RequestRefund]"),
        ({"handlers": ["RequestRefund"]}, "handlers"),
        ({"notifier": object()}, "notifier"),
        ({"handlers": {NotifyCustomer: print}, "notifier": RecordingNotifier()}, "notifier"),
        ({"handlers": {OpenCase: print}, "drop": [OpenCase]}, "drop"),
        ({"drop": ["open_case"]}, "drop"),
        ({"worker": ""}, "worker"),
        ({"worker": "w" * 101}, "worker"),
        ({"lease": timedelta(0)}, "lease"),
        ({"lease": 300}, "lease"),
        ({"max_attempts": 0}, "max_attempts"),
        ({"max_attempts": True}, "max_attempts"),
        ({"backoff": timedelta(seconds=1)}, "backoff"),
    ],
)
def test_malformed_relay_settings_are_refused(
    store: InMemoryStore, options: dict[str, Any], setting: str
) -> None:
    """D-14: a relay is built only from a table it can follow; the error names the setting."""
    with pytest.raises(InvalidConfiguration) as refused:
        OutboxRelay(store, **{"drop": EFFECT_TYPES, **options})
    assert refused.value.setting == setting


def test_routes_link_each_class_to_one_handler() -> None:
    """PT-5: Routes is immutable, refuses a class twice, and reads back as a mapping."""
    refunds, stock = RecordingHandler(), RecordingHandler()
    first = Routes().on(RequestRefund, refunds)
    second = first.on(ReleaseStock, stock)
    assert first.as_dict() == {RequestRefund: refunds}
    assert second.as_dict() == {RequestRefund: refunds, ReleaseStock: stock}
    assert repr(second) == "Routes(ReleaseStock, RequestRefund)"
    with pytest.raises(InvalidConfiguration, match="has a handler already"):
        second.on(RequestRefund, stock)


# -- delivery ------------------------------------------------------------------------------


def test_each_effect_goes_to_the_handler_of_its_class(
    service: OrderService, store: InMemoryStore, clock: ManualClock
) -> None:
    """D-14/AS-6: notifications go to the notifier, refunds and stock to their handlers,
    each receiving its own class; a failure waits for its retry and is then delivered."""
    _closed_after_payment(service)
    notifier = RecordingNotifier()
    refunds = FlakyHandler(fail_times=1)
    stock: list[ReserveStock | ReleaseStock] = []
    routes = (
        Routes()
        .on(RequestRefund, refunds)
        .on(ReserveStock, stock.append)
        .on(ReleaseStock, stock.append)
        .on(OpenCase, RecordingHandler())
        .on(AlertStaff, RecordingHandler())
    )
    relay = OutboxRelay(store, handlers=routes, notifier=notifier, clock=clock, backoff=EXACT)
    first = relay.run_once()
    assert (first.delivered, first.failed, first.dead, first.dropped) == (4, 1, 0, 0)
    failed = next(e for e in store.entries("o-1") if e.kind == "request_refund")
    assert (failed.status, failed.attempts) == (OutboxStatus.PENDING, 1)
    assert failed.last_error == "RuntimeError: payment gateway timed out"
    assert failed.next_attempt_at == T0 + timedelta(seconds=5)
    assert [r.retry_at for r in first.results if r.outcome is Delivery.FAILED] == [
        T0 + timedelta(seconds=5)
    ]
    assert relay.drain().claimed == 0  # not due yet
    clock.advance(timedelta(seconds=5))
    assert relay.drain().delivered == 1
    assert store.pending() == []
    assert [type(effect) for effect in stock] == [ReserveStock, ReleaseStock]
    assert [effect.amount for effect in refunds.handled if isinstance(effect, RequestRefund)] == [
        cny("119.90")
    ]
    assert sorted(notifier.ids) == ["o-1/1/1", "o-1/3/2"]


def test_dropped_kinds_are_delivered_with_a_record_of_why(
    service: OrderService, store: InMemoryStore, clock: ManualClock
) -> None:
    """D-14: no entry is skipped silently: a dropped kind is marked delivered with a note."""
    _closed_after_payment(service)
    relay = OutboxRelay(
        store,
        notifier=RecordingNotifier(),
        drop=[RequestRefund, ReserveStock, ReleaseStock, OpenCase, AlertStaff],
        clock=clock,
    )
    report = relay.drain()
    assert (report.delivered, report.dropped) == (2, 3)
    refund = next(e for e in store.entries("o-1") if e.kind == "request_refund")
    assert refund.status is OutboxStatus.DELIVERED
    assert refund.last_error == "dropped by configuration: no handler for RequestRefund"


def test_entries_that_keep_failing_never_block_a_later_one(
    service: OrderService, store: InMemoryStore, clock: ManualClock
) -> None:
    """NT-2/RK-3: 100 duplicate payments whose refunds fail on every try do not keep a later
    order's refund from being handed over in the next passes; each is parked dead after
    max_attempts tries."""
    _place(service, "dup")
    service.handle("dup", Pay(cny("119.90"), "pay-0"), SYSTEM)
    for n in range(1, 101):
        service.handle("dup", Pay(cny("1.00"), f"pay-{n}"), SYSTEM)
    _closed_after_payment(service, "later")
    handed: list[str] = []

    def refund(effect: RequestRefund) -> None:
        if effect.order_id == "dup":
            raise ConnectionError("payment provider refuses duplicate-payment refunds")
        handed.append(effect.id)

    relay = OutboxRelay(
        store,
        handlers=Routes()
        .on(RequestRefund, refund)
        .on(OpenCase, RecordingHandler())
        .on(AlertStaff, RecordingHandler())
        .on(ReserveStock, RecordingHandler())
        .on(ReleaseStock, RecordingHandler()),
        notifier=RecordingNotifier(),
        clock=clock,
        max_attempts=4,
        random=random.Random(7),
    )
    ahead = len(store.pending(10_000))
    passes = 0
    while not handed:
        passes += 1
        relay.run_once(limit=10)
        clock.advance(timedelta(seconds=1))
        assert passes <= ahead // 10 + 1, "the later refund was never handed over"
    assert handed == [next(e.id for e in store.entries("later") if e.kind == "request_refund")]
    clock.advance(timedelta(days=1))
    for _ in range(4):
        relay.drain(batch=10)
        clock.advance(timedelta(hours=2))
    dead = relay.dead(limit=1000)
    assert len(dead) == 100
    assert {(e.kind, e.attempts) for e in dead} == {("request_refund", 4)}
    assert store.pending() == []


def test_retries_back_off_until_the_entry_is_parked_then_requeued(
    service: OrderService, store: InMemoryStore, clock: ManualClock
) -> None:
    """NT-2: pauses of base, base x factor, ...; after max_attempts failures the entry is
    dead, listed, and an operator's requeue gets it delivered."""
    _place(service)
    notifier = RecordingNotifier(fail_times=3)
    relay = OutboxRelay(
        store,
        handlers=_everything(RecordingHandler()) | {NotifyCustomer: notifier.deliver},
        clock=clock,
        max_attempts=3,
        backoff=Backoff(base=timedelta(seconds=10), factor=3, jitter=Jitter.NONE),
    )
    notice = "o-1/1/1"
    pauses = []
    for _ in range(2):
        report = relay.run_once()
        (result,) = [r for r in report.results if r.entry_id == notice]
        assert result.outcome is Delivery.FAILED
        assert result.retry_at is not None
        pauses.append(result.retry_at - clock.now())
        clock.set(result.retry_at)
    assert pauses == [timedelta(seconds=10), timedelta(seconds=30)]
    assert relay.run_once().dead == 1
    (dead,) = relay.dead()
    assert (dead.id, dead.status, dead.attempts) == (notice, OutboxStatus.DEAD, 3)
    assert dead.last_error == "ConnectionError: notification channel unavailable"
    clock.advance(timedelta(days=1))
    assert relay.run_once().claimed == 0
    assert relay.requeue(notice) is True
    assert relay.requeue(notice) is False
    assert relay.run_once().delivered == 1
    assert notifier.ids == [notice]
    assert relay.dead() == []


def test_an_entry_without_a_route_is_parked_dead_with_the_reason(
    store: InMemoryStore, clock: ManualClock
) -> None:
    """D-14: an entry of a class the relay has no route for (not in EFFECT_TYPES) is parked
    dead with the reason; the others are delivered."""

    @attrs.frozen
    class Gift(Effect):
        kind: ClassVar[str] = "gift"

    placed = place("o-1")
    placing = placed.history[0]._replace(
        effects=(Gift("o-1", 1, 0), ReserveStock("o-1", 1, 1, placed.lines))
    )
    order = Order(**{**placed._asdict(), "history": (placing,)})
    store.add(order)
    handler = RecordingHandler()
    relay = OutboxRelay(store, handlers=_everything(handler), clock=clock)
    report = relay.run_once()
    assert (report.delivered, report.dead) == (1, 1)
    (dead,) = store.dead()
    assert dead.id == "o-1/1/0"
    assert dead.last_error == "no route: this relay has no handler for Gift"
    assert [effect.id for effect in handler.handled] == ["o-1/1/1"]


def test_a_hung_delivery_whose_lease_expires_is_delivered_again(
    service: OrderService, store: InMemoryStore, clock: ManualClock
) -> None:
    """D-14: at least once: when a handler outlasts the lease, another relay takes the entry
    and delivers it too (hosts deduplicate by id); within the lease it does not."""
    _place(service)
    store.mark_delivered("o-1/1/1", T0)  # one entry left: the reservation
    delivered: list[tuple[str, str]] = []
    other: list[OutboxRelay] = []

    def slow(effect: Effect) -> None:
        clock.advance(timedelta(seconds=30))  # within the one-minute lease
        assert other[0].run_once().claimed == 0
        clock.advance(timedelta(minutes=1))  # now past it
        assert other[0].run_once().delivered == 1
        delivered.append(("hung", effect.id))

    def quick(effect: Effect) -> None:
        delivered.append(("other", effect.id))

    lease = timedelta(minutes=1)
    hung = OutboxRelay(store, handlers=_everything(slow), clock=clock, lease=lease, worker="a")
    other.append(
        OutboxRelay(store, handlers=_everything(quick), clock=clock, lease=lease, worker="b")
    )
    hung.run_once(limit=1)
    assert delivered == [("other", "o-1/1/0"), ("hung", "o-1/1/0")]
    entry = store.entries("o-1")[0]
    assert entry.status is OutboxStatus.DELIVERED
    assert (entry.claimed_by, entry.claimed_until) == (None, None)


def test_reports_count_and_add_up(
    service: OrderService, store: InMemoryStore, clock: ManualClock
) -> None:
    """NT-2: a report counts each outcome and keeps one result per entry; drain adds the
    passes up."""
    _closed_after_payment(service)
    relay = OutboxRelay(
        store,
        handlers=Routes()
        .on(RequestRefund, FailingHandler(TimeoutError("gateway")))
        .on(ReserveStock, RecordingHandler()),
        notifier=RecordingNotifier(),
        drop=[ReleaseStock, OpenCase, AlertStaff],
        clock=clock,
        max_attempts=1,
    )
    total = relay.drain(batch=2)
    assert (total.delivered, total.failed, total.dead, total.dropped) == (3, 0, 1, 1)
    assert total.claimed == 5 == len(total.results)
    assert [r.entry_id for r in total.results] == [e.id for e in store.entries("o-1")]
    dead = next(r for r in total.results if r.outcome is Delivery.DEAD)
    assert (dead.kind, dead.error) == ("request_refund", "TimeoutError: gateway")
    assert RelayReport(1, 2, 3, 4) + RelayReport(1, 1, 1, 1) == RelayReport(2, 3, 4, 5)
    with pytest.raises(InvalidInput):
        relay.run_once(-1)


def test_purge_deletes_entries_delivered_before_the_retention(
    service: OrderService, store: InMemoryStore, clock: ManualClock
) -> None:
    """D-14: purge(retention) deletes, in batches, what was delivered longer ago."""
    for n in range(3):
        _place(service, f"o-{n}")
    relay = OutboxRelay(store, handlers=_everything(RecordingHandler()), clock=clock)
    relay.drain()
    clock.advance(timedelta(days=8))
    _place(service, "o-new")
    relay.drain()
    assert relay.purge(timedelta(days=7), batch=4) == 6
    assert [e.order_id for e in store.entries("o-new")] == ["o-new", "o-new"]
    assert store.entries("o-0") == []
    for bad in (timedelta(days=-1), 7):
        with pytest.raises(InvalidInput):
            relay.purge(bad)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput):
        relay.purge(timedelta(days=1), batch=0)


# -- errors and backoff --------------------------------------------------------------------


class _Unprintable(Exception):
    def __str__(self) -> str:
        raise RuntimeError("no message")


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (ValueError("plain"), "ValueError: plain"),
        (ValueError(), "ValueError"),
        (OSError("NUL\x00inside"), "OSError: NULinside"),
        (KeyError("\ud800"), "KeyError: '\\ud800'"),
        (_Unprintable(), "_Unprintable: (the error's message could not be read)"),
    ],
)
def test_describe_error_never_raises_and_cleans(error: BaseException, expected: str) -> None:
    """NT-2: any exception is described as type and message, cleaned of NUL characters and
    lone surrogates."""
    assert describe_error(error) == expected


def test_describe_error_bounds_a_huge_message() -> None:
    """NT-2: a 1 MB message is cut to the limit, with an ellipsis."""
    described = describe_error(RuntimeError("y" * 1_000_000))
    assert len(described) == ERROR_LIMIT
    assert described.endswith("y\u2026")
    assert len(describe_error(RuntimeError("y" * 50), limit=20)) == 20


@given(
    failures=st.integers(1, 10_000),
    seed=st.integers(0, 2**32),
    base=st.integers(1, 600),
    factor=st.floats(1, 100),
    cap=st.integers(600, 86_400),
    jitter=st.sampled_from(Jitter),
)
def test_backoff_grows_is_capped_and_jitters_within_its_bounds(
    failures: int, seed: int, base: int, factor: float, cap: int, jitter: Jitter
) -> None:
    """NT-2: the pause is min(cap, base x factor^(n-1)), full jitter anywhere below it, equal
    jitter in its upper half, never above the cap."""
    backoff = Backoff(timedelta(seconds=base), factor, timedelta(seconds=cap), jitter)
    exact = Backoff(timedelta(seconds=base), factor, timedelta(seconds=cap), Jitter.NONE)
    ceiling = exact.delay(failures, random.Random(seed))
    try:
        expected = min(float(cap), base * factor ** (failures - 1))
    except OverflowError:
        expected = float(cap)
    assert abs(ceiling.total_seconds() - expected) < 1e-3
    pause = backoff.delay(failures, random.Random(seed))
    assert timedelta(0) <= pause <= ceiling
    if jitter is Jitter.EQUAL:
        assert pause >= ceiling / 2 - timedelta(microseconds=1)


@pytest.mark.parametrize(
    "options",
    [
        {"base": timedelta(0)},
        {"cap": timedelta(seconds=-1)},
        {"base": timedelta(hours=2), "cap": timedelta(hours=1)},
        {"factor": 0.5},
        {"factor": True},
        {"jitter": "full"},
    ],
)
def test_malformed_backoff_is_refused(options: dict[str, Any]) -> None:
    """NT-2: a backoff that could not space retries out is refused when it is built."""
    with pytest.raises(InvalidConfiguration):
        Backoff(**options)
