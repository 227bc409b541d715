"""Every order-exception timer at its exact boundary, with a manual clock, through the timer
sweep and the service (TM-2, TM-3, TM-4, TM-7, the restock ETA; D-15: each due instant is
inclusive). A second run of the sweep at the same instant does nothing, and the sweep says
what it did for each order (its ``SweepResult``)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from orderflow import (
    AlertStaff,
    ApproveReview,
    Close,
    CloseReason,
    Lifecycle,
    NotifyCustomer,
    Order,
    Pay,
    Settings,
    StartFulfilment,
)
from orderflow.deadlines import DeadlineKind
from orderflow.effects import NotificationTopic
from orderflow.incidents import (
    ExceptionType,
    IncidentSettings,
    Level,
    Priority,
    Resolution,
    Role,
    ServiceTargets,
    TrackingEvent,
    TrackingKind,
)
from orderflow.incidents.case import ExceptionCase, ExceptionState, Origin
from orderflow.incidents.commands import (
    AcknowledgeException,
    CloseException,
    OpenException,
    RecordFollowUp,
    RecordTracking,
    ResolveException,
)
from orderflow.model import OrderState
from orderflow.sweep import SweepReport, SweepResult, SweepStatus
from tests.exception_support import Shop, only_case
from tests.support import CUSTOMER, SYSTEM

E = ExceptionType
S = ExceptionState
SECOND = timedelta(seconds=1)
LONG = timedelta(days=30)
PATIENT = Lifecycle(
    Settings(
        incidents=IncidentSettings(
            targets=ServiceTargets(acknowledge=dict.fromkeys(Priority, LONG), solution=LONG)
        )
    )
)
"""A shop whose cases' own targets lie a month away, so that only TM-4 fires."""


def one_result(report: SweepReport, order_id: str = "o-1") -> SweepResult:
    """The one thing the sweep did, for ``order_id``."""
    assert [result.order_id for result in report.results] == [order_id]
    return report.results[0]


def paid_at(order: Order) -> datetime:
    """When the order was paid."""
    return order.ledger.payments[0].at


def last_effects(order: Order) -> tuple[object, ...]:
    """The effects of the order's last command."""
    return order.history.last.effects


def unchanged_by_a_second_run(shop: Shop, at: datetime) -> None:
    """D-3, D-15: the sweep run again for the same instant does nothing and changes nothing."""
    before = shop.order()
    assert shop.sweep(at).results == ()
    assert shop.order() == before


# -- TM-2 -------------------------------------------------------------------------------------


def test_tm2_review_overdue_fires_at_one_hour_after_payment_and_not_a_second_before() -> None:
    """TM-2: a paid order not reviewed: at 59:59 nothing; at 1:00:00 an internal alert and a
    staff-only ``review_overdue`` case (no customer notice); the sweep says it opened a case;
    a second run does nothing; the review then resolves the case."""
    shop = Shop()
    due = paid_at(shop.paid()) + timedelta(hours=1)
    assert shop.sweep(due - SECOND).results == ()
    result = one_result(shop.sweep(due))
    assert (result.kind, result.due_at, result.status, result.event) == (
        DeadlineKind.REVIEW_OVERDUE,
        due,
        SweepStatus.APPLIED,
        "flag_review_overdue",
    )
    assert (result.state, result.did) == ("paid", "opened a case")
    order = shop.order()
    case = only_case(order)
    assert (case.type, case.origin, case.holds) == (E.REVIEW_OVERDUE, Origin.TIMER, False)
    effects = last_effects(order)
    assert [type(effect) for effect in effects] == [AlertStaff]
    assert not any(d.kind is DeadlineKind.REVIEW_OVERDUE for d in order.deadlines)
    unchanged_by_a_second_run(shop, due)
    reviewed = shop.send("o-1", ApproveReview()).order
    assert reviewed.state is OrderState.AWAITING_SHIPMENT
    assert (only_case(reviewed).state, only_case(reviewed).resolution) == (
        S.RESOLVED,
        Resolution.REVIEWED,
    )


def test_tm2_a_review_in_time_stops_the_timer() -> None:
    """TM-2, D-15: reviewed before the hour, the order carries no review deadline and the
    sweep at the hour does nothing."""
    shop = Shop()
    due = paid_at(shop.paid()) + timedelta(hours=1)
    reviewed = shop.send("o-1", ApproveReview()).order
    assert not any(d.kind is DeadlineKind.REVIEW_OVERDUE for d in reviewed.deadlines)
    assert shop.sweep(due).results == ()


# -- TM-3 -------------------------------------------------------------------------------------


