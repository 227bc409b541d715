"""Unit tests of the lifecycle, one or more per rule id (LC-*, CL-*, D-*, RK-3)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from orderflow import (
    Actor,
    ApproveReview,
    AutoCloseUnpaid,
    AutoConfirmReceipt,
    BeginPayment,
    ChangeAddress,
    ChangeLines,
    ChangePrice,
    Close,
    CloseReason,
    CommandRefused,
    ConfirmDelivery,
    ConfirmReceipt,
    ConfirmRefund,
    DeadlineKind,
    FailPayment,
    FailRefund,
    Hold,
    InvalidConfiguration,
    InvalidInput,
    Lifecycle,
    Money,
    NotificationTopic,
    NotifyCustomer,
    OpenCase,
    OrderLine,
    OrderState,
    Pay,
    Permission,
    PlaceOrder,
    RefundReason,
    RefundStatus,
    RefusalCategory,
    Release,
    ReleaseStock,
    RequestRefund,
    ReserveStock,
    RetryRefund,
    Settings,
    Ship,
    StartFulfilment,
    WithdrawFromFulfilment,
)
from orderflow.incidents import ExceptionType, Resolution
from orderflow.incidents.commands import ResolveException
from orderflow.limits import Limits
from orderflow.order import Order
from tests.support import (
    ADDRESS,
    CUSTOMER,
    HAPPY_PATH,
    LIFECYCLE,
    OTHER_CUSTOMER,
    STAFF,
    SYSTEM,
    T0,
    apply,
    closed,
    cny,
    completed,
    delivered,
    held,
    in_fulfilment,
    paid,
    place,
    shipped,
    walk,
)


def refused(order: Order, command: object, actor: Actor = STAFF) -> CommandRefused:
    """Handle a command that must be refused, check the order is untouched, return the error."""
    before = order
    with pytest.raises(CommandRefused) as info:
        apply(order, command, actor)  # type: ignore[arg-type]
    assert order == before
    return info.value


# LC-1 ------------------------------------------------------------------------------------


def test_lc1_happy_path_reaches_completed_through_every_state() -> None:
    """LC-1: the happy path visits every lifecycle state in order."""
    order = place()
    states = [order.state]
    for command, actor in HAPPY_PATH:
        order = apply(order, command, actor).order
        states.append(order.state)
    assert states == [
        OrderState.PENDING_PAYMENT,
        OrderState.PAID,
        OrderState.AWAITING_SHIPMENT,
        OrderState.IN_FULFILMENT,
        OrderState.SHIPPED,
        OrderState.DELIVERED,
        OrderState.COMPLETED,
    ]
    assert order.is_final


def test_lc1_placing_reserves_stock_and_tells_the_customer() -> None:
    """LC-1: a placed order is pending payment, version 1, stock reserved."""
    lines = (OrderLine("SKU-A", 1, cny("9.99")),)
    outcome = LIFECYCLE.place(PlaceOrder("o-9", CUSTOMER.id, lines, ADDRESS), CUSTOMER, T0)
    assert outcome.order.state is OrderState.PENDING_PAYMENT
    assert outcome.order.version == 1
    assert outcome.order.amount_due == cny("9.99")
    assert isinstance(outcome.effects[0], ReserveStock)
    assert outcome.effects[0].lines == lines
    assert isinstance(outcome.effects[1], NotifyCustomer)
    assert [effect.id for effect in outcome.effects] == ["o-9/1/0", "o-9/1/1"]


def test_lc1_place_refuses_a_customer_placing_for_someone_else() -> None:
    """LC-1/CL-6: a customer places orders only for themselves; the system places none."""
    command = PlaceOrder("o-9", "c-1", (OrderLine("A", 1, cny("1.00")),), ADDRESS)
    with pytest.raises(CommandRefused) as info:
        LIFECYCLE.place(command, OTHER_CUSTOMER, T0)
    assert info.value.code == "place_order.not_owner"
    with pytest.raises(CommandRefused) as info:
        LIFECYCLE.place(command, SYSTEM, T0)
    assert info.value.code == "place_order.forbidden"
    assert LIFECYCLE.place(command, STAFF, T0).order.customer_id == "c-1"


def test_lc1_commands_out_of_order_are_refused_with_a_reason() -> None:
    """LC-1: shipping before review is refused and says what to do first."""
    error = refused(paid(), Ship("SF", "1"))
    assert error.code == "ship.not_ready"
    assert error.hint


# LC-2 ------------------------------------------------------------------------------------


def test_lc2_review_holds_an_incomplete_address_with_a_customer_info_case() -> None:
    """LC-2, EX-1, EX-2: an incomplete address, accepted at placing, is caught at review: an
    outcome, not a refusal: the order goes on hold with a customer-info case naming the
    missing fields; only the case releases it, once the address is corrected."""
    order = apply(place(), ChangeAddress(ADDRESS.__class__("Li", "", " ", "Hangzhou"))).order
    order = apply(order, Pay(cny("119.90"), "p"), SYSTEM).order
    held = apply(order, ApproveReview()).order
    assert held.state is OrderState.ON_HOLD
    (case,) = held.exceptions
    assert case.type is ExceptionType.CUSTOMER_INFO
    assert "phone" in str(case.evidence["missing"])
    assert "line1" in str(case.evidence["missing"])
    assert held.hold is not None
    assert held.hold.case_id == case.case_id
    assert refused(held, Release("looks fine")).code == "release.held_by_case"
    fixed = apply(
        held,
        ResolveException(case.case_id, Resolution.CORRECT_INFO, "called the buyer", ADDRESS),
    ).order
    assert (fixed.state, fixed.address) == (OrderState.PAID, ADDRESS)
    assert apply(fixed, ApproveReview()).order.state is OrderState.AWAITING_SHIPMENT


def test_lc2_review_refuses_when_paid_differs_from_due() -> None:
    """LC-2: the review checks the payment equals the amount due."""
    order = apply(place(), Pay(cny("100.00"), "p"), SYSTEM).order
    error = refused(order, ApproveReview())
    assert error.code == "approve_review.amount_mismatch"


def test_lc2_review_reports_every_failed_check_at_once() -> None:
    """LC-2: the checks that refuse a review are reported together, in a dry run as in the
    error (an incomplete address is not one of them: review catches it as a case, EX-2)."""
    order = apply(place(), ChangeAddress(ADDRESS.__class__("Li", "", "x", "y"))).order
    order = apply(order, Pay(cny("1.00"), "p"), SYSTEM).order
    clerk = Actor.staff("clerk")
    error = refused(order, ApproveReview(), clerk)
    assert error.codes == ("approve_review.missing_permission", "approve_review.amount_mismatch")
    dry = LIFECYCLE.check(order, ApproveReview(), clerk, order.updated_at)
    assert tuple(reason.code for reason in dry) == error.codes


def test_lc2_review_passes_and_confirms_the_order_to_the_customer() -> None:
    """LC-2: a clean review moves the order on and tells the customer (NT-1)."""
    outcome = apply(paid(), ApproveReview())
    assert outcome.order.state is OrderState.AWAITING_SHIPMENT
    (notice,) = outcome.effects
    assert isinstance(notice, NotifyCustomer)
    assert notice.topic is NotificationTopic.ORDER_CONFIRMED


def test_lc2_overpayment_is_refunded_and_review_passes() -> None:
    """LC-2/AS-5: an overpayment is recorded and refunded at once; the review then passes."""
    outcome = apply(place(), Pay(cny("130.00"), "p"), SYSTEM)
    order = outcome.order
    assert order.ledger.overpayment == cny("10.10")
    (refund,) = outcome.effects
    assert isinstance(refund, RequestRefund)
    assert refund.amount == cny("10.10")
    assert refund.reason is RefundReason.OVERPAYMENT
    assert apply(order, ApproveReview()).order.state is OrderState.AWAITING_SHIPMENT


# LC-3 ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("carrier", "tracking", "field"),
    [("", "SF1", "carrier"), ("SF", "  ", "tracking_number"), (" ", "", "carrier")],
)
def test_lc3_ship_requires_carrier_and_tracking(carrier: str, tracking: str, field: str) -> None:
    """LC-3: a shipment without a carrier or tracking number cannot even be built: the
    payload alone decides it."""
    with pytest.raises(InvalidInput) as info:
        Ship(carrier, tracking)
    assert info.value.field == field


def test_lc3_ship_records_tracking_and_notifies_with_it() -> None:
    """LC-3/NT-1: the tracking number is kept and sent to the customer."""
    outcome = apply(in_fulfilment(), Ship(" SF Express ", " SF99 "))
    assert outcome.order.carrier == "SF Express"
    assert outcome.order.tracking_number == "SF99"
    (notice,) = outcome.effects
    assert isinstance(notice, NotifyCustomer)
    assert notice.details == {"carrier": "SF Express", "tracking_number": "SF99"}


# LC-4 ------------------------------------------------------------------------------------


def test_lc4_buyer_confirms_receipt() -> None:
    """LC-4: the buyer's confirmation completes a delivered order."""
    assert apply(delivered(), ConfirmReceipt(), CUSTOMER).order.state is OrderState.COMPLETED


