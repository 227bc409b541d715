"""After-sales money: refunds of cases confirmed, failed and retried (AS-6, D-6, D-17), a full
refund closing the order (D-12), money-only refunds (AS-7), closing an order with open cases
(D-13), and orders holding cases of every state written and read back.
"""

from __future__ import annotations

import json

import pytest

from orderflow import (
    Actor,
    Close,
    CloseReason,
    ConfirmReceipt,
    ConfirmRefund,
    FailRefund,
    Hold,
    Money,
    NotifyCustomer,
    Order,
    OrderLine,
    RefundReason,
    ReleaseStock,
    RequestRefund,
    RetryRefund,
    StartFulfilment,
)
from orderflow.aftersales import (
    ApproveCase,
    AskForReview,
    CaseKind,
    CaseReason,
    CaseState,
    CaseTransition,
    DecideReview,
    ReceiveReturn,
    RefundMoneyOnly,
    RejectCase,
    RequestAfterSales,
    ShareRequest,
    ShipBack,
    ShipReplacement,
    Units,
    standing,
)
from orderflow.ledger import RefundStatus
from orderflow.machine import check_invariants
from orderflow.model import OrderState
from orderflow.serialization import dump, load
from tests.case_support import (
    AGENT,
    BUYER,
    CASHIER,
    FISH,
    PAID,
    STAFF,
    SYSTEM,
    ask,
    awaiting_shipment,
    case,
    cny,
    confirm_all,
    delivered,
    last_case,
    last_refund,
    paid,
    placed,
    refused,
    returned,
    returning,
    run,
    shipped,
    step,
)

CUP_ONLY = (OrderLine("CUP", 1, cny("5.00")),)


def _refund_pending(order: Order, amount: str) -> tuple[Order, str, str]:
    """A refund only of ``amount`` asked and approved; the order, the case and refund ids."""
    order = ask(order, CaseKind.REFUND_ONLY, CaseReason.AGREED_AMOUNT, amount=cny(amount))
    case_id = last_case(order).case_id
    order = step(order, ApproveCase(case_id), AGENT)
    return order, case_id, last_refund(order).refund_id


# -- failed and retried refunds (AS-6, D-6, D-17) ---------------------------------------------


def test_d6_a_declined_refund_frees_its_room_for_another_request() -> None:
    """AS-6, D-6, D-17: a declined refund leaves its case refund_failed, visible and open,
    and frees its room: another request may take it."""
    order, case_id, refund_id = _refund_pending(delivered(CUP_ONLY), "5.00")
    outcome = run(order, FailRefund(refund_id, "card closed", declined=True), SYSTEM)
    failed = case(outcome.order, case_id)
    assert failed.state is CaseState.REFUND_FAILED
    assert failed.is_open
    assert outcome.entry.cases == (
        CaseTransition(case_id, CaseState.REFUND_PENDING, CaseState.REFUND_FAILED),
    )
    now = standing(outcome.order)
    assert (now.room, now.pending, now.failed) == (cny("5.00"), cny("0.00"), cny("5.00"))
    order = ask(outcome.order, CaseKind.REFUND_ONLY, CaseReason.AGREED_AMOUNT, amount=cny("5.00"))
    assert last_case(order).state is CaseState.REQUESTED


def test_d6_retrying_a_declined_refund_whose_room_was_taken_is_refused() -> None:
    """D-6, AS-6: once another case took a declined refund's room, the retry is refused
    with room_taken, naming what may still be refunded; nothing changes."""
    order, case_id, refund_id = _refund_pending(delivered(CUP_ONLY), "5.00")
    order = step(order, FailRefund(refund_id, "card closed", declined=True), SYSTEM)
    order = ask(order, CaseKind.REFUND_ONLY, CaseReason.AGREED_AMOUNT, amount=cny("3.00"))
    refusal = refused(order, RetryRefund(refund_id), SYSTEM)
    assert refusal.codes == ("retry_refund.room_taken",)
    assert "2.00 CNY" in refusal.message
    assert case(order, case_id).state is CaseState.REFUND_FAILED


