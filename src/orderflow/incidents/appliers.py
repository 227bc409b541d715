"""The appliers of the exception case machine: what each command does to the case and to the
order, in one outcome (EX-2, EX-4..EX-7, TM-7): opening, acknowledging, escalating (by hand,
by the matrix, by a missed target), the restock check, compensation, closing and the
follow-up. Resolving is in :mod:`orderflow.incidents.resolving`; the commit every move goes
through in :mod:`orderflow.incidents.committing`.
"""

from __future__ import annotations

from orderflow.frozen import replace
from orderflow.incidents.case import ExceptionCase, ExceptionState, Origin
from orderflow.incidents.commands import (
    AcknowledgeException,
    CloseException,
    EscalateException,
    OpenException,
    RecordCompensation,
    RecordFollowUp,
)
from orderflow.incidents.committing import CaseCommitter, exception_of
from orderflow.incidents.escalation import escalation_target
from orderflow.incidents.matrix import Routing
from orderflow.incidents.model import Evidence, Level, Resolution, Role
from orderflow.incidents.opening import case_deadline, open_case
from orderflow.incidents.resolving import CLOSING, Resolving, missing_units, nothing_ships
from orderflow.incidents.transition import ExceptionTransition
from orderflow.lines import quantity_of
from orderflow.model import OrderState
from orderflow.order import HistoryEntry, Order
from orderflow.records import HoldRecord
from orderflow.step import Step

__all__ = [
    "CLOSING",
    "CaseCommitter",
    "ExceptionAppliers",
    "exception_of",
    "missing_units",
    "nothing_ships",
]


def _stated_shortage(order: Order, command: OpenException) -> Evidence | None:
    """The evidence of an out-of-stock case an agent opens naming the short line: what the
    classifier would have recorded (ordered and available units of the SKU)."""
    if command.sku is None or command.missing is None:
        return None
    ordered = quantity_of(order.lines, command.sku)
    return {
        "field": "lines",
        "sku": command.sku,
        "ordered": ordered,
        "available": ordered - command.missing,
    }


