"""Returns and exchanges through the case machine: shipped back, received (in full, in part,
damaged, a wrong item), lost on the way, replaced; the refund of what was received in unit
order (D-7, D-11), after an earlier refund, and the seller-paid return shipping (AS-1, AS-3).
"""

from __future__ import annotations

import pytest

from orderflow import InvalidInput, Money, OrderLine, RefundReason, RequestRefund
from orderflow.aftersales import (
    ApproveCase,
    AskForReview,
    CaseKind,
    CaseReason,
    CaseState,
    CaseTransition,
    ReceiveReturn,
    ReportReturnLost,
    RequestAfterSales,
    ReturnCondition,
    ShipBack,
    ShippingPayer,
    ShipReplacement,
    Units,
    standing,
)
from orderflow.model import OrderState
from tests.case_support import (
    AGENT,
    BUYER,
    PAID,
    ask,
    case,
    cny,
    confirm_all,
    delivered,
    last_case,
    last_refund,
    refused,
    returned,
    returning,
    run,
    step,
)


def test_as1_a_return_received_in_full_refunds_its_units() -> None:
    """AS-1 (3), D-7, AS-6: approved, shipped back with tracking, received as sold: the
    refund of the units received is requested, linked to the case, then confirmed."""
    order = ask(delivered(), CaseKind.RETURN, CaseReason.NO_REASON, Units("BOWL", 2))
    case_id = last_case(order).case_id
    order = step(order, ApproveCase(case_id), AGENT)
    approved = case(order, case_id)
    assert approved.state is CaseState.APPROVED
    assert approved.amount == cny("40.00")
    assert standing(order).requested == cny("40.00")
    assert order.ledger.refunds == ()
    order = step(order, ShipBack(case_id, "YTO", "YT123"), BUYER)
    parcel = case(order, case_id).parcel
    assert parcel is not None
    assert (parcel.carrier, parcel.tracking_number) == ("YTO", "YT123")
    outcome = run(order, ReceiveReturn(case_id, (Units("BOWL", 2),)), AGENT)
    received = case(outcome.order, case_id)
    refund = last_refund(outcome.order)
    assert received.state is CaseState.REFUND_PENDING
    assert [(line.sku, line.approved, line.received) for line in received.lines] == [("BOWL", 2, 2)]
    assert (refund.amount, refund.case_id) == (cny("40.00"), case_id)
    assert [(share.sku, share.amount, share.units) for share in refund.shares] == [
        ("BOWL", cny("40.00"), 2)
    ]
    assert [type(effect) for effect in outcome.effects].count(RequestRefund) == 1
    order = confirm_all(outcome.order)
    assert case(order, case_id).state is CaseState.REFUNDED
    assert order.ledger.amount_refunded == cny("40.00")
    assert order.state is OrderState.DELIVERED


def test_d7_a_return_received_in_part_refunds_only_the_units_received() -> None:
    """D-7: a return approved for 2 units and received with 1 refunds 1 unit; the other
    unit is free for another case."""
    order, case_id = returning(delivered(), Units("BOWL", 2))
    order = step(order, ReceiveReturn(case_id, (Units("BOWL", 1),)), AGENT)
    received = case(order, case_id)
    assert received.amount == cny("20.00")
    assert [(line.approved, line.received) for line in received.lines] == [(2, 1)]
    assert last_refund(order).shares[0].units == 1
    bowl = standing(order).line("BOWL")
    assert bowl is not None
    assert (bowl.units_left, bowl.pending, bowl.requested) == (1, cny("20.00"), cny("0.00"))
    order = ask(order, CaseKind.RETURN, CaseReason.QUALITY_PROBLEM, Units("BOWL", 1))
    assert last_case(order).amount == cny("20.00")


def test_d7_receiving_more_than_approved_is_refused_never_clamped() -> None:
    """D-7: three units of a two-unit approval are refused, naming both numbers."""
    order, case_id = returning(delivered(), Units("BOWL", 2))
    refusal = refused(order, ReceiveReturn(case_id, (Units("BOWL", 3),)), AGENT)
    assert refusal.codes == ("receive_return.more_than_approved",)
    assert "3 unit(s) of BOWL" in refusal.message
    assert "2 approved" in refusal.message


def test_d7_receiving_a_line_the_case_did_not_approve_is_refused() -> None:
    """D-7, D-8: a line rejected by a partial approval, or not in the case at all, cannot
    be received."""
    order = ask(delivered(), CaseKind.RETURN, CaseReason.NO_REASON, Units("TEA", 1),
                Units("CUP", 1))  # fmt: skip
    case_id = last_case(order).case_id
    order = step(order, ApproveCase(case_id, ("TEA",), "the cup was used"), AGENT)
    order = step(order, ShipBack(case_id, "YTO", "YT1"), BUYER)
    for sku in ("CUP", "BOWL"):
        refusal = refused(order, ReceiveReturn(case_id, (Units(sku, 1),)), AGENT)
        assert refusal.codes == ("receive_return.not_approved",)
        assert sku in refusal.message