def test_d17_a_declined_refund_retried_takes_a_new_key_and_its_room_back() -> None:
    """D-17, AS-6: a retry after a decline asks again under a new idempotency key; the case
    is pending again and the room is held again."""
    order, case_id, refund_id = _refund_pending(delivered(CUP_ONLY), "5.00")
    first_key = last_refund(order).idempotency_key
    order = step(order, FailRefund(refund_id, "declined", declined=True), SYSTEM)
    outcome = run(order, RetryRefund(refund_id), SYSTEM)
    retried = outcome.order.ledger.refund(refund_id)
    assert retried is not None
    assert retried.idempotency_key != first_key
    assert [effect.idempotency_key for effect in outcome.effects
            if isinstance(effect, RequestRefund)] == [retried.idempotency_key]  # fmt: skip
    assert case(outcome.order, case_id).state is CaseState.REFUND_PENDING
    assert standing(outcome.order).room == cny("0.00")
    order = step(outcome.order, ConfirmRefund(refund_id), SYSTEM)
    assert case(order, case_id).state is CaseState.REFUNDED


def test_d17_a_refund_of_unknown_outcome_keeps_its_room() -> None:
    """D-17, D-6: a failure whose outcome is unknown keeps the room (the provider may
    still pay): another request is refused over the cap, and the retry reuses the key."""
    order, case_id, refund_id = _refund_pending(delivered(CUP_ONLY), "5.00")
    key = last_refund(order).idempotency_key
    order = step(order, FailRefund(refund_id, "gateway timed out"), SYSTEM)
    assert case(order, case_id).state is CaseState.REFUND_FAILED
    assert order.ledger.amount_refund_pending == cny("5.00")
    assert standing(order).room == cny("0.00")
    over = RequestAfterSales(CaseKind.REFUND_ONLY, CaseReason.AGREED_AMOUNT, (), cny("0.01"))
    refusal = refused(order, over, BUYER)
    assert refusal.codes == ("request_after_sales.over_cap",)
    assert "0.00 CNY is left" in refusal.message
    order = step(order, RetryRefund(refund_id), SYSTEM)
    retried = order.ledger.refund(refund_id)
    assert retried is not None
    assert retried.idempotency_key == key
    assert case(order, case_id).state is CaseState.REFUND_PENDING


def test_as6_a_case_is_refunded_only_when_each_of_its_refunds_is_confirmed() -> None:
    """AS-6, AS-3: a quality return with seller-paid shipping has two refunds; the case is
    refunded once both are confirmed, whichever comes first."""
    order = ask(delivered(), CaseKind.RETURN, CaseReason.QUALITY_PROBLEM, Units("BOWL", 1))
    case_id = last_case(order).case_id
    order = step(order, ApproveCase(case_id), AGENT)
    order = step(order, ShipBack(case_id, "YTO", "YT1", cny("8.00")), BUYER)
    order = step(order, ReceiveReturn(case_id, (Units("BOWL", 1),)), AGENT)
    goods, shipping = order.ledger.refunds
    order = step(order, ConfirmRefund(shipping.refund_id), SYSTEM)
    assert case(order, case_id).state is CaseState.REFUND_PENDING
    assert order.ledger.amount_refunded == cny("0.00")
    outcome = run(order, ConfirmRefund(goods.refund_id), SYSTEM)
    assert case(outcome.order, case_id).state is CaseState.REFUNDED
    assert outcome.order.ledger.amount_refunded == cny("20.00")
    notices = [effect for effect in outcome.effects if isinstance(effect, NotifyCustomer)]
    assert [notice.topic.value for notice in notices] == ["refunded"]


# -- D-12: a full refund closes an order not yet completed -------------------------------------


