"""The catalogue of a definition: every refusal it can give, command by command.

Refusals are declared, never improvised, so the catalogue is generated from the definition
and its compiled table: the generic refusals each command can meet, those the definition
declares for states and actors, and those of its guards. :class:`~orderflow.engine.Machine`
takes :meth:`_Catalogue.catalogue` from here.
"""

from __future__ import annotations

from orderflow import commands as c
from orderflow.definition import (
    FORBIDDEN,
    ID_CONFLICT,
    INVALID_STATE,
    MISSING_PERMISSION,
    NOT_OWNER,
    ON_HOLD,
    ORDER_FINAL,
    CatalogueEntry,
    Definition,
    RefusalText,
    State,
    Transition,
)
from orderflow.model import ActorKind

__all__: list[str] = []

_STAFF = ActorKind.STAFF


class _Catalogue:
    """The catalogue of :class:`~orderflow.engine.Machine`, which sets the attributes below."""

    definition: Definition
    table: dict[tuple[State, type[c.Command]], tuple[Transition, ...]]
    _kinds: dict[type[c.Command], frozenset[ActorKind]]

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
