"""The after-sales case machine, requests and decisions: every kind asked and refunded, what
may be asked and when (D-5), refused versus rejected (AS-4), the units and money open cases
hold (D-6), approvals and rejections of all or some lines (D-8).

Every test runs commands through :meth:`Lifecycle.handle`, :meth:`~Lifecycle.check`,
:meth:`~Lifecycle.preview` or :meth:`~Lifecycle.available`.
"""

from __future__ import annotations

import pytest

from orderflow import (
    AlertStaff,
    Close,
    CloseReason,
    ConfirmReceipt,
    ConfirmRefund,
    Hold,
    Lifecycle,
    Money,
    NotifyCustomer,
    RequestRefund,
    Settings,
)
from orderflow.aftersales import (
    ApproveCase,
    CaseKind,
    CaseReason,
    CaseState,
    CaseTransition,
    OverrideDenial,
    ReceiveReturn,
    RejectCase,
    RequestAfterSales,
    Ruling,
    ShipBack,
    Units,
    standing,
)
from orderflow.model import OrderState
from tests.case_support import (
    AFTER_DELIVERY,
    AGENT,
    BUYER,
    FISH,
    OVERRIDER,
    SYSTEM,
    ask,
    case,
    cny,
    confirm_all,
    delivered,
    last_case,
    last_refund,
    paid,
    placed,
    refused,
    run,
    shipped,
    step,
)

# -- every kind, end to end -------------------------------------------------------------------


def test_as1_d5_not_received_before_shipment_refunds_every_unit_left() -> None:
    """AS-1 (1), D-5, D-11: a refund of goods not received on a paid order names every unit
    left when it names none, is allowed by AS-1-not-received, and its approval requests the
    refund in the same step, linked to the case with a share per line."""
    order = ask(paid(), CaseKind.NOT_RECEIVED, CaseReason.NOTHING_SHIPPED)
    opened = last_case(order)
    assert opened.state is CaseState.REQUESTED
    assert opened.decision.ruling is Ruling.ALLOWED
    assert opened.decision.rule_id == "AS-1-not-received"
    assert [(line.sku, line.quantity, line.amount) for line in opened.lines] == [
        ("TEA", 3, cny("10.00")),
        ("CUP", 1, cny("5.00")),
        ("BOWL", 2, cny("40.00")),
    ]
    assert opened.amount == cny("55.00")
    assert standing(order).requested == cny("55.00")
    outcome = run(order, ApproveCase(opened.case_id), AGENT)
    approved = case(outcome.order, opened.case_id)
    refund = last_refund(outcome.order)
    assert approved.state is CaseState.REFUND_PENDING
    assert approved.refund_ids == (refund.refund_id,)
    assert refund.case_id == opened.case_id
    assert refund.amount == cny("55.00")
    assert [(share.sku, share.amount, share.units) for share in refund.shares] == [
        ("TEA", cny("10.00"), 3),
        ("CUP", cny("5.00"), 1),
        ("BOWL", cny("40.00"), 2),
    ]
    requested = [effect for effect in outcome.effects if isinstance(effect, RequestRefund)]
    assert [effect.refund_id for effect in requested] == [refund.refund_id]
    assert outcome.entry.cases == (
        CaseTransition(opened.case_id, CaseState.REQUESTED, CaseState.REFUND_PENDING),
    )


def test_as1_d12_confirming_a_not_received_refund_of_everything_closes_the_order() -> None:
    """AS-1 (1), AS-6, D-12: the refund confirmed, the case is refunded and the order, not
    completed, closes with refunded_in_full in the same outcome."""
    order = ask(paid(), CaseKind.NOT_RECEIVED, CaseReason.NOTHING_SHIPPED)
    case_id = last_case(order).case_id
    order = step(order, ApproveCase(case_id), AGENT)
    outcome = run(order, ConfirmRefund(last_refund(order).refund_id), SYSTEM)
    assert case(outcome.order, case_id).state is CaseState.REFUNDED
    assert outcome.order.state is OrderState.CLOSED
    assert outcome.entry.to_state is OrderState.CLOSED
    closure = outcome.order.closure
    assert closure is not None
    assert closure.reason is CloseReason.REFUNDED_IN_FULL
    assert outcome.entry.cases == (
        CaseTransition(case_id, CaseState.REFUND_PENDING, CaseState.REFUNDED),
    )


