"""What a relay did: with each entry (:class:`DeliveryResult`) and over its passes
(:class:`RelayReport`).
"""

from __future__ import annotations

import enum
from datetime import datetime

import attrs

__all__ = ["Delivery", "DeliveryResult", "RelayReport"]


class Delivery(enum.Enum):
    """What a relay did with one entry."""

    DELIVERED = "delivered"
    """The handler returned; the entry is delivered."""
    FAILED = "failed"
    """The handler raised; the entry is due again after a pause."""
    DEAD = "dead"
    """The handler raised for the last allowed time, or the entry has no route: parked."""
    DROPPED = "dropped"
    """Its kind is dropped by configuration: marked delivered, with a note saying so."""


@attrs.frozen
class DeliveryResult:
    """What a relay did with one entry.

    Attributes:
        entry_id: the entry's (its effect's) id.
        kind: the effect's kind.
        outcome: delivered, failed, dead or dropped.
        error: the error recorded, for a failed or dead entry.
        retry_at: when a failed entry is due again.
    """

    entry_id: str
    kind: str
    outcome: Delivery
    error: str = ""
    retry_at: datetime | None = None


@attrs.frozen
class RelayReport:
    """What one or more relay passes did.

    Attributes:
        delivered: entries handed over and marked delivered.
        failed: entries whose handler raised; they are due again after a pause.
        dead: entries parked dead (attempts used up, or no route).
        dropped: entries of a kind dropped by configuration (marked delivered, with a note).
        results: what was done with each entry, in order.
    """

    delivered: int = 0
    failed: int = 0
    dead: int = 0
    dropped: int = 0
    results: tuple[DeliveryResult, ...] = ()

    @property
    def claimed(self) -> int:
        """How many entries the passes claimed."""
        return self.delivered + self.failed + self.dead + self.dropped

    def __add__(self, other: RelayReport) -> RelayReport:
        """The totals of two reports."""
        return RelayReport(
            self.delivered + other.delivered,
            self.failed + other.failed,
            self.dead + other.dead,
            self.dropped + other.dropped,
            self.results + other.results,
        )
