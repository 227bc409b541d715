"""The after-sales case machine as data: states, transitions, guards and refusals (AS-1..AS-7,
D-5..D-8).

It runs on the same engine as the order lifecycle (:mod:`orderflow.engine`): the state a case
command meets is the state of the case it names (:attr:`AfterSalesCase.state`), and a request
meets ``new``. The definition is built per :class:`~orderflow.Lifecycle` from its settings:
the policy decides requests, the override permission is the shop's.
"""

from __future__ import annotations

from datetime import datetime

from orderflow import commands as c
from orderflow.aftersales.case import AfterSalesCase, CaseState
from orderflow.aftersales.commands import (
    ApproveCase,
    AskForReview,
    CaseCommand,
    DecideReview,
    OverrideDenial,
    RejectCase,
    RequestAfterSales,
)
from orderflow.aftersales.configuration import ResponseAction
from orderflow.aftersales.deciding import Decider
from orderflow.aftersales.decisions import Ruling
from orderflow.aftersales.followups import (
    CloseCase,
    ExpireCase,
    ReceiveOverdueReturn,
    ReceiveReturn,
    RemindStaff,
    ReportReturnLost,
    RespondForSeller,
    ShipBack,
    ShipReplacement,
)
from orderflow.aftersales.guards import (
    ASK_ONCE,
    CASE_TIMER_DUE,
    KNOWN_SKUS,
    NOT_MANUAL,
    NOTHING_UNSETTLED,
    REASON_FOR_THE_REST,
    SHIPPING_CURRENCY,
    quote_guard,
    request_guards,
)
from orderflow.aftersales.model import CaseKind, ReturnCondition
from orderflow.aftersales.quotes import Quote, approval_for, receipt_for
from orderflow.aftersales.receiving import CaseAppliers
from orderflow.engine import Condition, Definition, Guard, RefusalText, State, Transition
from orderflow.errors import RefusalCategory
from orderflow.model import ActorKind, Permission
from orderflow.order import Order
from orderflow.settings import Settings
from orderflow.step import Step

__all__ = ["case_definition"]

S = CaseState
CUSTOMER, STAFF, SYSTEM = ActorKind.CUSTOMER, ActorKind.STAFF, ActorKind.SYSTEM
_REFUNDING = frozenset({CaseKind.NOT_RECEIVED, CaseKind.REFUND_ONLY})
_OPEN = tuple(
    state for state in CaseState if state not in (S.NEW, S.REFUNDED, S.EXCHANGED, S.CLOSED)
)


def _case(order: Order, command: c.Command | None) -> AfterSalesCase | None:
    if not isinstance(command, CaseCommand):
        return None
    return order.case(command.case_id)


def _subject(order: Order, command: c.Command | None) -> State | None:
    """The state a command meets: its case's, ``new`` for a request of a new case."""
    if isinstance(command, RequestAfterSales):
        if command.case_id is None:
            return S.NEW
        existing = order.case(command.case_id)
        return S.NEW if existing is None else existing.state
    case = _case(order, command)
    return None if case is None else case.state


def _refunding(order: Order, command: c.Command | None, at: datetime) -> bool:
    case = _case(order, command)
    return case is not None and case.kind in _REFUNDING


def _exchange(order: Order, command: c.Command | None, at: datetime) -> bool:
    case = _case(order, command)
    return case is not None and case.kind is CaseKind.EXCHANGE


def _nothing_left(order: Order, command: c.Command | None, at: datetime) -> bool:
    if _case(order, command) is None:
        return False
    assert command is not None
    quote = receipt_for(order, command)
    return not quote.problem and not quote.amount.is_positive()


def _wrong_item(order: Order, command: c.Command | None, at: datetime) -> bool:
    return isinstance(command, ReceiveReturn) and command.condition is ReturnCondition.WRONG_ITEM


def _not_refunded(order: Order, command: c.Command | None, at: datetime) -> bool:
    return isinstance(command, ReportReturnLost) and not command.refund