def test_as1_d5_a_disputed_delivery_opens_a_case_for_manual_review() -> None:
    """AS-1 (1), D-5, AS-4: goods not received after delivery with a reason disputing the
    delivery (an empty parcel) opens a case the policy sends to an agent (AS-4-dispute),
    and staff are alerted; approved and confirmed, only the disputed units are refunded and
    the order stays delivered."""
    outcome = run(
        delivered(),
        RequestAfterSales(CaseKind.NOT_RECEIVED, CaseReason.EMPTY_PARCEL, (Units("CUP", 1),)),
        BUYER,
        AFTER_DELIVERY,
    )
    opened = last_case(outcome.order)
    assert opened.state is CaseState.REQUESTED
    assert opened.decision.ruling is Ruling.MANUAL
    assert opened.decision.rule_id == "AS-4-dispute"
    alerts = [effect for effect in outcome.effects if isinstance(effect, AlertStaff)]
    assert [(alert.case_id, alert.topic) for alert in alerts] == [(opened.case_id, "manual_review")]
    order = step(outcome.order, ApproveCase(opened.case_id), AGENT)
    assert last_refund(order).amount == cny("5.00")
    order = confirm_all(order)
    assert case(order, opened.case_id).state is CaseState.REFUNDED
    assert order.state is OrderState.DELIVERED


@pytest.mark.parametrize("reason", [CaseReason.EMPTY_PARCEL, CaseReason.WRONG_ITEM])
def test_d5_a_delivery_dispute_may_be_asked_after_delivery(reason: CaseReason) -> None:
    """D-5: goods not received may be claimed after delivery for a disputed delivery (an
    empty parcel, a wrong item)."""
    order = ask(delivered(), CaseKind.NOT_RECEIVED, reason, Units("TEA", 1))
    assert last_case(order).state is CaseState.REQUESTED


def test_as1_refund_only_with_lines_splits_the_agreed_amount_over_them() -> None:
    """AS-1 (2), D-11: a refund only naming lines spreads the agreed amount over them by
    what each may still be refunded; approved, its refund pays those lines back, no units."""
    order = ask(
        delivered(),
        CaseKind.REFUND_ONLY,
        CaseReason.AGREED_AMOUNT,
        Units("TEA", 1),
        Units("CUP", 1),
        amount=cny("3.00"),
    )
    opened = last_case(order)
    assert opened.decision.rule_id == "AS-4-agreed"
    assert [(line.sku, line.amount) for line in opened.lines] == [
        ("TEA", cny("2.00")),
        ("CUP", cny("1.00")),
    ]
    order = step(order, ApproveCase(opened.case_id), AGENT)
    refund = last_refund(order)
    assert refund.amount == cny("3.00")
    assert [(share.sku, share.amount, share.units) for share in refund.shares] == [
        ("TEA", cny("2.00"), 0),
        ("CUP", cny("1.00"), 0),
    ]
    order = confirm_all(order)
    assert case(order, opened.case_id).state is CaseState.REFUNDED
    assert order.state is OrderState.DELIVERED


def test_d11_refund_only_without_lines_is_spread_by_largest_remainder() -> None:
    """AS-1 (2), D-11: 10.00 without lines over lines that may still be refunded 10.00, 5.00
    and 40.00 gives 1.82, 0.91 and 7.27: the floors, then the odd cents to the largest
    remainders."""
    order = ask(delivered(), CaseKind.REFUND_ONLY, CaseReason.AGREED_AMOUNT, amount=cny("10.00"))
    opened = last_case(order)
    assert [(line.sku, line.quantity, line.amount) for line in opened.lines] == [
        ("TEA", 0, cny("1.82")),
        ("CUP", 0, cny("0.91")),
        ("BOWL", 0, cny("7.27")),
    ]
    assert opened.amount == cny("10.00")


def test_as1_refund_only_spread_follows_what_each_line_may_still_be_refunded() -> None:
    """D-11, D-6: a line already refunded in full gets nothing of a later spread."""
    order = ask(delivered(), CaseKind.REFUND_ONLY, CaseReason.AGREED_AMOUNT, Units("CUP", 1),
                amount=cny("5.00"))  # fmt: skip
    order = confirm_all(step(order, ApproveCase(last_case(order).case_id), AGENT))
    order = ask(order, CaseKind.REFUND_ONLY, CaseReason.AGREED_AMOUNT, amount=cny("5.00"))
    assert [(line.sku, line.amount) for line in last_case(order).lines] == [
        ("TEA", cny("1.00")),
        ("BOWL", cny("4.00")),
    ]