class ExceptionAppliers(Resolving):
    """The appliers of the exception case machine (resolving comes from
    :class:`~orderflow.incidents.resolving.Resolving`).

    Args:
        settings: the shop's exception handling: targets, matrix, compensation limit.
    """

    # -- opening, acknowledging, escalating ------------------------------------------------

    def open(self, step: Step) -> tuple[Order, HistoryEntry]:
        """An agent opens a case by hand, holding the order if asked (before shipment)."""
        command = step.command
        assert isinstance(command, OpenException)
        order = step.order
        case = open_case(
            order,
            command.exception_type,
            step.at,
            self.settings,
            origin=Origin.AGENT,
            summary=command.summary,
            priority=command.priority,
            holds=command.hold,
            major=command.major,
            case_id=command.case_id,
            vip=step.context.vip if step.context is not None else False,
            orders_affected=command.orders_affected,
            evidence=_stated_shortage(order, command),
        )
        alert = self._alert(step, 0, case, "exception_opened", command.summary)
        if command.hold and order.state is not OrderState.ON_HOLD:
            case = replace(case, deadline=case_deadline(case, step.at, self.settings))
            raised = (ExceptionTransition(case.case_id, ExceptionState.NEW, case.state),)
            record = HoldRecord(order.state, command.summary, step.at, case.case_id)
            return step.commit(
                (alert,),
                exceptions=(*order.exceptions, case),
                raised=raised,
                state=OrderState.ON_HOLD,
                hold=record,
            )
        return self.commit(step, case, (alert,))

    def acknowledge(self, step: Step) -> tuple[Order, HistoryEntry]:
        """An agent takes the case: its response target is met (EX-5)."""
        command = step.command
        assert isinstance(command, AcknowledgeException)
        case = replace(
            exception_of(step), state=ExceptionState.ACKNOWLEDGED, acknowledged_at=step.at
        )
        return self.commit(step, case)

    def escalate(self, step: Step) -> tuple[Order, HistoryEntry]:
        """Escalate to the level named, or one level up (EX-4)."""
        command = step.command
        assert isinstance(command, EscalateException)
        case = exception_of(step)
        if case.level is None and command.level is None:
            routing = self.first_level(step, case)
            return self.commit(step, self._escalated(case, routing.level, command.note,
                                                     routing.role))  # fmt: skip
        level = escalation_target(case.level, command.level)
        assert level is not None
        return self.commit(step, self._escalated(case, level, command.note))

    def _escalated(
        self, case: ExceptionCase, level: Level | None, note: str, role: Role | None = None
    ) -> ExceptionCase:
        assert level is not None
        return replace(
            case,
            state=ExceptionState.ESCALATED,
            level=level,
            role=role or self.settings.matrix.role_for(level),
            escalations=case.escalations + 1,
            note=note,
        )

    def first_level(self, step: Step, case: ExceptionCase, *, overdue: bool = False) -> Routing:
        """Where a case goes when escalated without a level named and it has none yet: the
        matrix's row for its type and the order's facts, or level 3 with its default role.
        ``overdue``: the escalation comes from a missed target (EX-4: level 3)."""
        facts = self.settings.facts(
            step.order.amount_due,
            vip=step.context.vip if step.context is not None else False,
            orders_affected=case.orders_affected,
            major_complaint=case.major,
            overdue=overdue or case.targets_missed > 0,
        )
        routed = self.settings.route(case.type, facts)
        if routed.level is None:
            return Routing(Level.LEVEL_3, self.settings.matrix.role_for(Level.LEVEL_3))
        return routed

    def miss_target(self, step: Step) -> tuple[Order, HistoryEntry]:
        """A target passed (TM-7): an open case escalates by itself (one level up, or to
        the matrix's level); at the top, staff are alerted; a resolved case closes; a
        closed case without its follow-up reminds staff once."""
        case = exception_of(step)
        missed = replace(case, targets_missed=case.targets_missed + 1)
        if case.state is ExceptionState.CLOSED:
            alert = self._alert(step, 0, case, "follow_up", "A closed case needs its follow-up.")
            reminded = replace(missed, follow_up_reminded=True)
            return self.commit(step, reminded, (alert,), rule="TM-7")
        if case.state is ExceptionState.RESOLVED:
            closed = replace(missed, state=ExceptionState.CLOSED, closed_at=step.at)
            return self.commit(step, closed, rule="TM-7")
        alert = self._alert(
            step, 0, case, "target_missed", f"An exception case ({case.type}) missed its target."
        )
        if case.level is None:
            routing = self.first_level(step, case, overdue=True)
            escalated = self._escalated(missed, routing.level, "missed its target", routing.role)
            return self.commit(step, escalated, (alert,), rule="TM-7")
        level = escalation_target(case.level, None)
        if level is None:  # at level 1, or external: nothing higher; staff are told again
            return self.commit(step, replace(missed, state=ExceptionState.ESCALATED), (alert,),
                               rule="TM-7")  # fmt: skip
        escalated = self._escalated(missed, level, "missed its target")
        return self.commit(step, escalated, (alert,), rule="TM-7")

    def check_restock(self, step: Step) -> tuple[Order, HistoryEntry]:
        """The restock ETA came: with stock for the missing units now (the context the
        service gathered; a SKU without stock data counts as in stock), the case is
        resolved and the order released; else it escalates and waits for its solution
        target again (EX-3)."""
        case = exception_of(step)
        missing = missing_units(case)
        context = step.context
        in_stock = True
        if missing is not None and context is not None:
            sku, _ = missing
            ordered = next((line.quantity for line in step.order.lines if line.sku == sku), 0)
            available = context.stock.get(sku)
            in_stock = available is None or available >= ordered
        if in_stock:
            resolved = replace(
                case,
                state=ExceptionState.RESOLVED,
                resolution=Resolution.RESTOCKED,
                resolved_at=step.at,
                restock_eta=None,
            )
            return self.commit(step, resolved, release=True, rule="restock")
        waiting = replace(case, restock_eta=None, state=ExceptionState.ESCALATED)
        if case.level is None:
            routing = self.first_level(step, case, overdue=True)
            waiting = self._escalated(waiting, routing.level, "still out of stock at the ETA",
                                      routing.role)  # fmt: skip
        else:
            level = escalation_target(case.level, None)
            if level is not None:
                waiting = self._escalated(waiting, level, "still out of stock at the ETA")
        alert = self._alert(step, 0, case, "restock_missed", "Still out of stock at the ETA.")
        return self.commit(step, waiting, (alert,), rule="restock")

    def compensate(self, step: Step) -> tuple[Order, HistoryEntry]:
        """Record a compensation with the case, with its approver (EX-7)."""
        command = step.command
        assert isinstance(command, RecordCompensation)
        case = exception_of(step)
        recorded = replace(case, compensations=(*case.compensations, command.compensation))
        return self.commit(step, recorded)

    def close(self, step: Step) -> tuple[Order, HistoryEntry]:
        """Close a resolved case: the follow-up with the customer is due (EX-5)."""
        command = step.command
        assert isinstance(command, CloseException)
        case = replace(exception_of(step), state=ExceptionState.CLOSED, closed_at=step.at)
        return self.commit(step, case)

    def follow_up(self, step: Step) -> tuple[Order, HistoryEntry]:
        """The follow-up after closing is recorded (EX-5)."""
        command = step.command
        assert isinstance(command, RecordFollowUp)
        case = replace(exception_of(step), followed_up=True, note=command.note)
        return self.commit(step, case)