def test_d12_refunds_reaching_everything_paid_close_a_delivered_order() -> None:
    """D-12: two refunds only adding up to everything paid on a delivered order: the one
    confirmed last closes the order with refunded_in_full in the same outcome; the case it
    pays is refunded in that same entry."""
    order, first, _ = _refund_pending(delivered(), "50.00")
    order = confirm_all(order)
    assert order.state is OrderState.DELIVERED
    order, second, refund_id = _refund_pending(order, "5.00")
    outcome = run(order, ConfirmRefund(refund_id), SYSTEM)
    assert outcome.order.state is OrderState.CLOSED
    closure = outcome.order.closure
    assert closure is not None
    assert closure.reason is CloseReason.REFUNDED_IN_FULL
    assert outcome.entry.to_state is OrderState.CLOSED
    assert case(outcome.order, second).state is CaseState.REFUNDED
    assert case(outcome.order, first).state is CaseState.REFUNDED
    assert not [d for d in outcome.order.deadlines if d.case_id is None]
    assert [type(effect) for effect in outcome.effects] == [NotifyCustomer, NotifyCustomer]


def test_d12_a_full_refund_closes_the_orders_other_open_cases() -> None:
    """D-12, D-13: closing in full ends the other open cases (an exchange waiting for its
    goods), resolution refunded_in_full, in the same entry."""
    order = ask(delivered(), CaseKind.EXCHANGE, CaseReason.QUALITY_PROBLEM, Units("CUP", 1))
    exchange = last_case(order).case_id
    order, _, refund_id = _refund_pending(order, "55.00")
    outcome = run(order, ConfirmRefund(refund_id), SYSTEM)
    closed = case(outcome.order, exchange)
    assert closed.state is CaseState.CLOSED
    assert closed.resolution == "refunded_in_full"
    assert (
        CaseTransition(exchange, CaseState.REQUESTED, CaseState.CLOSED, "refunded_in_full")
        in outcome.entry.cases
    )


def test_d12_after_completion_a_full_refund_leaves_the_order_completed() -> None:
    """D-12, LC-9: after completion the state stays completed, the refunds recorded."""
    order = step(delivered(), ConfirmReceipt(), BUYER)
    order, case_id, _ = _refund_pending(order, "55.00")
    order = confirm_all(order)
    assert order.state is OrderState.COMPLETED
    assert order.ledger.amount_refunded == PAID
    assert case(order, case_id).state is CaseState.REFUNDED


def test_d12_money_only_refunds_of_everything_close_an_unshipped_order() -> None:
    """D-12, AS-7, CL-5: a money-only refund of everything paid on an unshipped order,
    confirmed, closes it with refunded_in_full and releases its stock."""
    order = step(paid(), RefundMoneyOnly(PAID, "out of stock"), CASHIER)
    outcome = run(order, ConfirmRefund(last_refund(order).refund_id), SYSTEM)
    assert outcome.order.state is OrderState.CLOSED
    assert [type(effect) for effect in outcome.effects] == [
        NotifyCustomer,
        ReleaseStock,
        NotifyCustomer,
    ]


# -- money-only refunds (AS-7) ----------------------------------------------------------------


def test_as7_a_money_only_refund_is_spread_over_the_lines_by_largest_remainder() -> None:
    """AS-7, D-11: 10.00 without shares over lines that may be refunded 10.00, 5.00 and
    40.00 pays back 1.82, 0.91 and 7.27; the refund is requested and the buyer told."""
    outcome = run(paid(), RefundMoneyOnly(cny("10.00"), "price difference"), CASHIER)
    refund = last_refund(outcome.order)
    assert (refund.amount, refund.reason, refund.status) == (
        cny("10.00"),
        RefundReason.MONEY_ONLY,
        RefundStatus.PENDING,
    )
    assert refund.case_id is None
    assert [(share.sku, share.amount, share.units) for share in refund.shares] == [
        ("TEA", cny("1.82"), 0),
        ("CUP", cny("0.91"), 0),
        ("BOWL", cny("7.27"), 0),
    ]
    assert [type(effect) for effect in outcome.effects] == [RequestRefund, NotifyCustomer]
    assert outcome.order.state is OrderState.PAID
    assert outcome.order.ledger.amount_refund_pending == cny("10.00")