# -- what may be asked, and when (D-5) --------------------------------------------------------


def test_d5_goods_not_received_on_a_delivered_order_is_refused_with_a_hint() -> None:
    """D-5: goods not received on a delivered order, for a reason that does not dispute the
    delivery, is refused (nothing recorded) with a hint to a return or a refund only."""
    order = delivered()
    for reason in (CaseReason.CARRIER_PROBLEM, CaseReason.NOTHING_SHIPPED):
        refusal = refused(order, RequestAfterSales(CaseKind.NOT_RECEIVED, reason), BUYER,
                          AFTER_DELIVERY)  # fmt: skip
        assert refusal.codes == ("request_after_sales.delivered",)
        assert "return" in refusal.hint
        assert "refund only" in refusal.hint
    assert order.cases == ()


@pytest.mark.parametrize(
    ("kind", "reason", "amount"),
    [
        (CaseKind.RETURN, CaseReason.NO_REASON, None),
        (CaseKind.EXCHANGE, CaseReason.QUALITY_PROBLEM, None),
        (CaseKind.REFUND_ONLY, CaseReason.AGREED_AMOUNT, cny("1.00")),
    ],
)
def test_d5_received_goods_cases_wait_for_delivery(
    kind: CaseKind, reason: CaseReason, amount: Money | None
) -> None:
    """D-5: a return, an exchange or a refund only on a shipped order is refused as not yet
    possible, naming the state."""
    command = RequestAfterSales(kind, reason, (Units("TEA", 1),), amount)
    refusal = refused(shipped(), command, BUYER)
    assert refusal.codes == ("request_after_sales.not_yet",)
    assert "shipped" in refusal.message


def test_d5_an_unpaid_or_closed_order_takes_no_request() -> None:
    """D-5, LC-9: an unpaid order and a closed one are refused with order_closed."""
    command = RequestAfterSales(CaseKind.NOT_RECEIVED, CaseReason.NOTHING_SHIPPED)
    assert refused(placed(), command, BUYER).code == "request_after_sales.order_closed"
    closed = step(paid(), Close(CloseReason.CUSTOMER_CANCELLED), BUYER)
    assert refused(closed, command, BUYER).code == "request_after_sales.order_closed"


def test_lc9_a_completed_order_still_takes_a_return() -> None:
    """LC-9, D-5: after-sales run against a completed order and are recorded on it."""
    order = step(delivered(), ConfirmReceipt(), BUYER, AFTER_DELIVERY)
    order = ask(order, CaseKind.RETURN, CaseReason.NO_REASON, Units("CUP", 1))
    assert last_case(order).state is CaseState.REQUESTED
    assert order.state is OrderState.COMPLETED


def test_d5_a_held_order_is_judged_by_the_state_it_was_held_from() -> None:
    """D-5, D-13: a paid order on hold still takes a refund of goods not received."""
    order = step(paid(), Hold("address check"))
    order = ask(order, CaseKind.NOT_RECEIVED, CaseReason.NOT_SHIPPED_ON_TIME)
    assert last_case(order).state is CaseState.REQUESTED


# -- refused versus rejected ------------------------------------------------------------------


def test_as4_a_policy_denial_opens_a_rejected_case_naming_the_rule() -> None:
    """AS-4, D-8: a no-reason return of perishable goods is denied by AS-2b: the case opens
    rejected, holds nothing, keeps its decision, its lines carry the rule, and its history
    entry's transition names the denying rule; the buyer is told why."""
    outcome = run(
        delivered(FISH),
        RequestAfterSales(CaseKind.RETURN, CaseReason.NO_REASON, (Units("FISH", 1),)),
        BUYER,
        AFTER_DELIVERY,
    )
    opened = last_case(outcome.order)
    assert opened.state is CaseState.REJECTED
    assert opened.decision.ruling is Ruling.DENIED
    assert opened.decision.rule_id == "AS-2b"
    assert opened.amount == cny("0.00")
    assert [line.rejected for line in opened.lines] == ["AS-2b"]
    assert opened.rejection == opened.decision.sentence
    assert outcome.entry.cases == (
        CaseTransition(opened.case_id, CaseState.NEW, CaseState.REJECTED, "AS-2b"),
    )
    assert standing(outcome.order).room == cny("30.00")
    notices = [effect for effect in outcome.effects if isinstance(effect, NotifyCustomer)]
    assert len(notices) == 1
    assert opened.decision.sentence in notices[0].message
    assert opened.deadline is not None
    assert opened.deadline.kind.value == "review_window"


