"""Each playbook resolution end to end through the service (EX-3), with the host's context port,
an in-memory store and a manual clock: what the resolution does to the order in the same
outcome, how a hold is released only through the case that caused it (EX-6, D-13), the case
machine's moves and escalations (EX-4, EX-6), compensation (EX-7), agents opening cases by hand
(EX-2, EX-5) and payments that are not applied (D-3, D-10, RK-3)."""

from __future__ import annotations

from datetime import datetime, timedelta

import attrs
import pytest

from orderflow import (
    Address,
    ApproveReview,
    Close,
    CloseReason,
    Hold,
    Lifecycle,
    Money,
    NotifyCustomer,
    Pay,
    Release,
    RequestRefund,
    ReserveStock,
    Settings,
    Ship,
    StartFulfilment,
)
from orderflow.deadlines import DeadlineKind
from orderflow.effects import AlertStaff, NotificationTopic
from orderflow.incidents import (
    Classifier,
    Compensation,
    CompensationKind,
    Context,
    ExceptionType,
    Finding,
    Level,
    OutOfStockDetector,
    Priority,
    Resolution,
    Role,
    TrackingEvent,
    TrackingKind,
)
from orderflow.incidents.case import ExceptionState, Origin
from orderflow.incidents.commands import (
    AcknowledgeException,
    CloseException,
    EscalateException,
    OpenException,
    RecordCompensation,
    RecordFollowUp,
    RecordTracking,
    ResolveException,
)
from orderflow.model import OrderLine, OrderState
from orderflow.order import Order
from orderflow.sweep import SweepStatus
from tests.exception_support import LINES, ONE_LINE, TOTAL, Shop, only_case
from tests.support import ADDRESS, CUSTOMER, SYSTEM, cny

E = ExceptionType
R = Resolution
S = ExceptionState
INCOMPLETE = Address("Li Lei", "", " ", "Hangzhou")
"""Accepted at placing, caught at review: no phone, no street (EX-1)."""


def deadline_of(order: Order, case_id: str) -> tuple[DeadlineKind, object] | None:
    """The kind and instant of a case's deadline on the order (D-15)."""
    found = [(d.kind, d.due_at) for d in order.deadlines if d.case_id == case_id]
    assert len(found) <= 1
    return found[0] if found else None


def refunds_of(effects: tuple[object, ...]) -> list[RequestRefund]:
    """The refund requests among effects."""
    return [effect for effect in effects if isinstance(effect, RequestRefund)]


# -- customer info ----------------------------------------------------------------------------


def test_ex3_customer_info_is_resolved_by_correcting_the_address() -> None:
    """EX-1, EX-3, LC-2, LC-7: an incomplete address holds the order at review; only the case
    releases it (a bare release is refused); correcting the info sets the address and returns
    the order to paid in the same outcome, and review then confirms it."""
    shop = Shop()
    held = shop.reviewed(address=INCOMPLETE)
    case = only_case(held, E.CUSTOMER_INFO)
    assert held.state is OrderState.ON_HOLD
    assert held.hold is not None
    assert held.hold.from_state is OrderState.PAID
    assert case.holds_order
    assert shop.refused("o-1", Release("looks fine")).code == "release.held_by_case"
    outcome = shop.send(
        "o-1", ResolveException(case.case_id, R.CORRECT_INFO, "called the buyer", ADDRESS)
    )
    order = outcome.order
    assert (order.state, order.hold, order.address) == (OrderState.PAID, None, ADDRESS)
    fixed = only_case(order)
    assert (fixed.state, fixed.resolution) == (S.RESOLVED, R.CORRECT_INFO)
    assert outcome.entry.exceptions[0].to_state is S.RESOLVED
    assert shop.send("o-1", ApproveReview()).order.state is OrderState.AWAITING_SHIPMENT


def test_ex3_a_resolution_outside_the_playbook_is_refused() -> None:
    """EX-3: a customer-info case is not resolved by a refund; the refusal lists the playbook
    and nothing changes."""
    shop = Shop()
    case = only_case(shop.reviewed(address=INCOMPLETE))
    error = shop.refused("o-1", ResolveException(case.case_id, R.REFUND, "no"))
    assert error.code == "resolve_exception.not_in_playbook"
    assert "correct_info" in error.hint


# -- out of stock -----------------------------------------------------------------------------