def test_lc4_auto_confirm_waits_ten_days_after_delivery() -> None:
    """LC-4: the system confirms receipt 10 days after delivery, not a minute before."""
    order = delivered()
    assert order.shipment is not None
    assert order.shipment.delivered_at is not None
    due = order.shipment.delivered_at + timedelta(days=10)
    assert order.deadlines[0].kind is DeadlineKind.AUTO_CONFIRM_RECEIPT
    assert order.deadlines[0].due_at == due
    with pytest.raises(CommandRefused) as info:
        LIFECYCLE.handle(order, AutoConfirmReceipt(), SYSTEM, due - timedelta(minutes=1))
    assert info.value.code == "auto_confirm_receipt.not_yet_due"
    done = LIFECYCLE.handle(order, AutoConfirmReceipt(), SYSTEM, due).order
    assert done.state is OrderState.COMPLETED
    # TM-6: the return windows outlive the completion; nothing of the lifecycle is timed.
    assert {deadline.kind for deadline in done.deadlines} == {
        DeadlineKind.NO_REASON_WINDOW,
        DeadlineKind.QUALITY_WINDOW,
    }


def test_lc4_auto_confirm_period_is_configurable_and_can_be_off() -> None:
    """LC-4: hosts set the period, or turn automatic confirmation off."""
    order = delivered()
    assert order.shipment is not None
    assert order.shipment.delivered_at is not None
    fast = Lifecycle(Settings(auto_confirm_after=timedelta(days=3)))
    at = order.shipment.delivered_at + timedelta(days=3)
    assert fast.handle(order, AutoConfirmReceipt(), SYSTEM, at).order.is_final
    off = Lifecycle(Settings(auto_confirm_after=None))
    with pytest.raises(CommandRefused) as info:
        off.handle(order, AutoConfirmReceipt(), SYSTEM, at + timedelta(days=100))
    assert info.value.code == "auto_confirm_receipt.disabled"


def test_lc4_receipt_before_delivery_is_refused() -> None:
    """LC-4: receipt is confirmed only after the carrier reports delivery."""
    assert refused(shipped(), ConfirmReceipt(), CUSTOMER).code == "confirm_receipt.not_delivered"


# LC-5 ------------------------------------------------------------------------------------


def test_lc5_price_changes_while_unpaid_and_updates_the_amount_due() -> None:
    """LC-5: the price can be changed while pending payment."""
    order = apply(place(), ChangePrice("SKU-B", cny("9.90"))).order
    assert order.amount_due == cny("109.90")
    assert order.lines[1].unit_price == cny("9.90")


def test_lc5_lines_change_while_unpaid_and_move_the_reservation() -> None:
    """LC-5: lines can be replaced while unpaid; stock is released and reserved again."""
    new_lines = (OrderLine("SKU-C", 3, cny("1.00")),)
    outcome = apply(place(), ChangeLines(new_lines))
    assert outcome.order.amount_due == cny("3.00")
    release, reserve = outcome.effects
    assert isinstance(release, ReleaseStock)
    assert isinstance(reserve, ReserveStock)
    assert reserve.lines == new_lines