def test_d7_goods_damaged_by_the_buyer_are_refunded_less_a_justified_deduction() -> None:
    """D-7: an agent deducts an amount, with a justification, from the refund of goods the
    buyer damaged; the case says why the refund is less."""
    order, case_id = returning(delivered(), Units("BOWL", 2))
    receipt = ReceiveReturn(
        case_id,
        (Units("BOWL", 2),),
        ReturnCondition.DAMAGED_BY_BUYER,
        cny("5.00"),
        "one bowl chipped",
    )
    order = step(order, receipt, AGENT)
    received = case(order, case_id)
    assert received.state is CaseState.REFUND_PENDING
    assert received.amount == last_refund(order).amount == cny("35.00")
    assert "5.00 CNY deducted" in received.note_on_amount
    assert standing(order).room == PAID - cny("35.00")


def test_d7_a_deduction_needs_damage_a_justification_and_less_than_the_refund() -> None:
    """D-7: a deduction without a justification, or without damage, is malformed; one as
    large as the refund is refused (reject the return instead)."""
    with pytest.raises(InvalidInput):
        ReceiveReturn("c", (Units("BOWL", 1),), ReturnCondition.DAMAGED_BY_BUYER, cny("1.00"))
    with pytest.raises(InvalidInput):
        ReceiveReturn("c", (Units("BOWL", 1),), ReturnCondition.AS_SOLD, cny("1.00"), "x")
    order, case_id = returning(delivered(), Units("BOWL", 1))
    receipt = ReceiveReturn(
        case_id, (Units("BOWL", 1),), ReturnCondition.DAMAGED_BY_BUYER, cny("20.00"), "broken"
    )
    refusal = refused(order, receipt, AGENT)
    assert refusal.codes == ("receive_return.deduction_too_large",)
    assert "20.00 CNY" in refusal.message


def test_d7_d8_a_wrong_item_sent_back_ends_the_case_rejected() -> None:
    """D-7, D-8: goods received that are not what was sold refund nothing; the case is
    rejected (rule wrong_item), frees its hold and may be reviewed."""
    order, case_id = returning(delivered(), Units("BOWL", 1))
    outcome = run(
        order, ReceiveReturn(case_id, (Units("BOWL", 1),), ReturnCondition.WRONG_ITEM), AGENT
    )
    rejected = case(outcome.order, case_id)
    assert rejected.state is CaseState.REJECTED
    assert rejected.amount == cny("0.00")
    assert outcome.order.ledger.refunds == ()
    assert outcome.entry.cases == (
        CaseTransition(case_id, CaseState.RETURNING, CaseState.REJECTED, "wrong_item"),
    )
    assert standing(outcome.order).room == PAID
    order = step(outcome.order, AskForReview(case_id), BUYER)
    assert case(order, case_id).state is CaseState.IN_REVIEW


def test_d7_a_return_cannot_be_lost_before_it_was_shipped_back() -> None:
    """D-7: reporting a return lost while the case waits for the buyer's parcel is
    refused, with a hint to wait for the tracking number."""
    order = ask(delivered(), CaseKind.RETURN, CaseReason.NO_REASON, Units("BOWL", 1))
    case_id = last_case(order).case_id
    order = step(order, ApproveCase(case_id), AGENT)
    refusal = refused(order, ReportReturnLost(case_id, True, "carrier lost it"), AGENT)
    assert refusal.codes == ("report_return_lost.not_shipped_back",)
    assert "tracking" in refusal.hint


def test_d7_a_lost_return_settled_with_a_refund_refunds_the_approved_units() -> None:
    """D-7: a return lost on its way back, settled with a refund, refunds the approved
    units at once, as if received (rule return_lost)."""
    order, case_id = returning(delivered(), Units("BOWL", 2))
    outcome = run(order, ReportReturnLost(case_id, True, "YTO confirmed the loss"), AGENT)
    settled = case(outcome.order, case_id)
    assert settled.state is CaseState.REFUND_PENDING
    assert last_refund(outcome.order).amount == cny("40.00")
    assert [line.received for line in settled.lines] == [2]
    assert outcome.entry.cases[0].rule == "return_lost"


