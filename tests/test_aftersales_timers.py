"""After-sales timers, fired as the sweep fires them: the command :data:`orderflow.timers.TIMERS`
names for each due deadline, sent by the system at the deadline's own instant (D-15, TM-6,
AS-2, AS-3, AS-4, D-7, D-8).
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from orderflow import AlertStaff, ConfirmReceipt, FailRefund, Lifecycle, Order, Outcome, Settings
from orderflow.aftersales import (
    ApproveCase,
    AskForReview,
    CaseKind,
    CaseReason,
    CaseState,
    CaseTransition,
    CloseReturnWindow,
    ExpireCase,
    Policy,
    PolicySettings,
    ReceiveOverdueReturn,
    ReceiveReturn,
    RejectCase,
    RemindStaff,
    RespondForSeller,
    ResponseAction,
    Ruling,
    Units,
    standing,
)
from orderflow.deadlines import Deadline, DeadlineKind
from orderflow.model import OrderState
from orderflow.timers import TIMERS, due_deadlines, timer_command_id
from tests.case_support import (
    AGENT,
    BUYER,
    FISH,
    LC,
    NO_REASON_ENDS,
    PAID,
    QUALITY_ENDS,
    SYSTEM,
    ask,
    case,
    cny,
    delivered,
    last_case,
    last_refund,
    refused,
    returning,
    step,
)


def deadline_of(order: Order, kind: DeadlineKind, case_id: str | None = None) -> Deadline:
    """The order's one deadline of this kind (for this case)."""
    found = [d for d in order.deadlines if d.kind is kind and d.case_id == case_id]
    assert len(found) == 1, found
    return found[0]


def fire(
    order: Order, kind: DeadlineKind, case_id: str | None = None, lifecycle: Lifecycle = LC
) -> Outcome:
    """Fire the deadline of this kind as the sweep would: due at its instant and not a
    second before, the command TIMERS names, by the system, at that instant."""
    deadline = deadline_of(order, kind, case_id)
    assert deadline not in due_deadlines(order, deadline.due_at - timedelta(seconds=1))
    assert deadline in due_deadlines(order, deadline.due_at)
    command = TIMERS[kind](order, deadline)
    assert command is not None
    assert command.command_id == timer_command_id(deadline)
    return lifecycle.handle(order, command, SYSTEM, deadline.due_at)


def test_as4_an_unanswered_request_is_approved_when_the_seller_response_is_due() -> None:
    """AS-4, D-15: a request carries a seller-response deadline 48 hours on; when it is due
    the system approves it (the default action), recorded with rule seller_response, and the
    case's next timer (ship back, 7 days) starts then."""
    order = ask(delivered(), CaseKind.RETURN, CaseReason.NO_REASON, Units("CUP", 1))
    opened = last_case(order)
    assert deadline_of(order, DeadlineKind.SELLER_RESPONSE, opened.case_id).due_at == (
        opened.opened_at + timedelta(hours=48)
    )
    outcome = fire(order, DeadlineKind.SELLER_RESPONSE, opened.case_id)
    approved = case(outcome.order, opened.case_id)
    assert approved.state is CaseState.APPROVED
    assert outcome.entry.cases == (
        CaseTransition(opened.case_id, CaseState.REQUESTED, CaseState.APPROVED, "seller_response"),
    )
    ship_back = deadline_of(outcome.order, DeadlineKind.SHIP_BACK, opened.case_id)
    assert ship_back.due_at == outcome.entry.at + timedelta(days=7)


def test_as4_an_unanswered_refund_only_is_approved_with_its_refund() -> None:
    """AS-4, AS-6: auto-approving a refund only requests its refund in the same step."""
    order = ask(delivered(), CaseKind.REFUND_ONLY, CaseReason.AGREED_AMOUNT, amount=cny("4.00"))
    case_id = last_case(order).case_id
    outcome = fire(order, DeadlineKind.SELLER_RESPONSE, case_id)
    assert case(outcome.order, case_id).state is CaseState.REFUND_PENDING
    assert last_refund(outcome.order).amount == cny("4.00")


