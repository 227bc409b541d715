"""The after-sales case machine, second look: reviews (D-8), overrides (AS-4), who may send
what (CL-6), replays (D-3), the dry run, what is available, a case's history and its
deadlines (AS-1, AS-4, D-15).

Every test runs commands through :meth:`Lifecycle.handle`, :meth:`~Lifecycle.check`,
:meth:`~Lifecycle.preview` or :meth:`~Lifecycle.available`.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from orderflow import (
    Actor,
    AlertStaff,
    InvalidInput,
    Lifecycle,
    Order,
    OrderLine,
    Settings,
)
from orderflow.aftersales import (
    ApproveCase,
    AskForReview,
    CaseKind,
    CaseReason,
    CaseState,
    CaseTransition,
    DecideReview,
    ExclusionFlag,
    OverrideDenial,
    ReceiveReturn,
    RejectCase,
    RequestAfterSales,
    ReturnCondition,
    Ruling,
    ShipBack,
    Units,
)
from orderflow.model import OrderState
from tests.case_support import (
    AFTER_DELIVERY,
    AGENT,
    BUYER,
    CASHIER,
    FISH,
    LC,
    OTHER_BUYER,
    OVERRIDER,
    STAFF,
    SUPERVISOR,
    SYSTEM,
    ask,
    case,
    cny,
    confirm_all,
    delivered,
    last_case,
    last_refund,
    paid,
    refused,
    run,
    shipped,
    step,
)

# -- review (D-8) and override ----------------------------------------------------------------


def _rejected_return() -> tuple[Order, str]:
    """A delivered order with a no-reason return of the cup, rejected by staff."""
    order = ask(delivered(), CaseKind.RETURN, CaseReason.NO_REASON, Units("CUP", 1))
    case_id = last_case(order).case_id
    return step(order, RejectCase(case_id, "the cup was used"), AGENT), case_id


def test_d8_the_buyer_asks_for_a_review_and_staff_are_alerted() -> None:
    """D-8: a rejected case goes in review at the buyer's request; staff are alerted."""
    order, case_id = _rejected_return()
    outcome = run(order, AskForReview(case_id, "it was not used"), BUYER)
    reviewed = case(outcome.order, case_id)
    assert reviewed.state is CaseState.IN_REVIEW
    assert reviewed.reviewed
    alerts = [effect for effect in outcome.effects if isinstance(effect, AlertStaff)]
    assert [alert.topic for alert in alerts] == ["review_asked"]
    assert reviewed.deadline is not None
    assert reviewed.deadline.kind.value == "staff_reminder"


def test_d8_a_supervisor_approving_a_review_reopens_the_rejected_lines() -> None:
    """D-8: the supervisor's approval re-decides the rejected lines (the case is approved,
    recorded with rule review)."""
    order, case_id = _rejected_return()
    order = step(order, AskForReview(case_id), BUYER)
    outcome = run(order, DecideReview(case_id, True, "photos show it unused"), SUPERVISOR)
    approved = case(outcome.order, case_id)
    assert approved.state is CaseState.APPROVED
    assert [(line.approved, line.rejected) for line in approved.lines] == [(1, "")]
    assert outcome.entry.cases == (
        CaseTransition(case_id, CaseState.IN_REVIEW, CaseState.APPROVED, "review"),
    )


def test_d8_a_supervisor_approving_a_refund_review_requests_the_refund() -> None:
    """D-8, AS-6: an approved review of a refund only requests its refund in the step."""
    order = ask(delivered(), CaseKind.REFUND_ONLY, CaseReason.AGREED_AMOUNT, amount=cny("4.00"))
    case_id = last_case(order).case_id
    order = step(order, RejectCase(case_id, "no agreement"), AGENT)
    order = step(order, AskForReview(case_id), BUYER)
    order = step(order, DecideReview(case_id, True, "agreed on the phone"), SUPERVISOR)
    assert case(order, case_id).state is CaseState.REFUND_PENDING
    assert last_refund(order).amount == cny("4.00")