@pytest.mark.parametrize("steps", [1, 2, 3, 4])
def test_lc5_price_is_locked_after_payment(steps: int) -> None:
    """LC-5: after payment the price is locked; the hint names the price-error case."""
    error = refused(walk(steps), ChangePrice("SKU-A", cny("1.00")))
    assert error.code == "change_price.locked_after_payment"
    assert "price-error" in error.hint


def test_lc5_price_change_checks_sku_and_currency() -> None:
    """LC-5: an unknown SKU, a foreign currency or a negative price is refused."""
    assert refused(place(), ChangePrice("nope", cny("1.00"))).code == "change_price.unknown_sku"
    from orderflow import Money

    assert (
        refused(place(), ChangePrice("SKU-A", Money("1", "USD"))).code
        == "change_price.currency_mismatch"
    )
    with pytest.raises(InvalidInput):
        ChangePrice("SKU-A", cny("-1"))
    other = (OrderLine("X", 1, Money("1", "USD")),)
    assert refused(place(), ChangeLines(other)).code == "change_lines.currency_mismatch"


# LC-6 ------------------------------------------------------------------------------------


@pytest.mark.parametrize("steps", [0, 1, 2, 3])
def test_lc6_hold_and_release_return_to_the_state_held_from(steps: int) -> None:
    """LC-6: any order before shipment can be held and released back where it was."""
    order = walk(steps)
    on_hold = apply(order, Hold("fraud check", case_id="case-7")).order
    assert on_hold.state is OrderState.ON_HOLD
    assert on_hold.held_from is order.state
    assert on_hold.hold is not None
    assert on_hold.hold.case_id == "case-7"
    released = apply(on_hold, Release("checked")).order
    assert released.state is order.state
    assert released.hold is None


def test_lc6_held_order_cannot_ship() -> None:
    """LC-6: a held order cannot ship."""
    assert refused(held(in_fulfilment()), Ship("SF", "1")).code == "ship.on_hold"


@pytest.mark.parametrize("steps", [4, 5])
def test_lc6_shipped_orders_cannot_be_held(steps: int) -> None:
    """LC-6: only orders before shipment can be held."""
    assert refused(walk(steps), Hold("late")).code == "hold.already_shipped"


def test_lc6_hold_twice_and_release_unheld_are_refused() -> None:
    """LC-6: holding a held order or releasing one that is not held is refused."""
    assert refused(held(paid()), Hold("again")).code == "hold.already_held"
    assert refused(paid(), Release()).code == "release.invalid_state"


def test_lc6_withdraw_from_fulfilment_makes_the_order_closable() -> None:
    """LC-6/D-2: pulled back from fulfilment, the order can be closed."""
    order = apply(in_fulfilment(), WithdrawFromFulfilment("customer called")).order
    assert order.state is OrderState.AWAITING_SHIPMENT
    assert apply(order, Close(CloseReason.CUSTOMER_CANCELLED)).order.state is OrderState.CLOSED


def test_lc6_payment_while_held_from_unpaid_is_applied_and_hold_moves_on() -> None:
    """LC-6: money that arrives for a held unpaid order is applied; release goes to paid."""
    order = held(place())
    order = apply(order, Pay(cny("119.90"), "p-1"), SYSTEM).order
    assert order.state is OrderState.ON_HOLD
    assert order.amount_paid == cny("119.90")
    assert order.held_from is OrderState.PAID
    assert apply(order, Release()).order.state is OrderState.PAID


def test_lc6_hold_and_release_need_the_hold_permission() -> None:
    """LC-6/CL-6: staff without order.hold cannot hold."""
    clerk = Actor.staff("clerk", Permission.SHIP)
    error = refused(paid(), Hold("x"), clerk)
    assert error.code == "hold.missing_permission"
    assert error.category is RefusalCategory.FORBIDDEN
    assert Permission.HOLD in error.message


# LC-7 ------------------------------------------------------------------------------------


@pytest.mark.parametrize("steps", [0, 1, 2, 3])
def test_lc7_address_can_be_corrected_until_shipment(steps: int) -> None:
    """LC-7: the customer can correct the address until the order ships."""
    new = ADDRESS.__class__("Han Meimei", "13900000000", "2 Road", "Suzhou")
    assert apply(walk(steps), ChangeAddress(new), CUSTOMER).order.address == new


@pytest.mark.parametrize("steps", [4, 5, 6])
def test_lc7_address_is_locked_after_shipment(steps: int) -> None:
    """LC-7: after shipment the address changes only through the carrier."""
    error = refused(walk(steps), ChangeAddress(ADDRESS), CUSTOMER)
    assert error.code == "change_address.already_shipped"
    assert "carrier" in error.hint


def test_lc7_only_the_owner_changes_the_address() -> None:
    """LC-7/CL-6: another customer cannot change the address."""
    error = refused(place(), ChangeAddress(ADDRESS), OTHER_CUSTOMER)
    assert error.code == "change_address.not_owner"


# LC-8 ------------------------------------------------------------------------------------


def test_lc8_every_transition_is_recorded_with_its_context() -> None:
    """LC-8: history has from, to, event, actor, reason, time and the command's data."""
    order = apply(paid(), Close(CloseReason.OTHER, note="warehouse flooded"),
                  at=T0 + timedelta(hours=2)).order  # fmt: skip
    entry = order.history[-1]
    assert (entry.from_state, entry.to_state) == (OrderState.PAID, OrderState.CLOSED)
    assert entry.event == "close"
    assert entry.actor == STAFF
    assert entry.reason == "other: warehouse flooded"
    assert entry.at == T0 + timedelta(hours=2)
    assert isinstance(entry.command, Close)
    assert order.version == len(order.history) == 3
    assert order.created_at == T0
    assert order.updated_at == entry.at


def test_lc8_history_is_only_ever_appended() -> None:
    """LC-8: each applied command adds one entry and keeps the earlier ones as they were."""
    order = place()
    for command, actor in HAPPY_PATH:
        after = apply(order, command, actor).order
        assert after.history[: len(order.history)] == order.history
        assert len(after.history) == len(order.history) + 1
        order = after


