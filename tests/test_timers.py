"""Timers that cannot be stalled: deadlines valid to fire (D-15, D-16), computed on UTC instants
(D-18), and the sweep that fires them through the service (TM-1, TM-5, CL-7, D-10)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from orderflow import (
    Actor,
    AutoCloseUnpaid,
    BeginPayment,
    CloseReason,
    Command,
    CommandRefused,
    ConfirmDelivery,
    DeadlineKind,
    FailPayment,
    InvalidInput,
    Lifecycle,
    Order,
    OrderState,
    Pay,
    PlaceOrder,
    Settings,
)
from orderflow.adapters.memory import InMemoryStore
from orderflow.errors import StoreError
from orderflow.order import Deadline
from orderflow.ports import ManualClock
from orderflow.service import OrderService
from orderflow.sweep import SweepStatus, TimerSweep
from orderflow.timers import TIMERS, due_deadlines, timer_command_id
from tests.support import ADDRESS, CUSTOMER, LIFECYCLE, SYSTEM, T0, apply, place, walk

NEW_YORK = ZoneInfo("America/New_York")


def _deadline(order: Order) -> Deadline:
    (deadline,) = order.deadlines
    return deadline


# D-16 -------------------------------------------------------------------------------------


def test_d16_beginning_a_payment_replaces_the_unpaid_deadline() -> None:
    """D-16: while a payment runs, the order waits for its confirmation, one hour by default."""
    order = place()
    assert _deadline(order) == Deadline(DeadlineKind.AUTO_CLOSE_UNPAID, T0 + timedelta(minutes=30))
    begun_at = T0 + timedelta(minutes=10)
    begun = LIFECYCLE.handle(order, BeginPayment("p-1"), CUSTOMER, begun_at).order
    assert _deadline(begun) == Deadline(DeadlineKind.CONFIRM_PAYMENT, begun_at + timedelta(hours=1))
    assert begun.ledger.payment_started_at == begun_at


@pytest.mark.parametrize("failed_after", [timedelta(minutes=5), timedelta(minutes=50)])
def test_d16_a_failed_payment_brings_the_unpaid_deadline_back_at_its_instant(
    failed_after: timedelta,
) -> None:
    """D-16: the unpaid deadline returns at its original instant, due at once if past."""
    begun = apply(place(), BeginPayment("p-1"), CUSTOMER).order
    at = begun.updated_at + failed_after
    failed = LIFECYCLE.handle(begun, FailPayment("p-1", "card declined"), SYSTEM, at).order
    unpaid = _deadline(failed)
    assert unpaid == Deadline(DeadlineKind.AUTO_CLOSE_UNPAID, T0 + timedelta(minutes=30))
    assert unpaid.is_due(at) is (at >= T0 + timedelta(minutes=30))
    assert failed.ledger.payment_in_progress is None


def test_d16_a_new_payment_restarts_the_confirmation_but_only_inside_the_unpaid_window() -> None:
    """D-16: starting again replaces the attempt; once the window has closed it is refused."""
    first = apply(place(), BeginPayment("p-1"), CUSTOMER).order
    again_at = T0 + timedelta(minutes=20)
    second = LIFECYCLE.handle(first, BeginPayment("p-2"), CUSTOMER, again_at).order
    assert second.ledger.payment_in_progress == "p-2"
    assert _deadline(second).due_at == again_at + timedelta(hours=1)
    with pytest.raises(CommandRefused) as info:
        LIFECYCLE.handle(second, BeginPayment("p-3"), CUSTOMER, T0 + timedelta(minutes=30))
    assert info.value.code == "begin_payment.window_closed"


def test_d16_payment_attempts_are_bounded() -> None:
    """D-16: starting and abandoning payments cannot grow the history without end."""
    engine = Lifecycle(Settings(max_payment_attempts=2))
    order = engine.place(PlaceOrder("o-1", CUSTOMER.id, place().lines, ADDRESS), CUSTOMER, T0).order
    at = T0
    for reference in ("p-1", "p-2"):
        at += timedelta(minutes=1)
        order = engine.handle(order, BeginPayment(reference), CUSTOMER, at).order
        order = engine.handle(order, FailPayment(reference), CUSTOMER, at).order
    with pytest.raises(CommandRefused) as info:
        engine.handle(order, BeginPayment("p-3"), CUSTOMER, at)
    assert info.value.code == "begin_payment.too_many_attempts"
    assert engine.handle(order, Pay(order.amount_due, "p-9"), SYSTEM, at).order.state == "paid"


def test_d16_the_confirmation_timeout_cannot_be_turned_off() -> None:
    """D-16: a payment in progress must never hold an order forever."""
    from orderflow import InvalidConfiguration

    for bad in (None, timedelta(0), 5):
        with pytest.raises(InvalidConfiguration):
            Settings(payment_confirmation_timeout=bad)  # type: ignore[arg-type]
    with pytest.raises(InvalidConfiguration):
        Settings(max_payment_attempts=0)


def test_d16_a_hold_from_unpaid_with_a_payment_running_resumes_its_confirmation() -> None:
    """D-16: released back to pending_payment, the order again waits for the payment."""
    from orderflow import Hold, Release
    from tests.support import STAFF

    begun = apply(place(), BeginPayment("p-1"), CUSTOMER).order
    held = apply(begun, Hold("check the address"), STAFF).order
    assert held.deadlines == ()
    released = apply(held, Release(), STAFF).order
    assert _deadline(released) == Deadline(
        DeadlineKind.CONFIRM_PAYMENT, begun.updated_at + timedelta(hours=1)
    )


# D-18 -------------------------------------------------------------------------------------


def test_d18_deadlines_count_real_seconds_across_the_end_of_daylight_saving() -> None:
    """D-18: 30 minutes after 01:15 EST on 2026-11-01 is 01:45 EST, not 30 minutes before;
    30 minutes after 01:45 EDT is 01:15 EST, not 90 minutes later."""
    lines = place().lines
    late = datetime(2026, 11, 1, 1, 15, tzinfo=NEW_YORK, fold=1)  # EST, after the clocks fell
    early = datetime(2026, 11, 1, 1, 45, tzinfo=NEW_YORK)  # EDT, before
    for placed_at in (late, early):
        order = LIFECYCLE.place(PlaceOrder("o-ny", "c-1", lines, ADDRESS), CUSTOMER, placed_at)
        due = _deadline(order.order).due_at
        assert due - placed_at.astimezone(UTC) == timedelta(minutes=30)
        assert due.tzinfo is UTC
        assert order.order.created_at == placed_at.astimezone(UTC)
    placed = LIFECYCLE.place(PlaceOrder("o-ny", "c-1", lines, ADDRESS), CUSTOMER, late).order
    with pytest.raises(CommandRefused):
        LIFECYCLE.handle(
            placed, AutoCloseUnpaid(), SYSTEM, placed.created_at + timedelta(minutes=29)
        )


def test_d18_times_in_history_are_the_same_instants_in_utc() -> None:
    """D-18: the lifecycle keeps times as UTC instants, equal to the ones given."""
    shanghai = datetime(2026, 3, 2, 18, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    order = LIFECYCLE.place(PlaceOrder("o-sh", "c-1", place().lines, ADDRESS), CUSTOMER, shanghai)
    assert order.order.created_at == shanghai
    assert order.order.created_at.tzinfo is UTC
    assert order.order.created_at.hour == 10


# The timers -------------------------------------------------------------------------------


def test_every_deadline_kind_has_a_timer_and_a_stable_command_id() -> None:
    """D-15: each kind fires one command, under an id made of the kind and the instant."""
    assert set(TIMERS) == set(DeadlineKind)
    deadline = Deadline(DeadlineKind.AUTO_CLOSE_UNPAID, datetime(2026, 3, 2, 18, 0, tzinfo=UTC))
    local = Deadline(
        DeadlineKind.AUTO_CLOSE_UNPAID, deadline.due_at.astimezone(ZoneInfo("Asia/Shanghai"))
    )
    assert timer_command_id(deadline) == timer_command_id(local)
    assert timer_command_id(deadline) == "timer:auto_close_unpaid@2026-03-02T18:00:00+00:00"
    order = place()
    command = TIMERS[DeadlineKind.AUTO_CLOSE_UNPAID](order, _deadline(order))
    assert isinstance(command, AutoCloseUnpaid)
    assert command.command_id == timer_command_id(_deadline(order))
    assert TIMERS[DeadlineKind.CONFIRM_PAYMENT](order, _deadline(order)) is None


def test_due_deadlines_are_due_at_their_own_instant() -> None:
    """D-15: due when now >= deadline."""
    order = place()
    due_at = _deadline(order).due_at
    assert due_deadlines(order, due_at - timedelta(microseconds=1)) == []
    assert due_deadlines(order, due_at) == [_deadline(order)]


# The sweep --------------------------------------------------------------------------------


class World:
    """A memory store, a manual clock, a service and a sweep."""

    def __init__(self, store: InMemoryStore | None = None) -> None:
        self.store = store or InMemoryStore()
        self.clock = ManualClock(T0)
        self.service = OrderService(self.store, LIFECYCLE, self.clock)

    def place(self, order_id: str) -> Order:
        command = PlaceOrder(order_id, CUSTOMER.id, place().lines, ADDRESS)
        return self.service.place(command, CUSTOMER).order

    def sweep(self, worker: str = "sweep-1", **options: Any) -> TimerSweep:
        return TimerSweep(self.service, worker=worker, **options)


def test_the_sweep_closes_unpaid_orders_at_the_deadline_and_not_before() -> None:
    """TM-1, CL-7: at 29:59 nothing happens; at 30:00 the order closes, stock released."""
    world = World()
    world.place("o-1")
    world.clock.advance(timedelta(minutes=29, seconds=59))
    assert world.sweep().run().results == ()
    world.clock.advance(timedelta(seconds=1))
    report = world.sweep().run()
    (result,) = report.results
    assert (result.order_id, result.kind, result.status) == (
        "o-1",
        DeadlineKind.AUTO_CLOSE_UNPAID,
        SweepStatus.APPLIED,
    )
    assert (result.event, result.state) == ("auto_close_unpaid", "closed")
    order = world.store.get("o-1")
    assert order.close_reason is CloseReason.PAYMENT_TIMEOUT
    assert order.history[-1].command.command_id == timer_command_id(
        Deadline(DeadlineKind.AUTO_CLOSE_UNPAID, T0 + timedelta(minutes=30))
    )
    assert [e.kind for e in world.store.entries("o-1")][-2:] == ["release_stock", "notify_customer"]


def test_the_sweep_fails_a_payment_left_unconfirmed_and_then_closes_the_order() -> None:
    """D-16, D-10: a begun payment never holds an order: it is failed, then the order closes."""
    world = World()
    world.place("o-1")
    world.clock.advance(timedelta(minutes=20))
    world.service.handle("o-1", BeginPayment("p-1"), CUSTOMER)
    world.clock.advance(timedelta(minutes=59))
    assert world.sweep().run().results == ()
    world.clock.advance(timedelta(minutes=1))
    report = world.sweep().run()
    assert [(r.kind, r.event, r.state) for r in report.results] == [
        (DeadlineKind.CONFIRM_PAYMENT, "fail_payment", "pending_payment"),
        (DeadlineKind.AUTO_CLOSE_UNPAID, "auto_close_unpaid", "closed"),
    ]
    assert world.store.get("o-1").state is OrderState.CLOSED


def test_a_late_payment_after_the_sweep_closed_the_order_is_refunded() -> None:
    """D-16, D-10: a payment arriving after the timeout is not applied and is refunded."""
    world = World()
    order = world.place("o-1")
    world.service.handle("o-1", BeginPayment("p-1"), CUSTOMER)
    world.clock.advance(timedelta(hours=2))
    world.sweep().run()
    late = world.service.handle("o-1", Pay(order.amount_due, "p-1"), SYSTEM)
    assert late.order.state is OrderState.CLOSED
    assert [e.kind for e in late.effects] == ["request_refund", "open_case"]


def test_customers_cannot_stall_the_sweep_with_payments_they_start() -> None:
    """D-16: 100 orders with a payment begun do not keep 50 other due orders from closing."""
    world = World()
    for n in range(100):
        world.place(f"begun-{n:03}")
        world.service.handle(f"begun-{n:03}", BeginPayment(f"p-{n}"), CUSTOMER)
    world.clock.advance(timedelta(minutes=5))
    for n in range(50):
        world.place(f"plain-{n:02}")
    world.clock.advance(timedelta(minutes=40))
    report = world.sweep(batch=10).run()
    assert report.applied == 50
    assert all(world.store.get(f"plain-{n:02}").state is OrderState.CLOSED for n in range(50))
    assert world.store.find_due(world.clock.now()) == []
    world.clock.advance(timedelta(hours=1))
    report = world.sweep(batch=10).run()
    assert report.applied == 200
    assert world.store.find_by_state(OrderState.PENDING_PAYMENT) == []


def test_running_the_sweep_twice_for_one_instant_does_nothing_the_second_time() -> None:
    """D-3, D-15: a rerun applies nothing; a replayed timer command is recognised."""
    world = World()
    world.place("o-1")
    world.clock.advance(timedelta(hours=1))
    assert world.sweep().run().applied == 1
    version = world.store.get("o-1").version
    assert world.sweep().run().results == ()
    assert world.store.get("o-1").version == version
    deadline = Deadline(DeadlineKind.AUTO_CLOSE_UNPAID, T0 + timedelta(minutes=30))
    command = AutoCloseUnpaid(command_id=timer_command_id(deadline))
    assert world.service.handle("o-1", command, Actor.system("timers")).replayed


def test_two_sweepers_share_the_due_orders_without_overlap() -> None:
    """Several sweepers claim disjoint orders; each deadline is applied once."""
    world = World()
    for n in range(30):
        world.place(f"o-{n:02}")
    world.clock.advance(timedelta(hours=1))
    now = world.clock.now()
    first = world.store.claim_due("a", now, limit=10, lease=timedelta(minutes=5))
    second = world.store.claim_due("b", now, limit=100, lease=timedelta(minutes=5))
    assert len(first) == 10
    assert len(second) == 20
    assert not set(first) & set(second)
    assert world.store.claim_due("c", now, limit=100, lease=timedelta(minutes=5)) == []
    later = now + timedelta(minutes=5)
    assert len(world.store.claim_due("c", later, limit=100, lease=timedelta(minutes=5))) == 30


def test_a_claim_is_released_or_extended_only_by_its_worker() -> None:
    """A sweeper ends its own claim, or sets an order aside; never another sweeper's."""
    world = World()
    world.place("o-1")
    world.clock.advance(timedelta(hours=1))
    now = world.clock.now()
    lease = timedelta(minutes=5)
    assert world.store.claim_due("a", now, lease=lease) == ["o-1"]
    world.store.release_due("o-1", "b")
    assert world.store.claim_due("b", now, lease=lease) == []
    world.store.release_due("o-1", "a", until=now + timedelta(hours=1))
    assert world.store.claim_due("b", now + timedelta(minutes=30), lease=lease) == []
    world.store.release_due("o-1", "a")
    assert world.store.claim_due("b", now, lease=lease) == ["o-1"]


