"""The appliers of the after-sales case machine: what each case command does to the order.

Every applier builds the new order through :meth:`~orderflow.step.Step.commit`, so a case
command is a command on the order: one more history entry (recording what it did to the case,
:class:`~orderflow.aftersales.CaseTransition`), one version, the case's deadline among the
order's (D-15), its effects in the same outcome (D-14).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from orderflow.aftersales.case import AfterSalesCase, CaseLine, CaseState, CaseTransition
from orderflow.aftersales.commands import (
    ApproveCase,
    DecideReview,
    OverrideDenial,
    RejectCase,
    RequestAfterSales,
)
from orderflow.aftersales.configuration import PolicySettings
from orderflow.aftersales.deciding import Decider
from orderflow.aftersales.decisions import Ruling
from orderflow.aftersales.guards import case_of
from orderflow.aftersales.model import CaseKind
from orderflow.aftersales.quotes import Quote, approval_for, shares_of
from orderflow.deadlines import Deadline, DeadlineKind
from orderflow.effects import (
    AlertStaff,
    Effect,
    NotificationTopic,
    NotifyCustomer,
    RefundReason,
    RequestRefund,
)
from orderflow.frozen import replace
from orderflow.ledger import Ledger
from orderflow.money import Money
from orderflow.order import HistoryEntry, Order
from orderflow.refunding import paying_reference, request_refund
from orderflow.step import Step

__all__ = ["DecisionAppliers", "case_deadline", "next_case_id"]

_REFUNDING = frozenset({CaseKind.NOT_RECEIVED, CaseKind.REFUND_ONLY})
_STATE_VALUES = {state: state.value for state in CaseState}
_KIND_VALUES = {kind: kind.value for kind in CaseKind}
"""Each state's and kind's text, as a notice's details name them (read without the enum's
``value`` descriptor)."""
_REMINDED = frozenset(
    {CaseState.IN_REVIEW, CaseState.RECEIVED, CaseState.REFUND_PENDING, CaseState.REFUND_FAILED}
)


def next_case_id(order: Order) -> str:
    """The next free case id of an order: ``<order id>/case/<n>``."""
    taken = {case.case_id for case in order.cases}
    number = len(order.cases) + 1
    while f"{order.id}/case/{number}" in taken:
        number += 1
    return f"{order.id}/case/{number}"


def case_deadline(case: AfterSalesCase, at: datetime, settings: PolicySettings) -> Deadline | None:
    """The timer a case runs in its state (D-15): every open state has one. A request the
    policy sent to a manual review (AS-4) waits for an agent, who is reminded: the seller's
    silence never decides it."""
    return _deadline(case.state, case.case_id, case.decision.ruling, at, settings)


def _deadline(
    state: CaseState, case_id: str, ruling: Ruling, at: datetime, settings: PolicySettings
) -> Deadline | None:
    """:func:`case_deadline` of a case in ``state``, from the few fields it reads."""
    if state is CaseState.REQUESTED and ruling is Ruling.MANUAL:
        return Deadline(DeadlineKind.STAFF_REMINDER, at + settings.staff_reminder, case_id)
    if state is CaseState.REQUESTED:
        return Deadline(DeadlineKind.SELLER_RESPONSE, at + settings.seller_response, case_id)
    if state is CaseState.APPROVED:
        return Deadline(DeadlineKind.SHIP_BACK, at + settings.ship_back, case_id)
    if state is CaseState.RETURNING:
        return Deadline(DeadlineKind.SELLER_RECEIPT, at + settings.seller_receipt, case_id)
    if state is CaseState.REJECTED:
        return Deadline(DeadlineKind.REVIEW_WINDOW, at + settings.review_window, case_id)
    if state in _REMINDED:
        return Deadline(DeadlineKind.STAFF_REMINDER, at + settings.staff_reminder, case_id)
    return None


class DecisionAppliers:
    """The appliers of a request and the decisions on it, bound to the decider of the
    lifecycle they run in (the rest are :class:`~orderflow.aftersales.receiving.CaseAppliers`).

    Args:
        decider: the policy's side of requests.
    """

    def __init__(self, decider: Decider) -> None:
        self.decider = decider

    # -- committing --------------------------------------------------------------------------

    def commit(
        self,
        step: Step,
        case: AfterSalesCase,
        effects: Iterable[Effect] = (),
        *,
        ledger: Ledger | None = None,
        rule: str = "",
        timed: bool = False,
        **changes: Any,
    ) -> tuple[Order, HistoryEntry]:
        """The order with ``case`` (new, or replacing the one with its id) in its new state,
        with its deadline, and one history entry recording the move.

        Args:
            step: the command being applied.
            case: the case (as the order holds it, or already changed).
            effects: the command's effects.
            ledger: the new ledger, when the command changed it.
            rule: what decided the move, for the history entry.
            timed: ``case`` already runs the timer its state starts in this step.
            changes: fields of the case to change, made in the one copy that also sets its
                deadline (a case is copied once per command).
        """
        order = step.order
        case_id = case.case_id
        old = order.case(case_id)
        source = CaseState.NEW if old is None else old.state
        state = changes.get("state", case.state)
        if not timed and (
            old is None or old.state is not state or changes.get("deadline", case.deadline) is None
        ):
            settings = self.decider.settings_for(order)
            changes["deadline"] = _deadline(state, case_id, case.decision.ruling, step.at, settings)
        if changes:
            case = replace(case, **changes)
        if old is None:
            cases = (*order.cases, case)
        else:
            cases = tuple(case if item is old else item for item in order.cases)
        moved = (CaseTransition(case_id, source, state, rule),)
        return step.commit(tuple(effects), ledger=ledger, cases=cases, moved=moved)

    def _tell(
        self,
        step: Step,
        seq: int,
        case: AfterSalesCase,
        message: str,
        state: CaseState | None = None,
    ) -> NotifyCustomer:
        """The customer's notice of a case, in ``state`` (the case's own by default)."""
        order = step.order
        details = {
            "case_id": case.case_id,
            "state": _STATE_VALUES[state or case.state],
            "kind": _KIND_VALUES[case.kind],
        }
        return NotifyCustomer(
            order.id,
            step.version,
            seq,
            order.customer_id,
            NotificationTopic.AFTER_SALES,
            message,
            details,
        )

    def _refund(
        self, step: Step, case: AfterSalesCase, quote: Quote, seq: int, ledger: Ledger
    ) -> tuple[dict[str, Any], RequestRefund, Ledger]:
        """Ask for the case's refund now: the changes that move the case to refund pending,
        the request and the ledger that records it."""
        effect, ledger = request_refund(
            step,
            seq,
            quote.amount,
            RefundReason.AFTER_SALES,
            paying_reference(ledger),
            counts=True,
            ledger=ledger,
            case_id=case.case_id,
            shares=shares_of(case, quote.lines),
        )
        changes: dict[str, Any] = {
            "state": CaseState.REFUND_PENDING,
            "lines": quote.lines,
            "amount": quote.amount,
            "refund_ids": (*case.refund_ids, effect.refund_id),
            "note_on_amount": quote.note or case.note_on_amount,
            "deadline": None,
        }
        return changes, effect, ledger

    # -- the request -------------------------------------------------------------------------

    def request(self, step: Step) -> tuple[Order, HistoryEntry]:
        """A request opens a case: waiting for the seller, or rejected by the policy with
        the rule that denied it (AS-4); a request for a manual review alerts staff."""
        command = step.command
        assert isinstance(command, RequestAfterSales)
        order = step.order
        quote, decision = self.decider.judge(order, command, step.at)
        assert decision is not None
        denied = decision.ruling is Ruling.DENIED
        lines = quote.lines
        if denied:
            lines = tuple(replace(line, rejected=decision.rule_id) for line in lines)
        case_id = command.case_id or next_case_id(order)
        state = CaseState.REJECTED if denied else CaseState.REQUESTED
        settings = self.decider.settings_for(order)
        case = AfterSalesCase(
            case_id,
            command.kind,
            command.reason,
            state,
            lines,
            Money.zero(order.currency) if denied else quote.amount,
            decision,
            step.at,
            note=command.note,
            rejection=decision.sentence if denied else "",
            deadline=_deadline(state, case_id, decision.ruling, step.at, settings),
            note_on_amount=quote.note,
        )
        effects: list[Effect] = []
        if denied:
            message = f"Your after-sales request was declined: {decision.sentence}"
        else:
            message = "Your after-sales request was received; the shop will answer soon."
        effects.append(self._tell(step, 0, case, message))
        if decision.ruling is Ruling.MANUAL:
            effects.append(
                AlertStaff(
                    order.id,
                    step.version,
                    1,
                    case.case_id,
                    "manual_review",
                    f"An after-sales request needs a review: {decision.sentence}",
                )
            )
        return self.commit(step, case, effects, rule=decision.rule_id, timed=True)

    # -- decisions ---------------------------------------------------------------------------

    def _approve(
        self, step: Step, case: AfterSalesCase, reason: str, rule: str
    ) -> tuple[Order, HistoryEntry]:
        """Approve the lines the command names (:func:`~orderflow.aftersales.quotes.
        approval_for`; the rest rejected with ``reason``): a refund with goods not received
        or a refund only asks for its refund now; a return or an exchange waits for the
        goods (D-6: re-checked against the caps)."""
        assert step.command is not None
        quote = approval_for(step.order, step.command)
        assert not quote.problem
        priced = {line.sku: line for line in quote.lines}
        lines = tuple(
            priced.get(line.sku) or replace(line, rejected=reason or line.rejected)
            for line in case.lines
        )
        note_on_amount = quote.note or case.note_on_amount
        effects: list[Effect] = []
        ledger = None
        if case.kind in _REFUNDING:
            # The refund's changes replace the approval's: the lines it pays, the same amount
            # and note; the rejection is cleared as an approval clears it.
            changes, refund, ledger = self._refund(
                step,
                case,
                Quote(tuple(priced.values()), quote.amount, quote.note),
                0,
                step.order.ledger,
            )
            changes["note_on_amount"] = note_on_amount
            changes["rejection"] = ""
            effects.append(refund)
            message = (
                f"Your after-sales request was approved; a refund of {quote.amount} is on its way."
            )
        else:
            changes = {
                "state": CaseState.APPROVED,
                "lines": lines,
                "amount": quote.amount,
                "rejection": "",
                "note_on_amount": note_on_amount,
            }
            message = "Your after-sales request was approved: please ship the goods back."
        effects.append(self._tell(step, len(effects), case, message, changes["state"]))
        return self.commit(step, case, effects, ledger=ledger, rule=rule, **changes)

    def approve(self, step: Step) -> tuple[Order, HistoryEntry]:
        """Staff approve a request, all of it or some lines."""
        command = step.command
        assert isinstance(command, ApproveCase)
        return self._approve(step, case_of(step), command.reason, "")

    def respond_for_seller(self, step: Step) -> tuple[Order, HistoryEntry]:
        """The seller did not answer in time: approved, as the shop's settings say."""
        return self._approve(step, case_of(step), "", "seller_response")

    def reject(self, step: Step) -> tuple[Order, HistoryEntry]:
        """Staff reject a request, all of it or some lines; with every line rejected the
        case is rejected, and the buyer may ask for a review (D-8)."""
        command = step.command
        assert isinstance(command, RejectCase)
        case = case_of(step)
        chosen = set(command.skus) or {line.sku for line in case.lines}
        lines = tuple(
            replace(line, rejected=command.reason) if line.sku in chosen else line
            for line in case.lines
        )
        return self._rejected(step, case, lines, command.reason)

    def reject_for_seller(self, step: Step) -> tuple[Order, HistoryEntry]:
        """The seller did not answer in time and the shop rejects unanswered requests."""
        case = case_of(step)
        reason = "The seller did not answer in time."
        lines = tuple(replace(line, rejected=reason) for line in case.lines)
        return self._rejected(step, case, lines, reason, rule="seller_response")

    def _rejected(
        self,
        step: Step,
        case: AfterSalesCase,
        lines: tuple[CaseLine, ...],
        reason: str,
        rule: str = "",
    ) -> tuple[Order, HistoryEntry]:
        currency = step.order.currency
        if all(line.rejected for line in lines):
            rejected = replace(
                case,
                state=CaseState.REJECTED,
                lines=lines,
                amount=Money.zero(currency),
                rejection=reason,
            )
            message = f"Your after-sales request was rejected: {reason}"
            effects = [self._tell(step, 0, rejected, message)]
            return self.commit(step, rejected, effects, rule=rule)
        amount = Money.sum((line.amount for line in lines if not line.rejected), currency)
        return self.commit(step, replace(case, lines=lines, amount=amount), rule=rule)

    def ask_for_review(self, step: Step) -> tuple[Order, HistoryEntry]:
        """The buyer asks for a supervisor's review of the rejection (D-8), once."""
        case = replace(case_of(step), state=CaseState.IN_REVIEW, reviewed=True)
        order = step.order
        alert = AlertStaff(
            order.id,
            step.version,
            0,
            case.case_id,
            "review_asked",
            f"The buyer asks for a review of a rejected case: {case.rejection}",
        )
        return self.commit(step, case, (alert,))

    def decide_review(self, step: Step) -> tuple[Order, HistoryEntry]:
        """A supervisor re-decides the rejected lines; the decision is final (D-8)."""
        command = step.command
        assert isinstance(command, DecideReview)
        case = case_of(step)
        if command.approve:
            return self._approve(step, case.reopened(), "", "review")
        closed = replace(case, state=CaseState.CLOSED, resolution="review_upheld")
        message = f"The review upheld the rejection: {command.note}"
        return self.commit(step, closed, (self._tell(step, 0, closed, message),), rule="review")

    def override(self, step: Step) -> tuple[Order, HistoryEntry]:
        """Staff overturn a denial with a justification; the denial stays in history."""
        command = step.command
        assert isinstance(command, OverrideDenial)
        case = replace(case_of(step).reopened(), override=command.justification)
        return self._approve(step, case, "", "override")