def test_as4_an_allowed_request_records_the_rule_that_allowed_it() -> None:
    """AS-4: the request's history entry names the deciding rule (the window rule)."""
    outcome = run(
        delivered(),
        RequestAfterSales(CaseKind.RETURN, CaseReason.NO_REASON, (Units("CUP", 1),)),
        BUYER,
        AFTER_DELIVERY,
    )
    opened = last_case(outcome.order)
    assert outcome.entry.cases == (
        CaseTransition(opened.case_id, CaseState.NEW, CaseState.REQUESTED, "AS-2-window"),
    )
    assert outcome.order.version == delivered().version + 1


def test_d6_a_refused_request_records_nothing() -> None:
    """D-6: a request for more units than are left is refused: the order keeps its version,
    its cases and its money, and the same command is reported by check."""
    order = ask(delivered(), CaseKind.RETURN, CaseReason.NO_REASON, Units("BOWL", 2))
    before = (order.version, order.cases, order.ledger, order.deadlines)
    refusal = refused(
        order, RequestAfterSales(CaseKind.RETURN, CaseReason.NO_REASON, (Units("BOWL", 1),)), BUYER
    )
    assert refusal.codes == ("request_after_sales.units_left",)
    assert (order.version, order.cases, order.ledger, order.deadlines) == before


@pytest.mark.parametrize(
    ("command", "code"),
    [
        (RequestAfterSales(CaseKind.RETURN, CaseReason.NO_REASON, (Units("TEAPOT", 1),)),
         "request_after_sales.unknown_line"),
        (RequestAfterSales(CaseKind.REFUND_ONLY, CaseReason.AGREED_AMOUNT, (),
                           Money("1.00", "USD")),
         "request_after_sales.wrong_currency"),
        (RequestAfterSales(CaseKind.RETURN, CaseReason.NO_REASON, (Units("TEA", 4),)),
         "request_after_sales.units_left"),
    ],
)  # fmt: skip
def test_d6_requests_the_order_cannot_take_are_refused(
    command: RequestAfterSales, code: str
) -> None:
    """AS-1, AS-5, D-6: an unknown line, another currency, more units than the line has."""
    assert refused(delivered(), command, BUYER, AFTER_DELIVERY).codes == (code,)


def test_as1_a_request_naming_an_existing_case_id_is_refused() -> None:
    """AS-1: a case id is unique within the order."""
    command = RequestAfterSales(
        CaseKind.RETURN, CaseReason.NO_REASON, (Units("TEA", 1),), case_id="my-case"
    )
    order = step(delivered(), command, BUYER, AFTER_DELIVERY)
    assert last_case(order).case_id == "my-case"
    again = RequestAfterSales(
        CaseKind.RETURN, CaseReason.NO_REASON, (Units("CUP", 1),), case_id="my-case"
    )
    assert refused(order, again, BUYER).codes == ("request_after_sales.case_exists",)


def test_as1_an_order_holds_at_most_the_cases_its_limits_allow() -> None:
    """AS-1: one request beyond ``limits.cases_per_order`` is refused with too_many_cases."""
    from orderflow.limits import Limits

    lifecycle = Lifecycle(Settings(limits=Limits(cases_per_order=2)))
    order = delivered(lifecycle=lifecycle)
    for sku in ("TEA", "CUP"):
        order = ask(order, CaseKind.RETURN, CaseReason.NO_REASON, Units(sku, 1),
                    lifecycle=lifecycle)  # fmt: skip
    command = RequestAfterSales(CaseKind.RETURN, CaseReason.NO_REASON, (Units("BOWL", 1),))
    refusal = refused(order, command, BUYER, lifecycle=lifecycle)
    assert refusal.codes == ("request_after_sales.too_many_cases",)


# -- units and money held by open cases (D-6) --------------------------------------------------


