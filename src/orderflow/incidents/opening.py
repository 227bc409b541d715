"""Opening exception cases, their timers, and what their resolution does to the hold
(EX-2, EX-5, EX-6, D-13, TM-7).

These are the pieces every path that opens or ends a case shares: the classifier at review,
an agent, a payment that cannot be applied, a timer, a tracking event.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from orderflow.deadlines import Deadline, DeadlineKind
from orderflow.frozen import FrozenMap, replace
from orderflow.incidents.case import ExceptionCase, ExceptionState, Origin
from orderflow.incidents.configuration import IncidentSettings
from orderflow.incidents.model import Evidence, ExceptionType, Finding, Priority, Resolution
from orderflow.incidents.transition import ExceptionTransition
from orderflow.order import Order

__all__ = [
    "case_deadline",
    "close_exceptions",
    "next_exception_id",
    "open_case",
    "still_held",
]


def next_exception_id(order: Order, taken: Iterable[ExceptionCase] = ()) -> str:
    """The next free exception case id of an order: ``<order id>/exception/<n>``."""
    cases = (*order.exceptions, *taken)
    used = {case.case_id for case in cases}
    number = len(cases) + 1
    while f"{order.id}/exception/{number}" in used:
        number += 1
    return f"{order.id}/exception/{number}"


def case_deadline(case: ExceptionCase, at: datetime, settings: IncidentSettings) -> Deadline | None:
    """The timer an exception case runs now (TM-7, D-15): every case not yet closed has one.

    Opened: the response target of its priority (EX-5). Acknowledged or escalated: the
    solution target counted from its opening; once a target was missed, the next one is
    counted from now, so a case left alone keeps escalating, one target at a time. Waiting
    for a restock: the restock ETA. Resolved: the time to close it (it closes by itself
    then). Closed: the follow-up with the customer, until it is recorded.
    """
    targets = settings.targets
    case_id = case.case_id
    state = case.state
    kind = DeadlineKind.EXCEPTION_TARGET
    if state is ExceptionState.CLOSED:
        if case.followed_up or case.follow_up_reminded or case.closed_at is None:
            return None
        due = targets.follow_up_due(case.closed_at)
        return None if due is None else Deadline(kind, due, case_id)
    if state is ExceptionState.RESOLVED:
        return Deadline(kind, targets.solution_due(case.type, at), case_id)
    if case.restock_eta is not None:
        return Deadline(DeadlineKind.RESTOCK_DUE, case.restock_eta, case_id)
    if state is ExceptionState.OPENED and not case.targets_missed:
        return Deadline(kind, targets.acknowledge_due(case.priority, case.opened_at), case_id)
    # The solution target counts from the opening (EX-5); once it passed, each next one
    # counts from now, so a case left alone keeps escalating one target at a time.
    due = targets.solution_due(case.type, case.opened_at)
    return Deadline(kind, due if due > at else targets.solution_due(case.type, at), case_id)


def open_case(
    order: Order,
    type: ExceptionType,
    at: datetime,
    settings: IncidentSettings,
    *,
    origin: Origin,
    summary: str,
    evidence: Evidence | None = None,
    detector: str = "",
    priority: Priority | None = None,
    holds: bool = False,
    freezes: bool = False,
    major: bool = False,
    case_id: str | None = None,
    taken: Iterable[ExceptionCase] = (),
    vip: bool = False,
    orders_affected: int = 1,
) -> ExceptionCase:
    """A new exception case, opened now, with its response target running, and sent where
    the escalation matrix routes it (EX-4): a row that matches its type and the order's
    facts (a VIP's major complaint, a third party, a damaged high-value parcel, a batch)
    gives it its level and role at once. It stays opened, so its response target still runs
    and acknowledging it still answers it (EX-5)."""
    case = ExceptionCase(
        case_id or next_exception_id(order, taken),
        type,
        ExceptionState.OPENED,
        priority or settings.targets.priority_for(type),
        origin,
        at,
        summary,
        FrozenMap(evidence or {}),
        detector,
        holds,
        freezes,
        major,
        orders_affected=orders_affected,
    )
    facts = settings.facts(
        order.amount_due, vip=vip, orders_affected=orders_affected, major_complaint=major
    )
    routing = settings.route(type, facts)
    if routing.level is not None:
        case = replace(case, level=routing.level, role=routing.role)
    return replace(case, deadline=case_deadline(case, at, settings))


def from_finding(
    order: Order,
    finding: Finding,
    at: datetime,
    settings: IncidentSettings,
    *,
    holds: bool,
    taken: Iterable[ExceptionCase] = (),
    vip: bool = False,
) -> ExceptionCase:
    """The case a classifier's finding opens (routed by the matrix like any other)."""
    return open_case(
        order,
        finding.type,
        at,
        settings,
        origin=Origin.REVIEW,
        summary=finding.summary,
        evidence=finding.evidence,
        detector=finding.detector,
        holds=holds and finding.blocks_review,
        freezes=finding.freezes,
        taken=taken,
        vip=vip,
    )


def still_held(cases: Iterable[ExceptionCase], but: str | None = None) -> bool:
    """Whether an open case other than ``but`` still holds the order."""
    return any(case.holds_order and case.case_id != but for case in cases)


def close_exceptions(
    cases: tuple[ExceptionCase, ...], at: datetime, settings: IncidentSettings
) -> tuple[tuple[ExceptionCase, ...], tuple[ExceptionTransition, ...]]:
    """Closing the order resolves its open exception cases (``order_closed``, D-13) and
    closes them: nothing is left to do for an order that ended. A case already resolved
    (the one whose resolution closes the order, say) closes with its follow-up with the
    customer still due (EX-5); one the closing ended has none."""
    moved: list[ExceptionTransition] = []
    result: list[ExceptionCase] = []
    for case in cases:
        if case.state is ExceptionState.CLOSED:
            result.append(case)
            continue
        moved.append(
            ExceptionTransition(case.case_id, case.state, ExceptionState.CLOSED, "order_closed")
        )
        ended = case.state is not ExceptionState.RESOLVED
        closed = replace(
            case,
            state=ExceptionState.CLOSED,
            resolution=Resolution.ORDER_CLOSED if ended else case.resolution,
            resolved_at=case.resolved_at or at,
            closed_at=at,
            restock_eta=None,
            followed_up=ended,  # no follow-up for a case the order's closing ended
            deadline=None,
        )
        result.append(replace(closed, deadline=case_deadline(closed, at, settings)))
    return tuple(result), tuple(moved)