def test_as4_a_shop_may_reject_unanswered_requests() -> None:
    """AS-4, D-8: with seller_response_action auto_reject, the due request is rejected
    (rule seller_response), holds nothing, and waits for a review."""
    settings = PolicySettings(seller_response_action=ResponseAction.AUTO_REJECT)
    lifecycle = Lifecycle(Settings(policy=Policy.default(settings)))
    order = delivered(lifecycle=lifecycle)
    order = ask(order, CaseKind.RETURN, CaseReason.NO_REASON, Units("CUP", 1),
                lifecycle=lifecycle)  # fmt: skip
    case_id = last_case(order).case_id
    outcome = fire(order, DeadlineKind.SELLER_RESPONSE, case_id, lifecycle)
    rejected = case(outcome.order, case_id)
    assert rejected.state is CaseState.REJECTED
    assert rejected.rejection
    assert outcome.entry.cases[0].rule == "seller_response"
    assert standing(outcome.order).room == PAID
    deadline_of(outcome.order, DeadlineKind.REVIEW_WINDOW, case_id)
    order = step(outcome.order, AskForReview(case_id), BUYER, lifecycle=lifecycle)
    assert case(order, case_id).state is CaseState.IN_REVIEW


def test_as1_a_return_never_shipped_back_closes_when_the_ship_back_time_is_due() -> None:
    """AS-1, D-15: an approved return the buyer does not ship back within 7 days closes
    (not_shipped_back) and its hold is freed."""
    order = ask(delivered(), CaseKind.RETURN, CaseReason.NO_REASON, Units("BOWL", 2))
    case_id = last_case(order).case_id
    order = step(order, ApproveCase(case_id), AGENT)
    outcome = fire(order, DeadlineKind.SHIP_BACK, case_id)
    closed = case(outcome.order, case_id)
    assert closed.state is CaseState.CLOSED
    assert closed.resolution == "not_shipped_back"
    assert closed.deadline is None
    assert all(d.case_id != case_id for d in outcome.order.deadlines)
    assert standing(outcome.order).room == PAID
    assert isinstance(outcome.entry.command, ExpireCase)


def test_d7_a_return_whose_receipt_is_overdue_is_received_and_refunded() -> None:
    """D-7, D-15: the seller not confirming receipt within 10 days of the buyer's shipment,
    the approved units are received as sold and the refund starts (rule seller_receipt)."""
    order, case_id = returning(delivered(), Units("BOWL", 2))
    shipped_back = case(order, case_id).parcel
    assert shipped_back is not None
    deadline = deadline_of(order, DeadlineKind.SELLER_RECEIPT, case_id)
    assert deadline.due_at == shipped_back.shipped_at + timedelta(days=10)
    outcome = fire(order, DeadlineKind.SELLER_RECEIPT, case_id)
    received = case(outcome.order, case_id)
    assert received.state is CaseState.REFUND_PENDING
    assert [line.received for line in received.lines] == [2]
    assert last_refund(outcome.order).amount == cny("40.00")
    assert outcome.entry.cases[0].rule == "seller_receipt"


def test_d7_an_exchange_whose_receipt_is_overdue_waits_for_its_replacement() -> None:
    """D-7, AS-1 (4): an overdue exchange is received, with no money in flight."""
    order, case_id = returning(
        delivered(), Units("CUP", 1), reason=CaseReason.QUALITY_PROBLEM, kind=CaseKind.EXCHANGE
    )
    outcome = fire(order, DeadlineKind.SELLER_RECEIPT, case_id)
    assert case(outcome.order, case_id).state is CaseState.RECEIVED
    assert outcome.order.ledger.refunds == ()
    deadline_of(outcome.order, DeadlineKind.STAFF_REMINDER, case_id)


