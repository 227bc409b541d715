"""Deadlines: the timers an order carries (D-15, TM-1..TM-7).

The core computes them and the order carries them, so a store can index them; the timer sweep
(:mod:`orderflow.sweep`) fires the command each kind names (:mod:`orderflow.timers`). A
deadline of an after-sales case names the case.
"""

from __future__ import annotations

import enum
from datetime import datetime

import attrs

__all__ = ["WINDOW_KINDS", "Deadline", "DeadlineKind"]


class DeadlineKind(enum.StrEnum):
    """The timers an order can carry (D-15, TM)."""

    AUTO_CLOSE_UNPAID = "auto_close_unpaid"
    """TM-1: close the order if it stays unpaid."""
    AUTO_CONFIRM_RECEIPT = "auto_confirm_receipt"
    """TM-5: confirm receipt if the buyer does not."""
    CONFIRM_PAYMENT = "confirm_payment"
    """D-16: fail a payment the buyer started that was never confirmed."""
    NO_REASON_WINDOW = "no_reason_window"
    """TM-6: the no-reason return window closes (AS-2, D-4), for the last line it covers."""
    QUALITY_WINDOW = "quality_window"
    """TM-6: the quality return window closes (AS-3, D-4), for the last line it covers."""
    SELLER_RESPONSE = "seller_response"
    """An after-sales request waited for the seller too long: the shop's action is taken."""
    SHIP_BACK = "ship_back"
    """The buyer did not ship an approved return or exchange back in time: the case closes."""
    SELLER_RECEIPT = "seller_receipt"
    """The seller did not confirm a return's receipt in time: it is received as sold."""
    REVIEW_WINDOW = "review_window"
    """A rejected case was not reviewed in time: it closes, still rejected (D-8)."""
    STAFF_REMINDER = "staff_reminder"
    """A case waits on staff (a review, a replacement, a refund unanswered): remind them."""
    REVIEW_OVERDUE = "review_overdue"
    """TM-2: a paid order not reviewed within its time."""
    SHIPMENT_OVERDUE = "shipment_overdue"
    """TM-3: an order not shipped within its time after payment."""
    TRACKING_SILENCE = "tracking_silence"
    """TM-4: no carrier tracking update for too long."""
    EXCEPTION_TARGET = "exception_target"
    """TM-7: an exception case's response, solution, closing or follow-up target."""
    RESTOCK_DUE = "restock_due"
    """The restock ETA of an out-of-stock case: stock is checked again."""


WINDOW_KINDS: frozenset[DeadlineKind] = frozenset(
    {DeadlineKind.NO_REASON_WINDOW, DeadlineKind.QUALITY_WINDOW}
)
"""The deadlines of the return windows (TM-6): set at delivery, kept until they close."""


@attrs.frozen
class Deadline:
    """A moment at which the system should act on the order; due when ``now >= due_at``.

    Attributes:
        kind: what is due.
        due_at: when (an aware instant, UTC in the orders the engine makes).
        case_id: the after-sales case it belongs to, if any.
    """

    kind: DeadlineKind
    due_at: datetime
    case_id: str | None = None

    def is_due(self, now: datetime) -> bool:
        """Whether the deadline has come (D-15: due at its own instant)."""
        return now >= self.due_at
