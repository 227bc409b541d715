"""What a state-machine definition is made of: states, transitions, guards and refusal texts.

A :class:`Definition` is data: states, :class:`Transition` rows (a command, the states it
starts from, where it leads, who may fire it, its guards and its applier) and the texts of
its refusals. It names no machinery: :class:`orderflow.engine.Machine` validates, draws and
compiles it. The generic refusals every definition can give (an actor who may not act,
another customer's order, a final state) are constants here, so the catalogue of refusals is
generated from definitions alone. A refusal's code is ``<command>.<reason>``: the refused
command's event name (its class name in snake case) and the reason.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TypeAlias

import attrs

from orderflow import commands as c
from orderflow.errors import Refusal, RefusalCategory
from orderflow.model import ActorKind
from orderflow.order import HistoryEntry, Order
from orderflow.step import Step

__all__ = [
    "FORBIDDEN",
    "ID_CONFLICT",
    "INVALID_STATE",
    "MISSING_PERMISSION",
    "NOT_OWNER",
    "ON_HOLD",
    "ORDER_FINAL",
    "CatalogueEntry",
    "Definition",
    "Guard",
    "GuardResult",
    "RefusalText",
    "Transition",
]

GuardResult = Mapping[str, object] | None
"""What a guard's check returns: ``None`` when the command may go on, or the values its
refusal's sentence names (an empty mapping when it names none)."""


@attrs.frozen
class RefusalText:
    """A refusal as a definition declares it: the reason, a sentence, a hint, the rule.

    The sentence and the hint may name values in braces (``"until {due}"``), filled in when
    the refusal is made. The code is the refused command's event name and the reason.

    Attributes:
        reason: the code's second part (``"already_shipped"``).
        message: a sentence an agent can read to a customer.
        hint: what to do instead.
        rule: the business rules it implements (``"CL-1"``).
        category: forbidden (the actor), conflict (the order's state), invalid (the payload).
    """

    reason: str
    message: str
    hint: str = ""
    rule: str = ""
    category: RefusalCategory = RefusalCategory.CONFLICT

    def refusal(self, event: str, values: Mapping[str, object] | None = None) -> Refusal:
        """The refusal of a command with this event name, its values filled in (a value
        the sentence names but ``values`` lacks is left in braces, never an error)."""
        message, hint = self.message, self.hint
        if "{" in message or "{" in hint:
            known = _Values(values or {})
            message = message.format_map(known)
            hint = hint.format_map(known)
        return Refusal(f"{event}.{self.reason}", message, hint, self.rule, self.category)


