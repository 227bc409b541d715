"""The escalation rule (EX-4): which level a case may be escalated to from its own.

Levels rise 3 -> 2 -> 1 (:func:`escalation_target`, :func:`escalation_problem`).
Escalating without naming a level goes one level up, and from no level to level 3. A named
level must be above the case's level; levels may be skipped (3 -> 1). External stands apart
from the ladder: a case may be sent there from any level, explicitly; from external,
escalating without naming a level is refused (there is no "up"), and a named level of the
ladder is allowed (the case rejoins the ladder there). A case at level 1 cannot go higher.
A refused escalation is an :class:`EscalationProblem`, which the case machine turns into a
refusal; the functions never raise for it.
"""

from __future__ import annotations

import enum
from typing import Final

from orderflow.errors import InvalidInput
from orderflow.incidents.model import Level

__all__ = ["EscalationProblem", "escalation_problem", "escalation_target"]

_RANK: Final = {Level.LEVEL_3: 1, Level.LEVEL_2: 2, Level.LEVEL_1: 3}
"""The ladder's order; external is not on it."""


class EscalationProblem(enum.StrEnum):
    """Why a case cannot be escalated as asked (the case machine refuses with it)."""

    AT_TOP = "at_top"
    """The case is at level 1: nothing on the ladder is higher (external may be named)."""
    NO_LEVEL_ABOVE_EXTERNAL = "no_level_above_external"
    """The case is external, which stands apart: escalating it needs a level named."""
    NOT_HIGHER = "not_higher"
    """The level named is the case's own or below it."""


def _check_level(field: str, value: object) -> None:
    if value is not None and not isinstance(value, Level):
        raise InvalidInput(field, value, "must be a Level or None")


def escalation_problem(
    current: Level | None, requested: Level | None = None
) -> EscalationProblem | None:
    """Why a case at ``current`` cannot be escalated to ``requested``, if it cannot.

    Args:
        current: the case's level; ``None`` when it was never escalated.
        requested: the level named; ``None`` for one level up.

    Returns:
        ``None`` when the escalation is allowed, else the problem.

    Raises:
        InvalidInput: ``current`` or ``requested`` is neither a Level nor ``None``.
    """
    _check_level("current", current)
    _check_level("requested", requested)
    if requested is Level.EXTERNAL:
        return EscalationProblem.NOT_HIGHER if current is Level.EXTERNAL else None
    if current is Level.LEVEL_1:
        return EscalationProblem.AT_TOP
    if requested is None:
        return EscalationProblem.NO_LEVEL_ABOVE_EXTERNAL if current is Level.EXTERNAL else None
    if current is None or current is Level.EXTERNAL:
        return None
    return None if _RANK[requested] > _RANK[current] else EscalationProblem.NOT_HIGHER


def escalation_target(current: Level | None, requested: Level | None = None) -> Level | None:
    """The level a case at ``current`` goes to when escalated to ``requested``.

    Args:
        current: the case's level; ``None`` when it was never escalated.
        requested: the level named; ``None`` for one level up (level 3 from no level).

    Returns:
        The new level, or ``None`` when :func:`escalation_problem` names a problem.

    Raises:
        InvalidInput: ``current`` or ``requested`` is neither a Level nor ``None``.
    """
    if escalation_problem(current, requested) is not None:
        return None
    if requested is not None:
        return requested
    return Level.LEVEL_3 if current is None else current.higher