def test_lc8_time_cannot_run_backwards() -> None:
    """LC-8: a command dated before the order's last change is refused as bad input."""
    order = paid()
    with pytest.raises(InvalidInput, match="earlier than"):
        LIFECYCLE.handle(order, ApproveReview(), STAFF, T0 - timedelta(seconds=1))


# LC-9 ------------------------------------------------------------------------------------


@pytest.mark.parametrize("final", [completed, closed])
def test_lc9_final_states_take_no_lifecycle_command(final: object) -> None:
    """LC-9: completed and closed are final: nothing of the lifecycle is offered but the
    refunds that exist; a completed order still takes after-sales requests (D-5)."""
    order = final()  # type: ignore[operator]
    availability = LIFECYCLE.available(order, STAFF, order.updated_at)
    after_sales = ("request_after_sales",) if order.state is OrderState.COMPLETED else ()
    assert availability.allowed_events == (*after_sales, "open_exception")
    assert availability.why_not(Pay)[0].code in ("pay.already_paid", "pay.order_closed")
    for command in (ApproveReview(), StartFulfilment(), ConfirmDelivery(), Hold("x")):
        with pytest.raises(CommandRefused) as info:
            apply(order, command)
        assert info.value.category is RefusalCategory.CONFLICT
    refunding = closed(paid())
    offered = LIFECYCLE.available(refunding, STAFF, refunding.updated_at).allowed_events
    assert set(offered) == {"confirm_refund", "fail_refund", "open_exception"}


# CL-1 / D-2 ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("steps", "code"),
    [(4, "close.already_shipped"), (5, "close.already_delivered"), (6, "close.already_completed")],
)
def test_cl1_a_shipped_order_cannot_be_closed(steps: int, code: str) -> None:
    """CL-1: shipped, delivered and completed orders are refused, pointing to after-sales."""
    error = refused(walk(steps), Close(CloseReason.CUSTOMER_CANCELLED))
    assert error.code == code
    assert "after-sales" in error.hint
    assert error.state == walk(steps).state.value
    assert error.command == "close"


def test_cl1_d2_an_order_in_fulfilment_cannot_be_closed() -> None:
    """CL-1/D-2: in fulfilment is refused; the hint names withdrawing from fulfilment."""
    error = refused(in_fulfilment(), Close(CloseReason.OUT_OF_STOCK))
    assert error.code == "close.in_fulfilment"
    assert "Withdraw" in error.hint


def test_cl1_d3_closing_a_closed_order_is_refused_not_ignored() -> None:
    """CL-1/D-3: closing again without a command id is refused as already closed."""
    assert refused(closed(), Close(CloseReason.OTHER, "x")).code == "close.already_closed"


# CL-2 ------------------------------------------------------------------------------------


def test_cl2_close_records_the_reason() -> None:
    """CL-2: the reason is kept on the order."""
    order = closed()
    assert order.close_reason is CloseReason.OUT_OF_STOCK
    assert order.closure is not None
    assert order.closure.by == STAFF


def test_cl2_other_needs_free_text() -> None:
    """CL-2: the reason 'other' needs a note."""
    with pytest.raises(InvalidInput):
        Close(CloseReason.OTHER, "  ")
    assert apply(place(), Close(CloseReason.OTHER, "gift card fraud")).order.closure is not None


def test_cl2_reasons_are_extensible() -> None:
    """CL-2: a host registers its own reason and closes with it."""
    reason = CloseReason.register("supplier_recall", "the supplier recalled the goods")
    assert CloseReason.of("supplier_recall") is reason
    assert apply(place(), Close(reason)).order.close_reason == reason
    with pytest.raises(InvalidInput):
        CloseReason.register("supplier_recall", "something else")
    with pytest.raises(InvalidInput):
        CloseReason.of("no_such_reason")


# CL-3 / D-1 ------------------------------------------------------------------------------


@pytest.mark.parametrize("steps", [1, 2])
def test_cl3_d1_closing_a_paid_order_requests_a_full_refund_in_the_same_outcome(steps: int) -> None:
    """CL-3/D-1: closing a paid order yields a refund request for everything paid."""
    outcome = apply(walk(steps), Close(CloseReason.OUT_OF_STOCK))
    refunds = [effect for effect in outcome.effects if isinstance(effect, RequestRefund)]
    assert len(refunds) == 1
    assert refunds[0].amount == cny("119.90")
    assert refunds[0].reason is RefundReason.ORDER_CLOSED
    assert refunds[0].payment_reference == "pay-1"
    ledger = outcome.order.ledger
    assert ledger.amount_refund_pending == cny("119.90")
    assert ledger.refunds[0].status is RefundStatus.PENDING


def test_cl3_closing_an_unpaid_order_requests_no_refund() -> None:
    """CL-3: nothing paid, nothing refunded."""
    outcome = apply(place(), Close(CloseReason.CUSTOMER_CANCELLED), CUSTOMER)
    assert not any(isinstance(effect, RequestRefund) for effect in outcome.effects)


def test_d1_close_refunds_only_what_is_not_already_refunded_or_pending() -> None:
    """D-1: an overpayment refund already pending is not requested twice on close."""
    order = apply(place(), Pay(cny("130.00"), "p"), SYSTEM).order
    outcome = apply(order, Close(CloseReason.OUT_OF_STOCK))
    refunds = [effect for effect in outcome.effects if isinstance(effect, RequestRefund)]
    assert [refund.amount for refund in refunds] == [cny("119.90")]
    assert outcome.order.ledger.amount_refund_pending == cny("130.00")


# CL-4 / CL-5 -----------------------------------------------------------------------------


def test_cl4_cl5_closing_notifies_with_the_reason_and_releases_stock() -> None:
    """CL-4/CL-5: the customer is told why, and reserved stock is released."""
    order = place()
    outcome = apply(order, Close(CloseReason.OUT_OF_STOCK))
    release = next(e for e in outcome.effects if isinstance(e, ReleaseStock))
    assert release.lines == order.lines
    notice = next(e for e in outcome.effects if isinstance(e, NotifyCustomer))
    assert notice.topic is NotificationTopic.CLOSED
    assert notice.details["reason"] == "out_of_stock"
    assert "out of stock" in notice.message


# CL-6 ------------------------------------------------------------------------------------


