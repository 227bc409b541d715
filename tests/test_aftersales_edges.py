"""After-sales at the edges of the money and the timers: a refund whose outcome is unknown, a
return's shipping refund when the order closes, a declined refund that cannot be retried, a
deduction with nothing to deduct from, a request waiting for a manual review."""

from __future__ import annotations

import pytest

from orderflow import (
    CommandRefused,
    ConfirmRefund,
    DeadlineKind,
    FailRefund,
    Order,
    OrderState,
    RetryRefund,
    check_invariants,
)
from orderflow.aftersales import (
    ApproveCase,
    CaseKind,
    CaseReason,
    CaseState,
    CloseCase,
    ReceiveReturn,
    RefundMoneyOnly,
    RequestAfterSales,
    RespondForSeller,
    ReturnCondition,
    Ruling,
    ShareRequest,
    ShipBack,
    Units,
    standing,
)
from tests.support import (
    CUSTOMER,
    LIFECYCLE,
    STAFF,
    SYSTEM,
    apply,
    awaiting_shipment,
    cny,
    delivered,
)


def _refused(order: Order, command: object, actor: object = STAFF) -> str:
    with pytest.raises(CommandRefused) as info:
        apply(order, command, actor)  # type: ignore[arg-type]
    return info.value.code


def _not_received_refund(order: Order, sku: str, units: int) -> tuple[Order, str]:
    """A not-received case for ``units`` of ``sku``, approved: its refund is pending."""
    request = RequestAfterSales(
        CaseKind.NOT_RECEIVED, CaseReason.NOT_SHIPPED_ON_TIME, (Units(sku, units),)
    )
    order = apply(order, request, CUSTOMER).order
    order = apply(order, ApproveCase(order.cases[-1].case_id)).order
    return order, order.ledger.refunds[-1].refund_id


def test_a_refund_whose_outcome_is_unknown_keeps_its_lines_room() -> None:
    """AS-5, D-6, D-17: a failure with an unknown outcome holds its room per order and per
    line, so nothing else can take the line's money; a decline frees both."""
    order, refund_id = _not_received_refund(awaiting_shipment(), "SKU-A", 2)
    unknown = apply(order, FailRefund(refund_id, "timeout", declined=False), SYSTEM).order
    line = standing(unknown).line("SKU-A")
    assert line is not None
    assert (line.room, line.pending, line.failed) == (cny("0.00"), cny("100.00"), cny("0.00"))
    assert standing(unknown).room == cny("19.90")
    over = RefundMoneyOnly(cny("5.00"), "agreed", (ShareRequest("SKU-A", cny("5.00")),))
    assert _refused(unknown, over) == "refund_money_only.over_cap"
    declined = apply(order, FailRefund(refund_id, "no", declined=True), SYSTEM).order
    line = standing(declined).line("SKU-A")
    assert line is not None
    assert (line.room, line.pending, line.failed) == (cny("100.00"), cny("0.00"), cny("100.00"))
    check_invariants(unknown)
    check_invariants(declined)


def test_a_case_with_its_return_shipping_refund_pending_outlives_the_order_closing() -> None:
    """D-12, D-13, AS-3: the goods refund closes the order (refunded in full) while the
    seller-paid shipping refund is pending; the case stays open and ends refunded when it
    is confirmed."""
    order = delivered()
    request = RequestAfterSales(
        CaseKind.RETURN, CaseReason.QUALITY_PROBLEM, (Units("SKU-A", 2), Units("SKU-B", 1))
    )
    order = apply(order, request, CUSTOMER).order
    case_id = order.cases[0].case_id
    order = apply(order, ApproveCase(case_id)).order
    order = apply(order, ShipBack(case_id, "YTO", "YT1", cny("12.00")), CUSTOMER).order
    order = apply(order, ReceiveReturn(case_id, (Units("SKU-A", 2), Units("SKU-B", 1)))).order
    goods, shipping = order.ledger.refunds
    assert (goods.amount, shipping.amount) == (cny("119.90"), cny("12.00"))
    assert not shipping.counts_against_paid
    closed = apply(order, ConfirmRefund(goods.refund_id), SYSTEM).order
    assert closed.state is OrderState.CLOSED
    assert closed.close_reason is not None
    assert closed.close_reason.code == "refunded_in_full"
    assert closed.cases[0].state is CaseState.REFUND_PENDING
    done = apply(closed, ConfirmRefund(shipping.refund_id), SYSTEM).order
    assert done.cases[0].state is CaseState.REFUNDED
    check_invariants(done)


