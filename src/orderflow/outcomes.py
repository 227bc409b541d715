"""What the lifecycle answers: the outcome of a command, what an actor may do, a preview.

:class:`Outcome` is what :meth:`~orderflow.Lifecycle.handle` returns, :class:`Availability`
what :meth:`~orderflow.Lifecycle.available` returns and :class:`Preview` what
:meth:`~orderflow.Lifecycle.preview` returns: plain values, with no machinery.
"""

from __future__ import annotations

from typing import NamedTuple

import attrs

from orderflow import commands as c
from orderflow.aftersales.case import CaseLine
from orderflow.aftersales.decisions import Decision
from orderflow.effects import Effect
from orderflow.errors import Refusal
from orderflow.money import Money
from orderflow.order import HistoryEntry, Order

__all__ = ["Availability", "Outcome", "Preview"]


class Outcome(NamedTuple):
    """What handling a command produced (an immutable named tuple).

    Attributes:
        order: the order after the command (the same order when ``replayed``).
        effects: what the outside world must do, in order; each has a stable id.
        entry: the history entry the command produced (for a replay, the original entry).
        replayed: ``True`` when the command had already been applied (same command id, or
            the same payment reference and amount): nothing changed and the effects are the
            original ones, with their original ids, not new ones (D-3).
    """

    order: Order
    effects: tuple[Effect, ...]
    entry: HistoryEntry
    replayed: bool = False


@attrs.frozen
class Availability:
    """For an order and an actor: what the actor may do now, and why not the rest.

    Only commands this actor could ever send to this order are listed: a customer is not
    told about the system's timers, another customer is told nothing, a member of staff only
    about what their permissions allow. Commands that carry a payload are judged on
    everything but the payload (refund commands against the refunds that exist, a payment's
    failure against the payment in progress); their payload is judged when the command
    itself is checked or handled.

    Attributes:
        allowed: the command classes the actor may send now.
        refused: for every other command class the actor could send, why not now.
    """

    allowed: tuple[type[c.Command], ...]
    refused: dict[type[c.Command], tuple[Refusal, ...]]

    @property
    def allowed_events(self) -> tuple[str, ...]:
        """The event names of the allowed commands."""
        return tuple(command.event for command in self.allowed)

    def why_not(self, command: type[c.Command]) -> tuple[Refusal, ...]:
        """The reasons a command class is refused (empty when it is allowed or not listed)."""
        return self.refused.get(command, ())


@attrs.frozen
class Preview:
    """What an after-sales request would do, without doing it (AS-4).

    Attributes:
        decision: the policy's decision, with every verdict; ``None`` when the request
            cannot be judged because the order cannot take it (see ``refusals``: units not
            left, an amount over the cap, an unknown line).
        amount: what it would refund (or hold, for a return until it is received).
        lines: its lines with their amounts.
        note: why the amount is less than the units' price, when it is.
        refusals: every reason the command would be refused now; empty if it would apply.
    """

    decision: Decision | None
    amount: Money
    lines: tuple[CaseLine, ...]
    note: str
    refusals: tuple[Refusal, ...]

    @property
    def would_apply(self) -> bool:
        """Whether the request would be taken (a denied one is taken, and opens a rejected
        case)."""
        return not self.refusals