def test_cl6_staff_need_the_close_permission() -> None:
    """CL-6: closing by staff needs order.close."""
    clerk = Actor.staff("clerk", Permission.REVIEW)
    error = refused(paid(), Close(CloseReason.OUT_OF_STOCK), clerk)
    assert error.code == "close.missing_permission"
    assert "order.close" in error.message


@pytest.mark.parametrize("steps", [0, 1, 2])
def test_cl6_buyer_may_cancel_before_preparation_starts(steps: int) -> None:
    """CL-6: the buyer cancels while unpaid, paid, or reviewed and waiting for the warehouse."""
    outcome = apply(walk(steps), Close(CloseReason.CUSTOMER_CANCELLED), CUSTOMER)
    assert outcome.order.state is OrderState.CLOSED
    if steps:
        refund = next(e for e in outcome.effects if isinstance(e, RequestRefund))
        assert refund.amount == cny("119.90")


def test_cl6_buyer_cannot_cancel_once_preparation_started() -> None:
    """CL-6: once the warehouse is packing (in_fulfilment) the buyer must ask customer service."""
    error = refused(in_fulfilment(), Close(CloseReason.CUSTOMER_CANCELLED), CUSTOMER)
    assert error.code == "close.preparation_started"
    assert "customer service" in error.hint
    staff_error = refused(in_fulfilment(), Close(CloseReason.OUT_OF_STOCK), STAFF)
    assert staff_error.code == "close.in_fulfilment"


@pytest.mark.parametrize("steps", [3, 4, 5, 6])
def test_cl6_another_customers_close_is_refused_as_not_theirs_in_any_state(steps: int) -> None:
    """CL-6: someone else's order is refused as not theirs before anything about its state."""
    error = refused(walk(steps), Close(CloseReason.CUSTOMER_CANCELLED), OTHER_CUSTOMER)
    assert error.code == "close.not_owner"
    assert error.reasons[0].code == "close.not_owner"
    closed_order = closed()
    assert refused(closed_order, Close(CloseReason.CUSTOMER_CANCELLED), OTHER_CUSTOMER).code == (
        "close.not_owner"
    )


def test_cl6_buyer_closes_only_by_cancelling_and_only_their_own_order() -> None:
    """CL-6: a customer cannot pick another reason, nor close someone else's order."""
    error = refused(place(), Close(CloseReason.SUSPECTED_FRAUD), CUSTOMER)
    assert error.code == "close.reason_not_allowed"
    error = refused(place(), Close(CloseReason.CUSTOMER_CANCELLED), OTHER_CUSTOMER)
    assert error.code == "close.not_owner"


def test_cl6_the_system_closes_only_for_payment_timeout() -> None:
    """CL-6: the system may not use the staff close."""
    error = refused(place(), Close(CloseReason.OUT_OF_STOCK), SYSTEM)
    assert error.code == "close.forbidden"
    assert error.category is RefusalCategory.FORBIDDEN


# CL-7 / D-10 -----------------------------------------------------------------------------


def test_cl7_unpaid_orders_close_after_thirty_minutes_not_before() -> None:
    """CL-7: the unpaid timeout is 30 minutes by default; 29:59 is too early."""
    order = place()
    (deadline,) = order.deadlines
    assert deadline.kind is DeadlineKind.AUTO_CLOSE_UNPAID
    assert deadline.due_at == T0 + timedelta(minutes=30)
    with pytest.raises(CommandRefused) as info:
        LIFECYCLE.handle(order, AutoCloseUnpaid(), SYSTEM, T0 + timedelta(minutes=29, seconds=59))
    assert info.value.code == "auto_close_unpaid.not_yet_due"
    closed_order = LIFECYCLE.handle(
        order, AutoCloseUnpaid(), SYSTEM, T0 + timedelta(minutes=30)
    ).order
    assert closed_order.close_reason is CloseReason.PAYMENT_TIMEOUT
    assert closed_order.deadlines == ()


def test_cl7_only_the_system_auto_closes_and_only_unpaid_orders() -> None:
    """CL-7: staff use Close; a paid order is never auto-closed."""
    late = T0 + timedelta(hours=1)
    with pytest.raises(CommandRefused) as info:
        LIFECYCLE.handle(place(), AutoCloseUnpaid(), STAFF, late)
    assert info.value.code == "auto_close_unpaid.forbidden"
    with pytest.raises(CommandRefused) as info:
        LIFECYCLE.handle(paid(), AutoCloseUnpaid(), SYSTEM, late)
    assert info.value.code == "auto_close_unpaid.invalid_state"


def test_d10_auto_close_skips_an_order_with_a_payment_in_progress() -> None:
    """D-10: a payment in progress stops the timer until it fails."""
    order = apply(place(), BeginPayment("p-1"), CUSTOMER).order
    late = T0 + timedelta(hours=1)
    with pytest.raises(CommandRefused) as info:
        LIFECYCLE.handle(order, AutoCloseUnpaid(), SYSTEM, late)
    assert info.value.code == "auto_close_unpaid.payment_in_progress"
    error = refused(order, FailPayment("p-other"), SYSTEM)
    assert error.code == "fail_payment.not_in_progress"
    order = LIFECYCLE.handle(order, FailPayment("p-1", "card declined"), SYSTEM, late).order
    assert LIFECYCLE.handle(order, AutoCloseUnpaid(), SYSTEM, late).order.state is OrderState.CLOSED


def test_d10_timeout_is_configurable_and_none_turns_it_off() -> None:
    """D-10/CL-7: hosts set the timeout; None turns the timer off; zero is refused."""
    from orderflow import InvalidConfiguration

    short = Lifecycle(Settings(unpaid_timeout=timedelta(minutes=5)))
    order = short.place(PlaceOrder("o", "c-1", place().lines, ADDRESS), CUSTOMER, T0).order
    assert order.deadlines[0].due_at == T0 + timedelta(minutes=5)
    off = Lifecycle(Settings(unpaid_timeout=None))
    order = off.place(PlaceOrder("o", "c-1", place().lines, ADDRESS), CUSTOMER, T0).order
    assert order.deadlines == ()
    with pytest.raises(CommandRefused) as info:
        off.handle(order, AutoCloseUnpaid(), SYSTEM, T0 + timedelta(days=9))
    assert info.value.code == "auto_close_unpaid.disabled"
    for bad in (timedelta(0), timedelta(minutes=-1)):
        with pytest.raises(InvalidConfiguration):
            Settings(unpaid_timeout=bad)
    with pytest.raises(InvalidConfiguration):
        Settings(auto_confirm_after=30)  # type: ignore[arg-type]