def test_ex3_waiting_for_restock_keeps_the_case_open_and_the_hold_then_releases_at_the_eta() -> (
    None
):
    """EX-3, D-15: waiting for a restock is a step, not a resolution: the case stays open with
    the ETA as its deadline and the order stays held; at the ETA (inclusive) the sweep asks
    the stock context again: in stock, the case is resolved ``restocked`` and the order
    released to the state it was held from; review then confirms it."""
    shop = Shop()
    shop.host.stock = {"SKU-A": 1}
    held = shop.reviewed()
    case = only_case(held, E.OUT_OF_STOCK)
    assert dict(case.evidence) == {"sku": "SKU-A", "ordered": 2, "available": 1}
    shop.send("o-1", AcknowledgeException(case.case_id))
    eta = shop.now + timedelta(hours=20)
    waiting = shop.send(
        "o-1", ResolveException(case.case_id, R.WAIT_FOR_RESTOCK, "supplier ships", eta=eta)
    ).order
    open_case = only_case(waiting)
    assert open_case.is_open
    assert open_case.state is S.ACKNOWLEDGED
    assert (open_case.resolution, open_case.restock_eta) == (R.WAIT_FOR_RESTOCK, eta)
    assert waiting.state is OrderState.ON_HOLD
    assert waiting.hold == held.hold
    assert deadline_of(waiting, case.case_id) == (DeadlineKind.RESTOCK_DUE, eta)

    assert shop.sweep(eta - timedelta(seconds=1)).results == ()
    shop.host.stock = {"SKU-A": 5}
    report = shop.sweep(eta)
    (result,) = report.results
    assert (result.kind, result.status, result.event) == (
        DeadlineKind.RESTOCK_DUE,
        SweepStatus.APPLIED,
        "check_restock",
    )
    assert "released" in result.did
    order = shop.order()
    assert (order.state, order.hold) == (OrderState.PAID, None)
    done = only_case(order)
    assert (done.state, done.resolution, done.restock_eta) == (S.RESOLVED, R.RESTOCKED, None)
    assert shop.send("o-1", ApproveReview()).order.state is OrderState.AWAITING_SHIPMENT


def test_ex3_still_short_at_the_eta_escalates_and_keeps_the_hold() -> None:
    """EX-3, EX-4: at the ETA with stock still short, the case escalates (level 3, the
    promised time passed), staff are alerted, the order stays held, and the case runs its
    solution target again."""
    shop = Shop()
    shop.host.stock = {"SKU-A": 1}
    case = only_case(shop.reviewed())
    eta = shop.now + timedelta(hours=6)
    shop.send("o-1", ResolveException(case.case_id, R.WAIT_FOR_RESTOCK, "soon", eta=eta))
    report = shop.sweep(eta)
    (result,) = report.results
    assert result.status is SweepStatus.APPLIED
    assert "escalated a case" in result.did
    order = shop.order()
    escalated = only_case(order)
    assert (escalated.state, escalated.level, escalated.role) == (
        S.ESCALATED,
        Level.LEVEL_3,
        Role.TECHNICAL_SUPPORT,
    )
    assert escalated.restock_eta is None
    assert order.state is OrderState.ON_HOLD
    kind, due = deadline_of(order, case.case_id) or (None, None)
    assert kind is DeadlineKind.EXCEPTION_TARGET
    assert due is not None
    alerts = [e for e in order.history.last.effects if isinstance(e, AlertStaff)]
    assert [a.topic for a in alerts] == ["restock_missed"]


def test_ex3_a_restock_eta_not_after_now_is_refused() -> None:
    """EX-3: the restock ETA must lie ahead."""
    shop = Shop()
    shop.host.stock = {"SKU-A": 1}
    case = only_case(shop.reviewed())
    error = shop.refused(
        "o-1",
        ResolveException(case.case_id, R.WAIT_FOR_RESTOCK, "now", eta=shop.now),
        after=timedelta(0),
    )
    assert error.code == "resolve_exception.does_not_fit"


def test_ex3_d1_refund_when_nothing_can_ship_closes_out_of_stock_with_everything_paid() -> None:
    """EX-3, D-1, D-13: out of stock entirely, a refund closes the order with reason
    ``out_of_stock`` and a refund of everything paid in the same outcome; the case ends
    closed with its resolution and its follow-up due (EX-5)."""
    shop = Shop()
    shop.host.stock = {"SKU-A": 0}
    case = only_case(shop.reviewed(lines=ONE_LINE))
    outcome = shop.send("o-1", ResolveException(case.case_id, R.REFUND, "none left"))
    order = outcome.order
    assert order.state is OrderState.CLOSED
    assert order.closure is not None
    assert order.closure.reason is CloseReason.OUT_OF_STOCK
    (refund,) = refunds_of(outcome.effects)
    assert refund.amount == cny("100.00")
    assert order.ledger.amount_refund_pending == cny("100.00")
    ended = only_case(order)
    assert (ended.state, ended.resolution) == (S.CLOSED, R.REFUND)
    # EX-5: the customer whose order was closed and refunded is followed up a day later
    assert deadline_of(order, case.case_id) == (
        DeadlineKind.EXCEPTION_TARGET,
        order.updated_at + timedelta(hours=24),
    )


