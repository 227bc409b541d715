"""The escalation matrix (EX-4, seed 002 §紧急情况升级标准): where a case goes.

The matrix is data: a tuple of :class:`EscalationRow`, each matching on a case's type and the
facts of its order (:class:`CaseFacts`), and naming the level the case goes to and who takes
it. The first row that matches decides; a host puts its own rows before the defaults with
:meth:`EscalationMatrix.with_rows`. A case no row matches is not escalated: it stays with the
agent handling it.

The default rows, in the order they are tried:

=====================  ==========================================  ========  =================
row                    matches                                     level     goes to
=====================  ==========================================  ========  =================
``EX-4-batch``         10 orders or more affected (batch failure)  level 1   department head
``EX-4-vip-major``     a VIP customer's complaint marked major     level 1   department head
``EX-4-third-party``   a third-party hold (customs)                external  legal
``EX-4-major``         a complaint marked major                    level 2   senior supervisor
``EX-4-damaged-high``  a damaged parcel of a high-value order      level 2   senior supervisor
``EX-4-overdue``       past its promised time (72 h, no tracking)  level 3   technical support
=====================  ==========================================  ========  =================

The escalation rule, which levels a case may go to from its own, is in
:mod:`orderflow.incidents.escalation`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final

import attrs

from orderflow.errors import InvalidConfiguration, InvalidInput
from orderflow.frozen import FrozenMap
from orderflow.incidents.model import ExceptionType, Level, Role
from orderflow.inputs import check_identifier

__all__ = [
    "DEFAULT_ESCALATION_ROLES",
    "DEFAULT_ESCALATION_ROWS",
    "MAX_ORDERS_AFFECTED",
    "MAX_ROWS",
    "NOT_ESCALATED",
    "CaseFacts",
    "EscalationMatrix",
    "EscalationRow",
    "Routing",
]

MAX_ROWS: Final = 1_000
"""The most rows a matrix may have."""
MAX_ORDERS_AFFECTED: Final = 10**9
"""The largest number of affected orders a row or a case's facts may name."""


# -- the facts a row reads ---------------------------------------------------------------------


def _fact_flag(instance: object, attribute: attrs.Attribute[bool], value: object) -> None:
    if not isinstance(value, bool):
        raise InvalidInput(f"facts.{attribute.name}", value, "must be True or False")


