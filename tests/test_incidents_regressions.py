"""Order exceptions: behaviour pinned after it was found contradicting EX-1..EX-7, D-3 and
PT-1 (each test names what used to happen)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from orderflow import (
    Address,
    AlertStaff,
    ApproveReview,
    CommandRefused,
    Hold,
    InvalidInput,
    Lifecycle,
    Limits,
    NotifyCustomer,
    Order,
    OrderLine,
    OrderState,
    Pay,
    PlaceOrder,
    Release,
    Settings,
    Ship,
    StartFulfilment,
)
from orderflow.adapters.memory import InMemoryStore
from orderflow.adapters.sql import SqlStore
from orderflow.incidents import (
    AcknowledgeException,
    Context,
    ExceptionState,
    ExceptionType,
    Level,
    OpenException,
    Priority,
    RecordTracking,
    Resolution,
    ResolveException,
    Role,
    TrackingEvent,
    TrackingKind,
)
from orderflow.model import Actor
from orderflow.ports import ManualClock
from orderflow.serialization import dump, load
from orderflow.service import OrderService
from tests.support import ADDRESS, STAFF, SYSTEM, T0, cny

LC = Lifecycle()


def _paid(order_id: str, price: str = "44.00", address: Address = ADDRESS) -> Order:
    line = OrderLine("TEA", 2, cny(price))
    placed = LC.place(
        PlaceOrder(order_id, "c-1", (line,), address), Actor.customer("c-1"), T0
    ).order
    return LC.handle(placed, Pay(line.total, f"pay-{order_id}"), SYSTEM, T0).order


def test_ex4_a_case_the_carrier_reports_is_routed_by_the_matrix_when_it_opens() -> None:
    """EX-4: a customs hold goes external to legal, a damaged high-value parcel to level 2,
    at opening (they used to open at no level, routed only once a target was missed)."""
    order = _paid("o-tv", "2500.00")
    for command in (ApproveReview(), StartFulfilment(), Ship("SF", "SF1")):
        order = LC.handle(order, command, STAFF, T0).order
    for kind in (TrackingKind.CUSTOMS_HOLD, TrackingKind.DAMAGED):
        order = LC.handle(order, RecordTracking(TrackingEvent(kind, T0)), SYSTEM, T0).order
    routed = {case.type: (case.level, case.role, case.state) for case in order.exceptions}
    assert routed[ExceptionType.THIRD_PARTY_HOLD] == (
        Level.EXTERNAL,
        Role.LEGAL,
        ExceptionState.OPENED,
    )
    assert routed[ExceptionType.LOGISTICS_DAMAGED] == (
        Level.LEVEL_2,
        Role.SENIOR_SUPERVISOR,
        ExceptionState.OPENED,
    )


def test_ex5_a_case_routed_at_opening_keeps_its_response_target_and_can_be_acknowledged() -> None:
    """EX-4, EX-5: a VIP's urgent major complaint goes to level 1 at once and must still be
    answered within 30 minutes; acknowledging it answers it (it used to open escalated, with
    only the 48-hour target running, and acknowledging was refused)."""
    order = _paid("o-vip")
    command = OpenException(
        ExceptionType.COMPLAINT, "angry customer", major=True, priority=Priority.URGENT
    )
    order = LC.handle(order, command, STAFF, T0, context=Context(vip=True)).order
    (case,) = order.exceptions
    assert (case.level, case.role, case.state) == (
        Level.LEVEL_1,
        Role.DEPARTMENT_HEAD,
        ExceptionState.OPENED,
    )
    assert case.deadline is not None
    assert case.deadline.due_at == T0 + timedelta(minutes=30)
    later = T0 + timedelta(minutes=10)
    answered = LC.handle(order, AcknowledgeException(case.case_id), STAFF, later).order
    acknowledged = answered.exception(case.case_id)
    assert acknowledged is not None
    assert acknowledged.state is ExceptionState.ACKNOWLEDGED
    assert acknowledged.level is Level.LEVEL_1


def test_ex3_correcting_info_with_an_address_still_incomplete_is_refused() -> None:
    """EX-3: a customer-info case is resolved by an address the review would accept; one
    still missing parts, or with a phone the check rejects, is refused and changes nothing
    (it used to resolve the case and release the order)."""
    order = _paid("o-info", address=Address("Li Lei", "", "1 Wensan Road", "Hangzhou"))
    order = LC.handle(order, ApproveReview(), STAFF, T0).order
    assert order.state is OrderState.ON_HOLD
    case_id = order.exceptions[0].case_id
    for wrong in (
        Address("Li Lei", "", "", "Hangzhou"),
        Address("Li Lei", "12345", "1 Wensan Road", "Hangzhou"),
    ):
        command = ResolveException(case_id, Resolution.CORRECT_INFO, "called", address=wrong)
        with pytest.raises(CommandRefused) as refused:
            LC.handle(order, command, STAFF, T0)
        assert refused.value.code == "resolve_exception.does_not_fit"
    fixed = Address("Li Lei", "13800138000", "1 Wensan Road", "Hangzhou")
    command = ResolveException(case_id, Resolution.CORRECT_INFO, "called", address=fixed)
    released = LC.handle(order, command, STAFF, T0).order
    assert released.state is OrderState.PAID
    assert released.address == fixed


def test_ex5_the_case_whose_resolution_closes_the_order_is_followed_up() -> None:
    """EX-5, D-13: refunding and closing an order over a price error closes the case with
    its follow-up due 24 hours later (it used to be marked followed up, with no deadline);
    another open case the closing ends has no follow-up."""
    order = _paid("o-price", "10.00")
    context = Context(list_prices={"TEA": cny("100.00")})
    order = LC.handle(order, ApproveReview(), STAFF, T0, context=context).order
    (price_case,) = order.exceptions
    order = LC.handle(order, OpenException(ExceptionType.COMPLAINT, "asked twice"), STAFF, T0).order
    at = T0 + timedelta(minutes=10)
    command = ResolveException(price_case.case_id, Resolution.REFUND_AND_CLOSE, "priced wrong")
    closed = LC.handle(order, command, STAFF, at).order
    assert closed.state is OrderState.CLOSED
    resolved, ended = closed.exceptions
    assert resolved.state is ExceptionState.CLOSED
    assert resolved.resolution is Resolution.REFUND_AND_CLOSE
    assert not resolved.followed_up
    assert resolved.deadline is not None
    assert resolved.deadline.due_at == at + timedelta(hours=24)
    assert ended.resolution is Resolution.ORDER_CLOSED
    assert ended.followed_up
    assert ended.deadline is None


def test_ex1_an_out_of_stock_case_opened_by_hand_names_its_units_and_can_be_refunded() -> None:
    """EX-1, EX-3: an agent opening an out-of-stock case names the short SKU and units, so
    the refund resolution refunds them (it used to be refused: no evidence of the units)."""
    order = _paid("o-hand")
    command = OpenException(ExceptionType.OUT_OF_STOCK, "none left", sku="TEA", missing=1)
    order = LC.handle(order, command, STAFF, T0).order
    (case,) = order.exceptions
    assert (case.evidence["ordered"], case.evidence["available"]) == (2, 1)
    refunded = LC.handle(
        order, ResolveException(case.case_id, Resolution.REFUND, "refund one"), STAFF, T0
    )
    (refund,) = refunded.order.ledger.refunds
    assert refund.amount == cny("44.00")
    assert refunded.order.state is OrderState.PAID


def test_ex1_the_units_an_agent_names_must_fit_the_order() -> None:
    """EX-1: a SKU not on the order, or more units than ordered, is refused at handling;
    units without a SKU, or on another type of case, at construction."""
    order = _paid("o-units")
    for sku, missing in (("CUP", 1), ("TEA", 3)):
        command = OpenException(ExceptionType.OUT_OF_STOCK, "short", sku=sku, missing=missing)
        with pytest.raises(CommandRefused) as refused:
            LC.handle(order, command, STAFF, T0)
        assert refused.value.code == "open_exception.shortage_does_not_fit"
    with pytest.raises(InvalidInput):
        OpenException(ExceptionType.OUT_OF_STOCK, "short", missing=1)
    with pytest.raises(InvalidInput):
        OpenException(ExceptionType.COMPLAINT, "short", sku="TEA", missing=1)
    with pytest.raises(InvalidInput):
        OpenException(ExceptionType.OUT_OF_STOCK, "short", sku="TEA", missing=0)


def test_ex2_a_case_an_agent_opens_holding_the_order_alerts_staff() -> None:
    """EX-2: opening a case that holds the order tells staff as opening one without a hold
    does (the holding case used to open silently)."""
    order = _paid("o-held")
    outcome = LC.handle(
        order, OpenException(ExceptionType.COMPLAINT, "rude courier", hold=True), STAFF, T0
    )
    assert outcome.order.state is OrderState.ON_HOLD
    (alert,) = [effect for effect in outcome.effects if isinstance(effect, AlertStaff)]
    assert alert.case_id == outcome.order.exceptions[0].case_id


def test_an_order_holding_a_hand_opened_case_is_stored_and_read_back() -> None:
    """PT-1: an order whose history holds an agent's ``OpenException`` loads from its
    document and from every store's rows (the command's type field used to be called
    ``type`` and was overwritten by the document's command tag, so no store could read the
    order back)."""
    order = _paid("o-doc")
    command = OpenException(ExceptionType.OUT_OF_STOCK, "none left", sku="TEA", missing=1)
    order = LC.handle(order, command, STAFF, T0).order
    assert load(dump(command), OpenException) == command
    assert load(dump(order), Order) == order
    memory = InMemoryStore()
    memory.add(order)
    assert memory.get("o-doc") == order
    uncached = SqlStore.sqlite(":memory:", cache_size=0)  # read back from its rows
    try:
        uncached.add(order)
        assert uncached.get("o-doc") == order
    finally:
        uncached.close()


def test_ex3_a_lost_parcel_settled_with_the_customer_is_claimed_from_the_carrier() -> None:
    """EX-3: "a carrier claim plus reship, refund or compensation": settling a lost or
    damaged parcel tells staff to file the claim with the carrier, in the same outcome (the
    claim used to be left to memory)."""
    for resolution in (Resolution.RESHIP, Resolution.REFUND, Resolution.COMPENSATE):
        order = _paid(f"o-lost-{resolution.value}")
        for command in (ApproveReview(), StartFulfilment(), Ship("SF", "SF1")):
            order = LC.handle(order, command, STAFF, T0).order
        lost = RecordTracking(TrackingEvent(TrackingKind.LOST, T0))
        order = LC.handle(order, lost, SYSTEM, T0).order
        (case,) = order.exceptions
        outcome = LC.handle(order, ResolveException(case.case_id, resolution, "lost"), STAFF, T0)
        claims = [
            effect
            for effect in outcome.effects
            if isinstance(effect, AlertStaff) and effect.topic == "carrier_claim"
        ]
        assert len(claims) == 1, resolution
        assert "SF SF1" in claims[0].message
        assert len({effect.id for effect in outcome.effects}) == len(outcome.effects)


def test_a_carriers_feed_cannot_grow_an_order_without_bound() -> None:
    """TM-4, PT-1: a shipment records at most ``Limits.tracking_events_per_order`` events;
    one more is refused and changes nothing (a feed replaying events without command ids
    used to grow the order's history without limit)."""
    shop = Lifecycle(Settings(limits=Limits(tracking_events_per_order=3)))
    order = shop.place(
        PlaceOrder("o-feed", "c-1", (OrderLine("TEA", 1, cny("10.00")),), ADDRESS),
        Actor.customer("c-1"),
        T0,
    ).order
    order = shop.handle(order, Pay(cny("10.00"), "p-feed"), SYSTEM, T0).order
    for command in (ApproveReview(), StartFulfilment(), Ship("SF", "SF1")):
        order = shop.handle(order, command, STAFF, T0).order
    event = RecordTracking(TrackingEvent(TrackingKind.IN_TRANSIT, T0, "hub"))
    for _ in range(3):
        order = shop.handle(order, event, SYSTEM, T0).order
    with pytest.raises(CommandRefused) as refused:
        shop.handle(order, event, SYSTEM, T0)
    assert refused.value.code == "record_tracking.too_many_events"
    assert order.shipment is not None
    assert len(order.shipment.events) == 3


def test_agents_open_at_most_the_limit_of_cases_on_one_order() -> None:
    """EX-2: an agent opens at most ``Limits.exception_cases_per_order`` cases by hand on one
    order; cases the review opens do not count against it."""
    shop = Lifecycle(Settings(limits=Limits(exception_cases_per_order=2)))
    order = shop.place(
        PlaceOrder("o-many", "c-1", (OrderLine("TEA", 1, cny("10.00")),), ADDRESS),
        Actor.customer("c-1"),
        T0,
    ).order
    order = shop.handle(order, Pay(cny("10.00"), "p-many"), SYSTEM, T0).order
    complaint = OpenException(ExceptionType.COMPLAINT, "asked again")
    for _ in range(2):
        order = shop.handle(order, complaint, STAFF, T0).order
    with pytest.raises(CommandRefused) as refused:
        shop.handle(order, complaint, STAFF, T0)
    assert refused.value.code == "open_exception.too_many_cases"
    assert len(order.exceptions) == 2


def test_ex3_a_difference_without_prices_in_evidence_is_told_without_a_sum() -> None:
    """EX-3: a price-error case an agent opened by hand has no prices in its evidence: paying
    the difference tells the customer a difference is due, naming no amount it cannot know."""
    order = _paid("o-diff")
    order = LC.handle(order, OpenException(ExceptionType.PRICE_ERROR, "mispriced"), STAFF, T0).order
    (case,) = order.exceptions
    outcome = LC.handle(
        order, ResolveException(case.case_id, Resolution.PAY_DIFFERENCE, "agreed"), STAFF, T0
    )
    (told,) = [effect for effect in outcome.effects if isinstance(effect, NotifyCustomer)]
    assert told.message == "A price difference is due: agreed"
    assert "amount" not in told.details


def test_ex6_a_staff_hold_a_holding_case_joined_is_released_only_through_the_case() -> None:
    """EX-6, LC-6: staff hold an order, then an agent opens a case that holds it: releasing
    the staff hold is refused while the case is open (it used to release the order under an
    open holding case); once the case is resolved, the staff hold is still there, and staff
    release it."""
    order = _paid("o-both")
    order = LC.handle(order, Hold("checking the address"), STAFF, T0).order
    command = OpenException(ExceptionType.COMPLAINT, "asked to wait", hold=True)
    order = LC.handle(order, command, STAFF, T0).order
    (case,) = order.exceptions
    with pytest.raises(CommandRefused) as refused:
        LC.handle(order, Release(), STAFF, T0)
    assert refused.value.code == "release.held_by_case"
    resolved = LC.handle(
        order, ResolveException(case.case_id, Resolution.ANSWERED, "called"), STAFF, T0
    ).order
    assert resolved.state is OrderState.ON_HOLD  # the staff hold is staff's to lift
    released = LC.handle(resolved, Release(), STAFF, T0).order
    assert released.state is OrderState.PAID


def test_d3_a_command_given_in_a_fall_back_hour_replays_after_a_store_read_it_back() -> None:
    """D-3, D-18: a carrier's event at 01:30 on the night New York's clocks fall back, sent
    twice under one command id with the order read back from the store in between, is a
    replay (it used to be refused as another payload: an ambiguous local time never equals
    the same instant in another zone, and the store gives times back in UTC). A restock ETA
    is kept the same way."""
    new_york = ZoneInfo("America/New_York")
    at = datetime(2026, 11, 1, 1, 30, tzinfo=new_york)
    event = TrackingEvent(TrackingKind.IN_TRANSIT, at, "hub")
    assert event.at == at.astimezone(UTC)
    assert event.at.tzinfo is UTC
    eta = ResolveException("o-1/exception/1", Resolution.WAIT_FOR_RESTOCK, "x", eta=at).eta
    assert eta is not None
    assert eta.tzinfo is UTC
    order = _paid("o-fold")
    for command in (ApproveReview(), StartFulfilment(), Ship("SF", "SF1")):
        order = LC.handle(order, command, STAFF, T0).order
    store = SqlStore.sqlite(":memory:", cache_size=0)
    try:
        store.add(order)
        service = OrderService(store, LC, ManualClock(T0 + timedelta(hours=1)))
        feed = RecordTracking(
            TrackingEvent(TrackingKind.IN_TRANSIT, at, "hub"), command_id="feed-1"
        )
        first = service.handle("o-fold", feed, SYSTEM)
        again = service.handle(
            "o-fold",
            RecordTracking(TrackingEvent(TrackingKind.IN_TRANSIT, at, "hub"), command_id="feed-1"),
            SYSTEM,
        )
        assert again.replayed
        assert again.order.version == first.order.version
    finally:
        store.close()