def test_ex3_refund_when_part_can_ship_refunds_the_missing_units_money_only() -> None:
    """EX-3, AS-7, D-11: one unit of two short, the other line in stock: a money-only refund
    of the missing unit (50.00 of SKU-A), the order released to paid and still due to ship;
    review does not hold it again for the shortage already refunded."""
    shop = Shop()
    shop.host.stock = {"SKU-A": 1}
    case = only_case(shop.reviewed())
    outcome = shop.send("o-1", ResolveException(case.case_id, R.REFUND, "one unit short"))
    order = outcome.order
    (refund,) = refunds_of(outcome.effects)
    assert refund.amount == cny("50.00")
    (recorded,) = outcome.order.ledger.refunds
    assert [(share.sku, share.amount) for share in recorded.shares] == [("SKU-A", cny("50.00"))]
    assert (order.state, order.hold) == (OrderState.PAID, None)
    assert order.ledger.amount_refund_pending == cny("50.00")
    notices = [e for e in outcome.effects if isinstance(e, NotifyCustomer)]
    assert [n.topic for n in notices] == [NotificationTopic.EXCEPTION]
    assert shop.send("o-1", ApproveReview()).order.state is OrderState.AWAITING_SHIPMENT


def test_ex3_substitute_releases_the_order_and_review_lets_it_go_on() -> None:
    """EX-3: a substitute agreed with the customer resolves the case and releases the order;
    review does not hold it again on the same evidence."""
    shop = Shop()
    shop.host.stock = {"SKU-B": 0}
    case = only_case(shop.reviewed())
    outcome = shop.send("o-1", ResolveException(case.case_id, R.SUBSTITUTE, "blue cup instead"))
    assert (outcome.order.state, outcome.order.hold) == (OrderState.PAID, None)
    assert refunds_of(outcome.effects) == []
    assert shop.send("o-1", ApproveReview()).order.state is OrderState.AWAITING_SHIPMENT


def test_ex3_new_evidence_after_a_resolution_holds_the_order_again() -> None:
    """EX-3, LC-2: a resolved case clears only its own evidence: when stock changed since,
    review opens a new case and holds the order again."""
    shop = Shop()
    shop.host.stock = {"SKU-B": 0}
    case = only_case(shop.reviewed())
    shop.send("o-1", ResolveException(case.case_id, R.SUBSTITUTE, "blue cup instead"))
    shop.host.stock = {"SKU-A": 0}
    again = shop.send("o-1", ApproveReview()).order
    assert again.state is OrderState.ON_HOLD
    assert len(again.exceptions) == 2
    assert again.exceptions[-1].holds_order


# -- price error ------------------------------------------------------------------------------


def priced_wrong(shop: Shop) -> str:
    """Review a paid order whose cup sells at 19.90 against a list price of 100.00."""
    shop.host.prices = {"SKU-B": cny("100.00")}
    return only_case(shop.reviewed(), E.PRICE_ERROR).case_id


def test_ex3_paid_price_error_pay_the_difference_releases_the_order() -> None:
    """EX-3, D-3: paid, the customer pays the difference: the case is resolved, the order
    released to paid, and the customer told the difference (list price less unit price, per
    unit of the line), which the host collects on its own (a second payment on a paid order
    is never added to what was paid); review then lets it go on (the same evidence was
    decided)."""
    shop = Shop()
    case_id = priced_wrong(shop)
    outcome = shop.send("o-1", ResolveException(case_id, R.PAY_DIFFERENCE, "buyer agreed"))
    order = outcome.order
    (told,) = [effect for effect in outcome.effects if isinstance(effect, NotifyCustomer)]
    units = sum(line.quantity for line in order.lines if line.sku == "SKU-B")
    due = (cny("100.00") - cny("19.90")) * units
    assert told.details["amount"] == str(due)
    assert str(due) in told.message
    assert (order.state, order.hold) == (OrderState.PAID, None)
    assert only_case(order).resolution is R.PAY_DIFFERENCE
    assert shop.send("o-1", ApproveReview()).order.state is OrderState.AWAITING_SHIPMENT


def test_ex3_d1_paid_price_error_refund_and_close() -> None:
    """EX-3, D-1: paid, refund and close: the order closes ``price_error`` with a refund of
    everything paid in the same outcome."""
    shop = Shop()
    case_id = priced_wrong(shop)
    outcome = shop.send("o-1", ResolveException(case_id, R.REFUND_AND_CLOSE, "buyer declined"))
    order = outcome.order
    assert order.state is OrderState.CLOSED
    assert order.closure is not None
    assert order.closure.reason is CloseReason.PRICE_ERROR
    assert [refund.amount for refund in refunds_of(outcome.effects)] == [TOTAL]


def test_ex3_paid_price_error_is_not_corrected_in_place() -> None:
    """EX-3, LC-5: after payment a price is no longer corrected: that resolution is refused."""
    shop = Shop()
    case_id = priced_wrong(shop)
    command = ResolveException(case_id, R.CORRECT_PRICE, "fix", sku="SKU-B", unit_price=cny("99"))
    error = shop.refused("o-1", command)
    assert error.code == "resolve_exception.does_not_fit"


