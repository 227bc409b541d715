"""Order exceptions end to end through :class:`OrderService` and the timer sweep on every
store: in memory, SQLite, PostgreSQL and MariaDB (TM-2, TM-3, TM-4, TM-7, EX-3, EX-4, EX-5,
D-15, PT-4).

PostgreSQL and MariaDB run when ``ORDERFLOW_TEST_POSTGRES_URL`` / ``ORDERFLOW_TEST_MYSQL_URL``
are set, and are skipped with a message otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta

from orderflow import (
    AlertStaff,
    ApproveReview,
    Command,
    Money,
    NotifyCustomer,
    OpenCase,
    Order,
    Pay,
    PlaceOrder,
    ReleaseStock,
    RequestRefund,
    ReserveStock,
    Ship,
    StartFulfilment,
)
from orderflow.incidents import (
    PLAYBOOKS,
    AcknowledgeException,
    CloseException,
    ExceptionState,
    ExceptionType,
    Level,
    OpenException,
    Priority,
    RecordTracking,
    Resolution,
    ResolveException,
    TrackingEvent,
    TrackingKind,
)
from orderflow.machine import check_invariants
from orderflow.model import Actor, OrderState
from orderflow.order import DeadlineKind
from orderflow.ports import ManualClock, OrderStore
from orderflow.relay import OutboxRelay, Routes
from orderflow.service import OrderService
from orderflow.sweep import SweepStatus, TimerSweep
from orderflow.testing.fakes import RecordingHandler, RecordingNotifier
from tests.case_support import ADDRESS, BUYER, LC, LINES, PAID, PLACED_AT, STAFF, SYSTEM
from tests.test_aftersales_service import store  # the same stores, one of each kind

__all__ = ["store"]


class Shelf:
    """The host's context port: everything in stock, no list prices, no VIPs."""

    def stock_levels(self, skus: Sequence[str]) -> Mapping[str, int]:
        """Plenty of every SKU."""
        return dict.fromkeys(skus, 100)

    def list_prices(self, skus: Sequence[str]) -> Mapping[str, Money]:
        """No data: nothing is price-checked."""
        return {}

    def is_vip(self, customer_id: str) -> bool:
        """Nobody is a VIP."""
        return False


class Desk:
    """A service with a clock the test moves, a context port, a sweep and a relay."""

    def __init__(self, store: OrderStore) -> None:
        self.clock = ManualClock(PLACED_AT)
        self.service = OrderService(store, LC, self.clock, context=Shelf())
        self.notifier = RecordingNotifier()
        self.alerts = RecordingHandler()
        routes = (
            Routes()
            .on(RequestRefund, RecordingHandler())
            .on(AlertStaff, self.alerts)
            .on(ReserveStock, RecordingHandler())
            .on(ReleaseStock, RecordingHandler())
        )
        self.relay = OutboxRelay(
            store, handlers=routes, notifier=self.notifier, drop=[OpenCase], clock=self.clock
        )
        self.sweep = TimerSweep(self.service, worker="sweep-1")

    def send(self, order_id: str, command: Command, actor: Actor) -> Order:
        """Handle a command now and return the saved order."""
        return self.service.handle(order_id, command, actor).order

    def paid(self, order_id: str) -> Order:
        """A new order, paid now."""
        self.service.place(PlaceOrder(order_id, BUYER.id, LINES, ADDRESS), BUYER)
        return self.send(order_id, Pay(PAID, f"pay-{order_id}"), SYSTEM)


def _open(order: Order) -> list[ExceptionState]:
    return [case.state for case in order.exceptions if case.state is not ExceptionState.CLOSED]


