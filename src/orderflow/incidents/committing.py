"""What every applier of the exception case machine shares: finding the case a command
names, and committing a case's move with its timer, one history entry and, when asked, the
release of the hold it caused (EX-6, LC-6)."""

from __future__ import annotations

from collections.abc import Iterable

from orderflow.effects import (
    AlertStaff,
    Effect,
    NotificationTopic,
    NotifyCustomer,
)
from orderflow.frozen import replace
from orderflow.incidents.case import ExceptionCase, ExceptionState
from orderflow.incidents.commands import (
    ExceptionCommand,
)
from orderflow.incidents.configuration import IncidentSettings
from orderflow.incidents.opening import case_deadline, still_held
from orderflow.incidents.transition import ExceptionTransition
from orderflow.ledger import Ledger
from orderflow.model import Address, OrderLine
from orderflow.order import HistoryEntry, Order
from orderflow.step import Step

__all__ = ["CaseCommitter", "exception_of"]


def exception_of(step: Step) -> ExceptionCase:
    """The case an exception command names (the engine found it)."""
    command = step.command
    assert isinstance(command, ExceptionCommand)
    case = step.order.exception(command.case_id)
    assert case is not None
    return case


class CaseCommitter:
    """The base of the exception case appliers: their settings, and the commit every move
    goes through.

    Args:
        settings: the shop's exception handling: targets, matrix, compensation limit.
    """

    def __init__(self, settings: IncidentSettings) -> None:
        self.settings = settings

    def commit(
        self,
        step: Step,
        case: ExceptionCase,
        effects: Iterable[Effect] = (),
        *,
        rule: str = "",
        release: bool = False,
        address: Address | None = None,
        ledger: Ledger | None = None,
        lines: tuple[OrderLine, ...] | None = None,
    ) -> tuple[Order, HistoryEntry]:
        """The order with ``case`` in its new state and timer, one history entry recording
        the move, and, with ``release``, the order released when ``case`` is one that held
        it and no other open case holds it (LC-6: back to the state it was held from; a hold
        the case did not cause, such as staff's own, stays)."""
        order = step.order
        old = order.exception(case.case_id)
        source = ExceptionState.NEW if old is None else old.state
        case = replace(case, deadline=case_deadline(case, step.at, self.settings))
        if old is None:
            cases = (*order.exceptions, case)
        else:
            cases = tuple(case if item is old else item for item in order.exceptions)
        raised = (ExceptionTransition(case.case_id, source, case.state, rule),)
        hold = order.hold
        if (
            release
            and case.holds
            and hold is not None
            and hold.case_id is not None  # a hold staff put on is staff's to lift
            and not still_held(cases)
        ):
            return step.commit(
                tuple(effects),
                exceptions=cases,
                raised=raised,
                state=hold.from_state,
                hold=None,
                address=address,
                ledger=ledger,
                lines=lines,
            )
        return step.commit(
            tuple(effects),
            exceptions=cases,
            raised=raised,
            address=address,
            ledger=ledger,
            lines=lines,
        )

    def _alert(
        self, step: Step, seq: int, case: ExceptionCase, topic: str, message: str
    ) -> AlertStaff:
        return AlertStaff(step.order.id, step.version, seq, case.case_id, topic, message)

    def _tell(self, step: Step, seq: int, message: str, **details: str) -> NotifyCustomer:
        order = step.order
        return NotifyCustomer(
            order.id,
            step.version,
            seq,
            order.customer_id,
            NotificationTopic.EXCEPTION,
            message,
            details,
        )