def test_d8_a_supervisor_upholding_a_rejection_closes_the_case_for_good() -> None:
    """D-8: an upheld rejection is final: the case closes (review_upheld) and takes no
    further command."""
    order, case_id = _rejected_return()
    order = step(order, AskForReview(case_id), BUYER)
    outcome = run(order, DecideReview(case_id, False, "the photos show wear"), SUPERVISOR)
    closed = case(outcome.order, case_id)
    assert closed.state is CaseState.CLOSED
    assert closed.resolution == "review_upheld"
    assert closed.deadline is None
    refusal = refused(outcome.order, AskForReview(case_id), BUYER)
    assert refusal.codes == ("ask_for_review.case_ended",)
    refusal = refused(outcome.order, OverrideDenial(case_id, "no"), OVERRIDER)
    assert refusal.codes == ("override_denial.case_ended",)


def test_d8_a_review_is_asked_once_per_case() -> None:
    """D-8: a case rejected again after its review (the return turned out a wrong item)
    cannot be reviewed a second time."""
    order, case_id = _rejected_return()
    order = step(order, AskForReview(case_id), BUYER)
    order = step(order, DecideReview(case_id, True, "fine"), SUPERVISOR)
    order = step(order, ShipBack(case_id, "YTO", "YT1"), BUYER)
    receipt = ReceiveReturn(case_id, (Units("CUP", 1),), ReturnCondition.WRONG_ITEM)
    order = step(order, receipt, AGENT)
    assert case(order, case_id).state is CaseState.REJECTED
    refusal = refused(order, AskForReview(case_id), BUYER)
    assert refusal.codes == ("ask_for_review.reviewed_already",)


def test_d8_only_a_rejected_case_is_reviewed_and_only_by_a_supervisor() -> None:
    """D-8: asking a review of a waiting case is refused (not_rejected); an agent without
    aftersales.review cannot decide one."""
    order = ask(delivered(), CaseKind.RETURN, CaseReason.NO_REASON, Units("CUP", 1))
    case_id = last_case(order).case_id
    assert refused(order, AskForReview(case_id), BUYER).codes == ("ask_for_review.not_rejected",)
    order = step(order, RejectCase(case_id, "no"), AGENT)
    order = step(order, AskForReview(case_id), BUYER)
    refusal = refused(order, DecideReview(case_id, True, "ok"), AGENT)
    assert refusal.codes == ("decide_review.missing_permission",)


def test_as4_an_override_overturns_a_denial_and_both_stay_in_history() -> None:
    """AS-4, D-8: staff with aftersales.override overturn a policy's denial with a
    justification; the case is approved, and the denial and the override both stay in the
    case's history."""
    order = ask(delivered(FISH), CaseKind.RETURN, CaseReason.NO_REASON, Units("FISH", 1))
    case_id = last_case(order).case_id
    outcome = run(order, OverrideDenial(case_id, "sealed box, shop's goodwill"), OVERRIDER)
    overridden = case(outcome.order, case_id)
    assert overridden.state is CaseState.APPROVED
    assert overridden.override == "sealed box, shop's goodwill"
    assert overridden.decision.rule_id == "AS-2b"
    assert overridden.amount == cny("30.00")
    history = outcome.order.case_history(case_id)
    assert [entry.cases[0].rule for entry in history] == ["AS-2b", "override"]
    assert [entry.event for entry in history] == ["request_after_sales", "override_denial"]


def test_as4_an_override_without_the_permission_is_refused_and_records_nothing() -> None:
    """AS-4: an agent without aftersales.override is refused; the case stays rejected."""
    order = ask(delivered(FISH), CaseKind.RETURN, CaseReason.NO_REASON, Units("FISH", 1))
    case_id = last_case(order).case_id
    refusal = refused(order, OverrideDenial(case_id, "goodwill"), AGENT)
    assert refusal.codes == ("override_denial.missing_permission",)
    assert case(order, case_id).state is CaseState.REJECTED
    assert len(order.case_history(case_id)) == 1