def test_ex3_unpaid_price_error_correct_the_price() -> None:
    """EX-3, LC-5, LC-6: an agent holds an unpaid order with a price error; paying the
    difference or refunding does not fit (nothing is paid); correcting the price changes the
    line and what is due in the same outcome and releases the order to pending payment; a
    SKU the order does not have, or another currency, does not fit."""
    shop = Shop()
    shop.place()
    opened = shop.send(
        "o-1", OpenException(E.PRICE_ERROR, "cup listed at 19.90, should be 99.00", hold=True)
    ).order
    case = only_case(opened)
    assert opened.state is OrderState.ON_HOLD
    for wrong in (R.PAY_DIFFERENCE, R.REFUND_AND_CLOSE):
        error = shop.refused("o-1", ResolveException(case.case_id, wrong, "no"))
        assert error.code == "resolve_exception.does_not_fit"
    for sku, price in (("SKU-Z", cny("99.00")), ("SKU-B", Money("99.00", "USD"))):
        command = ResolveException(case.case_id, R.CORRECT_PRICE, "x", sku=sku, unit_price=price)
        assert shop.refused("o-1", command).code == "resolve_exception.does_not_fit"
    command = ResolveException(
        case.case_id, R.CORRECT_PRICE, "fixing", sku="SKU-B", unit_price=cny("99.00")
    )
    order = shop.send("o-1", command).order
    assert (order.state, order.hold) == (OrderState.PENDING_PAYMENT, None)
    assert order.amount_due == cny("199.00")
    (line,) = [line for line in order.lines if line.sku == "SKU-B"]
    assert line.unit_price == cny("99.00")
    assert only_case(order).resolution is R.CORRECT_PRICE


# -- duplicate --------------------------------------------------------------------------------


def test_ex3_rk2_a_duplicate_not_processed_is_closed() -> None:
    """EX-3, RK-2, D-1: the same order again within ten minutes is held at review (the
    earlier order found through the store); closing the duplicate closes it ``duplicate_order``
    with a refund of everything paid; a return does not fit an order not shipped."""
    shop = Shop()
    shop.place("o-1")
    held = shop.reviewed("o-2")
    case = only_case(held, E.DUPLICATE_ORDER)
    assert case.evidence["earlier_order"] == "o-1"
    error = shop.refused("o-2", ResolveException(case.case_id, R.RETURN, "send it back"))
    assert error.code == "resolve_exception.does_not_fit"
    outcome = shop.send("o-2", ResolveException(case.case_id, R.CLOSE_DUPLICATE, "twice"))
    order = outcome.order
    assert order.closure is not None
    assert order.closure.reason is CloseReason.DUPLICATE_ORDER
    assert [refund.amount for refund in refunds_of(outcome.effects)] == [TOTAL]
    assert shop.order("o-1").state is OrderState.PENDING_PAYMENT


@pytest.mark.parametrize("resolution", [R.RETURN, R.KEEP_AND_PAY])
def test_ex3_a_shipped_duplicate_is_returned_or_kept_and_paid(resolution: Resolution) -> None:
    """EX-3: a duplicate found after shipment (an agent opens the case) is resolved by a
    return or by keeping and paying; the order stays shipped; closing it does not fit."""
    shop = Shop()
    shop.shipped()
    case = only_case(
        shop.send("o-1", OpenException(E.DUPLICATE_ORDER, "the buyer ordered twice")).order
    )
    error = shop.refused("o-1", ResolveException(case.case_id, R.CLOSE_DUPLICATE, "close"))
    assert error.code == "resolve_exception.does_not_fit"
    order = shop.send("o-1", ResolveException(case.case_id, resolution, "agreed")).order
    assert order.state is OrderState.SHIPPED
    assert (only_case(order).state, only_case(order).resolution) == (S.RESOLVED, resolution)


# -- suspected fraud --------------------------------------------------------------------------


def frequent(shop: Shop) -> str:
    """Five orders of one customer within the hour (RK-1), different lines each (not
    duplicates); the fifth is paid and reviewed. Its fraud case's id."""
    for number in range(1, 6):
        lines = (OrderLine("SKU-A", number, cny("50.00")),)
        if number < 5:
            shop.place(f"o-{number}", lines=lines)
            shop.clock.advance(timedelta(minutes=5))
    held = shop.reviewed("o-5", lines=(OrderLine("SKU-A", 5, cny("50.00")),))
    case = only_case(held, E.SUSPECTED_FRAUD)
    assert (held.state, case.freezes, case.priority) == (OrderState.ON_HOLD, True, Priority.URGENT)
    return case.case_id


def test_rk4_ex3_fraud_released_never_holds_the_order_again_on_the_same_evidence() -> None:
    """RK-1, RK-4, EX-3: suspected fraud freezes the order; releasing it returns the order to
    paid, and review on the same evidence does not hold it again."""
    shop = Shop()
    case_id = frequent(shop)
    order = shop.send("o-5", ResolveException(case_id, R.RELEASE, "called the buyer")).order
    assert (order.state, order.hold) == (OrderState.PAID, None)
    reviewed = shop.send("o-5", ApproveReview()).order
    assert reviewed.state is OrderState.AWAITING_SHIPMENT
    assert len(reviewed.exceptions) == 1


