"""The after-sales case: its states, its lines, and the record it keeps inside the order.

A case lives inside the order aggregate (:attr:`orderflow.Order.cases`), so the case, the
ledger and the refund caps move in one version and one save. A case command is a command on
the order: same history, same version, same command-id idempotency, same outbox. A case's own
history is the order's history filtered by its id (:meth:`orderflow.Order.case_history`).
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import NamedTuple

import attrs

from orderflow.aftersales.model import CaseKind, CaseReason
from orderflow.aftersales.policy import Decision
from orderflow.deadlines import Deadline
from orderflow.frozen import replace
from orderflow.money import Money

__all__ = [
    "FINAL_CASE_STATES",
    "AfterSalesCase",
    "CaseLine",
    "CaseState",
    "CaseTransition",
    "Parcel",
]


class CaseState(enum.StrEnum):
    """Where an after-sales case stands."""

    NEW = "new"
    """Not opened yet: the state a request meets."""
    REQUESTED = "requested"
    """Waiting for a staff decision (a policy outcome of "manual" waits here too)."""
    IN_REVIEW = "in_review"
    """The buyer asked for a supervisor's review of a rejection (D-8)."""
    APPROVED = "approved"
    """A return or exchange approved: waiting for the buyer to ship the goods back."""
    RETURNING = "returning"
    """The buyer shipped the goods back; the tracking number is known."""
    RECEIVED = "received"
    """Goods back and no money in flight: an exchange waiting for its replacement."""
    REFUND_PENDING = "refund_pending"
    """A refund requested from the payment side, not yet confirmed (AS-6)."""
    REFUND_FAILED = "refund_failed"
    """A refund failed: open and visible until retried (AS-6)."""
    REFUNDED = "refunded"
    """Every refund of the case confirmed. Final."""
    EXCHANGED = "exchanged"
    """The replacement shipped. Final."""
    REJECTED = "rejected"
    """Every item rejected (by policy or by staff), with the reasons (D-8). The buyer may ask
    once for a review, and staff with the override permission may overturn it, until the
    review window closes: then the case closes, still rejected (its :attr:`rejection` kept)."""
    CLOSED = "closed"
    """Ended without a refund: the buyer never shipped back, a rejection was not reviewed or
    was upheld, nothing was left to refund, or the order closed. Final; its
    :attr:`~AfterSalesCase.resolution` says why."""


FINAL_CASE_STATES: frozenset[CaseState] = frozenset(
    {CaseState.REFUNDED, CaseState.EXCHANGED, CaseState.CLOSED}
)
"""The states a case ends in."""


@attrs.frozen
class CaseLine:
    """One line a case is about.

    Attributes:
        sku: the order line.
        quantity: the units asked for (0 for a refund of an agreed amount without units).
        amount: what the case would refund for this line now.
        approved: the units approved (a return or exchange), once decided.
        received: the units received back.
        rejected: the reason this line was rejected, if it was.
    """

    sku: str
    quantity: int
    amount: Money
    approved: int = 0
    received: int = 0
    rejected: str = ""


@attrs.frozen
class Parcel:
    """Goods on their way: the buyer's return, or the replacement."""

    carrier: str
    tracking_number: str
    shipped_at: datetime
    shipping_cost: Money | None = None


@attrs.frozen
class AfterSalesCase:
    """An after-sales case inside an order (AS-1).

    Attributes:
        case_id: its id, unique within the order.
        kind: not received, refund only, return, or exchange.
        reason: why the buyer asks.
        state: where it stands.
        lines: the lines it is about.
        amount: what it would refund now: its hold on the refund caps while no refund is
            requested yet (D-6), and the refund's amount once one is.
        decision: the policy decision it was opened with (AS-4), kept as it was.
        opened_at: when it was opened.
        note: what the buyer or the agent wrote.
        refund_ids: the refunds it requested, in order.
        parcel: the buyer's return, once shipped back.
        replacement: the replacement, once shipped.
        rejection: why it was rejected, while rejected.
        reviewed: whether the buyer used the one review a case allows (D-8).
        override: the justification of an override of a denial, if one was made.
        deadline: its running timer; every open case has one (D-15).
        note_on_amount: why the refund is less than the units' price (an earlier refund of
            the same line, a deduction), so that a reduction is explained, never silent.
        resolution: why a closed case ended (``"not_shipped_back"``, ``"order_closed"``,
            ``"review_upheld"``, ...).
        reminders: how many times staff were reminded of it while it waited on them.
    """

    case_id: str
    kind: CaseKind
    reason: CaseReason
    state: CaseState
    lines: tuple[CaseLine, ...]
    amount: Money
    decision: Decision
    opened_at: datetime
    note: str = ""
    refund_ids: tuple[str, ...] = ()
    parcel: Parcel | None = None
    replacement: Parcel | None = None
    rejection: str = ""
    reviewed: bool = False
    override: str = ""
    deadline: Deadline | None = None
    note_on_amount: str = ""
    resolution: str = ""
    reminders: int = 0

    @property
    def is_open(self) -> bool:
        """Whether it has not ended (a rejected case is open: it may still be reviewed)."""
        return self.state not in FINAL_CASE_STATES

    @property
    def holds_room(self) -> bool:
        """Whether its :attr:`amount` holds room under the caps: a case waiting for the
        seller, the buyer's parcel or the return's receipt, whose refund is not requested
        yet (D-6: requested amounts count). A rejected case holds nothing, nor one under
        review: approving it checks the caps again."""
        return self.state in _HOLDING

    def reopened(self) -> AfterSalesCase:
        """The case with its lines no longer rejected, to be decided again (a review or an
        override, D-8)."""
        return replace(
            self,
            lines=tuple(replace(line, rejected="") for line in self.lines),
            rejection="",
        )

    def line(self, sku: str) -> CaseLine | None:
        """The case's line for this SKU, if any."""
        for line in self.lines:
            if line.sku == sku:
                return line
        return None


_HOLDING = frozenset(
    {
        CaseState.REQUESTED,
        CaseState.APPROVED,
        CaseState.RETURNING,
    }
)


class CaseTransition(NamedTuple):
    """What a command did to a case, as its history entry records it (one command may move
    several cases: closing an order closes its open cases).

    Attributes:
        case_id: the case.
        from_state: its state before (``new`` for the request that opened it).
        to_state: its state after.
        rule: what decided the move, when it was not a person: the policy rule that denied a
            request (``"AS-2-window"``), or the timer or path that moved it
            (``"seller_response"``, ``"override"``, ``"review"``, ``"order_closed"``).
    """

    case_id: str
    from_state: CaseState
    to_state: CaseState
    rule: str = ""