def test_tm3_not_shipped_48_hours_after_payment_opens_a_delay_case_and_tells_the_customer() -> None:
    """TM-3: reviewed but not shipped: at 47:59:59 nothing; at 48:00:00 a logistics-delay
    case and a customer notice; a second run does nothing; the timer does not come back."""
    shop = Shop()
    order = shop.reviewed()
    due = paid_at(order) + timedelta(hours=48)
    assert shop.sweep(due - SECOND).results == ()
    result = one_result(shop.sweep(due))
    assert (result.kind, result.status, result.event, result.did) == (
        DeadlineKind.SHIPMENT_OVERDUE,
        SweepStatus.APPLIED,
        "flag_shipment_overdue",
        "opened a case",
    )
    order = shop.order()
    case = only_case(order)
    assert (case.type, case.origin) == (E.LOGISTICS_DELAYED, Origin.TIMER)
    notices = [e for e in last_effects(order) if isinstance(e, NotifyCustomer)]
    assert [n.topic for n in notices] == [NotificationTopic.EXCEPTION]
    assert notices[0].details["case_id"] == case.case_id
    assert not any(d.kind is DeadlineKind.SHIPMENT_OVERDUE for d in order.deadlines)
    unchanged_by_a_second_run(shop, due)


def test_tm3_a_held_order_is_still_overdue_and_one_in_fulfilment_too() -> None:
    """TM-3: the 48 hours run while the order is held, and while the warehouse works on it."""
    shop = Shop()
    shop.host.stock = {"SKU-A": 0}
    held = shop.reviewed()
    assert held.state is OrderState.ON_HOLD
    due = paid_at(held) + timedelta(hours=48)
    assert any(d.kind is DeadlineKind.SHIPMENT_OVERDUE and d.due_at == due for d in held.deadlines)
    shop.host.stock = {}
    shop.reviewed("o-2", lines=(held.lines[1],))
    started = shop.send("o-2", StartFulfilment()).order
    assert any(d.kind is DeadlineKind.SHIPMENT_OVERDUE for d in started.deadlines)


# -- TM-4 -------------------------------------------------------------------------------------


def test_tm4_silence_72_hours_from_shipment_opens_a_case_at_level_3() -> None:
    """TM-4, EX-4: shipped without a tracking update: at 71:59:59 nothing; at 72:00:00 a
    logistics-delay case opened escalated to level 3 (technical support); a second run does
    nothing."""
    shop = Shop(PATIENT)
    shipped = shop.shipped()
    assert shipped.shipment is not None
    due = shipped.shipment.shipped_at + timedelta(hours=72)
    assert shop.sweep(due - SECOND).results == ()
    result = one_result(shop.sweep(due))
    assert (result.kind, result.event, result.did) == (
        DeadlineKind.TRACKING_SILENCE,
        "flag_tracking_silence",
        "opened a case",
    )
    case = only_case(shop.order())
    assert (case.type, case.state, case.level, case.role) == (
        E.LOGISTICS_DELAYED,
        S.ESCALATED,
        Level.LEVEL_3,
        Role.TECHNICAL_SUPPORT,
    )
    assert not any(d.kind is DeadlineKind.TRACKING_SILENCE for d in shop.order().deadlines)
    unchanged_by_a_second_run(shop, due)


def test_tm4_each_tracking_event_restarts_the_wait() -> None:
    """TM-4: an ordinary in-transit update restarts the 72 hours from the event: the first
    deadline passes without anything, the new one fires at its own instant."""
    shop = Shop(PATIENT)
    shipped = shop.shipped()
    assert shipped.shipment is not None
    first_due = shipped.shipment.shipped_at + timedelta(hours=72)
    seen = first_due - timedelta(hours=10)
    shop.clock.set(seen)
    order = shop.send("o-1", RecordTracking(TrackingEvent(TrackingKind.IN_TRANSIT, seen)), SYSTEM)
    assert order.order.exceptions == ()
    new_due = seen + timedelta(hours=72)
    assert [d.due_at for d in order.order.deadlines if d.kind is DeadlineKind.TRACKING_SILENCE] == [
        new_due
    ]
    assert shop.sweep(first_due).results == ()
    assert shop.sweep(new_due - SECOND).results == ()
    assert one_result(shop.sweep(new_due)).kind is DeadlineKind.TRACKING_SILENCE


def test_tm4_silence_escalates_the_open_logistics_case_to_level_3() -> None:
    """TM-4, EX-4: an open logistics case (a delay the carrier reported) is escalated to level
    3 when the silence after that event reaches 72 hours; no second case is opened."""
    shop = Shop(PATIENT)
    shop.shipped()
    seen = shop.now
    reported = shop.send(
        "o-1", RecordTracking(TrackingEvent(TrackingKind.DELAYED, seen)), SYSTEM
    ).order
    case = only_case(reported)
    assert case.state is S.OPENED
    due = seen + timedelta(hours=72)
    assert shop.sweep(due - SECOND).results == ()
    result = one_result(shop.sweep(due))
    assert result.did == "escalated a case"
    escalated = only_case(shop.order())
    assert (escalated.case_id, escalated.state, escalated.level) == (
        case.case_id,
        S.ESCALATED,
        Level.LEVEL_3,
    )
    unchanged_by_a_second_run(shop, due)