def test_as7_a_money_only_refund_may_name_each_lines_share() -> None:
    """AS-7: shares given are the refund's shares."""
    command = RefundMoneyOnly(
        cny("6.00"),
        "one cup short",
        (ShareRequest("CUP", cny("5.00")), ShareRequest("TEA", cny("1.00"))),
    )
    refund = last_refund(step(awaiting_shipment(), command, CASHIER))
    assert [(share.sku, share.amount) for share in refund.shares] == [
        ("CUP", cny("5.00")),
        ("TEA", cny("1.00")),
    ]


def test_as7_d6_a_money_only_refund_over_a_cap_is_refused_naming_what_remains() -> None:
    """AS-7, D-6: over what the order may still be refunded, or a share over its line's,
    is refused naming the remaining amount; nothing is clamped or recorded."""
    order = step(paid(), RefundMoneyOnly(cny("50.00"), "agreed"), CASHIER)
    refusal = refused(order, RefundMoneyOnly(cny("5.01"), "more"), CASHIER)
    assert refusal.codes == ("refund_money_only.over_cap",)
    assert "5.00 CNY is left" in refusal.message
    share = RefundMoneyOnly(cny("5.01"), "cup", (ShareRequest("CUP", cny("5.01")),))
    refusal = refused(paid(), share, CASHIER)
    assert refusal.codes == ("refund_money_only.over_cap",)
    assert "line CUP" in refusal.message
    assert "5.00 CNY is left" in refusal.message


def test_as7_a_money_only_refund_takes_the_callers_refund_id_once() -> None:
    """AS-7, AS-6: a caller-given refund id is the refund's; a second refund with it is
    refused with refund_id_taken."""
    command = RefundMoneyOnly(cny("1.00"), "goodwill", refund_id="pay-1-r1")
    order = step(paid(), command, CASHIER)
    assert last_refund(order).refund_id == "pay-1-r1"
    again = RefundMoneyOnly(cny("2.00"), "goodwill", refund_id="pay-1-r1")
    assert refused(order, again, CASHIER).codes == ("refund_money_only.refund_id_taken",)


def test_as7_a_money_only_refund_is_for_an_open_unshipped_order() -> None:
    """AS-7, D-5: allowed while paid, awaiting shipment, in fulfilment and held from them;
    refused before payment (not_paid) and once shipped (shipped)."""
    command = RefundMoneyOnly(cny("1.00"), "goodwill")
    fulfilling = step(awaiting_shipment(), StartFulfilment())
    held = step(paid(), Hold("stock check"))
    for order in (paid(), awaiting_shipment(), fulfilling, held):
        assert last_refund(step(order, command, CASHIER)).amount == cny("1.00")
    assert refused(placed(), command, CASHIER).codes == ("refund_money_only.not_paid",)
    for order in (shipped(), delivered()):
        assert refused(order, command, CASHIER).codes == ("refund_money_only.shipped",)


@pytest.mark.parametrize(
    ("actor", "code"),
    [
        (AGENT, "refund_money_only.missing_permission"),
        (BUYER, "refund_money_only.forbidden"),
        (SYSTEM, "refund_money_only.forbidden"),
    ],
)
def test_as7_only_staff_with_the_refund_permission_refund_money(actor: Actor, code: str) -> None:
    """AS-7, CL-6: a money-only refund needs staff with order.refund."""
    assert refused(paid(), RefundMoneyOnly(cny("1.00"), "x"), actor).codes == (code,)