def test_rk4_d1_fraud_closed_as_suspected_fraud_with_its_refund() -> None:
    """RK-4, EX-3, D-1: closing as suspected fraud closes the order with that reason and a
    refund of everything paid."""
    shop = Shop()
    case_id = frequent(shop)
    outcome = shop.send("o-5", ResolveException(case_id, R.CLOSE_AS_FRAUD, "stolen card"))
    order = outcome.order
    assert order.closure is not None
    assert order.closure.reason is CloseReason.SUSPECTED_FRAUD
    assert [refund.amount for refund in refunds_of(outcome.effects)] == [cny("250.00")]
    assert only_case(order).state is S.CLOSED


# -- the parcel -------------------------------------------------------------------------------


def parcel_case(shop: Shop, kind: TrackingKind) -> str:
    """A shipped order whose carrier reports ``kind``: the case it opened (no hold)."""
    shop.shipped()
    event = TrackingEvent(kind, shop.now)
    order = shop.send("o-1", RecordTracking(event), SYSTEM).order
    assert order.state is OrderState.SHIPPED
    assert order.hold is None
    return only_case(order).case_id


@pytest.mark.parametrize("kind", [TrackingKind.LOST, TrackingKind.DAMAGED])
def test_ex3_lost_or_damaged_parcel_reship(kind: TrackingKind) -> None:
    """EX-3: a parcel lost or damaged is sent again: stock is reserved for the order's lines
    in the same outcome and the case resolved."""
    shop = Shop()
    case_id = parcel_case(shop, kind)
    outcome = shop.send("o-1", ResolveException(case_id, R.RESHIP, "claim filed, resent"))
    (reserve,) = [e for e in outcome.effects if isinstance(e, ReserveStock)]
    assert reserve.lines == LINES
    assert only_case(outcome.order).resolution is R.RESHIP
    assert outcome.order.state is OrderState.SHIPPED


@pytest.mark.parametrize("kind", [TrackingKind.LOST, TrackingKind.DAMAGED])
def test_ex3_as7_lost_or_damaged_parcel_refund(kind: TrackingKind) -> None:
    """EX-3, AS-7: a parcel lost or damaged is refunded: everything refundable, in one
    request, the customer told."""
    shop = Shop()
    case_id = parcel_case(shop, kind)
    outcome = shop.send("o-1", ResolveException(case_id, R.REFUND, "claim filed"))
    assert [refund.amount for refund in refunds_of(outcome.effects)] == [TOTAL]
    assert outcome.order.ledger.amount_refund_pending == TOTAL
    assert only_case(outcome.order).state is S.RESOLVED


def test_ex3_ex7_lost_parcel_compensation() -> None:
    """EX-3, EX-7: a lost parcel settled with compensation: the compensation recorded with the
    case, then the case resolved ``compensate``; no refund."""
    shop = Shop()
    case_id = parcel_case(shop, TrackingKind.LOST)
    voucher = Compensation(CompensationKind.DISCOUNT, cny("30.00"), "voucher")
    shop.send("o-1", RecordCompensation(case_id, voucher))
    outcome = shop.send("o-1", ResolveException(case_id, R.COMPENSATE, "voucher given"))
    case = only_case(outcome.order)
    assert case.compensations == (voucher,)
    assert case.resolution is R.COMPENSATE
    assert refunds_of(outcome.effects) == []


def test_ex3_delayed_parcel_new_eta_tells_the_customer() -> None:
    """EX-3, NT-1: the carrier reports a delay: a case is opened and the customer told; the
    new ETA resolves it and tells the customer the new estimate."""
    shop = Shop()
    shop.shipped()
    reported = shop.send(
        "o-1", RecordTracking(TrackingEvent(TrackingKind.DELAYED, shop.now)), SYSTEM
    )
    assert [e.topic for e in reported.effects if isinstance(e, NotifyCustomer)] == [
        NotificationTopic.EXCEPTION
    ]
    case_id = only_case(reported.order, E.LOGISTICS_DELAYED).case_id
    eta = shop.now + timedelta(days=2)
    outcome = shop.send("o-1", ResolveException(case_id, R.NEW_ETA, "weather", eta=eta))
    (notice,) = [e for e in outcome.effects if isinstance(e, NotifyCustomer)]
    assert notice.details["eta"] == eta.isoformat()
    assert only_case(outcome.order).eta == eta


# -- holds, releases and closing --------------------------------------------------------------


def test_lc6_a_release_returns_the_order_to_the_state_it_was_held_from() -> None:
    """LC-6, EX-6: an agent holds an order awaiting shipment with a case; resolving the case
    returns it to awaiting shipment, not to paid."""
    shop = Shop()
    shop.reviewed()
    opened = shop.send("o-1", OpenException(E.COMPLAINT, "rude courier", hold=True)).order
    assert opened.hold is not None
    assert opened.hold.from_state is OrderState.AWAITING_SHIPMENT
    case = only_case(opened)
    assert shop.refused("o-1", Ship("SF", "SF9")).code.startswith("ship.")
    order = shop.send("o-1", ResolveException(case.case_id, R.ANSWERED, "apologised")).order
    assert (order.state, order.hold) == (OrderState.AWAITING_SHIPMENT, None)


