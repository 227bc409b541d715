"""The exception case machine as data: opened -> acknowledged -> escalated* -> resolved ->
closed (EX-6), on the same engine as the order lifecycle and the after-sales cases.

The state an exception command meets is its case's (opening meets ``new``). The definition
is built per :class:`~orderflow.Lifecycle` from its settings (the targets and the matrix).
"""

from __future__ import annotations

from datetime import datetime

from orderflow import commands as c
from orderflow.engine import Definition, RefusalText, State, Transition
from orderflow.errors import RefusalCategory
from orderflow.incidents.appliers import ExceptionAppliers
from orderflow.incidents.case import ExceptionState
from orderflow.incidents.commands import (
    AcknowledgeException,
    CheckRestock,
    CloseException,
    EscalateException,
    ExceptionCommand,
    MissExceptionTarget,
    OpenException,
    RecordCompensation,
    RecordFollowUp,
    ResolveException,
)
from orderflow.incidents.configuration import IncidentSettings
from orderflow.incidents.guards import (
    CAN_HOLD,
    CASES_LEFT,
    COMPENSATION_FITS,
    ESCALATION_ALLOWED,
    EXCEPTION_TIMER_DUE,
    FITS_THE_ORDER,
    IN_PLAYBOOK,
    NOT_FOLLOWED_UP,
    SHORTAGE_FITS,
    WAITING_FOR_RESTOCK,
)
from orderflow.incidents.model import Resolution
from orderflow.model import ActorKind, Permission
from orderflow.order import Order

__all__ = ["exception_definition"]

S = ExceptionState
_OPEN = (S.OPENED, S.ACKNOWLEDGED, S.ESCALATED)


def _subject(order: Order, command: c.Command | None) -> State | None:
    """The state a command meets: its case's, ``new`` for an opening."""
    if isinstance(command, OpenException):
        if command.case_id is None:
            return S.NEW
        existing = order.exception(command.case_id)
        return S.NEW if existing is None else existing.state
    if not isinstance(command, ExceptionCommand):
        return None
    case = order.exception(command.case_id)
    return None if case is None else case.state


def _restock_wait(order: Order, command: c.Command | None, at: datetime) -> bool:
    return (
        isinstance(command, ResolveException) and command.resolution is Resolution.WAIT_FOR_RESTOCK
    )


def exception_definition(settings: IncidentSettings) -> Definition:
    """The exception case machine for a lifecycle's settings.

    Args:
        settings: the shop's exception handling (targets, matrix, compensation limit).
    """
    apps = ExceptionAppliers(settings)
    staff = frozenset({ActorKind.STAFF})
    system = frozenset({ActorKind.SYSTEM})
    manage = Permission.EXCEPTIONS
    transitions = (
        Transition(OpenException, (S.NEW,), S.OPENED, apps.open, staff, manage,
                   guards=(CASES_LEFT, CAN_HOLD, SHORTAGE_FITS), rule="EX-2, EX-6"),
        Transition(AcknowledgeException, (S.OPENED,), S.ACKNOWLEDGED, apps.acknowledge, staff,
                   manage, rule="EX-5, EX-6"),
        Transition(EscalateException, _OPEN, S.ESCALATED, apps.escalate, staff, manage,
                   guards=(ESCALATION_ALLOWED,), rule="EX-4"),
        Transition(ResolveException, _OPEN, None, apps.resolve, staff, manage,
                   when=("waiting for a restock", _restock_wait),
                   guards=(IN_PLAYBOOK, FITS_THE_ORDER), rule="EX-3"),
        Transition(ResolveException, _OPEN, S.RESOLVED, apps.resolve, staff, manage,
                   guards=(IN_PLAYBOOK, FITS_THE_ORDER), rule="EX-3, D-13"),
        Transition(RecordCompensation, (*_OPEN, S.RESOLVED), None, apps.compensate, staff,
                   manage, guards=(COMPENSATION_FITS,), rule="EX-7"),
        Transition(CloseException, (S.RESOLVED,), S.CLOSED, apps.close, staff, manage,
                   rule="EX-6"),
        Transition(RecordFollowUp, (S.CLOSED,), None, apps.follow_up, staff, manage,
                   guards=(NOT_FOLLOWED_UP,), rule="EX-5"),
        Transition(MissExceptionTarget, _OPEN, S.ESCALATED, apps.miss_target, system,
                   guards=(EXCEPTION_TIMER_DUE,), rule="EX-5, TM-7", offered=False),
        Transition(MissExceptionTarget, (S.RESOLVED,), S.CLOSED, apps.miss_target, system,
                   guards=(EXCEPTION_TIMER_DUE,), rule="EX-5, TM-7", offered=False),
        Transition(MissExceptionTarget, (S.CLOSED,), None, apps.miss_target, system,
                   guards=(EXCEPTION_TIMER_DUE,), rule="EX-5, TM-7", offered=False),
        Transition(CheckRestock, _OPEN, None, apps.check_restock, system,
                   guards=(WAITING_FOR_RESTOCK, EXCEPTION_TIMER_DUE), rule="EX-3",
                   offered=False),
    )  # fmt: skip
    return Definition(
        name="exception case",
        states=tuple(ExceptionState),
        initial=S.NEW,
        final=frozenset({S.CLOSED}),
        transitions=transitions,
        refusals={
            **{
                (OpenException, state): RefusalText(
                    "case_exists",
                    "This order already has an exception case {case_id}.",
                    "Give the new case another id, or none to have one made.",
                    "EX-6",
                )
                for state in ExceptionState
                if state is not S.NEW
            },
        },
        subject=_subject,
        followed=(
            *((state, S.RESOLVED, "check_restock [in stock]") for state in _OPEN),
            *((state, S.ESCALATED, "check_restock [still short]") for state in _OPEN),
            *((state, S.CLOSED, "order closes") for state in (*_OPEN, S.RESOLVED)),
        ),
        missing=RefusalText(
            "unknown_case",
            "This order has no exception case {case_id}.",
            "Check the case id.",
            "EX-6",
            RefusalCategory.INVALID,
        ),
        final_refusal=RefusalText(
            "case_closed",
            "The case is {state}.",
            "Open a new case if something else came up.",
            "EX-6",
        ),
        state_refusal=RefusalText(
            "invalid_case_state",
            "'{action}' is not possible while the case is {state}.",
            "Check the case's state.",
            "EX-6",
        ),
    )