# -- TM-7 -------------------------------------------------------------------------------------


def opened(shop: Shop, type: ExceptionType, priority: Priority = Priority.NORMAL) -> ExceptionCase:
    """A case an agent opened on a shipped order (its tracking silence 72 h away)."""
    shop.shipped()
    return only_case(shop.send("o-1", OpenException(type, "the buyer called", priority)).order)


@pytest.mark.parametrize(
    ("priority", "respond"),
    [
        (Priority.URGENT, timedelta(minutes=30)),
        (Priority.HIGH, timedelta(hours=1)),
        (Priority.NORMAL, timedelta(hours=4)),
    ],
)
def test_tm7_ex5_a_case_not_acknowledged_in_time_escalates_by_itself(
    priority: Priority, respond: timedelta
) -> None:
    """TM-7, EX-5: the response target of each priority (urgent 29:59 nothing, 30:00
    escalates; high 1 h; normal 4 h): the case escalates to level 3 by itself and staff are
    alerted; a second run does nothing."""
    shop = Shop()
    case = opened(shop, E.COMPLAINT, priority)
    due = case.opened_at + respond
    assert shop.sweep(due - SECOND).results == ()
    result = one_result(shop.sweep(due))
    assert (result.kind, result.event, result.did) == (
        DeadlineKind.EXCEPTION_TARGET,
        "miss_exception_target",
        "escalated a case",
    )
    missed = only_case(shop.order())
    assert (missed.state, missed.level, missed.targets_missed) == (S.ESCALATED, Level.LEVEL_3, 1)
    alerts = [e for e in last_effects(shop.order()) if isinstance(e, AlertStaff)]
    assert [a.topic for a in alerts] == ["target_missed"]
    unchanged_by_a_second_run(shop, due)


def test_tm7_acknowledged_in_time_the_response_target_does_not_fire() -> None:
    """TM-7, EX-5: acknowledging meets the response target: at 30:00 nothing happens; the
    solution target (24 h from opening) runs instead."""
    shop = Shop()
    case = opened(shop, E.LOGISTICS_DAMAGED, Priority.URGENT)
    shop.send("o-1", AcknowledgeException(case.case_id))
    assert shop.sweep(case.opened_at + timedelta(minutes=30)).results == ()
    (deadline,) = [d for d in shop.order().deadlines if d.case_id == case.case_id]
    assert deadline.due_at == case.opened_at + timedelta(hours=24)


@pytest.mark.parametrize(
    ("type", "solve"),
    [(E.LOGISTICS_DAMAGED, timedelta(hours=24)), (E.COMPLAINT, timedelta(hours=48))],
)
def test_tm7_ex5_a_solution_is_due_24_hours_after_opening_a_complaint_48(
    type: ExceptionType, solve: timedelta
) -> None:
    """TM-7, EX-5: an acknowledged case unsolved at its solution target (24 h; a complaint
    48 h) escalates by itself at that instant, not a second before; its next target counts
    from then."""
    shop = Shop()
    case = opened(shop, type)
    shop.send("o-1", AcknowledgeException(case.case_id))
    due = case.opened_at + solve
    assert shop.sweep(due - SECOND).results == ()
    assert one_result(shop.sweep(due)).did == "escalated a case"
    missed = only_case(shop.order())
    assert (missed.state, missed.targets_missed) == (S.ESCALATED, 1)
    (deadline,) = [d for d in shop.order().deadlines if d.case_id == case.case_id]
    assert deadline.due_at == due + solve
    unchanged_by_a_second_run(shop, due)


def test_tm7_ex5_the_follow_up_is_due_24_hours_after_closing() -> None:
    """TM-7, EX-5: a closed case without its follow-up reminds staff at 24 h after closing
    (not a second before), once; a follow-up recorded in time stops the timer."""
    shop = Shop()
    case = opened(shop, E.COMPLAINT)
    shop.send("o-1", ResolveException(case.case_id, Resolution.ANSWERED, "sorted"))
    closed = only_case(shop.send("o-1", CloseException(case.case_id)).order)
    assert closed.closed_at is not None
    due = closed.closed_at + timedelta(hours=24)
    assert shop.sweep(due - SECOND).results == ()
    result = one_result(shop.sweep(due))
    assert (result.kind, result.did) == (DeadlineKind.EXCEPTION_TARGET, "moved a case to closed")
    reminded = only_case(shop.order())
    assert reminded.follow_up_reminded
    assert [a.topic for a in last_effects(shop.order()) if isinstance(a, AlertStaff)] == [
        "follow_up"
    ]
    assert not any(d.case_id == case.case_id for d in shop.order().deadlines)
    unchanged_by_a_second_run(shop, due)

    other = Shop()
    case = opened(other, E.COMPLAINT)
    other.send("o-1", ResolveException(case.case_id, Resolution.ANSWERED, "sorted"))
    closed = only_case(other.send("o-1", CloseException(case.case_id)).order)
    assert closed.closed_at is not None
    other.send("o-1", RecordFollowUp(case.case_id, "all good"))
    assert other.sweep(closed.closed_at + timedelta(hours=24)).results == ()


