"""The records an order keeps besides its money: the shipment, the closure, the hold, and
the history entries (LC-3, CL-2, LC-6, LC-8)."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

import attrs

from orderflow.aftersales.case import CaseTransition
from orderflow.commands import Command
from orderflow.effects import Effect
from orderflow.incidents.tracking import TrackingEvent
from orderflow.incidents.transition import ExceptionTransition
from orderflow.model import Actor, CloseReason, OrderState

__all__ = ["Closure", "HistoryEntry", "HoldRecord", "Shipment"]


@attrs.frozen
class Shipment:
    """The parcel: carrier, tracking number and when it left and arrived (LC-3).

    Attributes:
        carrier: the carrier.
        tracking_number: its tracking number.
        shipped_at: when it left.
        delivered_at: when the carrier reported it delivered.
        events: the carrier's tracking events, in the order they were recorded (TM-4).
        silence_reported_at: when the system last reported that no tracking update came
            for too long (TM-4); a new event starts the wait again.
    """

    carrier: str
    tracking_number: str
    shipped_at: datetime
    delivered_at: datetime | None = None
    events: tuple[TrackingEvent, ...] = ()
    silence_reported_at: datetime | None = None

    @property
    def last_update(self) -> datetime:
        """When the parcel last gave news: its last tracking event, or its shipping."""
        return self.events[-1].at if self.events else self.shipped_at


@attrs.frozen
class Closure:
    """How the order was closed (CL-2)."""

    reason: CloseReason
    note: str
    at: datetime
    by: Actor


@attrs.frozen
class HoldRecord:
    """Why the order is held and where it returns on release (LC-6)."""

    from_state: OrderState
    note: str
    at: datetime
    case_id: str | None = None


class HistoryEntry(NamedTuple):
    """One applied command (LC-8). Entries are never rewritten or removed.

    An immutable named tuple: one is made for every command, so it is kept cheap.

    Attributes:
        from_state: the state before (``None`` for the entry that placed the order).
        to_state: the state after.
        command: the command, with its payload and id.
        actor: who did it.
        at: when.
        effects: the effects the command produced.
        cases: what the command did to after-sales cases, if it moved any.
        exceptions: what the command did to exception cases, if it moved any.
    """

    from_state: OrderState | None
    to_state: OrderState
    command: Command
    actor: Actor
    at: datetime
    effects: tuple[Effect, ...] = ()
    cases: tuple[CaseTransition, ...] = ()
    exceptions: tuple[ExceptionTransition, ...] = ()

    @property
    def event(self) -> str:
        """The command's event name."""
        return self.command.event

    @property
    def reason(self) -> str | None:
        """The reason the command gave, if any."""
        return self.command.reason_text