def test_every_service_level_timer_fires_through_the_sweep(store: OrderStore) -> None:
    """TM-2, TM-3, TM-4, D-15: on every store, a review left for an hour opens a staff-only
    review-overdue case and alerts staff; an order not shipped 48 hours after payment opens
    a logistics-delay case and tells the customer; a parcel silent for 72 hours opens a
    logistics case at level 3, and a tracking event restarts that clock. Each fires at its
    exact instant, never a second before; a second sweep at the same instant does nothing;
    the stored orders hold together."""
    desk = Desk(store)
    paid_at = desk.clock.now()
    desk.paid("o-review")

    desk.clock.set(paid_at + timedelta(minutes=59, seconds=59))
    assert desk.sweep.run().results == ()
    desk.clock.set(paid_at + timedelta(hours=1))
    report = desk.sweep.run()
    assert [(r.order_id, r.kind, r.status) for r in report.results] == [
        ("o-review", DeadlineKind.REVIEW_OVERDUE, SweepStatus.APPLIED)
    ]
    assert "opened a case" in report.results[0].did
    assert desk.sweep.run().results == ()  # the same instant again: nothing to do
    order = store.get("o-review")
    (case,) = order.exceptions
    assert case.type is ExceptionType.REVIEW_OVERDUE
    assert order.state is OrderState.PAID  # an alert, not a hold
    desk.relay.run_once()
    assert any(isinstance(effect, AlertStaff) for effect in desk.alerts.handled)

    # TM-3: the review done, the order not shipped 48 hours after payment
    desk.send("o-review", ApproveReview(), STAFF)
    desk.clock.set(paid_at + timedelta(hours=47, minutes=59, seconds=59))
    assert DeadlineKind.SHIPMENT_OVERDUE not in [r.kind for r in desk.sweep.run().results]
    before = store.get("o-review")
    assert not any(c.type is ExceptionType.LOGISTICS_DELAYED for c in before.exceptions)
    desk.clock.set(paid_at + timedelta(hours=48))
    kinds = [r.kind for r in desk.sweep.run().results]
    assert DeadlineKind.SHIPMENT_OVERDUE in kinds
    delayed = store.get("o-review")
    assert [c.type for c in delayed.exceptions].count(ExceptionType.LOGISTICS_DELAYED) == 1
    desk.relay.run_once()
    assert any(
        isinstance(note, NotifyCustomer) and note.order_id == "o-review"
        for note in desk.notifier.delivered
    )

    # TM-4: shipped, then silent; a tracking event restarts the 72 hours
    desk.clock.set(paid_at + timedelta(hours=49))
    desk.paid("o-parcel")
    desk.send("o-parcel", ApproveReview(), STAFF)
    desk.send("o-parcel", StartFulfilment(), STAFF)
    shipped_at = desk.clock.now()
    desk.send("o-parcel", Ship("SF Express", "SF9"), STAFF)
    desk.clock.set(shipped_at + timedelta(hours=40))
    event = TrackingEvent(TrackingKind.IN_TRANSIT, desk.clock.now(), "Hangzhou hub")
    desk.send("o-parcel", RecordTracking(event), SYSTEM)
    desk.clock.set(shipped_at + timedelta(hours=72))
    assert not any(
        r.kind is DeadlineKind.TRACKING_SILENCE and r.order_id == "o-parcel"
        for r in desk.sweep.run().results
    )
    desk.clock.set(event.at + timedelta(hours=72))
    fired = [r for r in desk.sweep.run().results if r.order_id == "o-parcel"]
    assert [(r.kind, r.status) for r in fired] == [
        (DeadlineKind.TRACKING_SILENCE, SweepStatus.APPLIED)
    ]
    parcel = store.get("o-parcel")
    (silent,) = [c for c in parcel.exceptions if c.type is ExceptionType.LOGISTICS_DELAYED]
    assert silent.level is Level.LEVEL_3
    assert parcel.state is OrderState.SHIPPED

    for order_id in ("o-review", "o-parcel"):
        check_invariants(store.get(order_id))
        assert store.get(order_id) == desk.service.get(order_id)