def test_ex6_the_hold_stays_while_another_open_case_holds_the_order() -> None:
    """EX-6: review opens two holding cases; resolving the first leaves the order held,
    resolving the second releases it."""
    shop = Shop()
    shop.host.stock = {"SKU-A": 1}
    shop.host.prices = {"SKU-B": cny("100.00")}
    held = shop.reviewed()
    stock = only_case(held, E.OUT_OF_STOCK)
    price = only_case(held, E.PRICE_ERROR)
    first = shop.send("o-1", ResolveException(price.case_id, R.PAY_DIFFERENCE, "agreed")).order
    assert first.state is OrderState.ON_HOLD
    assert shop.refused("o-1", Release("go")).code == "release.held_by_case"
    last = shop.send("o-1", ResolveException(stock.case_id, R.SUBSTITUTE, "blue")).order
    assert (last.state, last.hold) == (OrderState.PAID, None)


def test_d13_closing_a_held_order_resolves_its_open_cases() -> None:
    """D-13, D-1: closing a held order (judged as paid) resolves its open cases
    ``order_closed`` and closes them in the same outcome, with a refund of everything paid."""
    shop = Shop()
    shop.host.stock = {"SKU-A": 1}
    shop.host.prices = {"SKU-B": cny("100.00")}
    held = shop.reviewed()
    outcome = shop.send("o-1", Close(CloseReason.OTHER, "buyer gave up"))
    order = outcome.order
    assert order.state is OrderState.CLOSED
    assert order.hold is None
    assert [(c.state, c.resolution) for c in order.exceptions] == [
        (S.CLOSED, R.ORDER_CLOSED),
        (S.CLOSED, R.ORDER_CLOSED),
    ]
    assert {m.rule for m in outcome.entry.exceptions} == {"order_closed"}
    assert {m.case_id for m in outcome.entry.exceptions} == {c.case_id for c in held.exceptions}
    assert [refund.amount for refund in refunds_of(outcome.effects)] == [TOTAL]
    assert not any(d.case_id for d in order.deadlines)


# -- the case machine -------------------------------------------------------------------------


def test_ex6_ex4_the_case_machine_from_opened_to_closed() -> None:
    """EX-6, EX-4, EX-5: opened -> acknowledged -> escalated (3 -> 2 -> 1 without naming a
    level) -> resolved -> closed -> followed up; each move in history; a level-1 case cannot
    go one level up; a follow-up is recorded once."""
    shop = Shop()
    shop.shipped()
    case_id = only_case(shop.send("o-1", OpenException(E.COMPLAINT, "late")).order).case_id
    assert shop.refused("o-1", CloseException(case_id)).code == "close_exception.invalid_case_state"
    shop.send("o-1", AcknowledgeException(case_id))
    levels = []
    for _ in range(3):
        case = only_case(shop.send("o-1", EscalateException(case_id, "still angry")).order)
        levels.append((case.state, case.level, case.role))
    assert levels == [
        (S.ESCALATED, Level.LEVEL_3, Role.TECHNICAL_SUPPORT),
        (S.ESCALATED, Level.LEVEL_2, Role.SENIOR_SUPERVISOR),
        (S.ESCALATED, Level.LEVEL_1, Role.DEPARTMENT_HEAD),
    ]
    assert shop.refused("o-1", EscalateException(case_id, "more")).code == (
        "escalate_exception.cannot_escalate"
    )
    shop.send("o-1", ResolveException(case_id, R.ANSWERED, "refund of shipping offered"))
    closed = only_case(shop.send("o-1", CloseException(case_id)).order)
    assert closed.state is S.CLOSED
    assert closed.escalations == 3
    followed = shop.send("o-1", RecordFollowUp(case_id, "happy now")).order
    assert only_case(followed).followed_up
    assert deadline_of(followed, case_id) is None
    assert shop.refused("o-1", RecordFollowUp(case_id, "again")).code == (
        "record_follow_up.followed_up_already"
    )
    moves = [
        (m.from_state, m.to_state)
        for entry in followed.history
        for m in entry.exceptions
        if m.case_id == case_id
    ]
    assert moves == [
        (S.NEW, S.OPENED),
        (S.OPENED, S.ACKNOWLEDGED),
        (S.ACKNOWLEDGED, S.ESCALATED),
        (S.ESCALATED, S.ESCALATED),
        (S.ESCALATED, S.ESCALATED),
        (S.ESCALATED, S.RESOLVED),
        (S.RESOLVED, S.CLOSED),
        (S.CLOSED, S.CLOSED),
    ]


