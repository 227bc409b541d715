"""The engine: any state-machine definition over the order aggregate, validated, drawn and
compiled the same way.

This is the only module that imports ``transitions``. :class:`Machine` loads a definition
(:mod:`orderflow.definition`: states, transitions, guards and refusal texts) into one shared
``transitions.Machine``, which validates it, draws its Mermaid diagram and serves as a
reference interpreter, and compiles it into a dispatch table
``(state, command class) -> transitions`` that costs a dictionary look-up per command.

Refusals are declared, never improvised: every guard names its :class:`RefusalText`, every
state without a transition for a command has one, and the generic ones are constants of the
definition module. So the catalogue of every refusal a definition can give
(:meth:`Machine.catalogue`, in :mod:`orderflow.catalogue`) is generated from the definition
itself. The definition's names are importable from here too.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, cast

from transitions import Machine as TransitionsMachine
from transitions import MachineError
from transitions.core import EventData

from orderflow import commands as c
from orderflow.catalogue import _Catalogue
from orderflow.definition import (
    FORBIDDEN,
    ID_CONFLICT,
    INVALID_STATE,
    MISSING_PERMISSION,
    NOT_OWNER,
    ON_HOLD,
    ORDER_FINAL,
    CatalogueEntry,
    Condition,
    Definition,
    Guard,
    GuardResult,
    RefusalText,
    State,
    Transition,
)
from orderflow.errors import DefinitionError, Refusal
from orderflow.model import Actor, ActorKind
from orderflow.order import Order
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
    "Condition",
    "Definition",
    "Guard",
    "GuardResult",
    "Machine",
    "RefusalText",
    "State",
    "Transition",
]


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


class Machine(_Catalogue):
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