def test_d10_payment_on_a_closed_order_is_refunded_and_opens_a_case() -> None:
    """D-10: a late payment is not applied; it yields a refund request and an exception case."""
    order = closed()
    outcome = apply(order, Pay(cny("119.90"), "late-1"), SYSTEM)
    assert outcome.order.state is OrderState.CLOSED
    assert outcome.order.amount_paid == cny("0.00")
    refund, case = outcome.effects
    assert isinstance(refund, RequestRefund)
    assert refund.reason is RefundReason.LATE_PAYMENT
    assert isinstance(case, OpenCase)
    assert case.case_type == "payment_after_close"


# D-3 / RK-3 ------------------------------------------------------------------------------


def test_d3_same_command_id_returns_the_original_outcome_and_changes_nothing() -> None:
    """D-3: a webhook delivered twice applies once; the replay returns the same effects."""
    order = place()
    pay = Pay(cny("119.90"), "pay-1", command_id="evt-1")
    first = apply(order, pay, SYSTEM)
    again = apply(first.order, pay, SYSTEM)
    assert again.replayed
    assert again.order == first.order
    assert again.effects == first.effects
    assert again.entry == first.entry


def test_d3_same_command_id_with_another_payload_is_a_conflict() -> None:
    """D-3: the same id with a different payload is refused, never applied."""
    first = apply(place(), Pay(cny("119.90"), "pay-1", command_id="evt-1"), SYSTEM).order
    error = refused(first, ApproveReview(command_id="evt-1"))
    assert error.code == "approve_review.id_conflict"


def test_d3_same_payment_reference_same_amount_is_a_replay() -> None:
    """D-3: a payment callback repeated without an id is matched by its reference."""
    first = apply(place(), Pay(cny("119.90"), "pay-1"), SYSTEM)
    again = apply(first.order, Pay(cny("119.90"), "pay-1"), SYSTEM)
    assert again.replayed
    assert again.order == first.order


def test_d3_same_payment_reference_other_amount_is_refused() -> None:
    """D-3: a payment reference reused with another amount is refused."""
    first = apply(place(), Pay(cny("119.90"), "pay-1"), SYSTEM).order
    assert refused(first, Pay(cny("1.00"), "pay-1"), SYSTEM).code == "pay.reference_conflict"


@pytest.mark.parametrize("steps", [1, 2, 4, 6])
def test_rk3_a_second_payment_is_never_added_and_is_refunded(steps: int) -> None:
    """RK-3/D-3: another payment on a paid order is recorded, not applied, and refunded."""
    order = walk(steps)
    outcome = apply(order, Pay(cny("119.90"), "pay-2"), SYSTEM)
    assert outcome.order.amount_paid == order.amount_paid
    assert outcome.order.state is order.state
    refund, case = outcome.effects
    assert isinstance(refund, RequestRefund)
    assert refund.reason is RefundReason.DUPLICATE_PAYMENT
    assert isinstance(case, OpenCase)
    assert outcome.order.ledger.payments[-1].applied is False
    assert outcome.order.ledger.refunds[-1].counts_against_paid is False


def test_pay_refuses_a_foreign_currency_and_a_zero_amount() -> None:
    """AS-5: money in another currency, or nothing at all, is not a payment."""
    from orderflow import Money

    assert refused(place(), Pay(Money("10", "USD"), "p"), SYSTEM).code == "pay.currency_mismatch"
    with pytest.raises(InvalidInput):
        Pay(cny("0"), "p")


# D-13 ------------------------------------------------------------------------------------


@pytest.mark.parametrize("steps", [0, 1, 2])
def test_d13_a_held_order_closes_as_if_in_the_state_it_was_held_from(steps: int) -> None:
    """D-13: staff close a held order; a paid one gets its refund (D-1)."""
    outcome = apply(held(walk(steps)), Close(CloseReason.SUSPECTED_FRAUD))
    assert outcome.order.state is OrderState.CLOSED
    assert outcome.order.hold is None
    refunds = [e for e in outcome.effects if isinstance(e, RequestRefund)]
    assert len(refunds) == (1 if steps else 0)


def test_d13_a_held_order_from_fulfilment_is_refused_like_fulfilment() -> None:
    """D-13/D-2: held from in_fulfilment, the close is refused as close.in_fulfilment."""
    assert (
        refused(held(in_fulfilment()), Close(CloseReason.OUT_OF_STOCK)).code
        == "close.in_fulfilment"
    )


def test_d13_customers_cannot_close_held_orders() -> None:
    """D-13: only staff with order.close close a held order."""
    error = refused(held(place()), Close(CloseReason.CUSTOMER_CANCELLED), CUSTOMER)
    assert error.code == "close.on_hold"
    assert "customer service" in error.hint


# AS-6: the refund obligation created by CL-3 runs to completion ---------------------------


def test_as6_refund_confirmed_moves_money_to_refunded() -> None:
    """AS-6: a refund is done only when the payment side confirms it."""
    order = closed(paid())
    refund_id = order.ledger.refunds[0].refund_id
    outcome = apply(order, ConfirmRefund(refund_id), SYSTEM)
    ledger = outcome.order.ledger
    assert ledger.amount_refunded == cny("119.90")
    assert ledger.amount_refund_pending == cny("0.00")
    assert ledger.refunds[0].status is RefundStatus.REFUNDED
    assert isinstance(outcome.effects[0], NotifyCustomer)