def test_as4_the_override_permission_is_the_shops_setting() -> None:
    """AS-4: with Settings.override_permission set, that permission overrides and the
    default one no longer does."""
    lifecycle = Lifecycle(Settings(override_permission="shop.lead"))
    order = delivered(FISH, lifecycle)
    order = ask(order, CaseKind.RETURN, CaseReason.NO_REASON, Units("FISH", 1),
                lifecycle=lifecycle)  # fmt: skip
    case_id = last_case(order).case_id
    command = OverrideDenial(case_id, "goodwill")
    refusal = refused(order, command, OVERRIDER, lifecycle=lifecycle)
    assert refusal.codes == ("override_denial.missing_permission",)
    assert "shop.lead" in refusal.message
    lead = Actor.staff("lead-2", "shop.lead")
    order = step(order, command, lead, lifecycle=lifecycle)
    assert case(order, case_id).state is CaseState.APPROVED


def test_as4_an_override_of_a_refund_only_requests_the_refund() -> None:
    """AS-4, AS-6: overriding a denied refund only requests its refund at once."""
    order = ask(delivered(), CaseKind.REFUND_ONLY, CaseReason.AGREED_AMOUNT, amount=cny("4.00"))
    case_id = last_case(order).case_id
    order = step(order, RejectCase(case_id, "no agreement"), AGENT)
    order = step(order, OverrideDenial(case_id, "agreed after all"), OVERRIDER)
    assert case(order, case_id).state is CaseState.REFUND_PENDING
    assert last_refund(order).case_id == case_id


# -- actors -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("actor", "code"),
    [
        (OTHER_BUYER, "request_after_sales.not_owner"),
        (SYSTEM, "request_after_sales.forbidden"),
        (CASHIER, "request_after_sales.missing_permission"),
    ],
)
def test_as1_only_the_buyer_or_case_staff_may_request(actor: Actor, code: str) -> None:
    """AS-1, CL-6: another customer, the system, and staff without aftersales.manage are
    refused; staff with it ask on the buyer's behalf."""
    command = RequestAfterSales(CaseKind.RETURN, CaseReason.NO_REASON, (Units("CUP", 1),))
    assert refused(delivered(), command, actor, AFTER_DELIVERY).codes == (code,)
    order = step(delivered(), command, AGENT, AFTER_DELIVERY)
    assert last_case(order).state is CaseState.REQUESTED


def test_as1_commands_of_a_case_are_refused_to_the_wrong_actor() -> None:
    """AS-1, CL-6: the buyer cannot approve, another customer cannot ship back or ask for a
    review, staff cannot ask for the buyer's review, the system cannot reject."""
    order = ask(delivered(), CaseKind.RETURN, CaseReason.NO_REASON, Units("CUP", 1))
    case_id = last_case(order).case_id
    assert refused(order, ApproveCase(case_id), BUYER).codes == ("approve_case.forbidden",)
    assert refused(order, RejectCase(case_id, "x"), SYSTEM).codes == ("reject_case.forbidden",)
    approved = step(order, ApproveCase(case_id), AGENT)
    ship_back = ShipBack(case_id, "YTO", "YT1")
    assert refused(approved, ship_back, OTHER_BUYER).codes == ("ship_back.not_owner",)
    rejected = step(order, RejectCase(case_id, "no"), AGENT)
    review = AskForReview(case_id)
    assert refused(rejected, review, OTHER_BUYER).codes == ("ask_for_review.not_owner",)
    assert refused(rejected, review, STAFF).codes == ("ask_for_review.forbidden",)


def test_as1_a_command_for_an_unknown_case_is_refused() -> None:
    """AS-1: a case command naming no case of the order is refused with unknown_case."""
    refusal = refused(delivered(), ApproveCase("o-1/case/9"), AGENT)
    assert refusal.codes == ("approve_case.unknown_case",)
    assert "o-1/case/9" in refusal.message


# -- replays (D-3) ----------------------------------------------------------------------------