def test_ex4_an_unacknowledged_case_escalates_directly_and_external_stands_apart() -> None:
    """EX-4, EX-6: a case never acknowledged may be escalated; naming external takes it out of
    the ladder (legal); external goes nowhere without a level named, and a named ladder level
    brings it back."""
    shop = Shop()
    shop.shipped()
    case_id = only_case(shop.send("o-1", OpenException(E.COMPLAINT, "angry")).order).case_id
    up = only_case(shop.send("o-1", EscalateException(case_id, "now")).order)
    assert (up.state, up.level, up.acknowledged_at) == (S.ESCALATED, Level.LEVEL_3, None)
    out = only_case(shop.send("o-1", EscalateException(case_id, "lawyer", Level.EXTERNAL)).order)
    assert (out.level, out.role) == (Level.EXTERNAL, Role.LEGAL)
    error = shop.refused("o-1", EscalateException(case_id, "up"))
    assert error.code == "escalate_exception.cannot_escalate"
    back = only_case(shop.send("o-1", EscalateException(case_id, "boss", Level.LEVEL_1)).order)
    assert back.level is Level.LEVEL_1


def test_ex4_escalating_to_the_level_the_case_has_is_refused() -> None:
    """EX-4: levels only rise: naming the case's own level is refused."""
    shop = Shop()
    shop.shipped()
    case_id = only_case(shop.send("o-1", OpenException(E.COMPLAINT, "x")).order).case_id
    shop.send("o-1", EscalateException(case_id, "up", Level.LEVEL_2))
    error = shop.refused("o-1", EscalateException(case_id, "again", Level.LEVEL_2))
    assert error.code == "escalate_exception.cannot_escalate"


def test_ex4_a_vips_major_complaint_opens_at_level_1() -> None:
    """EX-4: the matrix reads the VIP fact from the host's context: a VIP's complaint marked
    major opens at level 1 (the department head), still opened so that its response target
    runs; the same for another customer goes to level 2."""
    shop = Shop()
    shop.host.vips = {CUSTOMER.id}
    shop.shipped()
    vip = only_case(shop.send("o-1", OpenException(E.COMPLAINT, "awful", major=True)).order)
    assert (vip.state, vip.level, vip.role) == (S.OPENED, Level.LEVEL_1, Role.DEPARTMENT_HEAD)
    shop.host.vips = set()
    shop.shipped("o-2", lines=ONE_LINE)  # not the same lines: no duplicate (RK-2)
    other = only_case(shop.send("o-2", OpenException(E.COMPLAINT, "awful", major=True)).order)
    assert other.level is Level.LEVEL_2


def test_ex6_an_unknown_case_is_refused() -> None:
    """EX-6: a command naming no case of the order is refused."""
    shop = Shop()
    shop.shipped()
    error = shop.refused("o-1", AcknowledgeException("o-1/exception/9"))
    assert error.code == "acknowledge_exception.unknown_case"


# -- compensation -----------------------------------------------------------------------------


def test_ex7_compensation_above_the_limit_needs_an_approver() -> None:
    """EX-7: up to the limit (100.00) a compensation is recorded without approval; one that
    takes the case's total strictly above it is refused without an approver and records
    nothing; with an approver it is recorded with the approver."""
    shop = Shop()
    shop.shipped()
    case_id = only_case(shop.send("o-1", OpenException(E.COMPLAINT, "late")).order).case_id
    first = Compensation(CompensationKind.DISCOUNT, cny("100.00"), "voucher")
    shop.send("o-1", RecordCompensation(case_id, first))
    more = Compensation(CompensationKind.GIFT, cny("0.01"), "sticker")
    error = shop.refused("o-1", RecordCompensation(case_id, more))
    assert error.code == "record_compensation.compensation_refused"
    approved = Compensation(CompensationKind.GIFT, cny("0.01"), "sticker", approver="sup-1")
    case = only_case(shop.send("o-1", RecordCompensation(case_id, approved)).order)
    assert case.compensations == (first, approved)
    assert case.compensations[-1].approver == "sup-1"


# -- agents open cases by hand ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("priority", "respond"),
    [
        (Priority.URGENT, timedelta(minutes=30)),
        (Priority.HIGH, timedelta(hours=1)),
        (Priority.NORMAL, timedelta(hours=4)),
    ],
)
def test_ex2_ex5_an_agent_opens_a_case_with_a_priority_that_sets_its_response_target(
    priority: Priority, respond: timedelta
) -> None:
    """EX-2, EX-5, D-15: a case opened by hand carries the agent's priority; its deadline is
    the response target (urgent 30 min, high 1 h, normal 4 h); acknowledging meets it and the
    solution target (24 h from opening) follows."""
    shop = Shop()
    shop.shipped()
    outcome = shop.send("o-1", OpenException(E.QUALITY_DISPUTE, "scratched", priority=priority))
    case = only_case(outcome.order)
    assert (case.origin, case.priority, case.state) == (Origin.AGENT, priority, S.OPENED)
    assert deadline_of(outcome.order, case.case_id) == (
        DeadlineKind.EXCEPTION_TARGET,
        case.opened_at + respond,
    )
    assert [a.topic for a in outcome.effects if isinstance(a, AlertStaff)] == ["exception_opened"]
    taken = shop.send("o-1", AcknowledgeException(case.case_id)).order
    assert deadline_of(taken, case.case_id) == (
        DeadlineKind.EXCEPTION_TARGET,
        case.opened_at + timedelta(hours=48),  # a quality dispute: 48 h (EX-5)
    )