class FailingSaves(InMemoryStore):
    """A store whose saves of some orders fail."""

    def __init__(self, failing: set[str]) -> None:
        super().__init__()
        self.failing = failing

    def save(self, order: Order, expected_version: int) -> None:
        """Fail for the chosen orders."""
        if order.id in self.failing:
            raise StoreError("disk full")
        super().save(order, expected_version)


def test_orders_the_sweep_cannot_settle_are_reported_and_never_block_the_rest() -> None:
    """A failing or refused order is set aside until retry_after; every other one is done."""
    stuck = {f"o-{n:03}" for n in range(0, 100)}
    store = FailingSaves(stuck)
    world = World(store)
    for n in range(150):
        world.place(f"o-{n:03}")
    world.clock.advance(timedelta(hours=1))
    report = world.sweep(batch=7, retry_after=timedelta(minutes=10)).run()
    assert report.applied == 50
    assert len(report.set_aside) == 100
    assert {r.order_id for r in report.set_aside} == stuck
    assert all("StoreError" in r.error for r in report.set_aside)
    assert world.sweep(worker="other").run().results == ()
    store.failing.clear()
    world.clock.advance(timedelta(minutes=10))
    assert world.sweep(worker="other").run().applied == 100


def test_a_refused_timer_is_reported_with_its_refusal() -> None:
    """A timer whose command the lifecycle refuses is reported with the refusal's code."""
    world = World()
    world.place("o-1")
    world.clock.advance(timedelta(hours=1))

    def refused_command(order: Order, deadline: Deadline) -> Command:
        return ConfirmDelivery()

    sweep = world.sweep(timers={DeadlineKind.AUTO_CLOSE_UNPAID: refused_command})
    (result,) = sweep.run().results
    assert result.status is SweepStatus.REFUSED
    assert result.refusal is not None
    assert result.refusal.code == "confirm_delivery.invalid_state"
    world.clock.advance(timedelta(minutes=10))
    empty = world.sweep(worker="w2", timers={}).run()
    assert empty.results[0].status is SweepStatus.SKIPPED