def test_d3_the_same_request_id_twice_replays_the_original_outcome() -> None:
    """D-3: a request sent again with its command id returns the original outcome and opens
    no second case; the same id with another payload is refused as a conflict."""
    command = RequestAfterSales(
        CaseKind.RETURN, CaseReason.NO_REASON, (Units("CUP", 1),), command_id="req-1"
    )
    first = run(delivered(), command, BUYER, AFTER_DELIVERY)
    again = run(first.order, command, BUYER)
    assert again.replayed
    assert again.order is first.order
    assert again.effects == first.effects
    assert len(again.order.cases) == 1
    other = RequestAfterSales(
        CaseKind.RETURN, CaseReason.NO_REASON, (Units("TEA", 1),), command_id="req-1"
    )
    assert refused(first.order, other, BUYER).codes == ("request_after_sales.id_conflict",)


def test_d3_a_case_command_replays_by_its_id() -> None:
    """D-3: an approval sent twice with one id is applied once."""
    order = ask(delivered(), CaseKind.REFUND_ONLY, CaseReason.AGREED_AMOUNT, amount=cny("4.00"))
    command = ApproveCase(last_case(order).case_id, command_id="approve-1")
    first = run(order, command, AGENT)
    again = run(first.order, command, AGENT)
    assert again.replayed
    assert len(again.order.ledger.refunds) == 1
    assert again.effects == first.effects


# -- the dry run and what is available (AS-4) ------------------------------------------------


def _rule_ids(preview_decision: object) -> list[str]:
    from orderflow.aftersales import Decision

    assert isinstance(preview_decision, Decision)
    return [verdict.rule_id for verdict in preview_decision.verdicts]


EXCLUDED = tuple(
    OrderLine(sku, 1, cny("10.00"), exclusions=frozenset({flag}))
    for sku, flag in (
        ("MADE", ExclusionFlag.MADE_TO_ORDER),
        ("FRESH", ExclusionFlag.PERISHABLE),
        ("GAME", ExclusionFlag.UNSEALED_DIGITAL),
        ("NEWS", ExclusionFlag.PERIODICAL),
        ("FINAL", ExclusionFlag.CONFIRMED_NON_RETURNABLE),
    )
)


@pytest.mark.parametrize(
    ("sku", "rule_id"),
    [("MADE", "AS-2a"), ("FRESH", "AS-2b"), ("GAME", "AS-2c"), ("NEWS", "AS-2d"),
     ("FINAL", "AS-2e")],
)  # fmt: skip
def test_as4_the_dry_run_explains_each_exclusion(sku: str, rule_id: str) -> None:
    """AS-2 (a)-(e), AS-4: a no-reason return of excluded goods previews denied by the
    exclusion's own rule, which a denied request still opens (no refusal)."""
    command = RequestAfterSales(CaseKind.RETURN, CaseReason.NO_REASON, (Units(sku, 1),))
    preview = LC.preview(delivered(EXCLUDED), command, BUYER, AFTER_DELIVERY)
    assert preview.decision is not None
    assert preview.decision.ruling is Ruling.DENIED
    assert preview.decision.rule_id == rule_id
    assert preview.refusals == ()
    assert preview.would_apply


def test_as4_the_dry_run_explains_a_category_excluded_by_the_shop() -> None:
    """AS-2, AS-4: a category excluded by configuration previews denied by AS-2-category,
    its facts naming the category."""
    from orderflow.aftersales import Policy, PolicySettings

    lifecycle = Lifecycle(
        Settings(policy=Policy.default(PolicySettings(excluded_categories=frozenset({"food"}))))
    )
    lines = (OrderLine("RICE", 1, cny("10.00"), category="food"),)
    command = RequestAfterSales(CaseKind.RETURN, CaseReason.NO_REASON, (Units("RICE", 1),))
    preview = lifecycle.preview(delivered(lines, lifecycle), command, BUYER, AFTER_DELIVERY)
    assert preview.decision is not None
    assert preview.decision.rule_id == "AS-2-category"
    assert preview.decision.facts["category"] == "food"