def _review_approves(order: Order, command: c.Command | None, at: datetime) -> bool:
    return isinstance(command, DecideReview) and command.approve


def _both(first: Condition, second: Condition) -> Condition:
    def both(order: Order, command: c.Command | None, at: datetime) -> bool:
        return first(order, command, at) and second(order, command, at)

    return both


def _approval(step: Step) -> Quote:
    assert step.command is not None
    return approval_for(step.order, step.command)


def _receipt_of(step: Step) -> Quote:
    assert step.command is not None
    return receipt_for(step.order, step.command)


_APPROVAL_GUARDS: tuple[Guard, ...] = tuple(
    quote_guard(problem, _approval) for problem in ("units_left", "over_cap")
)
_RECEIPT_GUARDS: tuple[Guard, ...] = tuple(
    quote_guard(problem, _receipt_of)
    for problem in (
        "not_approved",
        "more_than_approved",
        "currency",
        "nothing_to_deduct",
        "deduction_too_large",
        "units_left",
        "over_cap",
    )
)


def _refusal(reason: str, message: str, hint: str, rule: str) -> RefusalText:
    return RefusalText(reason, message, hint, rule)


_CASE_EXISTS = _refusal(
    "case_exists",
    "This order already has a case {case_id}.",
    "Give the new request another case id, or none to have one made.",
    "AS-1",
)
_NOT_SHIPPED_BACK = _refusal(
    "not_shipped_back",
    "The buyer has not shipped the goods back, so the return cannot be lost on its way.",
    "Wait for the buyer's tracking number, or let the ship-back deadline close the case.",
    "D-7",
)
_NOT_REJECTED = _refusal(
    "not_rejected",
    "A review is asked of a rejected case; this one is {state}.",
    "Follow the case as it is.",
    "D-8",
)


def _refusals() -> dict[tuple[type[c.Command], State], RefusalText]:
    table: dict[tuple[type[c.Command], State], RefusalText] = {}
    for state in CaseState:
        if state is not S.NEW:
            table[(RequestAfterSales, state)] = _CASE_EXISTS
    table[(ReportReturnLost, S.APPROVED)] = _NOT_SHIPPED_BACK
    for state in _OPEN:
        if state is not S.REJECTED:
            table[(AskForReview, state)] = _NOT_REJECTED
    return table