def test_the_sweep_confirms_receipt_after_delivery() -> None:
    """TM-5, LC-4: ten days after delivery the order completes by itself."""
    world = World()
    order = world.store
    placed = world.place("o-1")
    del order
    delivered = walk(5, placed)
    world.store.save(delivered, 1)
    world.clock.set(delivered.updated_at + timedelta(days=10))
    results = world.sweep().run().results
    # TM-6: the no-reason window (7 days) closed before; the order completes on day 10.
    kinds = [(result.kind, result.state) for result in results]
    assert (DeadlineKind.AUTO_CONFIRM_RECEIPT, "completed") in kinds
    assert world.store.get("o-1").state is OrderState.COMPLETED


def test_sweep_arguments_are_checked() -> None:
    """Bad sweep settings are refused with InvalidInput."""
    world = World()
    bad: list[dict[str, Any]] = [
        {"batch": 0},
        {"batch": True},
        {"lease": timedelta(0)},
        {"retry_after": 5},
        {"worker": " "},
        {"actor": "system"},
        {"timers": [1]},
    ]
    for options in bad:
        with pytest.raises(InvalidInput):
            world.sweep(**options)
    with pytest.raises(InvalidInput):
        TimerSweep("service")  # type: ignore[arg-type]
    for args in (("", T0), ("w", datetime(2026, 1, 1))):
        with pytest.raises(InvalidInput):
            world.store.claim_due(args[0], args[1], lease=timedelta(minutes=1))
    with pytest.raises(InvalidInput):
        world.store.claim_due("w", T0, lease=timedelta(0))
    with pytest.raises(InvalidInput):
        world.store.claim_due("w", T0, limit=-1, lease=timedelta(minutes=1))
    with pytest.raises(InvalidInput):
        world.store.release_due("o-1", "w", until=datetime(2026, 1, 1))