@pytest.mark.parametrize(
    ("state", "command", "rule_id", "ruling", "refusal"),
    [
        ("paid", RequestAfterSales(CaseKind.NOT_RECEIVED, CaseReason.NOTHING_SHIPPED),
         "AS-1-not-received", Ruling.ALLOWED, None),
        ("shipped", RequestAfterSales(CaseKind.RETURN, CaseReason.NO_REASON, (Units("TEA", 1),)),
         "D-5-delivered", Ruling.DENIED, "request_after_sales.not_yet"),
        ("delivered", RequestAfterSales(CaseKind.NOT_RECEIVED, CaseReason.EMPTY_PARCEL),
         "AS-4-dispute", Ruling.MANUAL, None),
        ("delivered", RequestAfterSales(CaseKind.RETURN, CaseReason.NO_REASON,
                                        (Units("TEA", 1),)),
         "AS-2-window", Ruling.ALLOWED, None),
        ("delivered", RequestAfterSales(CaseKind.RETURN, CaseReason.QUALITY_PROBLEM,
                                        (Units("TEA", 1),)),
         "AS-3-window", Ruling.ALLOWED, None),
        ("delivered", RequestAfterSales(CaseKind.REFUND_ONLY, CaseReason.AGREED_AMOUNT, (),
                                        cny("2.00")),
         "AS-4-agreed", Ruling.ALLOWED, None),
    ],
)  # fmt: skip
def test_as4_the_dry_run_explains_every_other_default_rule(
    state: str, command: RequestAfterSales, rule_id: str, ruling: Ruling, refusal: str | None
) -> None:
    """AS-4, D-4, D-5: the dry run gives the deciding rule with every verdict, the amount,
    and what the command itself would refuse, without changing the order."""
    order = {"paid": paid, "shipped": shipped, "delivered": delivered}[state]()
    at = order.updated_at + timedelta(hours=1)
    preview = LC.preview(order, command, BUYER, at)
    assert preview.decision is not None
    assert preview.decision.rule_id == rule_id
    assert preview.decision.ruling is ruling
    assert rule_id in _rule_ids(preview.decision)
    assert preview.decision.amount == preview.amount
    assert [item.code for item in preview.refusals] == ([refusal] if refusal else [])
    assert order.cases == ()


def test_as4_the_window_rules_explain_both_boundaries_in_the_dry_run() -> None:
    """AS-2, AS-3, D-4: at 23:59:59 of the 7th day a no-reason return is allowed, at 24:00
    denied; both name the window's end; the quality window still allows it then."""
    from tests.case_support import NO_REASON_ENDS

    order = delivered()
    no_reason = RequestAfterSales(CaseKind.RETURN, CaseReason.NO_REASON, (Units("CUP", 1),))
    inside = LC.preview(order, no_reason, BUYER, NO_REASON_ENDS - timedelta(seconds=1))
    outside = LC.preview(order, no_reason, BUYER, NO_REASON_ENDS)
    assert inside.decision is not None
    assert outside.decision is not None
    assert (inside.decision.ruling, outside.decision.ruling) == (Ruling.ALLOWED, Ruling.DENIED)
    assert inside.decision.facts["window_ends"] == NO_REASON_ENDS
    assert outside.decision.facts["window_ends"] == NO_REASON_ENDS
    assert outside.decision.hint
    quality = RequestAfterSales(CaseKind.RETURN, CaseReason.QUALITY_PROBLEM, (Units("CUP", 1),))
    later = LC.preview(order, quality, BUYER, NO_REASON_ENDS)
    assert later.decision is not None
    assert later.decision.ruling is Ruling.ALLOWED


def test_as4_the_dry_run_reports_refusals_with_their_codes() -> None:
    """AS-4, D-6: a request the order cannot take previews no decision, no amount, and the
    refusal with its code; a malformed one raises the command's own input error."""
    order = ask(delivered(), CaseKind.RETURN, CaseReason.NO_REASON, Units("BOWL", 2))
    command = RequestAfterSales(CaseKind.RETURN, CaseReason.NO_REASON, (Units("BOWL", 1),))
    preview = LC.preview(order, command, BUYER, order.updated_at)
    assert preview.decision is None
    assert preview.amount == cny("0.00")
    assert [item.code for item in preview.refusals] == ["request_after_sales.units_left"]
    assert not preview.would_apply
    with pytest.raises(InvalidInput):
        LC.preview(order, ApproveCase("x"), BUYER, order.updated_at)  # type: ignore[arg-type]