def test_d8_a_rejection_not_reviewed_in_time_closes_still_rejected() -> None:
    """D-8, D-15: a rejected case the buyer does not ask to review within 7 days closes
    (not_reviewed), keeping its rejection."""
    order = ask(delivered(), CaseKind.RETURN, CaseReason.NO_REASON, Units("CUP", 1))
    case_id = last_case(order).case_id
    order = step(order, RejectCase(case_id, "the cup was used"), AGENT)
    assert deadline_of(order, DeadlineKind.REVIEW_WINDOW, case_id).due_at == (
        order.updated_at + timedelta(days=7)
    )
    outcome = fire(order, DeadlineKind.REVIEW_WINDOW, case_id)
    closed = case(outcome.order, case_id)
    assert closed.state is CaseState.CLOSED
    assert closed.resolution == "not_reviewed"
    assert closed.rejection == "the cup was used"
    assert refused(outcome.order, AskForReview(case_id), BUYER).codes == (
        "ask_for_review.case_ended",
    )


def test_d8_a_policy_denial_not_reviewed_in_time_closes() -> None:
    """D-8, AS-4: a case opened rejected by the policy closes when its review window ends,
    its decision kept."""
    order = ask(delivered(FISH), CaseKind.RETURN, CaseReason.NO_REASON, Units("FISH", 1))
    case_id = last_case(order).case_id
    outcome = fire(order, DeadlineKind.REVIEW_WINDOW, case_id)
    closed = case(outcome.order, case_id)
    assert closed.state is CaseState.CLOSED
    assert closed.decision.ruling is Ruling.DENIED


@pytest.mark.parametrize("waiting", ["in_review", "received", "refund_pending", "refund_failed"])
def test_d15_staff_are_reminded_of_a_case_waiting_on_them_and_again(waiting: str) -> None:
    """D-15: a case waiting on staff (a review, a replacement, a refund unanswered or
    failed) reminds them every 24 hours: an alert each time, the count kept, the next
    reminder set from the one that fired."""
    order = delivered()
    if waiting == "in_review":
        order = ask(order, CaseKind.RETURN, CaseReason.NO_REASON, Units("CUP", 1))
        case_id = last_case(order).case_id
        order = step(order, RejectCase(case_id, "no"), AGENT)
        order = step(order, AskForReview(case_id), BUYER)
    elif waiting == "received":
        order, case_id = returning(order, Units("CUP", 1), reason=CaseReason.QUALITY_PROBLEM,
                                   kind=CaseKind.EXCHANGE)  # fmt: skip
        order = step(order, ReceiveReturn(case_id, (Units("CUP", 1),)), AGENT)
    else:
        order = ask(order, CaseKind.REFUND_ONLY, CaseReason.AGREED_AMOUNT, amount=cny("4.00"))
        case_id = last_case(order).case_id
        order = step(order, ApproveCase(case_id), AGENT)
        if waiting == "refund_failed":
            order = step(order, FailRefund(last_refund(order).refund_id, "declined",
                                           declined=True), SYSTEM)  # fmt: skip
    assert case(order, case_id).state.value == waiting
    first = deadline_of(order, DeadlineKind.STAFF_REMINDER, case_id)
    assert first.due_at == order.updated_at + timedelta(hours=24)
    outcome = fire(order, DeadlineKind.STAFF_REMINDER, case_id)
    reminded = case(outcome.order, case_id)
    assert reminded.state.value == waiting
    assert reminded.reminders == 1
    alerts = [effect for effect in outcome.effects if isinstance(effect, AlertStaff)]
    assert [(alert.case_id, alert.topic) for alert in alerts] == [(case_id, "reminder")]
    second = deadline_of(outcome.order, DeadlineKind.STAFF_REMINDER, case_id)
    assert second.due_at == first.due_at + timedelta(hours=24)
    again = fire(outcome.order, DeadlineKind.STAFF_REMINDER, case_id)
    assert case(again.order, case_id).reminders == 2


def test_d3_a_case_timer_fired_twice_applies_once() -> None:
    """D-3, D-15: the same deadline fired again (a rerun sweep) replays the outcome."""
    order = ask(delivered(), CaseKind.RETURN, CaseReason.NO_REASON, Units("CUP", 1))
    case_id = last_case(order).case_id
    deadline = deadline_of(order, DeadlineKind.SELLER_RESPONSE, case_id)
    command = TIMERS[DeadlineKind.SELLER_RESPONSE](order, deadline)
    assert isinstance(command, RespondForSeller)
    first = LC.handle(order, command, SYSTEM, deadline.due_at)
    again = LC.handle(first.order, command, SYSTEM, deadline.due_at)
    assert again.replayed
    assert again.order is first.order