def test_a_store_that_keeps_finding_a_settled_order_due_cannot_loop_the_sweep() -> None:
    """D-15: an order the sweep settled but the store still claims as due in the same run
    (its deadline index out of step with the order) is reported and set aside, and the run
    ends even when the store ignores being told to set it aside, instead of claiming it
    forever."""

    class StuckIndex(InMemoryStore):
        released: list[datetime | None]

        def claim_due(
            self, worker: str, now: datetime, *, limit: int = 100, lease: timedelta | None = None
        ) -> list[str]:
            return ["o-1"]  # always due, whatever the order says

        def release_due(self, order_id: str, worker: str, *, until: datetime | None = None) -> None:
            self.released.append(until)

    store = StuckIndex()
    store.released = []
    clock = ManualClock(T0)
    service = OrderService(store, LIFECYCLE, clock)
    service.place(PlaceOrder("o-1", CUSTOMER.id, place().lines, ADDRESS), CUSTOMER)
    clock.advance(timedelta(minutes=5))  # nothing is due yet
    report = TimerSweep(service, worker="w").run()
    assert [result.status for result in report.results] == [SweepStatus.FAILED]
    assert "found the order due again" in report.results[0].error
    assert report.batches == 2
    set_aside = T0 + timedelta(minutes=5) + TimerSweep(service).retry_after
    assert store.released == [None, set_aside]