def test_lc6_a_case_cannot_hold_a_shipped_order() -> None:
    """LC-6: holding is only before shipment; the case may still be opened without a hold."""
    shop = Shop()
    shop.shipped()
    error = shop.refused("o-1", OpenException(E.COMPLAINT, "x", hold=True))
    assert error.code == "open_exception.cannot_hold"


# -- payments that are not applied ------------------------------------------------------------


def test_d10_a_late_payment_is_refunded_with_a_case_and_no_hold() -> None:
    """D-10: a payment for a closed order is not applied: a refund request for it and a
    ``payment_after_close`` case, the order still closed and not held."""
    shop = Shop()
    shop.place()
    shop.send("o-1", Close(CloseReason.CUSTOMER_CANCELLED, ""), CUSTOMER)
    outcome = shop.send("o-1", Pay(TOTAL, "late-1"), SYSTEM)
    order = outcome.order
    assert (order.state, order.hold, order.amount_paid) == (OrderState.CLOSED, None, cny("0.00"))
    assert [refund.amount for refund in refunds_of(outcome.effects)] == [TOTAL]
    case = only_case(order)
    assert (case.type, case.holds, case.origin) == (E.PAYMENT_AFTER_CLOSE, False, Origin.PAYMENT)


def test_d3_rk3_a_surplus_payment_is_refunded_and_resending_it_changes_nothing() -> None:
    """RK-3, D-3: a second payment on a paid order is not applied: a refund request and a
    ``duplicate_payment`` case, no hold; sending the same payment again returns the original
    outcome and changes nothing; a different amount under its reference is refused."""
    shop = Shop()
    shop.paid()
    first = shop.send("o-1", Pay(TOTAL, "pay-again"), SYSTEM)
    order = first.order
    assert (order.state, order.hold, order.amount_paid) == (OrderState.PAID, None, TOTAL)
    assert [refund.amount for refund in refunds_of(first.effects)] == [TOTAL]
    assert only_case(order).type is E.DUPLICATE_PAYMENT
    again = shop.send("o-1", Pay(TOTAL, "pay-again"), SYSTEM)
    assert again.replayed
    assert again.effects == first.effects
    assert again.entry == first.entry
    assert shop.order() == order
    error = shop.refused("o-1", Pay(cny("1.00"), "pay-again"), SYSTEM)
    assert error.code == "pay.reference_conflict"
    # review afterwards does not open the payment's case a second time
    reviewed = shop.send("o-1", ApproveReview()).order
    assert reviewed.state is OrderState.AWAITING_SHIPMENT
    assert len(reviewed.exceptions) == 1


def test_lc6_ex6_resolving_a_case_that_does_not_hold_leaves_another_hold_alone() -> None:
    """LC-6, EX-6: a resolution releases only the hold its case caused: an order held by
    staff (no case) stays held when an unrelated case that never held it is resolved."""
    shop = Shop()
    shop.reviewed()
    shop.send("o-1", Hold("warehouse audit"))
    case = only_case(shop.send("o-1", OpenException(E.COMPLAINT, "slow reply")).order)
    assert not case.holds
    order = shop.send("o-1", ResolveException(case.case_id, R.ANSWERED, "apologised")).order
    assert order.state is OrderState.ON_HOLD
    assert order.hold is not None
    assert order.hold.note == "warehouse audit"
    assert shop.send("o-1", Release("audit done")).order.state is OrderState.AWAITING_SHIPMENT


@attrs.frozen
class SoftStock:
    """A host's stock check whose findings open a case without holding the order."""

    detector_id: str = "EX-1-out-of-stock"

    def detect(self, order: Order, context: Context, at: datetime) -> tuple[Finding, ...]:
        """The default check's findings, not blocking review."""
        found = OutOfStockDetector().detect(order, context, at)
        return tuple(attrs.evolve(finding, blocks_review=False) for finding in found)


def test_ex3_a_partial_shortage_is_refunded_once_fulfilment_started() -> None:
    """EX-3, AS-7: with a host's stock check that does not hold the order, a one-line order
    short of one unit of two goes on to fulfilment; refunding the missing unit there is a
    money-only refund (part of the order still ships), not a closing the state forbids."""
    classifier = Classifier.default().replacing("EX-1-out-of-stock", SoftStock())
    shop = Shop(Lifecycle(Settings(classifier=classifier)))
    shop.host.stock = {"SKU-A": 1}
    confirmed = shop.reviewed(lines=ONE_LINE)
    assert confirmed.state is OrderState.AWAITING_SHIPMENT
    case = only_case(confirmed, E.OUT_OF_STOCK)
    assert not case.holds
    shop.send("o-1", StartFulfilment())
    outcome = shop.send("o-1", ResolveException(case.case_id, R.REFUND, "one unit short"))
    assert [refund.amount for refund in refunds_of(outcome.effects)] == [cny("50.00")]
    assert outcome.order.state is OrderState.IN_FULFILMENT