def test_d6_several_open_cases_may_share_a_line_until_its_units_run_out() -> None:
    """D-6: two open returns of one unit of TEA each leave one unit; asking for two is
    refused naming the unit left, and a rejected case gives its unit back."""
    order = ask(delivered(), CaseKind.RETURN, CaseReason.NO_REASON, Units("TEA", 1))
    first = last_case(order).case_id
    order = ask(order, CaseKind.RETURN, CaseReason.QUALITY_PROBLEM, Units("TEA", 1))
    assert [item.state for item in order.open_cases] == [CaseState.REQUESTED] * 2
    tea = standing(order).line("TEA")
    assert tea is not None
    assert (tea.units_left, tea.requested) == (1, cny("6.67"))
    command = RequestAfterSales(CaseKind.RETURN, CaseReason.NO_REASON, (Units("TEA", 2),))
    refusal = refused(order, command, BUYER)
    assert refusal.codes == ("request_after_sales.units_left",)
    assert "Only 1 unit(s) of TEA" in refusal.message
    order = step(order, RejectCase(first, "used"), AGENT)
    order = step(order, command, BUYER)
    assert last_case(order).state is CaseState.REQUESTED


@pytest.mark.parametrize(
    "holder",
    [
        RequestAfterSales(CaseKind.EXCHANGE, CaseReason.QUALITY_PROBLEM, (Units("BOWL", 2),)),
        RequestAfterSales(CaseKind.RETURN, CaseReason.NO_REASON, (Units("BOWL", 2),)),
        RequestAfterSales(CaseKind.REFUND_ONLY, CaseReason.AGREED_AMOUNT, (Units("BOWL", 2),),
                          cny("1.00")),
        RequestAfterSales(CaseKind.NOT_RECEIVED, CaseReason.WRONG_ITEM, (Units("BOWL", 2),)),
    ],
    ids=["exchange", "return", "refund_only", "not_received"],
)  # fmt: skip
def test_d6_open_cases_of_every_kind_hold_their_units(holder: RequestAfterSales) -> None:
    """D-6: units in an open case of any kind, an exchange included, are not left for
    another request."""
    order = step(delivered(), holder, BUYER, AFTER_DELIVERY)
    command = RequestAfterSales(CaseKind.RETURN, CaseReason.NO_REASON, (Units("BOWL", 1),))
    assert refused(order, command, BUYER).codes == ("request_after_sales.units_left",)


def test_d6_an_exchange_holds_its_units_through_approval_and_receipt() -> None:
    """D-6, AS-1 (4): an approved, shipped back, then received exchange still holds its
    units; once the replacement shipped they are free again and it never held money."""
    order = ask(delivered(), CaseKind.EXCHANGE, CaseReason.QUALITY_PROBLEM, Units("CUP", 1))
    case_id = last_case(order).case_id
    assert last_case(order).amount == cny("0.00")
    command = RequestAfterSales(CaseKind.RETURN, CaseReason.NO_REASON, (Units("CUP", 1),))
    for follow in (
        ApproveCase(case_id),
        ShipBack(case_id, "YTO", "YT1"),
        ReceiveReturn(case_id, (Units("CUP", 1),)),
    ):
        order = step(order, follow, AGENT if not isinstance(follow, ShipBack) else BUYER)
        assert refused(order, command, BUYER).codes == ("request_after_sales.units_left",)
        assert standing(order).room == cny("55.00")
    assert case(order, case_id).state is CaseState.RECEIVED


def test_d6_an_amount_over_the_cap_is_refused_naming_what_remains() -> None:
    """D-6, AS-5: a refund only over a line's cap, or over what the order may still be
    refunded, is refused naming the remaining amount; nothing is clamped or recorded."""
    order = delivered()
    over_line = RequestAfterSales(
        CaseKind.REFUND_ONLY, CaseReason.AGREED_AMOUNT, (Units("CUP", 1),), cny("5.01")
    )
    refusal = refused(order, over_line, BUYER, AFTER_DELIVERY)
    assert refusal.codes == ("request_after_sales.over_cap",)
    assert "5.00 CNY is left" in refusal.message
    order = ask(order, CaseKind.RETURN, CaseReason.NO_REASON, Units("BOWL", 2))
    over_order = RequestAfterSales(CaseKind.REFUND_ONLY, CaseReason.AGREED_AMOUNT, (),
                                   cny("15.01"))  # fmt: skip
    refusal = refused(order, over_order, BUYER)
    assert refusal.codes == ("request_after_sales.over_cap",)
    assert "15.00 CNY is left" in refusal.message
    assert len(order.cases) == 1


# -- approving and rejecting ------------------------------------------------------------------