def case_definition(settings: Settings, decider: Decider | None = None) -> Definition:
    """The after-sales case machine for a lifecycle's settings.

    Args:
        settings: the lifecycle's settings (the policy, the override permission, limits).
        decider: the decider to use (one over ``settings.policy`` by default).
    """
    decider = decider or Decider(settings.policy)
    apps = CaseAppliers(decider)
    manage = Permission.AFTERSALES
    requests = request_guards(decider, settings.limits.cases_per_order)

    def denied(order: Order, command: c.Command | None, at: datetime) -> bool:
        if not isinstance(command, RequestAfterSales):
            return False
        decision = decider.judge(order, command, at).decision
        return decision is not None and decision.ruling is Ruling.DENIED

    def rejects_unanswered(order: Order, command: c.Command | None, at: datetime) -> bool:
        action = decider.settings_for(order).seller_response_action
        return action is ResponseAction.AUTO_REJECT

    either = frozenset({CUSTOMER, STAFF})
    staff = frozenset({STAFF})
    system = frozenset({SYSTEM})
    refund = ("a refund", _refunding)
    exchange = ("an exchange", _exchange)
    nothing = ("nothing left to refund", _nothing_left)
    transitions = (
        Transition(RequestAfterSales, (S.NEW,), S.REJECTED, apps.request, either, manage,
                   when=("denied by the policy", denied), guards=requests,
                   rule="AS-1, AS-4, D-5, D-6"),
        Transition(RequestAfterSales, (S.NEW,), S.REQUESTED, apps.request, either, manage,
                   guards=requests, rule="AS-1, AS-4, D-5, D-6"),
        Transition(ApproveCase, (S.REQUESTED,), S.REFUND_PENDING, apps.approve, staff, manage,
                   when=refund, guards=(KNOWN_SKUS, REASON_FOR_THE_REST, *_APPROVAL_GUARDS),
                   rule="AS-1, AS-6, D-6"),
        Transition(ApproveCase, (S.REQUESTED,), S.APPROVED, apps.approve, staff, manage,
                   guards=(KNOWN_SKUS, REASON_FOR_THE_REST, *_APPROVAL_GUARDS), rule="AS-1"),
        Transition(RejectCase, (S.REQUESTED,), S.REJECTED, apps.reject, staff, manage,
                   when=("every line", _every_line), guards=(KNOWN_SKUS,), rule="D-8"),
        Transition(RejectCase, (S.REQUESTED,), None, apps.reject, staff, manage,
                   guards=(KNOWN_SKUS,), rule="D-8"),
        Transition(RespondForSeller, (S.REQUESTED,), S.REJECTED, apps.reject_for_seller, system,
                   when=("the shop rejects unanswered requests", rejects_unanswered),
                   guards=(NOT_MANUAL, CASE_TIMER_DUE), rule="AS-4"),
        Transition(RespondForSeller, (S.REQUESTED,), S.REFUND_PENDING, apps.respond_for_seller,
                   system, when=refund, guards=(NOT_MANUAL, CASE_TIMER_DUE, *_APPROVAL_GUARDS),
                   rule="AS-4, AS-6"),
        Transition(RespondForSeller, (S.REQUESTED,), S.APPROVED, apps.respond_for_seller,
                   system, guards=(NOT_MANUAL, CASE_TIMER_DUE, *_APPROVAL_GUARDS),
                   rule="AS-4"),
        Transition(AskForReview, (S.REJECTED,), S.IN_REVIEW, apps.ask_for_review,
                   frozenset({CUSTOMER}), guards=(ASK_ONCE,), rule="D-8"),
        Transition(DecideReview, (S.IN_REVIEW,), S.REFUND_PENDING, apps.decide_review, staff,
                   Permission.AFTERSALES_REVIEW,
                   when=("approved, a refund", _both(_review_approves, _refunding)),
                   guards=_APPROVAL_GUARDS, rule="D-8"),
        Transition(DecideReview, (S.IN_REVIEW,), S.APPROVED, apps.decide_review, staff,
                   Permission.AFTERSALES_REVIEW, when=("approved", _review_approves),
                   guards=_APPROVAL_GUARDS, rule="D-8"),
        Transition(DecideReview, (S.IN_REVIEW,), S.CLOSED, apps.decide_review, staff,
                   Permission.AFTERSALES_REVIEW, rule="D-8"),
        Transition(OverrideDenial, (S.REJECTED,), S.REFUND_PENDING, apps.override, staff,
                   settings.override_permission, when=refund, guards=_APPROVAL_GUARDS,
                   rule="AS-4, D-8"),
        Transition(OverrideDenial, (S.REJECTED,), S.APPROVED, apps.override, staff,
                   settings.override_permission, guards=_APPROVAL_GUARDS, rule="AS-4, D-8"),
        Transition(ShipBack, (S.APPROVED,), S.RETURNING, apps.ship_back, either, manage,
                   guards=(SHIPPING_CURRENCY,), rule="AS-1"),
        Transition(ReceiveReturn, (S.APPROVED, S.RETURNING), S.REJECTED,
                   apps.receive_wrong_item, staff, manage, when=("a wrong item", _wrong_item),
                   rule="D-7, D-8"),
        Transition(ReceiveReturn, (S.APPROVED, S.RETURNING), S.RECEIVED, apps.receive, staff,
                   manage, when=exchange, guards=_RECEIPT_GUARDS, rule="AS-1, D-7"),
        Transition(ReceiveReturn, (S.APPROVED, S.RETURNING), S.CLOSED, apps.receive, staff,
                   manage, when=nothing, guards=_RECEIPT_GUARDS, rule="D-7, D-11"),
        Transition(ReceiveReturn, (S.APPROVED, S.RETURNING), S.REFUND_PENDING, apps.receive,
                   staff, manage, guards=_RECEIPT_GUARDS, rule="AS-6, D-7"),
        Transition(ReceiveOverdueReturn, (S.RETURNING,), S.RECEIVED, apps.receive_overdue,
                   system, when=exchange, guards=(CASE_TIMER_DUE,), rule="D-7"),
        Transition(ReceiveOverdueReturn, (S.RETURNING,), S.CLOSED, apps.receive_overdue,
                   system, when=nothing, guards=(CASE_TIMER_DUE,), rule="D-7, D-11"),
        Transition(ReceiveOverdueReturn, (S.RETURNING,), S.REFUND_PENDING, apps.receive_overdue,
                   system, guards=(CASE_TIMER_DUE, *_RECEIPT_GUARDS), rule="AS-6, D-7"),
        Transition(ReportReturnLost, (S.RETURNING,), S.REJECTED, apps.report_lost, staff,
                   manage, when=("not refunded", _not_refunded), rule="D-7, D-8"),
        Transition(ReportReturnLost, (S.RETURNING,), S.RECEIVED, apps.report_lost, staff,
                   manage, when=exchange, rule="D-7"),
        Transition(ReportReturnLost, (S.RETURNING,), S.CLOSED, apps.report_lost, staff,
                   manage, when=nothing, rule="D-7, D-11"),
        Transition(ReportReturnLost, (S.RETURNING,), S.REFUND_PENDING, apps.report_lost, staff,
                   manage, guards=_RECEIPT_GUARDS, rule="D-7"),
        Transition(ShipReplacement, (S.RECEIVED,), S.EXCHANGED, apps.ship_replacement, staff,
                   manage, rule="AS-1"),
        Transition(CloseCase, (S.REFUND_FAILED,), S.CLOSED, apps.close, staff, manage,
                   guards=(NOTHING_UNSETTLED,), rule="AS-6"),
        Transition(ExpireCase, (S.APPROVED, S.REJECTED), S.CLOSED, apps.expire, system,
                   guards=(CASE_TIMER_DUE,), rule="D-8, D-15"),
        Transition(RemindStaff,
                   (S.REQUESTED, S.IN_REVIEW, S.RECEIVED, S.REFUND_PENDING, S.REFUND_FAILED),
                   None, apps.remind, system, guards=(CASE_TIMER_DUE,), rule="D-15",
                   offered=False),
    )  # fmt: skip
    return Definition(
        name="after-sales case",
        states=tuple(CaseState),
        initial=S.NEW,
        final=frozenset({S.REFUNDED, S.EXCHANGED, S.CLOSED}),
        transitions=transitions,
        refusals=_refusals(),
        subject=_subject,
        followed=(
            (S.REFUND_PENDING, S.REFUNDED, "confirm_refund"),
            (S.REFUND_PENDING, S.REFUND_FAILED, "fail_refund"),
            (S.REFUND_FAILED, S.REFUND_PENDING, "retry_refund"),
            *(
                (state, S.CLOSED, "order closes")
                for state in _OPEN
                if state is not S.REFUND_PENDING
            ),
        ),
        missing=RefusalText(
            "unknown_case",
            "This order has no after-sales case {case_id}.",
            "Check the case id.",
            "AS-1",
            RefusalCategory.INVALID,
        ),
        final_refusal=RefusalText(
            "case_ended",
            "The case is {state}; it has ended.",
            "Open a new request if something else is wrong.",
            "AS-1",
        ),
        state_refusal=RefusalText(
            "invalid_case_state",
            "'{action}' is not possible while the case is {state}.",
            "Check the case's state and the allowed actions.",
            "AS-1",
        ),
    )


def _every_line(order: Order, command: c.Command | None, at: datetime) -> bool:
    case = _case(order, command)
    if case is None or not isinstance(command, RejectCase):
        return False
    if not command.skus:
        return True
    return all(line.rejected or line.sku in command.skus for line in case.lines)