def test_d15_a_timer_of_a_case_the_order_lacks_fires_nothing() -> None:
    """D-15: a case deadline naming no case of the order gives no command."""
    order = delivered()
    for kind in (DeadlineKind.SELLER_RESPONSE, DeadlineKind.SHIP_BACK,
                 DeadlineKind.SELLER_RECEIPT, DeadlineKind.REVIEW_WINDOW,
                 DeadlineKind.STAFF_REMINDER):  # fmt: skip
        assert TIMERS[kind](order, Deadline(kind, NO_REASON_ENDS, "o-1/case/9")) is None


# -- the return windows (TM-6, D-4) ------------------------------------------------------------


def test_tm6_the_return_windows_close_at_their_d4_instants_in_shanghai() -> None:
    """TM-6, D-4, AS-2, AS-3: delivered on 2026-03-10 at 15:00 in Shanghai, the no-reason
    window closes at 2026-03-18T00:00+08:00 and the quality window at
    2026-03-26T00:00+08:00; each fires CloseReturnWindow at that instant (not a second
    before), is recorded in history and drops its deadline, the other running on."""
    order = delivered()
    assert deadline_of(order, DeadlineKind.NO_REASON_WINDOW).due_at == NO_REASON_ENDS
    assert deadline_of(order, DeadlineKind.QUALITY_WINDOW).due_at == QUALITY_ENDS
    outcome = fire(order, DeadlineKind.NO_REASON_WINDOW)
    assert outcome.entry.command == CloseReturnWindow(
        "no_reason", command_id=outcome.entry.command.command_id
    )
    assert outcome.entry.at == NO_REASON_ENDS
    kinds = {d.kind for d in outcome.order.deadlines}
    assert DeadlineKind.NO_REASON_WINDOW not in kinds
    assert DeadlineKind.QUALITY_WINDOW in kinds
    assert outcome.order.state is OrderState.DELIVERED
    closed = fire(outcome.order, DeadlineKind.QUALITY_WINDOW)
    assert closed.entry.at == QUALITY_ENDS
    assert not {d.kind for d in closed.order.deadlines} & {
        DeadlineKind.NO_REASON_WINDOW,
        DeadlineKind.QUALITY_WINDOW,
    }
    refusal = refused(closed.order, CloseReturnWindow("quality"), SYSTEM)
    assert refusal.codes == ("close_return_window.no_window",)


def test_tm6_the_return_windows_outlive_the_confirmation_of_receipt() -> None:
    """TM-6, LC-9: a completed order keeps its return windows running, and they close."""
    order = step(delivered(), ConfirmReceipt(), BUYER)
    assert order.state is OrderState.COMPLETED
    outcome = fire(order, DeadlineKind.NO_REASON_WINDOW)
    assert outcome.order.state is OrderState.COMPLETED


def test_tm6_the_window_closing_leaves_open_cases_and_their_timers() -> None:
    """TM-6, D-15: closing a window drops only its own deadline, not a case's."""
    order = ask(delivered(), CaseKind.RETURN, CaseReason.QUALITY_PROBLEM, Units("CUP", 1))
    case_id = last_case(order).case_id
    order = step(order, ApproveCase(case_id), AGENT)
    outcome = fire(order, DeadlineKind.NO_REASON_WINDOW)
    assert deadline_of(outcome.order, DeadlineKind.SHIP_BACK, case_id)


def test_d15_the_system_alone_fires_case_timers() -> None:
    """D-15, CL-6: a buyer or an agent cannot send a timer's command."""
    order = ask(delivered(), CaseKind.RETURN, CaseReason.NO_REASON, Units("CUP", 1))
    case_id = last_case(order).case_id
    for command in (RespondForSeller(case_id), ExpireCase(case_id),
                    ReceiveOverdueReturn(case_id), RemindStaff(case_id)):  # fmt: skip
        for actor in (BUYER, AGENT):
            assert refused(order, command, actor).code.endswith(".forbidden")