def _fact_count(instance: object, attribute: attrs.Attribute[int], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput("facts.orders_affected", value, "must be a whole number")
    if not 1 <= value <= MAX_ORDERS_AFFECTED:
        raise InvalidInput(
            "facts.orders_affected", value, f"must be from 1 to {MAX_ORDERS_AFFECTED}"
        )


@attrs.frozen
class CaseFacts:
    """What the matrix knows of a case's order and customer, besides the case's type.

    Build it with :meth:`~orderflow.incidents.IncidentSettings.facts`, which decides
    ``high_value`` from the order's amount due and the configured threshold.

    Attributes:
        vip: the customer is a VIP (the host's customer tier says so).
        high_value: the order's amount due is at or above the high-value threshold.
        orders_affected: how many orders the same problem affects (1 for a single order; a
            batch or system failure affects many).
        major_complaint: an agent marked the customer's complaint major (strong
            dissatisfaction).
        overdue: the case was not resolved within the promised time (a missed target, 72 h
            without a tracking update).

    Raises:
        InvalidInput: a flag that is not a bool; a count that is not a whole number from 1
            to 10^9.
    """

    vip: bool = attrs.field(default=False, validator=_fact_flag)
    high_value: bool = attrs.field(default=False, validator=_fact_flag)
    orders_affected: int = attrs.field(default=1, validator=_fact_count)
    major_complaint: bool = attrs.field(default=False, validator=_fact_flag)
    overdue: bool = attrs.field(default=False, validator=_fact_flag)


# -- a row -------------------------------------------------------------------------------------


def _row_name(instance: object, attribute: attrs.Attribute[str], value: object) -> None:
    try:
        check_identifier("escalation_row.name", value)
    except InvalidInput as error:
        raise InvalidConfiguration("escalation_row.name", value, error.problem) from None


def _row_types(value: object) -> frozenset[ExceptionType]:
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise InvalidConfiguration(
            "escalation_row.types", value, "must be a set of ExceptionType (empty: any type)"
        )
    types = frozenset(value)
    for member in types:
        if not isinstance(member, ExceptionType):
            raise InvalidConfiguration(
                "escalation_row.types", member, "must be an ExceptionType member"
            )
    return types


def _row_condition(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None and not isinstance(value, bool):
        raise InvalidConfiguration(
            f"escalation_row.{attribute.name}", value, "must be True, False or None (either)"
        )


def _row_count(instance: object, attribute: attrs.Attribute[int], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidConfiguration("escalation_row.min_orders_affected", value, "a whole number")
    if not 1 <= value <= MAX_ORDERS_AFFECTED:
        raise InvalidConfiguration(
            "escalation_row.min_orders_affected", value, f"must be from 1 to {MAX_ORDERS_AFFECTED}"
        )


def _row_level(instance: object, attribute: attrs.Attribute[Level], value: object) -> None:
    if not isinstance(value, Level):
        raise InvalidConfiguration("escalation_row.level", value, "must be a Level")


def _escalation_role(setting: str, value: object) -> None:
    if not isinstance(value, Role) or value is Role.AGENT:
        raise InvalidConfiguration(setting, value, "must be a Role other than agent")


def _row_role(instance: object, attribute: attrs.Attribute[Role | None], value: object) -> None:
    if value is not None:
        _escalation_role("escalation_row.role", value)


@attrs.frozen
class EscalationRow:
    """One row of the escalation matrix: when it matches, and where the case goes (EX-4).

    A condition of ``None`` matches either way; ``True`` or ``False`` asks for that value of
    the fact. A row matches when every one of its conditions holds.

    Attributes:
        name: the row's id, given with the routing so that an agent sees why
            (``"EX-4-vip-major"``).
        level: the level the case goes to.
        role: who takes it; ``None``: the matrix's role for the level.
        types: the case types it matches; empty: any type.
        vip: asks for a VIP customer (``True``) or not (``False``).
        high_value: asks for a high-value order, or not.
        min_orders_affected: matches when at least this many orders are affected.
        major_complaint: asks for a complaint marked major, or not.
        overdue: asks for a case past its promised time, or not.

    Raises:
        InvalidConfiguration: a blank or overlong name, a level that is not a
            :class:`~orderflow.incidents.Level`, the agent (or not a role) as the role, types
            that are not :class:`~orderflow.incidents.ExceptionType` members, a condition
            that is not a bool or ``None``, a minimum count outside 1 to 10^9.
    """

    name: str = attrs.field(validator=_row_name)
    level: Level = attrs.field(validator=_row_level)
    role: Role | None = attrs.field(default=None, validator=_row_role)
    types: frozenset[ExceptionType] = attrs.field(default=frozenset(), converter=_row_types)
    vip: bool | None = attrs.field(default=None, validator=_row_condition)
    high_value: bool | None = attrs.field(default=None, validator=_row_condition)
    min_orders_affected: int = attrs.field(default=1, validator=_row_count)
    major_complaint: bool | None = attrs.field(default=None, validator=_row_condition)
    overdue: bool | None = attrs.field(default=None, validator=_row_condition)

    def matches(self, type: ExceptionType, facts: CaseFacts) -> bool:
        """Whether this row applies to a case of ``type`` with these facts.

        Args:
            type: the case's type.
            facts: its order's facts.

        Returns:
            ``True`` when every condition of the row holds.
        """
        return (
            (not self.types or type in self.types)
            and facts.orders_affected >= self.min_orders_affected
            and (self.vip is None or facts.vip is self.vip)
            and (self.high_value is None or facts.high_value is self.high_value)
            and (self.major_complaint is None or facts.major_complaint is self.major_complaint)
            and (self.overdue is None or facts.overdue is self.overdue)
        )


DEFAULT_ESCALATION_ROWS: Final[tuple[EscalationRow, ...]] = (
    EscalationRow("EX-4-batch", Level.LEVEL_1, Role.DEPARTMENT_HEAD, min_orders_affected=10),
    EscalationRow(
        "EX-4-vip-major", Level.LEVEL_1, Role.DEPARTMENT_HEAD, vip=True, major_complaint=True
    ),
    EscalationRow(
        "EX-4-third-party", Level.EXTERNAL, Role.LEGAL, types={ExceptionType.THIRD_PARTY_HOLD}
    ),
    EscalationRow("EX-4-major", Level.LEVEL_2, Role.SENIOR_SUPERVISOR, major_complaint=True),
    EscalationRow(
        "EX-4-damaged-high",
        Level.LEVEL_2,
        Role.SENIOR_SUPERVISOR,
        types={ExceptionType.LOGISTICS_DAMAGED},
        high_value=True,
    ),
    EscalationRow("EX-4-overdue", Level.LEVEL_3, Role.TECHNICAL_SUPPORT, overdue=True),
)
"""The seed's matrix (seed 002 §紧急情况升级标准), most severe first (see the module's table)."""

DEFAULT_ESCALATION_ROLES: Final[Mapping[Level, Role]] = FrozenMap(
    {
        Level.LEVEL_1: Role.DEPARTMENT_HEAD,
        Level.LEVEL_2: Role.SENIOR_SUPERVISOR,
        Level.LEVEL_3: Role.TECHNICAL_SUPPORT,
        Level.EXTERNAL: Role.LEGAL,
    }
)
"""Who takes a case escalated to each level when no row names a role (a manual escalation,
or a missed target)."""


# -- the matrix --------------------------------------------------------------------------------


@attrs.frozen
class Routing:
    """Where a case goes: its level and who takes it, and the row that decided.

    Attributes:
        level: the escalation level; ``None``: not escalated.
        role: who takes the case (the agent when not escalated).
        row: the name of the row that decided; ``""`` when none did.
    """

    level: Level | None
    role: Role
    row: str = ""


NOT_ESCALATED: Final = Routing(None, Role.AGENT)
"""The routing of a case no row matches: it stays with the agent handling it."""


def _rows(value: object) -> tuple[EscalationRow, ...]:
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise InvalidConfiguration("matrix.rows", value, "must be a sequence of EscalationRow")
    rows = tuple(value)
    if len(rows) > MAX_ROWS:
        raise InvalidConfiguration("matrix.rows", len(rows), f"at most {MAX_ROWS} rows")
    names: set[str] = set()
    for row in rows:
        if not isinstance(row, EscalationRow):
            raise InvalidConfiguration("matrix.rows", row, "must be an EscalationRow")
        if row.name in names:
            raise InvalidConfiguration("matrix.rows", row.name, "two rows have this name")
        names.add(row.name)
    return rows


def _roles(value: object) -> Mapping[Level, Role]:
    if not isinstance(value, Mapping):
        raise InvalidConfiguration("matrix.roles", value, "must be a mapping of Level to Role")
    if set(value) != set(Level):
        raise InvalidConfiguration(
            "matrix.roles", sorted(map(str, value)), "must name a role for every Level"
        )
    for level, role in value.items():
        _escalation_role(f"matrix.roles[{level}]", role)
    return FrozenMap(value)


@attrs.frozen
class EscalationMatrix:
    """The escalation matrix (EX-4): rows tried in order, the first match deciding.

    Attributes:
        rows: the rows, tried in order (default :data:`DEFAULT_ESCALATION_ROWS`).
        roles: who takes a case at each level when no row names a role (default
            :data:`DEFAULT_ESCALATION_ROLES`).

    Raises:
        InvalidConfiguration: a row that is not an :class:`EscalationRow`, two rows with
            one name, more than 1,000 rows; roles that miss a level or give one to the agent.
    """

    rows: tuple[EscalationRow, ...] = attrs.field(default=DEFAULT_ESCALATION_ROWS, converter=_rows)
    roles: Mapping[Level, Role] = attrs.field(
        default=DEFAULT_ESCALATION_ROLES, converter=_roles, hash=False
    )

    def with_rows(self, *rows: EscalationRow) -> EscalationMatrix:
        """A matrix with ``rows`` tried before this one's (a host's own rules first).

        Args:
            rows: the rows to put first, in the order they are tried.

        Returns:
            A new matrix; this one is unchanged.

        Raises:
            InvalidConfiguration: a row is not an :class:`EscalationRow`, or has the name of
                another row.
        """
        return EscalationMatrix((*rows, *self.rows), self.roles)

    def route(self, type: ExceptionType, facts: CaseFacts) -> Routing:
        """Where a case of ``type`` with these facts goes: the first matching row decides.

        Args:
            type: the case's type.
            facts: its order's facts.

        Returns:
            The matching row's level and role (the matrix's role for the level when the row
            names none), or :data:`NOT_ESCALATED` when no row matches.

        Raises:
            InvalidInput: ``type`` is not an ExceptionType, or ``facts`` not CaseFacts.
        """
        if not isinstance(type, ExceptionType):
            raise InvalidInput("type", type, "must be an ExceptionType")
        if not isinstance(facts, CaseFacts):
            raise InvalidInput("facts", facts, "must be CaseFacts")
        for row in self.rows:
            if row.matches(type, facts):
                return Routing(row.level, row.role or self.roles[row.level], row.name)
        return NOT_ESCALATED

    def role_for(self, level: Level) -> Role:
        """Who takes a case escalated to ``level`` without a row deciding.

        Raises:
            InvalidInput: ``level`` is not a Level.
        """
        if not isinstance(level, Level):
            raise InvalidInput("level", level, "must be a Level")
        return self.roles[level]
