"""The appliers of the after-sales case machine: what each case command does to the order.

Every applier builds the new order through :meth:`~orderflow.step.Step.commit`, so a case
command is a command on the order: one more history entry (recording what it did to the case,
:class:`~orderflow.aftersales.CaseTransition`), one version, the case's deadline among the
order's (D-15), its effects in the same outcome (D-14).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from orderflow.aftersales.case import AfterSalesCase, CaseLine, CaseState, CaseTransition, Parcel
from orderflow.aftersales.commands import (
    ApproveCase,
    DecideReview,
    OverrideDenial,
    ReceiveReturn,
    RejectCase,
    ReportReturnLost,
    RequestAfterSales,
    ShipBack,
    ShipReplacement,
)
from orderflow.aftersales.configuration import PolicySettings
from orderflow.aftersales.deciding import Decider
from orderflow.aftersales.decisions import Ruling
from orderflow.aftersales.guards import case_of
from orderflow.aftersales.model import CaseKind, ReturnCondition, ShippingPayer
from orderflow.aftersales.quotes import Quote, approval_for, receipt_for, shares_of
from orderflow.deadlines import Deadline, DeadlineKind
from orderflow.effects import (
    AlertStaff,
    Effect,
    NotificationTopic,
    NotifyCustomer,
    RefundReason,
)
from orderflow.frozen import replace
from orderflow.ledger import Ledger
from orderflow.money import Money
from orderflow.order import HistoryEntry, Order
from orderflow.refunding import paying_reference, request_refund
from orderflow.step import Step

__all__ = ["CaseAppliers", "case_deadline", "next_case_id"]

_REFUNDING = frozenset({CaseKind.NOT_RECEIVED, CaseKind.REFUND_ONLY})
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


def case_deadline(
    case_id: str, state: CaseState, at: datetime, settings: PolicySettings
) -> Deadline | None:
    """The timer a case runs in a state (D-15): every open state has one."""
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


class CaseAppliers:
    """The appliers of the case machine, bound to the decider of the lifecycle they run in.

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
    ) -> tuple[Order, HistoryEntry]:
        """The order with ``case`` (new, or replacing the one with its id) in its new state,
        with its deadline, and one history entry recording the move."""
        order = step.order
        old = order.case(case.case_id)
        source = CaseState.NEW if old is None else old.state
        if old is None or old.state is not case.state or case.deadline is None:
            settings = self.decider.settings_for(order)
            case = replace(
                case, deadline=case_deadline(case.case_id, case.state, step.at, settings)
            )
        if old is None:
            cases = (*order.cases, case)
        else:
            cases = tuple(case if item is old else item for item in order.cases)
        moved = (CaseTransition(case.case_id, source, case.state, rule),)
        return step.commit(tuple(effects), ledger=ledger, cases=cases, moved=moved)

    def _tell(self, step: Step, seq: int, case: AfterSalesCase, message: str) -> NotifyCustomer:
        order = step.order
        details = {"case_id": case.case_id, "state": case.state.value, "kind": case.kind.value}
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
        self, step: Step, case: AfterSalesCase, quote: Quote, seq: int
    ) -> tuple[AfterSalesCase, list[Effect], Ledger]:
        """Ask for the case's refund now: the case moves to refund pending."""
        ledger = step.order.ledger
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
        refunded = replace(
            case,
            state=CaseState.REFUND_PENDING,
            lines=quote.lines,
            amount=quote.amount,
            refund_ids=(*case.refund_ids, effect.refund_id),
            note_on_amount=quote.note or case.note_on_amount,
            deadline=None,
        )
        return refunded, [effect], ledger

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
        case = AfterSalesCase(
            command.case_id or next_case_id(order),
            command.kind,
            command.reason,
            CaseState.REJECTED if denied else CaseState.REQUESTED,
            lines,
            Money.zero(order.currency) if denied else quote.amount,
            decision,
            step.at,
            note=command.note,
            rejection=decision.sentence if denied else "",
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
        return self.commit(step, case, effects, rule=decision.rule_id)

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
        approved = replace(
            case,
            lines=lines,
            amount=quote.amount,
            rejection="",
            note_on_amount=quote.note or case.note_on_amount,
        )
        effects: list[Effect] = []
        ledger = None
        if case.kind in _REFUNDING:
            approved, effects, ledger = self._refund(
                step, approved, Quote(tuple(priced.values()), quote.amount, quote.note), 0
            )
            message = (
                f"Your after-sales request was approved; a refund of {quote.amount} is on its way."
            )
        else:
            approved = replace(approved, state=CaseState.APPROVED)
            message = "Your after-sales request was approved: please ship the goods back."
        effects.append(self._tell(step, len(effects), approved, message))
        return self.commit(step, approved, effects, ledger=ledger, rule=rule)

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

    # -- goods on their way --------------------------------------------------------------------

    def ship_back(self, step: Step) -> tuple[Order, HistoryEntry]:
        """The buyer ships the goods back; the seller has its time to confirm receipt."""
        command = step.command
        assert isinstance(command, ShipBack)
        parcel = Parcel(command.carrier, command.tracking_number, step.at, command.shipping_cost)
        case = replace(case_of(step), state=CaseState.RETURNING, parcel=parcel)
        return self.commit(step, case)

    def receive(self, step: Step) -> tuple[Order, HistoryEntry]:
        """Staff receive goods back (D-7): a return refunds the units received (less a
        deduction for damage); an exchange waits for its replacement."""
        command = step.command
        assert isinstance(command, ReceiveReturn)
        return self._received(step, case_of(step), "")

    def receive_overdue(self, step: Step) -> tuple[Order, HistoryEntry]:
        """The seller did not confirm receipt in time: the approved units are received as
        sold, and the refund starts by itself."""
        return self._received(step, case_of(step), "seller_receipt")

    def report_lost(self, step: Step) -> tuple[Order, HistoryEntry]:
        """The carrier lost the return (D-7): refunded as if received, with the agent's
        note, or rejected with it."""
        command = step.command
        assert isinstance(command, ReportReturnLost)
        case = case_of(step)
        if command.refund:
            return self._received(step, case, "return_lost")
        lines = tuple(replace(line, rejected=command.note) for line in case.lines)
        return self._rejected(step, case, lines, command.note, rule="return_lost")

    def _received(self, step: Step, case: AfterSalesCase, rule: str) -> tuple[Order, HistoryEntry]:
        """The goods are back (or settled as if they were, D-7): what
        :func:`~orderflow.aftersales.quotes.receipt_for` says they refund."""
        assert step.command is not None
        quote = receipt_for(step.order, step.command)
        assert not quote.problem
        effects: list[Effect] = []
        ledger = step.order.ledger
        if case.kind is CaseKind.EXCHANGE:
            done = replace(case, state=CaseState.RECEIVED, lines=quote.lines)
            message = "Your return was received; the replacement will ship soon."
        elif not quote.amount.is_positive():
            done = replace(
                case,
                state=CaseState.CLOSED,
                lines=quote.lines,
                amount=quote.amount,
                note_on_amount=quote.note,
                resolution="nothing_left_to_refund",
            )
            message = f"Your return was received; nothing is left to refund. {quote.note}"
        else:
            done, effects, ledger = self._refund(step, replace(case, lines=quote.lines), quote, 0)
            message = f"Your return was received; a refund of {quote.amount} is on its way."
        done, ledger = self._shipping_refund(step, done, ledger, effects)
        effects.append(self._tell(step, len(effects), done, message))
        return self.commit(step, done, effects, ledger=ledger, rule=rule)

    def _shipping_refund(
        self, step: Step, case: AfterSalesCase, ledger: Ledger, effects: list[Effect]
    ) -> tuple[AfterSalesCase, Ledger]:
        """AS-3: the seller pays back what the buyer paid to ship the goods back, as a
        refund of its own outside the goods cap, when the seller pays the return shipping."""
        parcel = case.parcel
        if (
            parcel is None
            or parcel.shipping_cost is None
            or case.decision.shipping_payer is not ShippingPayer.SELLER
        ):
            return case, ledger
        shipping, ledger = request_refund(
            step,
            len(effects),
            parcel.shipping_cost,
            RefundReason.RETURN_SHIPPING,
            paying_reference(ledger),
            counts=False,
            ledger=ledger,
            case_id=case.case_id,
        )
        effects.append(shipping)
        return replace(case, refund_ids=(*case.refund_ids, shipping.refund_id)), ledger

    def receive_wrong_item(self, step: Step) -> tuple[Order, HistoryEntry]:
        """The goods sent back are not what was sold: nothing is refunded, the case is
        rejected and the buyer may ask for a review (D-8)."""
        reason = "The goods sent back are not the goods sold."
        case = case_of(step)
        lines = tuple(replace(line, rejected=reason) for line in case.lines)
        return self._rejected(step, case, lines, reason, rule=ReturnCondition.WRONG_ITEM.value)

    def ship_replacement(self, step: Step) -> tuple[Order, HistoryEntry]:
        """The replacement ships: the exchange is done."""
        command = step.command
        assert isinstance(command, ShipReplacement)
        parcel = Parcel(command.carrier, command.tracking_number, step.at)
        case = replace(case_of(step), state=CaseState.EXCHANGED, replacement=parcel)
        message = f"Your replacement has shipped with {command.carrier}."
        return self.commit(step, case, (self._tell(step, 0, case, message),))

    # -- timers --------------------------------------------------------------------------------

    def expire(self, step: Step) -> tuple[Order, HistoryEntry]:
        """A case waited past its time: never shipped back, or a rejection not reviewed."""
        case = case_of(step)
        resolution = "not_shipped_back" if case.state is CaseState.APPROVED else "not_reviewed"
        closed = replace(case, state=CaseState.CLOSED, resolution=resolution)
        return self.commit(step, closed)

    def remind(self, step: Step) -> tuple[Order, HistoryEntry]:
        """Staff are reminded of a case waiting on them, and the next reminder is set."""
        case = case_of(step)
        settings = self.decider.settings_for(step.order)
        reminded = replace(
            case,
            reminders=case.reminders + 1,
            deadline=case_deadline(case.case_id, case.state, step.at, settings),
        )
        order = step.order
        alert = AlertStaff(
            order.id,
            step.version,
            0,
            case.case_id,
            "reminder",
            f"An after-sales case has waited in {case.state.value} since its last change.",
        )
        return self.commit(step, reminded, (alert,))