def test_d7_a_lost_return_settled_without_a_refund_is_rejected_with_the_note() -> None:
    """D-7, D-8: settled without a refund, the case ends rejected with the agent's note as
    its reason."""
    order, case_id = returning(delivered(), Units("BOWL", 2))
    note = "the tracking shows the parcel was never handed over"
    outcome = run(order, ReportReturnLost(case_id, False, note), AGENT)
    rejected = case(outcome.order, case_id)
    assert rejected.state is CaseState.REJECTED
    assert rejected.rejection == note
    assert all(line.rejected == note for line in rejected.lines)
    assert outcome.order.ledger.refunds == ()
    assert outcome.entry.cases == (
        CaseTransition(case_id, CaseState.RETURNING, CaseState.REJECTED, "return_lost"),
    )


def test_as1_an_exchange_is_received_then_replaced_without_money() -> None:
    """AS-1 (4): an exchange's goods come back (received, no money in flight) and the
    replacement ships with a carrier and tracking number: exchanged, nothing refunded."""
    order, case_id = returning(
        delivered(), Units("CUP", 1), reason=CaseReason.QUALITY_PROBLEM, kind=CaseKind.EXCHANGE
    )
    order = step(order, ReceiveReturn(case_id, (Units("CUP", 1),)), AGENT)
    assert case(order, case_id).state is CaseState.RECEIVED
    assert order.ledger.refunds == ()
    outcome = run(order, ShipReplacement(case_id, "SF Express", "SF999"), AGENT)
    exchanged = case(outcome.order, case_id)
    assert exchanged.state is CaseState.EXCHANGED
    assert exchanged.replacement is not None
    assert exchanged.replacement.tracking_number == "SF999"
    assert exchanged.deadline is None
    assert outcome.order.ledger.refunds == ()
    assert refused(outcome.order, ShipReplacement(case_id, "SF", "SF1"), AGENT).codes == (
        "ship_replacement.case_ended",
    )


def test_as1_a_lost_exchange_settled_goes_on_to_the_replacement() -> None:
    """AS-1 (4), D-7: an exchange lost on its way back, settled for the buyer, waits for
    its replacement like a received one."""
    order, case_id = returning(
        delivered(), Units("CUP", 1), reason=CaseReason.QUALITY_PROBLEM, kind=CaseKind.EXCHANGE
    )
    order = step(order, ReportReturnLost(case_id, True, "lost by the carrier"), AGENT)
    assert case(order, case_id).state is CaseState.RECEIVED
    assert order.ledger.refunds == ()


def test_as1_a_replacement_waits_for_the_goods() -> None:
    """AS-1 (4): a replacement cannot ship before the exchange's goods are received."""
    order, case_id = returning(
        delivered(), Units("CUP", 1), reason=CaseReason.QUALITY_PROBLEM, kind=CaseKind.EXCHANGE
    )
    refusal = refused(order, ShipReplacement(case_id, "SF", "SF1"), AGENT)
    assert refusal.codes == ("ship_replacement.invalid_case_state",)


# -- D-11: units refunded in order, and after an earlier refund ------------------------------


def test_d11_units_of_a_line_are_refunded_in_order() -> None:
    """D-11: a 10.00 line of 3 units returned one unit at a time refunds 3.34, then 3.33,
    then 3.33: the odd cent to the first unit, the parts adding up to the line."""
    order = delivered()
    amounts = []
    for _ in range(3):
        order, case_id = returned(order, Units("TEA", 1))
        amounts.append(case(order, case_id).amount)
    assert amounts == [cny("3.34"), cny("3.33"), cny("3.33")]
    assert [refund.amount for refund in order.ledger.refunds] == amounts
    tea = standing(order).line("TEA")
    assert tea is not None
    assert (tea.units_left, tea.room) == (0, cny("0.00"))


def test_d11_a_return_after_a_partial_refund_names_the_earlier_refund() -> None:
    """D-11, D-6: after a refund only of 2.00 on the 10.00 line, a return of its 3 units
    refunds the 8.00 that remains, and both the decision and the case name the earlier
    refund: an explained reduction, not a silent clamp."""
    order = ask(delivered(), CaseKind.REFUND_ONLY, CaseReason.AGREED_AMOUNT, Units("TEA", 1),
                amount=cny("2.00"))  # fmt: skip
    order = confirm_all(step(order, ApproveCase(last_case(order).case_id), AGENT))
    earlier = last_refund(order).refund_id
    order = ask(order, CaseKind.RETURN, CaseReason.NO_REASON, Units("TEA", 3))
    opened = last_case(order)
    assert opened.amount == cny("8.00")
    assert earlier in opened.decision.amount_note
    assert earlier in opened.note_on_amount
    assert "10.00 CNY" in opened.note_on_amount
    order = step(order, ApproveCase(opened.case_id), AGENT)
    order = step(order, ShipBack(opened.case_id, "YTO", "YT1"), BUYER)
    order = step(order, ReceiveReturn(opened.case_id, (Units("TEA", 3),)), AGENT)
    received = case(order, opened.case_id)
    assert last_refund(order).amount == cny("8.00")
    assert earlier in received.note_on_amount
    order = confirm_all(order)
    tea = standing(order).line("TEA")
    assert tea is not None
    assert tea.refunded == cny("10.00")