def test_as6_failed_refund_stays_visible_and_can_be_retried() -> None:
    """AS-6, D-6: a failed refund stays visible; a declined one frees its room while failed
    (an unknown outcome keeps it, D-17); a retry asks again under the same refund id."""
    order = closed(paid())
    refund_id = order.ledger.refunds[0].refund_id
    unknown = apply(order, FailRefund(refund_id, "timeout", declined=False), SYSTEM).order
    assert unknown.ledger.amount_refund_pending == cny("119.90")
    failed = apply(order, FailRefund(refund_id, "card expired", declined=True), SYSTEM).order
    assert failed.ledger.refunds[0].status is RefundStatus.FAILED
    assert failed.ledger.refunds[0].last_error == "card expired"
    assert failed.ledger.amount_refund_pending == cny("0.00")
    assert (
        refused(failed, ConfirmRefund(refund_id), SYSTEM).code
        == "confirm_refund.refund_not_pending"
    )
    retried = apply(failed, RetryRefund(refund_id), SYSTEM)
    (request,) = retried.effects
    assert isinstance(request, RequestRefund)
    assert retried.order.ledger.amount_refund_pending == cny("119.90")
    assert request.refund_id == refund_id
    assert request.attempt == 2
    assert request.idempotency_key == f"{refund_id}#2"
    assert refused(retried.order, RetryRefund(refund_id), SYSTEM).code == (
        "retry_refund.refund_not_failed"
    )
    not_found = refused(order, ConfirmRefund("nope"), SYSTEM)
    assert not_found.code == "confirm_refund.refund_not_pending"
    assert not_found.category is RefusalCategory.INVALID


def test_d17_a_retry_after_an_unknown_outcome_reuses_the_idempotency_key() -> None:
    """D-17: after a timeout the provider may still pay, so the retry carries the same key;
    only a known decline takes a new one."""
    order = closed(paid())
    (first,) = [e for e in order.history[-1].effects if isinstance(e, RequestRefund)]
    refund_id = first.refund_id
    assert first.idempotency_key == f"{refund_id}#1"
    timed_out = apply(order, FailRefund(refund_id, "gateway timeout"), SYSTEM).order
    assert timed_out.ledger.refunds[0].declined is False
    assert timed_out.ledger.refunds[0].last_error == "gateway timeout"
    retry = apply(timed_out, RetryRefund(refund_id), SYSTEM)
    (second,) = retry.effects
    assert isinstance(second, RequestRefund)
    assert (second.attempt, second.idempotency_key) == (2, first.idempotency_key)
    declined = apply(retry.order, FailRefund(refund_id, "declined", declined=True), SYSTEM)
    third = apply(declined.order, RetryRefund(refund_id), SYSTEM).effects[0]
    assert isinstance(third, RequestRefund)
    assert (third.attempt, third.idempotency_key) == (3, f"{refund_id}#3")
    unknown_again = apply(
        apply(declined.order, RetryRefund(refund_id), SYSTEM).order,
        FailRefund(refund_id),
        SYSTEM,
    ).order
    fourth = apply(unknown_again, RetryRefund(refund_id), SYSTEM).effects[0]
    assert isinstance(fourth, RequestRefund)
    assert (fourth.attempt, fourth.idempotency_key) == (4, f"{refund_id}#3")
    assert unknown_again.ledger.refunds[0].last_error == "outcome unknown"


# Dry runs and availability ----------------------------------------------------------------


def test_dry_run_lists_reasons_without_raising_or_changing_anything() -> None:
    """A dry run returns every reason and leaves the order as it was."""
    order = in_fulfilment()
    clerk = Actor.staff("clerk")
    reasons = LIFECYCLE.check(order, Ship("SF", "1"), clerk, order.updated_at)
    assert [r.code for r in reasons] == ["ship.missing_permission"]
    review = walk(1, place(address=ADDRESS.__class__("Li Lei", "", "1 Road", "Hangzhou")))
    reasons = LIFECYCLE.check(review, ApproveReview(), clerk, review.updated_at)
    assert [r.code for r in reasons] == ["approve_review.missing_permission"]
    assert LIFECYCLE.check(order, Ship("SF", "1"), STAFF, order.updated_at) == ()
    sent = shipped()
    reasons = LIFECYCLE.check(sent, Close(CloseReason.OTHER, "x"), STAFF, sent.updated_at)
    assert reasons[0].code == "close.already_shipped"


def test_dry_run_of_a_replay_is_not_refused_and_of_a_conflict_is() -> None:
    """D-3: a dry run of a replay is allowed; of a conflicting id it gives the conflict."""
    order = apply(place(), Pay(cny("119.90"), "p", command_id="e"), SYSTEM).order
    assert (
        LIFECYCLE.check(order, Pay(cny("119.90"), "p", command_id="e"), SYSTEM, order.updated_at)
        == ()
    )
    reasons = LIFECYCLE.check(order, ApproveReview(command_id="e"), STAFF, order.updated_at)
    assert reasons[0].code == "approve_review.id_conflict"


def test_available_lists_allowed_commands_and_why_not_the_others() -> None:
    """One call lists what an actor may do now and why not the rest."""
    order = in_fulfilment()
    staff_view = LIFECYCLE.available(order, STAFF, order.updated_at)
    assert set(staff_view.allowed_events) == {
        "ship",
        "withdraw_from_fulfilment",
        "hold",
        "change_address",
        "refund_money_only",  # AS-7: money back on an open, unshipped order
        "request_after_sales",  # D-5: a refund of goods not received, on the buyer's behalf
        "open_exception",  # EX-2: an agent opens a case by hand
    }
    assert staff_view.why_not(Close)[0].code == "close.in_fulfilment"
    assert staff_view.why_not(Pay)[0].code == "pay.already_paid"
    customer_view = LIFECYCLE.available(order, CUSTOMER, order.updated_at)
    assert customer_view.allowed_events == ("change_address", "request_after_sales")
    assert set(customer_view.refused) == {BeginPayment, FailPayment, ConfirmReceipt, Close}
    assert customer_view.why_not(Close)[0].code == "close.preparation_started"
    assert customer_view.why_not(ChangeAddress) == ()


def test_available_checks_payload_free_commands_fully() -> None:
    """Timer commands are judged with their guards: auto-close is not yet due."""
    order = place()
    view = LIFECYCLE.available(order, SYSTEM, T0 + timedelta(minutes=5))
    assert view.why_not(AutoCloseUnpaid)[0].code == "auto_close_unpaid.not_yet_due"
    view = LIFECYCLE.available(order, SYSTEM, T0 + timedelta(minutes=30))
    assert "auto_close_unpaid" in view.allowed_events