def test_staff_end_a_case_whose_declined_refund_lost_its_room() -> None:
    """AS-6, D-6: a declined refund frees its room; once another refund took it, the retry
    is refused and staff close the case with a note, which frees its units; a case whose
    refund may still be paid cannot be closed by hand."""
    order, refund_id = _not_received_refund(awaiting_shipment(), "SKU-B", 1)
    case_id = order.cases[0].case_id
    in_doubt = apply(order, FailRefund(refund_id, "timeout", declined=False), SYSTEM).order
    assert _refused(in_doubt, CloseCase(case_id, "gave up")) == "close_case.refund_unsettled"
    declined = apply(order, FailRefund(refund_id, "no", declined=True), SYSTEM).order
    taken = apply(declined, RefundMoneyOnly(cny("119.90"), "agreed by phone")).order
    assert _refused(taken, RetryRefund(refund_id), SYSTEM) == "retry_refund.room_taken"
    closed = apply(taken, CloseCase(case_id, "refunded with the agreed amount")).order
    case = closed.cases[0]
    assert (case.state, case.resolution) == (CaseState.CLOSED, "closed_by_staff")
    line = standing(closed).line("SKU-B")
    assert line is not None
    assert line.units_left == 1
    assert _refused(closed, CloseCase(case_id, "again")) == "close_case.case_ended"


def test_a_deduction_on_an_exchange_is_refused() -> None:
    """D-7, D-6: an exchange refunds nothing, so a deduction is refused, never ignored."""
    order = delivered()
    request = RequestAfterSales(CaseKind.EXCHANGE, CaseReason.QUALITY_PROBLEM, (Units("SKU-B", 1),))
    order = apply(order, request, CUSTOMER).order
    case_id = order.cases[0].case_id
    order = apply(order, ApproveCase(case_id)).order
    damaged = ReceiveReturn(
        case_id,
        (Units("SKU-B", 1),),
        ReturnCondition.DAMAGED_BY_BUYER,
        cny("5.00"),
        "scratched",
    )
    assert _refused(order, damaged) == "receive_return.nothing_to_deduct"
    received = apply(order, ReceiveReturn(case_id, (Units("SKU-B", 1),))).order
    assert received.cases[0].state is CaseState.RECEIVED


def test_a_request_sent_to_manual_review_waits_for_an_agent() -> None:
    """AS-4, D-15: a disputed delivery goes to manual review; the seller's silence never
    decides it: it runs a staff reminder, not the seller-response timer."""
    order = delivered()
    request = RequestAfterSales(CaseKind.NOT_RECEIVED, CaseReason.EMPTY_PARCEL)
    outcome = apply(order, request, CUSTOMER)
    case = outcome.order.cases[0]
    assert case.decision.ruling is Ruling.MANUAL
    assert case.state is CaseState.REQUESTED
    assert case.deadline is not None
    assert case.deadline.kind is DeadlineKind.STAFF_REMINDER
    assert all(d.kind is not DeadlineKind.SELLER_RESPONSE for d in outcome.order.deadlines)
    (reason,) = LIFECYCLE.check(
        outcome.order, RespondForSeller(case.case_id), SYSTEM, case.deadline.due_at
    )
    assert reason.code == "respond_for_seller.manual_review"
    assert any(effect.kind == "alert_staff" for effect in outcome.effects)
