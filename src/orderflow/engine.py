"""The engine: any state-machine definition over the order aggregate, validated, drawn and
compiled the same way.

This is the only module that imports ``transitions``. A :class:`Definition` is data: states,
:class:`Transition` rows (a command, the states it starts from, where it leads, who may fire
it, its guards and its applier) and the texts of its refusals. :class:`Machine` loads a
definition into one shared ``transitions.Machine``, which validates it, draws its Mermaid
diagram and serves as a reference interpreter, and compiles it into a dispatch table
``(state, command class) -> transitions`` that costs a dictionary look-up per command.

Refusals are declared, never improvised: every guard names its :class:`RefusalText`, every
state without a transition for a command has one, and the generic ones (an actor who may not
act, another customer's order, a final state) are constants here. So the catalogue of every
refusal a definition can give (:meth:`Machine.catalogue`) is generated from the definition
itself. A refusal's code is ``<command>.<reason>``: the refused command's event name (its
class name in snake case) and the reason.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, TypeAlias, cast

import attrs
from transitions import Machine as TransitionsMachine
from transitions import MachineError
from transitions.core import EventData

from orderflow import commands as c
from orderflow.errors import DefinitionError, Refusal, RefusalCategory
from orderflow.model import Actor, ActorKind
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
    "Machine",
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


def _words(text: str) -> str:
    return text.replace("_", " ")


class _Probe:
    """The model ``transitions`` moves when it interprets a command for reference."""

    __slots__ = ("at", "chosen", "command", "order", "state")

    def __init__(self, order: Order, command: c.Command, state: State, at: datetime) -> None:
        self.order = order
        self.command = command
        self.state = state.value
        self.at = at
        self.chosen: Transition | None = None


_CUSTOMER = ActorKind.CUSTOMER
_STAFF = ActorKind.STAFF


class Machine:
    """A definition, validated and drawn by ``transitions`` and compiled into a table.

    Args:
        definition: the definition.

    Raises:
        DefinitionError: the definition is inconsistent: a state not in its states, an
            unconditional transition hiding another, a way out of a final state, a state
            that cannot be reached, or a refusal declared for a state it does not have.
    """

    def __init__(self, definition: Definition) -> None:
        if not isinstance(definition, Definition):
            raise DefinitionError(f"not a Definition: {type(definition).__name__}")
        self.definition = definition
        self._reference = self._build(definition)
        self.table = self._compile(definition)
        self._validate()
        self._kinds: dict[type[c.Command], frozenset[ActorKind]] = {}
        self._permissions: dict[type[c.Command], frozenset[str] | None] = {}
        for command in definition.commands:
            rows = [t for t in definition.transitions if t.command is command]
            self._kinds[command] = frozenset().union(*(t.actors for t in rows))
            staff = [t.permission for t in rows if _STAFF in t.actors]
            # None: some staff transition needs no permission at all.
            self._permissions[command] = (
                None if not staff or None in staff else frozenset(cast(list[str], staff))
            )

    # -- building ----------------------------------------------------------------------------

    @staticmethod
    def _build(definition: Definition) -> TransitionsMachine:
        machine = TransitionsMachine(
            model=None,
            states=[state.value for state in definition.states],
            initial=definition.initial.value,
            auto_transitions=False,
            send_event=True,
            ignore_invalid_triggers=False,
        )
        known = set(definition.states)
        for transition in definition.transitions:
            for state in (*transition.sources, *([transition.dest] if transition.dest else [])):
                if state not in known:
                    raise DefinitionError(
                        f"{transition.command.__name__}: state {state!r} is not in the definition"
                    )
            conditions: list[str | Callable[..., bool | None]] = []
            if transition.when is not None:
                condition = transition.when[1]

                def check(event: EventData, condition: Any = condition) -> bool:
                    probe = cast(_Probe, event.model)
                    return bool(condition(probe.order, probe.command, probe.at))

                conditions.append(check)

            def choose(event: EventData, transition: Transition = transition) -> None:
                cast(_Probe, event.model).chosen = transition

            for source in transition.sources:
                machine.add_transition(
                    trigger=transition.command.event,
                    source=source.value,
                    dest=transition.dest.value if transition.dest else None,
                    conditions=conditions,
                    before=[choose],
                )
        for source, dest, event in definition.followed:
            if source not in known or dest not in known:
                raise DefinitionError(f"{event}: a followed move names a state not defined")
            machine.add_transition(trigger=event, source=source.value, dest=dest.value)
        return machine

    @staticmethod
    def _compile(
        definition: Definition,
    ) -> dict[tuple[State, type[c.Command]], tuple[Transition, ...]]:
        table: dict[tuple[State, type[c.Command]], list[Transition]] = {}
        for transition in definition.transitions:
            for source in transition.sources:
                table.setdefault((source, transition.command), []).append(transition)
        return {key: tuple(value) for key, value in table.items()}

    def _validate(self) -> None:
        definition = self.definition
        for (source, command), candidates in self.table.items():
            for transition in candidates[:-1]:
                if transition.when is None:
                    raise DefinitionError(
                        f"{command.__name__} from {source}: an unconditional transition must "
                        "be the last of its branches"
                    )
            if source in definition.final:
                for transition in candidates:
                    if transition.dest is not None and transition.dest is not source:
                        raise DefinitionError(
                            f"final state {source} has a way out: {command.__name__}"
                        )
        reachable = {definition.initial}
        frontier = [definition.initial]
        while frontier:
            state = frontier.pop()
            for transition in definition.transitions:
                dest = transition.dest
                if state in transition.sources and dest is not None and dest not in reachable:
                    reachable.add(dest)
                    frontier.append(dest)
            for source, dest, _ in definition.followed:
                if source is state and dest not in reachable:
                    reachable.add(dest)
                    frontier.append(dest)
        unreachable = set(definition.states) - reachable
        if unreachable:
            names = ", ".join(sorted(state.value for state in unreachable))
            raise DefinitionError(f"states not reachable from {definition.initial}: {names}")
        for key in (*definition.refusals, *definition.actor_refusals):
            if key[1] not in definition.states:
                raise DefinitionError(f"a refusal is declared for an unknown state: {key[1]}")

    # -- choosing and judging ----------------------------------------------------------------

    def state_of(self, order: Order, command: c.Command | None) -> State | None:
        """The state the command meets (``None``: it names a subject the order lacks)."""
        return self.definition.subject(order, command)

    def select(
        self,
        order: Order,
        command_class: type[c.Command],
        command: c.Command | None,
        at: datetime,
        state: State | None = None,
    ) -> Transition | None:
        """The transition a command of this class takes from the state it meets (or from
        ``state``, when the caller knows it), if any."""
        if state is None:
            state = self.definition.subject(order, command)
            if state is None:
                return None
        for candidate in self.table.get((state, command_class), ()):
            if candidate.when is None or candidate.when[1](order, command, at):
                return candidate
        return None

    def select_reference(self, order: Order, command: c.Command, at: datetime) -> Transition | None:
        """The transition ``transitions`` itself picks (the reference interpreter)."""
        state = self.definition.subject(order, command)
        if state is None:
            return None
        probe = _Probe(order, command, state, at)
        event = self._reference.events.get(command.event)
        try:
            fired = event is not None and bool(event.trigger(probe))
        except MachineError:
            fired = False
        return probe.chosen if fired else None

    def could_send(self, order: Order, command: type[c.Command], actor: Actor) -> bool:
        """Whether this actor could ever send this command to this order, in some state."""
        kind = actor.kind
        if kind not in self._kinds.get(command, ()):
            return False
        if kind is _CUSTOMER:
            return actor.id == order.customer_id
        if kind is _STAFF:
            needed = self._permissions[command]
            return needed is None or not needed.isdisjoint(actor.permissions)
        return True

    def authorize(
        self,
        transition: Transition,
        order: Order,
        actor: Actor,
        command: c.Command | None = None,
        state: State | None = None,
    ) -> Refusal | None:
        """Whether the actor may fire this transition: ``None``, or why not (CL-6)."""
        kind = actor.kind
        event = transition.command.event
        if kind is _CUSTOMER and actor.id != order.customer_id:
            return NOT_OWNER.refusal(event)
        if kind not in transition.actors:
            by_actor = self.definition.actor_refusals
            state = state or self.definition.subject(order, command) or order.state
            judged = self.definition.held_from(order) or state
            special = by_actor.get((transition.command, state, kind)) or by_actor.get(
                (transition.command, judged, kind)
            )
            if special is not None:
                return special.refusal(event)
            return FORBIDDEN.refusal(event, {"kind": kind.value, "action": _words(event)})
        permission = transition.permission
        if kind is _STAFF and permission is not None and permission not in actor.permissions:
            return MISSING_PERMISSION.refusal(event, {"permission": permission})
        return None

    def judge(self, transition: Transition, step: Step, *, probing: bool = False) -> list[Refusal]:
        """The refusals of the transition's guards, conflicts before payload problems.

        With ``probing``, the step has no command: checks that read the payload are skipped,
        or replaced by their probes.
        """
        event = transition.command.event
        found: list[Refusal] = []
        for guard in transition.guards:
            check = guard.check
            if probing and guard.payload:
                if guard.probe is None:
                    continue
                check = guard.probe
            values = check(step)
            if values is not None:
                found.append(guard.text.refusal(event, values))
        if len(found) > 1:
            found.sort(key=lambda refusal: refusal.category.rank)
        return found

    def refusal_for(
        self,
        order: Order,
        command: type[c.Command],
        actor: Actor,
        sent: c.Command | None = None,
        state: State | None = None,
    ) -> Refusal:
        """Why a command has no transition (or none offered) from the order's state.

        The actor comes first: another customer's order, then an actor who may never send
        this command, then a member of staff without any permission it needs; then the
        refusal the definition declares for the state (a held order is judged by the state
        it was held from, D-13), then a generic one.
        """
        definition = self.definition
        event = command.event
        kind = actor.kind
        if kind is _CUSTOMER and actor.id != order.customer_id:
            return NOT_OWNER.refusal(event)
        if kind not in self._kinds.get(command, ()):
            return FORBIDDEN.refusal(event, {"kind": kind.value, "action": _words(event)})
        needed = self._permissions.get(command)
        if kind is _STAFF and needed is not None and needed.isdisjoint(actor.permissions):
            return MISSING_PERMISSION.refusal(event, {"permission": " or ".join(sorted(needed))})
        found = state or definition.subject(order, sent)
        if found is None:
            missing = definition.missing or INVALID_STATE
            case_id = getattr(sent, "case_id", None)
            values = {"action": _words(event), "state": "unknown", "case_id": case_id}
            return missing.refusal(event, values)
        state = found
        judged = definition.held_from(order) or state
        by_actor = definition.actor_refusals
        special = by_actor.get((command, state, kind)) or by_actor.get((command, judged, kind))
        if special is not None:
            return special.refusal(event)
        if judged is not state:
            held = definition.refusals.get((command, judged))
            if held is not None:
                return held.refusal(event)
        declared = definition.refusals.get((command, state))
        if declared is not None:
            return declared.refusal(event)
        values = {"action": _words(event), "state": _words(state.value)}
        if state in definition.final:
            return (definition.final_refusal or ORDER_FINAL).refusal(event, values)
        if state is definition.held:
            return ON_HOLD.refusal(event, values)
        return (definition.state_refusal or INVALID_STATE).refusal(event, values)

    # -- describing --------------------------------------------------------------------------

    def catalogue(self) -> tuple[CatalogueEntry, ...]:
        """Every refusal this definition can give, command by command."""
        definition = self.definition
        entries: dict[str, CatalogueEntry] = {}

        def add(command: type[c.Command], text: RefusalText) -> None:
            code = f"{command.event}.{text.reason}"
            entries.setdefault(
                code,
                CatalogueEntry(
                    code, text.category, text.rule, text.message, text.hint, command.__name__
                ),
            )

        all_kinds = frozenset(ActorKind)
        for command in definition.commands:
            rows = [t for t in definition.transitions if t.command is command]
            kinds = self._kinds[command]
            add(command, NOT_OWNER)  # any customer on another's order hears this first
            if kinds != all_kinds:
                add(command, FORBIDDEN)
            if any(t.permission for t in rows if _STAFF in t.actors):
                add(command, MISSING_PERMISSION)
            add(command, ID_CONFLICT)
            if definition.missing is not None and not any(
                definition.initial in t.sources for t in rows
            ):
                add(command, definition.missing)
            for (refused, _, _), text in definition.actor_refusals.items():
                if refused is command:
                    add(command, text)
            for (refused, _), text in definition.refusals.items():
                if refused is command:
                    add(command, text)
            for state in definition.states:
                branches = self.table.get((state, command), ())
                conditional = all(t.when is not None for t in branches)
                if branches and not conditional:
                    continue
                if (command, state) in definition.refusals and state is not definition.held:
                    continue
                if state in definition.final:
                    add(command, definition.final_refusal or ORDER_FINAL)
                elif state is definition.held:
                    add(command, ON_HOLD)
                else:
                    add(command, definition.state_refusal or INVALID_STATE)
            for transition in rows:
                for guard in transition.guards:
                    add(command, guard.text)
        return tuple(entries.values())

    def mermaid(self) -> str:
        """A Mermaid state diagram drawn from the ``transitions`` machine (stays excluded)."""
        definition = self.definition
        edges: dict[tuple[str, str], list[str]] = {}
        for name, event in self._reference.events.items():
            for source, transitions in event.transitions.items():
                for transition in transitions:
                    if transition.dest is None:
                        continue
                    label = name
                    if transition.conditions:
                        chosen = self._condition_name(name, source, transition.dest)
                        label = f"{name} [{chosen}]" if chosen else name
                    labels = edges.setdefault((source, transition.dest), [])
                    if label not in labels:
                        labels.append(label)
        lines = ["stateDiagram-v2", f"    [*] --> {definition.initial.value}"]
        order = [state.value for state in definition.states]
        for (source, dest), labels in sorted(
            edges.items(), key=lambda item: (order.index(item[0][0]), order.index(item[0][1]))
        ):
            lines.append(f"    {source} --> {dest}: {', '.join(labels)}")
        lines.extend(
            f"    {state.value} --> [*]" for state in definition.states if state in definition.final
        )
        return "\n".join(lines) + "\n"

    def _condition_name(self, event: str, source: str, dest: str) -> str:
        for transition in self.definition.transitions:
            if (
                transition.command.event == event
                and transition.dest is not None
                and transition.dest.value == dest
                and any(state.value == source for state in transition.sources)
                and transition.when is not None
            ):
                return transition.when[0]
        return ""  # pragma: no cover - every conditional transition has a named condition
