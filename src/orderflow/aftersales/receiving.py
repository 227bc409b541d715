"""The appliers of what follows a decision: goods shipped back, received, lost or replaced,
a case closed by staff, and a case's timers (AS-1, AS-6, D-7, D-15).
"""

from __future__ import annotations

from typing import Any

from orderflow.aftersales.appliers import DecisionAppliers, case_deadline
from orderflow.aftersales.case import AfterSalesCase, CaseState, Parcel
from orderflow.aftersales.followups import (
    CloseCase,
    ReceiveReturn,
    ReportReturnLost,
    ShipBack,
    ShipReplacement,
)
from orderflow.aftersales.guards import case_of
from orderflow.aftersales.model import CaseKind, ReturnCondition, ShippingPayer
from orderflow.aftersales.quotes import receipt_for
from orderflow.effects import AlertStaff, Effect, RefundReason
from orderflow.frozen import replace
from orderflow.ledger import Ledger
from orderflow.order import HistoryEntry, Order
from orderflow.refunding import paying_reference, request_refund
from orderflow.step import Step

__all__ = ["CaseAppliers"]


class CaseAppliers(DecisionAppliers):
    """Every applier of the case machine: the decisions', and those of what follows them."""

    # -- goods on their way --------------------------------------------------------------------

    def ship_back(self, step: Step) -> tuple[Order, HistoryEntry]:
        """The buyer ships the goods back; the seller has its time to confirm receipt."""
        command = step.command
        assert isinstance(command, ShipBack)
        parcel = Parcel(command.carrier, command.tracking_number, step.at, command.shipping_cost)
        return self.commit(step, case_of(step), state=CaseState.RETURNING, parcel=parcel)

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
        changes: dict[str, Any]
        if case.kind is CaseKind.EXCHANGE:
            changes = {"state": CaseState.RECEIVED, "lines": quote.lines}
            message = "Your return was received; the replacement will ship soon."
        elif not quote.amount.is_positive():
            changes = {
                "state": CaseState.CLOSED,
                "lines": quote.lines,
                "amount": quote.amount,
                "note_on_amount": quote.note,
                "resolution": "nothing_left_to_refund",
            }
            message = f"Your return was received; nothing is left to refund. {quote.note}"
        else:
            changes, refund, ledger = self._refund(step, case, quote, 0, ledger)
            effects.append(refund)
            message = f"Your return was received; a refund of {quote.amount} is on its way."
        ledger = self._shipping_refund(step, case, ledger, effects, changes)
        effects.append(self._tell(step, len(effects), case, message, changes["state"]))
        return self.commit(step, case, effects, ledger=ledger, rule=rule, **changes)

    def _shipping_refund(
        self,
        step: Step,
        case: AfterSalesCase,
        ledger: Ledger,
        effects: list[Effect],
        changes: dict[str, Any],
    ) -> Ledger:
        """AS-3: the seller pays back what the buyer paid to ship the goods back, as a
        refund of its own outside the goods cap, when the seller pays the return shipping
        (its id joins the case's in ``changes``)."""
        parcel = case.parcel
        if (
            parcel is None
            or parcel.shipping_cost is None
            or case.decision.shipping_payer is not ShippingPayer.SELLER
        ):
            return ledger
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
        changes["refund_ids"] = (*changes.get("refund_ids", case.refund_ids), shipping.refund_id)
        return ledger

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

    def close(self, step: Step) -> tuple[Order, HistoryEntry]:
        """Staff end a case whose declined refund cannot be retried: it closes with the
        note, and its units are free again (AS-6)."""
        command = step.command
        assert isinstance(command, CloseCase)
        case = case_of(step)
        closed = replace(case, state=CaseState.CLOSED, resolution="closed_by_staff")
        message = f"Your after-sales case was closed: {command.note}"
        return self.commit(step, closed, (self._tell(step, 0, closed, message),))

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
            deadline=case_deadline(case, step.at, settings),
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