def test_tm7_a_resolved_case_left_open_closes_by_itself() -> None:
    """TM-7, EX-6: a case resolved but not closed closes by itself at its solution target
    counted from the resolution; its follow-up then runs."""
    shop = Shop()
    case = opened(shop, E.LOGISTICS_DAMAGED)
    resolved = only_case(
        shop.send("o-1", ResolveException(case.case_id, Resolution.COMPENSATE, "voucher")).order
    )
    assert resolved.resolved_at is not None
    due = resolved.resolved_at + timedelta(hours=24)
    assert shop.sweep(due - SECOND).results == ()
    assert one_result(shop.sweep(due)).did == "moved a case to closed"
    closed = only_case(shop.order())
    assert (closed.state, closed.closed_at) == (S.CLOSED, due)
    (deadline,) = [d for d in shop.order().deadlines if d.case_id == case.case_id]
    assert deadline.due_at == due + timedelta(hours=24)


# -- the restock ETA --------------------------------------------------------------------------


def test_restock_eta_fires_at_its_instant_and_once() -> None:
    """EX-3, D-15: the restock check fires at the ETA (a second before, nothing) and asks the
    host's stock port again; a second run does nothing."""
    shop = Shop()
    shop.host.stock = {"SKU-A": 0}
    case = only_case(shop.reviewed())
    eta = shop.now + timedelta(hours=3)
    shop.send("o-1", ResolveException(case.case_id, Resolution.WAIT_FOR_RESTOCK, "soon", eta=eta))
    asked = shop.host.asked
    assert shop.sweep(eta - SECOND).results == ()
    assert shop.host.asked == asked
    shop.host.stock = {"SKU-A": 2}
    result = one_result(shop.sweep(eta))
    assert (result.kind, result.event, result.state) == (
        DeadlineKind.RESTOCK_DUE,
        "check_restock",
        "paid",
    )
    assert result.did == "released, moved a case to resolved"
    assert shop.host.asked == asked + 1
    unchanged_by_a_second_run(shop, eta)


def test_sweep_reports_each_order_it_handled() -> None:
    """D-15: one run fires the due deadlines of several orders and names each order, its
    deadline kind and what it did; orders with nothing due are left out."""
    shop = Shop()
    shop.paid("o-1")
    shop.reviewed("o-2", lines=(shop.order("o-1").lines[0],))
    shop.place("o-3", lines=(shop.order("o-1").lines[1],))
    due = paid_at(shop.order("o-2")) + timedelta(hours=48)
    report = shop.sweep(due)
    done = {(r.order_id, r.kind, r.status, r.did) for r in report.results}
    assert ("o-1", DeadlineKind.REVIEW_OVERDUE, SweepStatus.APPLIED, "opened a case") in done
    assert ("o-2", DeadlineKind.SHIPMENT_OVERDUE, SweepStatus.APPLIED, "opened a case") in done
    assert ("o-3", DeadlineKind.AUTO_CLOSE_UNPAID, SweepStatus.APPLIED, "closed") in done
    assert report.set_aside == ()


def test_tm7_d10_a_late_payments_case_runs_its_targets_on_the_closed_order() -> None:
    """TM-7, D-10, D-15: the case a late payment opens on a closed order (high priority)
    escalates at its 1-hour response target like any other, though the order is closed; once
    resolved and closed it carries no deadline after its follow-up."""
    shop = Shop()
    shop.place()
    shop.send("o-1", Close(CloseReason.CUSTOMER_CANCELLED, ""), CUSTOMER)
    order = shop.send("o-1", Pay(shop.order().amount_due, "late-1"), SYSTEM).order
    case = only_case(order)
    assert case.priority is Priority.HIGH
    due = case.opened_at + timedelta(hours=1)
    assert shop.sweep(due - SECOND).results == ()
    result = one_result(shop.sweep(due))
    assert (result.state, result.did) == ("closed", "escalated a case")
    shop.send("o-1", ResolveException(case.case_id, Resolution.REFUND_SENT, "refunded"))
    shop.send("o-1", CloseException(case.case_id))
    done = shop.send("o-1", RecordFollowUp(case.case_id, "buyer has the money")).order
    assert only_case(done).state is S.CLOSED
    assert done.deadlines == ()