def test_as7_a_money_only_refund_in_another_currency_or_to_no_line_is_refused() -> None:
    """AS-5, AS-7: the amount is in the order's currency and shares name its lines."""
    usd = RefundMoneyOnly(Money("1.00", "USD"), "x")
    assert refused(paid(), usd, CASHIER).codes == ("refund_money_only.wrong_currency",)
    unknown = RefundMoneyOnly(cny("1.00"), "x", (ShareRequest("TEAPOT", cny("1.00")),))
    assert refused(paid(), unknown, CASHIER).codes == ("refund_money_only.unknown_line",)


def test_as7_money_only_refunds_count_against_later_cases() -> None:
    """AS-7, D-6, D-11: 50.00 refunded money-only took 4.55 of the cup's 5.00, so a refund
    of the cup not received refunds the 0.45 left, naming the earlier refund."""
    order = step(paid(), RefundMoneyOnly(cny("50.00"), "agreed"), CASHIER)
    earlier = last_refund(order).refund_id
    order = ask(order, CaseKind.NOT_RECEIVED, CaseReason.NOT_SHIPPED_ON_TIME, Units("CUP", 1))
    assert last_case(order).amount == cny("0.45")
    assert earlier in last_case(order).note_on_amount
    assert standing(order).room == cny("4.55")


# -- closing an order with open cases (D-13) ----------------------------------------------------


def test_d13_closing_an_order_closes_its_open_cases_but_not_a_refund_in_flight() -> None:
    """D-13, D-1: closing a paid order ends its waiting case (order_closed) in the same
    entry, refunds what is neither refunded nor pending, and leaves a case whose refund is
    pending open with its timer."""
    order = ask(paid(), CaseKind.NOT_RECEIVED, CaseReason.NOT_SHIPPED_ON_TIME, Units("TEA", 3))
    waiting = last_case(order).case_id
    order = ask(order, CaseKind.NOT_RECEIVED, CaseReason.NOT_SHIPPED_ON_TIME, Units("CUP", 1))
    paying = last_case(order).case_id
    order = step(order, ApproveCase(paying), AGENT)
    outcome = run(order, Close(CloseReason.OUT_OF_STOCK))
    closed = case(outcome.order, waiting)
    assert (closed.state, closed.resolution, closed.deadline) == (
        CaseState.CLOSED,
        "order_closed",
        None,
    )
    assert outcome.entry.cases == (
        CaseTransition(waiting, CaseState.REQUESTED, CaseState.CLOSED, "order_closed"),
    )
    still = case(outcome.order, paying)
    assert still.state is CaseState.REFUND_PENDING
    assert still.deadline is not None
    assert still.deadline in outcome.order.deadlines
    assert last_refund(outcome.order).amount == cny("50.00")
    order = step(outcome.order, ConfirmRefund(still.refund_ids[0]), SYSTEM)
    assert case(order, paying).state is CaseState.REFUNDED


def test_d13_closing_an_order_keeps_a_refund_of_unknown_outcome_open() -> None:
    """D-13, D-17: a case whose refund failed with an unknown outcome stays open when the
    order closes (the money may still move); one whose refund was declined closes."""
    order = ask(paid(), CaseKind.NOT_RECEIVED, CaseReason.NOT_SHIPPED_ON_TIME, Units("TEA", 3))
    unknown = last_case(order).case_id
    order = step(order, ApproveCase(unknown), AGENT)
    order = step(order, FailRefund(last_refund(order).refund_id, "timeout"), SYSTEM)
    order = ask(order, CaseKind.NOT_RECEIVED, CaseReason.NOT_SHIPPED_ON_TIME, Units("CUP", 1))
    declined = last_case(order).case_id
    order = step(order, ApproveCase(declined), AGENT)
    order = step(order, FailRefund(last_refund(order).refund_id, "no", declined=True), SYSTEM)
    order = step(order, Close(CloseReason.OUT_OF_STOCK))
    assert case(order, unknown).state is CaseState.REFUND_FAILED
    assert case(order, declined).state is CaseState.CLOSED
    assert last_refund(order).amount == cny("45.00")