# -- limits: lines, quantities, corrections, totals, timeouts ----------------------------------


def _lines(count: int, quantity: int = 1) -> tuple[OrderLine, ...]:
    return tuple(OrderLine(f"SKU-{index}", quantity, cny("1.00")) for index in range(count))


def test_placing_more_lines_or_units_than_the_limits_raises_invalid_input() -> None:
    """LC-5: by default an order has at most 100 lines of at most 10,000 units each."""
    assert place("limit-ok", lines=_lines(100, 10_000)).amount_due == cny("1000000.00")
    with pytest.raises(InvalidInput, match="at most 100 lines") as info:
        place("limit-lines", lines=_lines(101))
    assert info.value.field == "lines"
    with pytest.raises(InvalidInput, match="at most 10000 units") as info:
        place("limit-units", lines=(*_lines(2), OrderLine("BIG", 10_001, cny("1.00"))))
    assert info.value.field == "lines[2].quantity"


def test_limits_are_configurable_and_validated() -> None:
    """LC-5: a shop sets its own limits; nonsense is an InvalidConfiguration."""
    small = Lifecycle(Settings(limits=Limits(lines_per_order=2, quantity_per_line=5)))
    command = PlaceOrder("o-small", CUSTOMER.id, _lines(3), ADDRESS)
    with pytest.raises(InvalidInput, match="at most 2 lines"):
        small.place(command, CUSTOMER, T0)
    with pytest.raises(InvalidInput, match="at most 5 units"):
        small.place(PlaceOrder("o-small", CUSTOMER.id, _lines(1, 6), ADDRESS), CUSTOMER, T0)
    for bad in (
        {"lines_per_order": 0},
        {"lines_per_order": 1_001},
        {"quantity_per_line": 1_000_001},
        {"corrections_per_order": -1},
        {"corrections_per_order": 1_001},
        {"lines_per_order": True},
        {"quantity_per_line": 2.5},
    ):
        with pytest.raises(InvalidConfiguration):
            Limits(**bad)
    with pytest.raises(InvalidConfiguration):
        Settings(limits={"lines_per_order": 2})  # type: ignore[arg-type]
    for timeout in (timedelta(days=3651), timedelta.max):
        with pytest.raises(InvalidConfiguration, match="3650 days"):
            Settings(unpaid_timeout=timeout)
        with pytest.raises(InvalidConfiguration, match="3650 days"):
            Settings(auto_confirm_after=timeout)


def test_changing_lines_beyond_the_limits_is_refused() -> None:
    """LC-5: ChangeLines beyond the limits is a refusal, listed by a dry run too."""
    order = place()
    error = refused(order, ChangeLines(_lines(101)))
    assert error.code == "change_lines.too_many_lines"
    assert error.reasons[0].rule == "LC-5"
    assert refused(order, ChangeLines(_lines(1, 10_001))).code == "change_lines.quantity_too_large"
    at = order.updated_at
    reasons = LIFECYCLE.check(order, ChangeLines(_lines(101)), STAFF, at)
    assert [reason.code for reason in reasons] == ["change_lines.too_many_lines"]


def test_corrections_per_order_are_limited_across_the_three_commands() -> None:
    """LC-5, LC-7: ChangeAddress, ChangePrice and ChangeLines together count to 20."""
    order = place()
    corrections = (ChangeAddress(ADDRESS), ChangePrice("SKU-A", cny("49.00")))
    for index in range(19):
        order = apply(order, corrections[index % 2]).order
    order = apply(order, ChangeLines(order.lines)).order
    before = order
    for command in (
        ChangeAddress(ADDRESS),
        ChangePrice("SKU-A", cny("1.00")),
        ChangeLines(order.lines),
    ):
        error = refused(order, command, CUSTOMER if isinstance(command, ChangeAddress) else STAFF)
        assert error.code == f"{command.event}.too_many_corrections"
        assert error.reasons[0].rule == "LC-5, LC-7"
        assert "20 times" in error.message
    assert order == before
    assert (
        apply(order, Pay(order.amount_due, "pay-after-corrections"), SYSTEM).order.state == "paid"
    )


def test_a_shop_may_allow_no_corrections_or_more() -> None:
    """LC-7: corrections_per_order is the shop's choice, 0 included."""
    strict = Lifecycle(Settings(limits=Limits(corrections_per_order=0)))
    order = strict.place(
        PlaceOrder("o-strict", CUSTOMER.id, _lines(1), ADDRESS), CUSTOMER, T0
    ).order
    with pytest.raises(CommandRefused) as info:
        strict.handle(order, ChangeAddress(ADDRESS), CUSTOMER, T0)
    assert info.value.code == "change_address.too_many_corrections"


def test_a_price_that_would_take_the_total_to_10_to_the_18_is_refused() -> None:
    """AS-5: a total that does not fit what the stores keep is refused, never rounded."""
    order = place()  # SKU-A: 2 units, SKU-B: 1 unit
    error = refused(order, ChangePrice("SKU-A", Money("500000000000000000.00", "CNY")))
    assert error.code == "change_price.total_too_large"
    assert error.reasons[0].rule == "AS-5"
    changed = apply(order, ChangePrice("SKU-B", Money("999999999999999899.99", "CNY"))).order
    assert changed.amount_due == Money("999999999999999999.99", "CNY")
    assert (
        refused(changed, ChangePrice("SKU-A", cny("50.01"))).code == "change_price.total_too_large"
    )


def test_a_time_at_or_after_9000_is_refused_before_any_deadline_is_computed() -> None:
    """TM-5, D-18: confirming delivery at the end of time would overflow the auto-confirm
    deadline; the time is refused with InvalidInput instead."""
    order = shipped()
    for at in (datetime(9000, 1, 1, tzinfo=UTC), datetime.max.replace(tzinfo=UTC)):
        with pytest.raises(InvalidInput, match="9000"):
            LIFECYCLE.handle(order, ConfirmDelivery(), SYSTEM, at)
    late = datetime(8999, 12, 31, tzinfo=UTC)
    assert LIFECYCLE.handle(order, ConfirmDelivery(), SYSTEM, late).order.deadlines