class _Values(dict[str, object]):
    """Values for a refusal's sentence; a missing one shows as its name in braces."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


@attrs.frozen
class Guard:
    """A check a transition makes before it applies, and the refusal it gives.

    Attributes:
        text: the refusal when the check fails.
        check: reads the :class:`~orderflow.step.Step` and returns ``None`` when the command
            may go on, or the values the refusal names.
        payload: whether the check reads the command's payload. Such a check cannot run when
            the engine asks which commands an actor may send; ``probe`` stands in for it.
        probe: for a payload check, the part that does not need the payload (a refund
            guard asks whether any refund is in the right status); ``None`` to skip it.
    """

    text: RefusalText
    check: Callable[[Step], GuardResult]
    payload: bool = False
    probe: Callable[[Step], GuardResult] | None = None


State: TypeAlias = enum.StrEnum
"""The states of a definition: an enum of strings (the order's, or a case's)."""
Condition = Callable[[Order, c.Command | None, datetime], bool]
"""Picks one transition among several with the same command and source: it reads the order,
the command (``None`` when the engine asks which commands an actor may send) and the time."""
Apply = Callable[[Step], tuple[Order, HistoryEntry]]
Subject = Callable[[Order, c.Command | None], "State | None"]
"""The state a command meets: the order's, or that of the case the command names; ``None``
when the command names a case the order does not have."""


@attrs.frozen
class Transition:
    """One transition of a definition.

    Attributes:
        command: the command class that fires it.
        sources: the states it may start from.
        dest: the state it leads to; ``None`` means it stays in the state it started from.
        apply: builds the new order and the effects (see :meth:`Step.commit`).
        actors: who may fire it (CL-6).
        permission: the permission a staff actor needs.
        when: a condition on the order that picks this transition among several with the
            same command and source, with a name (for the diagram).
        guards: checks that refuse the command with a reason.
        rule: the business rules it implements.
        offered: whether it is listed as something an actor may do; a transition that only
            records what the outside world reports (a payment reaching a paid order) is not.
    """

    command: type[c.Command]
    sources: tuple[State, ...]
    dest: State | None
    apply: Apply
    actors: frozenset[ActorKind]
    permission: str | None = None
    when: tuple[str, Condition] | None = None
    guards: tuple[Guard, ...] = ()
    rule: str = ""
    offered: bool = True


def _not_held(order: Order) -> State | None:
    return None


def _order_state(order: Order, command: c.Command | None) -> State | None:
    return order.state


@attrs.frozen
class Definition:
    """A whole state machine: states, transitions and the refusals of states without one.

    Attributes:
        name: what it is called (``"order"``), in diagrams and the catalogue.
        states: every state.
        initial: where it starts.
        final: the states it ends in.
        transitions: its transitions.
        refusals: for a command and a state without a transition for it, the refusal.
        actor_refusals: the same, for one kind of actor; they come first.
        held: a state in which the subject waits under a hold; ``None`` if there is none.
        held_from: for a held subject, the state it is judged by (D-13).
        subject: the state a command meets (the order's by default; a case's for the
            after-sales machine).
        missing: the refusal when the command names a subject the order does not have.
        final_refusal: the refusal in a final state without a declared one (the engine's
            ``order_final`` when ``None``).
        state_refusal: the refusal in any other state without a declared one (the engine's
            ``invalid_state`` when ``None``).
        followed: moves another definition's commands make on this one's subjects, as
            ``(source, dest, event)``: an after-sales case follows its refunds, which the
            lifecycle's refund commands move. They are drawn and count as ways to reach a
            state; no command of this definition fires them.
    """

    name: str
    states: tuple[State, ...]
    initial: State
    final: frozenset[State]
    transitions: tuple[Transition, ...]
    refusals: Mapping[tuple[type[c.Command], State], RefusalText] = attrs.field(
        factory=dict, hash=False
    )
    actor_refusals: Mapping[tuple[type[c.Command], State, ActorKind], RefusalText] = attrs.field(
        factory=dict, hash=False
    )
    held: State | None = None
    held_from: Callable[[Order], State | None] = _not_held
    subject: Subject = _order_state
    missing: RefusalText | None = None
    final_refusal: RefusalText | None = None
    state_refusal: RefusalText | None = None
    followed: tuple[tuple[State, State, str], ...] = ()

    @property
    def commands(self) -> tuple[type[c.Command], ...]:
        """Every command class the definition knows, in definition order."""
        seen: dict[type[c.Command], None] = {}
        for transition in self.transitions:
            seen.setdefault(transition.command)
        return tuple(seen)


@attrs.frozen
class CatalogueEntry:
    """One refusal a definition can give.

    Attributes:
        code: ``<command>.<reason>``.
        category: forbidden, conflict or invalid.
        rule: the business rules behind it.
        message: its sentence (values it names are shown in braces).
        hint: what to do instead.
        command: the command class's name.
    """

    code: str
    category: RefusalCategory
    rule: str
    message: str
    hint: str
    command: str


_F = RefusalCategory.FORBIDDEN

FORBIDDEN = RefusalText(
    "forbidden",
    "A {kind} cannot '{action}'.",
    "Ask someone who may, or use the command meant for you.",
    "CL-6",
    _F,
)
"""The actor's kind may never send this command."""
NOT_OWNER = RefusalText(
    "not_owner",
    "This order belongs to another customer.",
    "Customers act only on their own orders.",
    "CL-6",
    _F,
)
"""A customer acting on another customer's order (checked before anything else)."""
MISSING_PERMISSION = RefusalText(
    "missing_permission",
    "This needs the permission {permission}.",
    "Ask a colleague who holds {permission}.",
    "CL-6",
    _F,
)
"""A member of staff without the permission the transition needs."""
ID_CONFLICT = RefusalText(
    "id_conflict",
    "A different command was already applied under the id {command_id}.",
    "Use a new command id for a new command.",
    "D-3",
)
"""The command id was used already, for another command."""
ORDER_FINAL = RefusalText(
    "order_final",
    "The order is {state}; its lifecycle has ended.",
    "Completed orders take after-sales cases; closed orders take nothing more.",
    "LC-9",
)
"""The order is in a final state."""
ON_HOLD = RefusalText(
    "on_hold",
    "The order is on hold, so '{action}' is not possible now.",
    "Resolve the exception case and release the hold first.",
    "LC-6",
)
"""The order is held."""
INVALID_STATE = RefusalText(
    "invalid_state",
    "'{action}' is not possible while the order is {state}.",
    "Check the order's state and the allowed actions.",
)
"""No transition and no declared refusal for this command in this state."""