def test_as4_the_dry_run_reports_an_actor_refusal() -> None:
    """AS-4, CL-6: another customer's dry run carries the not_owner refusal."""
    command = RequestAfterSales(CaseKind.RETURN, CaseReason.NO_REASON, (Units("CUP", 1),))
    preview = LC.preview(delivered(), command, OTHER_BUYER, AFTER_DELIVERY)
    assert [item.code for item in preview.refusals] == ["request_after_sales.not_owner"]


def test_as1_available_lists_a_cases_commands_for_its_state() -> None:
    """AS-1, D-8: with a case id, available judges that case's commands on its state."""
    order = ask(delivered(), CaseKind.RETURN, CaseReason.NO_REASON, Units("CUP", 1))
    case_id = last_case(order).case_id
    staff = LC.available(order, AGENT, order.updated_at, case_id=case_id)
    assert {"approve_case", "reject_case", "request_after_sales"} <= set(staff.allowed_events)
    assert "ship_back" not in staff.allowed_events
    assert [item.code for item in staff.why_not(ShipBack)] == ["ship_back.invalid_case_state"]
    rejected = step(order, RejectCase(case_id, "no"), AGENT)
    buyer = LC.available(rejected, BUYER, rejected.updated_at, case_id=case_id)
    assert "ask_for_review" in buyer.allowed_events
    assert "approve_case" not in buyer.allowed_events
    assert ApproveCase not in buyer.refused
    without = LC.available(rejected, BUYER, rejected.updated_at)
    assert "ask_for_review" not in without.allowed_events
    with pytest.raises(InvalidInput):
        LC.available(order, AGENT, order.updated_at, case_id="o-1/case/9")


def test_as1_case_history_is_the_orders_history_filtered_by_case() -> None:
    """AS-1, LC-8: a case's history holds exactly the entries that moved it, in order."""
    order = ask(delivered(), CaseKind.RETURN, CaseReason.NO_REASON, Units("CUP", 1))
    first = last_case(order).case_id
    order = ask(order, CaseKind.REFUND_ONLY, CaseReason.AGREED_AMOUNT, amount=cny("2.00"))
    second = last_case(order).case_id
    order = step(order, ApproveCase(first), AGENT)
    order = step(order, ApproveCase(second), AGENT)
    order = confirm_all(order)
    assert [entry.event for entry in order.case_history(first)] == [
        "request_after_sales",
        "approve_case",
    ]
    assert [entry.event for entry in order.case_history(second)] == [
        "request_after_sales",
        "approve_case",
        "confirm_refund",
    ]
    assert order.case_history("o-1/case/9") == ()
    assert all(entry in order.history for entry in order.case_history(second))


def test_as1_a_case_command_is_a_command_on_the_order() -> None:
    """AS-1, LC-8: one case command adds one history entry and one version to the order,
    its state unchanged."""
    order = ask(delivered(), CaseKind.RETURN, CaseReason.NO_REASON, Units("CUP", 1))
    outcome = run(order, ApproveCase(last_case(order).case_id), AGENT)
    assert outcome.order.version == order.version + 1
    assert outcome.entry.from_state is outcome.entry.to_state is OrderState.DELIVERED
    assert outcome.order.history.last is outcome.entry
    assert {effect.version for effect in outcome.effects} == {outcome.order.version}


def test_d15_every_open_case_carries_its_deadline_among_the_orders() -> None:
    """D-15: each open case's running timer is among the order's deadlines, naming it."""
    order = ask(delivered(), CaseKind.RETURN, CaseReason.NO_REASON, Units("CUP", 1))
    order = ask(order, CaseKind.RETURN, CaseReason.NO_REASON, Units("TEA", 1))
    order = step(order, ApproveCase(order.cases[0].case_id), AGENT)
    for item in order.cases:
        assert item.deadline is not None
        assert item.deadline in order.deadlines
        assert item.deadline.case_id == item.case_id
    assert [item.deadline.kind.value for item in order.cases if item.deadline] == [
        "ship_back",
        "seller_response",
    ]