def test_d8_a_partial_approval_rejects_the_other_lines_with_the_reason() -> None:
    """AS-1, D-8: approving some lines of a return rejects the others with the reason given;
    the case holds only the approved lines' amount."""
    order = ask(delivered(), CaseKind.RETURN, CaseReason.NO_REASON, Units("TEA", 1),
                Units("CUP", 1))  # fmt: skip
    case_id = last_case(order).case_id
    order = step(order, ApproveCase(case_id, ("TEA",), "the cup was used"), AGENT)
    approved = case(order, case_id)
    assert approved.state is CaseState.APPROVED
    assert [(line.sku, line.approved, line.rejected) for line in approved.lines] == [
        ("TEA", 1, ""),
        ("CUP", 0, "the cup was used"),
    ]
    assert approved.amount == cny("3.34")
    cup = standing(order).line("CUP")
    assert cup is not None
    assert cup.units_left == 1


def test_d8_a_partial_approval_without_a_reason_is_refused() -> None:
    """D-8: the lines a partial approval leaves out are rejected, which needs a reason."""
    order = ask(delivered(), CaseKind.RETURN, CaseReason.NO_REASON, Units("TEA", 1),
                Units("CUP", 1))  # fmt: skip
    refusal = refused(order, ApproveCase(last_case(order).case_id, ("TEA",)), AGENT)
    assert refusal.codes == ("approve_case.reason_required",)
    assert "CUP" in refusal.message


def test_as1_approving_a_line_the_case_does_not_hold_is_refused() -> None:
    """AS-1: an approval names lines of the case."""
    order = ask(delivered(), CaseKind.RETURN, CaseReason.NO_REASON, Units("TEA", 1))
    refusal = refused(order, ApproveCase(last_case(order).case_id, ("CUP",), "x"), AGENT)
    assert refusal.codes == ("approve_case.unknown_line",)


def test_d8_rejecting_some_lines_then_the_rest_ends_the_case_rejected() -> None:
    """D-8: rejecting one line keeps the case waiting with a smaller hold; rejecting the rest
    ends it rejected with the reason, and the buyer is told."""
    order = ask(delivered(), CaseKind.RETURN, CaseReason.NO_REASON, Units("TEA", 1),
                Units("CUP", 1))  # fmt: skip
    case_id = last_case(order).case_id
    order = step(order, RejectCase(case_id, "the cup was used", ("CUP",)), AGENT)
    partly = case(order, case_id)
    assert partly.state is CaseState.REQUESTED
    assert partly.amount == cny("3.34")
    assert standing(order).requested == cny("3.34")
    refusal = refused(order, RejectCase(case_id, "again", ("CUP",)), AGENT)
    assert refusal.codes == ("reject_case.unknown_line",)
    outcome = run(order, RejectCase(case_id, "the tea was opened", ("TEA",)), AGENT)
    rejected = case(outcome.order, case_id)
    assert rejected.state is CaseState.REJECTED
    assert rejected.rejection == "the tea was opened"
    assert [line.rejected for line in rejected.lines] == ["the tea was opened", "the cup was used"]
    assert standing(outcome.order).requested == cny("0.00")
    assert any(isinstance(effect, NotifyCustomer) for effect in outcome.effects)


def test_d8_rejecting_every_line_at_once_ends_the_case_rejected() -> None:
    """D-8: a rejection without lines rejects them all."""
    order = ask(delivered(), CaseKind.RETURN, CaseReason.NO_REASON, Units("TEA", 1),
                Units("CUP", 1))  # fmt: skip
    case_id = last_case(order).case_id
    order = step(order, RejectCase(case_id, "outside the policy"), AGENT)
    assert case(order, case_id).state is CaseState.REJECTED
    assert all(line.rejected == "outside the policy" for line in case(order, case_id).lines)


def test_d6_an_approval_checks_the_caps_again() -> None:
    """D-6: a rejected case overridden after another case took its units is refused with
    units_left, never clamped."""
    order = ask(delivered(), CaseKind.RETURN, CaseReason.NO_REASON, Units("CUP", 1))
    case_id = last_case(order).case_id
    order = step(order, RejectCase(case_id, "no"), AGENT)
    order = ask(order, CaseKind.RETURN, CaseReason.QUALITY_PROBLEM, Units("CUP", 1))
    refusal = refused(order, OverrideDenial(case_id, "the buyer was right"), OVERRIDER)
    assert refusal.codes == ("override_denial.units_left",)