def test_a_case_is_acknowledged_resolved_and_closed_through_the_service(
    store: OrderStore,
) -> None:
    """EX-3, EX-5, TM-7: an overdue-review case opened by the sweep is acknowledged (which
    meets its response target: its deadline moves on to the solution target), resolved by
    the review it was waiting for (a resolution from its playbook, in the same version) and
    closed, on every store; the stored order equals the service's."""
    desk = Desk(store)
    paid_at = desk.clock.now()
    desk.paid("o-1")
    desk.clock.set(paid_at + timedelta(hours=1))
    desk.sweep.run()
    (case,) = store.get("o-1").exceptions
    assert case.state is ExceptionState.OPENED
    assert case.deadline is not None
    response_due = case.deadline.due_at

    desk.clock.advance(timedelta(minutes=5))
    order = desk.send("o-1", AcknowledgeException(case.case_id, "looking"), STAFF)
    acknowledged = order.exception(case.case_id)
    assert acknowledged is not None
    assert acknowledged.state is ExceptionState.ACKNOWLEDGED
    assert acknowledged.deadline is not None
    assert acknowledged.deadline.due_at > response_due

    version = store.get("o-1").version
    order = desk.send("o-1", ApproveReview(), STAFF)  # the review done resolves its case
    assert order.version == version + 1
    resolved = order.exception(case.case_id)
    assert resolved is not None
    assert resolved.state is ExceptionState.RESOLVED
    assert resolved.resolution in PLAYBOOKS[case.type]
    order = desk.send("o-1", CloseException(case.case_id), STAFF)
    assert _open(order) == []
    assert store.get("o-1") == order
    check_invariants(order)


def test_case_targets_and_the_restock_check_fire_through_the_sweep(store: OrderStore) -> None:
    """TM-7, EX-4, EX-5, D-15: on every store, a case left unanswered escalates by itself at
    its response target (never a second before), and an out-of-stock case waiting for a
    restock is released by the sweep at its ETA once the context has stock again."""
    desk = Desk(store)
    shelf = Shelf()
    levels: dict[str, int] = {}
    desk.service = OrderService(store, LC, desk.clock, context=_Stocked(shelf, levels))
    desk.sweep = TimerSweep(desk.service, worker="sweep-1")
    opened_at = desk.clock.now()
    desk.paid("o-target")
    order = desk.send(
        "o-target",
        OpenException(ExceptionType.COMPLAINT, "no answer", priority=Priority.URGENT),
        STAFF,
    )
    (case,) = order.exceptions
    desk.clock.set(opened_at + timedelta(minutes=29, seconds=59))
    assert all(r.order_id != "o-target" for r in desk.sweep.run().results)
    desk.clock.set(opened_at + timedelta(minutes=30))
    fired = [r for r in desk.sweep.run().results if r.order_id == "o-target"]
    assert [(r.kind, r.status) for r in fired] == [
        (DeadlineKind.EXCEPTION_TARGET, SweepStatus.APPLIED)
    ]
    missed = store.get("o-target").exception(case.case_id)
    assert missed is not None
    assert (missed.state, missed.level, missed.targets_missed) == (
        ExceptionState.ESCALATED,
        Level.LEVEL_3,
        1,
    )

    # the restock: out of stock at review, wait for the ETA, in stock again by then
    levels["BOWL"] = 0
    desk.paid("o-stock")
    held = desk.send("o-stock", ApproveReview(), STAFF)
    assert held.state is OrderState.ON_HOLD
    (short,) = [c for c in held.exceptions if c.type is ExceptionType.OUT_OF_STOCK]
    eta = desk.clock.now() + timedelta(days=1)
    desk.send(
        "o-stock",
        ResolveException(short.case_id, Resolution.WAIT_FOR_RESTOCK, "supplier", eta=eta),
        STAFF,
    )
    levels["BOWL"] = 50
    desk.clock.set(eta)
    fired = [r for r in desk.sweep.run().results if r.order_id == "o-stock"]
    assert [(r.kind, r.status) for r in fired] == [(DeadlineKind.RESTOCK_DUE, SweepStatus.APPLIED)]
    assert "released" in fired[0].did
    released = store.get("o-stock")
    assert released.state is OrderState.PAID
    assert released == desk.service.get("o-stock")


class _Stocked:
    """A context port whose stock levels the test sets (missing SKUs: plenty)."""

    def __init__(self, shelf: Shelf, levels: dict[str, int]) -> None:
        self.shelf = shelf
        self.levels = levels

    def stock_levels(self, skus: Sequence[str]) -> Mapping[str, int]:
        """The levels set, 100 for the rest."""
        return {sku: self.levels.get(sku, 100) for sku in skus}

    def list_prices(self, skus: Sequence[str]) -> Mapping[str, Money]:
        """No data."""
        return self.shelf.list_prices(skus)

    def is_vip(self, customer_id: str) -> bool:
        """Nobody."""
        return self.shelf.is_vip(customer_id)