# -- documents ---------------------------------------------------------------------------------


def _with_every_case_state() -> Order:
    """A delivered order holding cases in every state a case can be in."""
    order = delivered()
    order = ask(order, CaseKind.RETURN, CaseReason.NO_REASON, Units("TEA", 1))  # requested
    order = ask(order, CaseKind.RETURN, CaseReason.NO_REASON, Units("TEA", 1))
    order = step(order, ApproveCase(last_case(order).case_id), AGENT)  # approved
    order, _ = returning(order, Units("TEA", 1))  # returning
    order, exchange = returning(order, Units("CUP", 1), reason=CaseReason.QUALITY_PROBLEM,
                                kind=CaseKind.EXCHANGE)  # fmt: skip
    order = step(order, ReceiveReturn(exchange, (Units("CUP", 1),)), AGENT)  # received
    order = step(order, ShipReplacement(exchange, "SF", "SF2"), AGENT)  # exchanged
    order, exchange = returning(order, Units("CUP", 1), reason=CaseReason.QUALITY_PROBLEM,
                                kind=CaseKind.EXCHANGE)  # fmt: skip
    order = step(order, ReceiveReturn(exchange, (Units("CUP", 1),)), AGENT)  # received
    order, _ = returned(order, Units("BOWL", 1))  # refund pending
    order, _, refund_id = _refund_pending(order, "1.00")
    order = step(order, FailRefund(refund_id, "declined", declined=True), SYSTEM)  # failed
    order, _, refund_id = _refund_pending(order, "1.00")
    order = step(order, ConfirmRefund(refund_id), SYSTEM)  # refunded
    order = ask(order, CaseKind.REFUND_ONLY, CaseReason.AGREED_AMOUNT, amount=cny("1.00"))
    rejected = last_case(order).case_id
    order = step(order, RejectCase(rejected, "no"), AGENT)  # rejected
    order = ask(order, CaseKind.REFUND_ONLY, CaseReason.AGREED_AMOUNT, amount=cny("1.00"))
    reviewed = last_case(order).case_id
    order = step(order, RejectCase(reviewed, "no"), AGENT)
    order = step(order, AskForReview(reviewed), BUYER)  # in review
    order = ask(order, CaseKind.REFUND_ONLY, CaseReason.AGREED_AMOUNT, amount=cny("1.00"))
    closed = last_case(order).case_id
    order = step(order, RejectCase(closed, "no"), AGENT)
    order = step(order, AskForReview(closed), BUYER)
    return step(order, DecideReview(closed, False, "upheld"), STAFF)  # closed


def test_as1_an_order_with_cases_of_every_state_round_trips_through_json() -> None:
    """AS-1, D-15: an order holding cases of every state (and their decisions, parcels,
    refunds and deadlines) is written as JSON and read back equal, and passes the
    invariants."""
    order = _with_every_case_state()
    assert {item.state for item in order.cases} == set(CaseState) - {CaseState.NEW}
    text = json.dumps(dump(order))
    loaded = load(json.loads(text), Order)
    assert loaded == order
    assert loaded.cases == order.cases
    assert loaded.case_history(order.cases[0].case_id) == order.case_history(order.cases[0].case_id)
    check_invariants(loaded)


def test_as1_a_rejected_case_with_its_decision_round_trips_through_json() -> None:
    """AS-4: a policy denial's decision (facts with instants, amounts) is read back whole."""
    order = ask(delivered(FISH), CaseKind.RETURN, CaseReason.NO_REASON, Units("FISH", 1))
    loaded = load(json.loads(json.dumps(dump(order))), Order)
    assert loaded.cases[0].decision == order.cases[0].decision
    assert loaded.cases[0].decision.facts == order.cases[0].decision.facts
