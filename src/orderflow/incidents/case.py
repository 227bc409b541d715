"""The exception case: its states and the record it keeps inside the order (EX-6, D-13).

Like an after-sales case, an exception case lives inside the order aggregate
(:attr:`orderflow.Order.exceptions`): it moves with the order in one version and one save, and
its history is the order's history filtered by its id. A case that holds the order (a blocking
finding at review, suspected fraud) is the only way to release it: resolving the last such
case releases the order to the state it was held from, unless the resolution closes it.
"""

from __future__ import annotations

import enum
from datetime import datetime

import attrs

from orderflow.deadlines import Deadline
from orderflow.frozen import FrozenMap
from orderflow.incidents.compensation import Compensation
from orderflow.incidents.model import (
    Evidence,
    ExceptionType,
    Level,
    Priority,
    Resolution,
    Role,
)

__all__ = ["FINAL_EXCEPTION_STATES", "ExceptionCase", "ExceptionState", "Origin"]


class ExceptionState(enum.StrEnum):
    """Where an exception case stands (EX-6)."""

    NEW = "new"
    """Not opened yet: the state an opening command meets."""
    OPENED = "opened"
    """Opened, waiting for an agent to acknowledge it (the response target runs)."""
    ACKNOWLEDGED = "acknowledged"
    """An agent took it (the solution target runs)."""
    ESCALATED = "escalated"
    """Raised to a level of the matrix (any number of times, EX-4)."""
    RESOLVED = "resolved"
    """A resolution of its playbook was chosen and applied to the order (EX-3)."""
    CLOSED = "closed"
    """Done; a follow-up with the customer is due within a day of closing (EX-5). Final."""


FINAL_EXCEPTION_STATES: frozenset[ExceptionState] = frozenset({ExceptionState.CLOSED})
"""The states an exception case ends in."""


class Origin(enum.StrEnum):
    """Where a case came from."""

    REVIEW = "review"
    """The classifier, when the order was reviewed (LC-2, EX-2)."""
    AGENT = "agent"
    """An agent opened it by hand."""
    PAYMENT = "payment"
    """A payment that could not be applied (D-3, D-10)."""
    TIMER = "timer"
    """A service-level timer (TM-2, TM-3, TM-4)."""
    TRACKING = "tracking"
    """A carrier tracking event."""


@attrs.frozen
class ExceptionCase:
    """An exception case inside an order (EX-6).

    Attributes:
        case_id: its id, unique within the order.
        type: what is wrong (EX-1).
        state: where it stands.
        priority: how fast it must be answered (EX-5).
        origin: where it came from.
        opened_at: when it was opened.
        summary: what an agent reads first.
        evidence: what it rests on (a finding's evidence, or an agent's note).
        detector: the detector that found it (``""`` when an agent or a timer opened it).
        holds: whether it holds the order (it put the order on hold, or keeps it held).
        freezes: suspected fraud: the order stays frozen until this case is resolved (RK-4).
        major: an agent marked the complaint major (EX-4: a VIP's major complaint is level 1).
        level: the escalation level, once escalated.
        role: who it goes to at that level.
        acknowledged_at: when an agent took it.
        escalations: how many times it was escalated.
        resolution: the resolution chosen, once resolved (or while waiting for a restock).
        note: the last agent's note (a resolution's reason, an escalation's).
        resolved_at: when it was resolved.
        closed_at: when it was closed.
        restock_eta: while waiting for a restock, when stock is expected.
        eta: a new delivery estimate given to the customer (a delay, EX-3).
        targets_missed: how many of its targets passed before it was answered (EX-5).
        followed_up: whether the follow-up after closing was recorded.
        follow_up_reminded: whether staff were reminded of a missing follow-up.
        orders_affected: how many orders the same problem affects (EX-4).
        compensations: what was given to the customer, with its approver where one was
            needed (EX-7).
        deadline: its running timer; an open case always has one (D-15).
    """

    case_id: str
    type: ExceptionType
    state: ExceptionState
    priority: Priority
    origin: Origin
    opened_at: datetime
    summary: str
    evidence: Evidence = attrs.field(factory=lambda: FrozenMap({}), hash=False)
    detector: str = ""
    holds: bool = False
    freezes: bool = False
    major: bool = False
    level: Level | None = None
    role: Role = Role.AGENT
    acknowledged_at: datetime | None = None
    escalations: int = 0
    resolution: Resolution | None = None
    note: str = ""
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    restock_eta: datetime | None = None
    eta: datetime | None = None
    targets_missed: int = 0
    followed_up: bool = False
    follow_up_reminded: bool = False
    orders_affected: int = 1
    compensations: tuple[Compensation, ...] = ()
    deadline: Deadline | None = None

    @property
    def is_open(self) -> bool:
        """Whether it has not been resolved yet (a restock wait is open)."""
        return self.state not in (ExceptionState.RESOLVED, ExceptionState.CLOSED)

    @property
    def holds_order(self) -> bool:
        """Whether it keeps the order on hold now: open and holding."""
        return self.holds and self.is_open