# -- return shipping (AS-2, AS-3) -------------------------------------------------------------


def test_as3_seller_paid_return_shipping_is_refunded_on_its_own_outside_the_cap() -> None:
    """AS-3, D-6: for a quality return the seller pays the shipping back: on receipt a
    refund of its own (return_shipping, not counted against what was paid) is requested
    with the case, even when the goods' refund takes everything paid."""
    lines = (OrderLine("CUP", 1, cny("5.00")),)
    order = ask(delivered(lines), CaseKind.RETURN, CaseReason.QUALITY_PROBLEM, Units("CUP", 1))
    case_id = last_case(order).case_id
    assert last_case(order).decision.shipping_payer is ShippingPayer.SELLER
    order = step(order, ApproveCase(case_id), AGENT)
    order = step(order, ShipBack(case_id, "YTO", "YT1", cny("8.00")), BUYER)
    outcome = run(order, ReceiveReturn(case_id, (Units("CUP", 1),)), AGENT)
    goods, shipping = outcome.order.ledger.refunds
    assert (goods.amount, goods.reason, goods.counts_against_paid) == (
        cny("5.00"),
        RefundReason.AFTER_SALES,
        True,
    )
    assert (shipping.amount, shipping.reason, shipping.counts_against_paid) == (
        cny("8.00"),
        RefundReason.RETURN_SHIPPING,
        False,
    )
    assert shipping.case_id == case_id
    assert shipping.shares == ()
    assert case(outcome.order, case_id).refund_ids == (goods.refund_id, shipping.refund_id)
    assert outcome.order.ledger.amount_refund_pending == cny("5.00")
    requested = [effect for effect in outcome.effects if isinstance(effect, RequestRefund)]
    assert [effect.amount for effect in requested] == [cny("5.00"), cny("8.00")]


def test_as2_a_no_reason_return_ships_back_at_the_buyers_cost() -> None:
    """AS-2: a no-reason return's shipping is the buyer's: its cost is recorded with the
    parcel, and no shipping refund is made."""
    order = ask(delivered(), CaseKind.RETURN, CaseReason.NO_REASON, Units("CUP", 1))
    case_id = last_case(order).case_id
    assert last_case(order).decision.shipping_payer is ShippingPayer.BUYER
    order = step(order, ApproveCase(case_id), AGENT)
    order = step(order, ShipBack(case_id, "YTO", "YT1", cny("8.00")), BUYER)
    parcel = case(order, case_id).parcel
    assert parcel is not None
    assert parcel.shipping_cost == cny("8.00")
    order = step(order, ReceiveReturn(case_id, (Units("CUP", 1),)), AGENT)
    assert [refund.reason for refund in order.ledger.refunds] == [RefundReason.AFTER_SALES]


def test_as5_a_shipping_cost_in_another_currency_is_refused() -> None:
    """AS-5: the return's shipping cost is in the order's currency."""
    order = ask(delivered(), CaseKind.RETURN, CaseReason.QUALITY_PROBLEM, Units("CUP", 1))
    case_id = last_case(order).case_id
    order = step(order, ApproveCase(case_id), AGENT)
    refusal = refused(order, ShipBack(case_id, "YTO", "YT1", Money("3.00", "USD")), BUYER)
    assert refusal.codes == ("ship_back.wrong_currency",)


def test_as1_a_return_ships_back_once() -> None:
    """AS-1: shipping back a case already on its way is refused."""
    order, case_id = returning(delivered(), Units("CUP", 1))
    refusal = refused(order, ShipBack(case_id, "YTO", "YT2"), BUYER)
    assert refusal.codes == ("ship_back.invalid_case_state",)


def test_as1_an_unshipped_return_cannot_be_received_from_the_request() -> None:
    """AS-1: goods are received only for an approved case."""
    order = ask(delivered(), CaseKind.RETURN, CaseReason.NO_REASON, Units("CUP", 1))
    refusal = refused(order, ReceiveReturn(last_case(order).case_id, (Units("CUP", 1),)), AGENT)
    assert refusal.codes == ("receive_return.invalid_case_state",)


def test_as1_the_request_for_a_return_names_its_units() -> None:
    """AS-1: a return or an exchange without lines is malformed when it is built."""
    for kind in (CaseKind.RETURN, CaseKind.EXCHANGE):
        with pytest.raises(InvalidInput) as raised:
            RequestAfterSales(kind, CaseReason.NO_REASON)
        assert raised.value.field == "lines"
