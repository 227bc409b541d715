"""The escalation matrix and the escalation rule (EX-4): the seed's rows, the first match
deciding, host rows first, the ladder 3 -> 2 -> 1 with external apart."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orderflow import InvalidConfiguration, InvalidInput
from orderflow.incidents import (
    DEFAULT_ESCALATION_ROLES,
    DEFAULT_ESCALATION_ROWS,
    NOT_ESCALATED,
    CaseFacts,
    EscalationMatrix,
    EscalationProblem,
    EscalationRow,
    ExceptionType,
    Level,
    Role,
    Routing,
    escalation_problem,
    escalation_target,
)
from orderflow.incidents.matrix import MAX_ROWS

T = ExceptionType
L = Level
P = EscalationProblem
MATRIX = EscalationMatrix()

HEAD = Role.DEPARTMENT_HEAD
SUPERVISOR = Role.SENIOR_SUPERVISOR
SUPPORT = Role.TECHNICAL_SUPPORT


@pytest.mark.parametrize(
    ("type", "facts", "routing"),
    [
        # Level 1: a batch or system failure, many orders affected.
        (T.LOGISTICS_DELAYED, CaseFacts(orders_affected=10),
         Routing(L.LEVEL_1, HEAD, "EX-4-batch")),
        (T.PAYMENT_FAILURE, CaseFacts(orders_affected=500),
         Routing(L.LEVEL_1, HEAD, "EX-4-batch")),
        (T.LOGISTICS_DELAYED, CaseFacts(orders_affected=9), NOT_ESCALATED),
        # Level 1: a VIP's complaint marked major, whatever its type.
        (T.COMPLAINT, CaseFacts(vip=True, major_complaint=True),
         Routing(L.LEVEL_1, HEAD, "EX-4-vip-major")),
        (T.QUALITY_DISPUTE, CaseFacts(vip=True, major_complaint=True, high_value=True),
         Routing(L.LEVEL_1, HEAD, "EX-4-vip-major")),
        (T.COMPLAINT, CaseFacts(vip=True), NOT_ESCALATED),
        # External: a third party holds the parcel.
        (T.THIRD_PARTY_HOLD, CaseFacts(), Routing(L.EXTERNAL, Role.LEGAL, "EX-4-third-party")),
        # ... unless it is a batch failure: the most severe row comes first.
        (T.THIRD_PARTY_HOLD, CaseFacts(orders_affected=12),
         Routing(L.LEVEL_1, HEAD, "EX-4-batch")),
        # Level 2: strong dissatisfaction with a single order.
        (T.COMPLAINT, CaseFacts(major_complaint=True),
         Routing(L.LEVEL_2, SUPERVISOR, "EX-4-major")),
        (T.LOGISTICS_LOST, CaseFacts(major_complaint=True, overdue=True),
         Routing(L.LEVEL_2, SUPERVISOR, "EX-4-major")),
        # Level 2: a damaged high-value item; not damaged, or not high value: no row.
        (T.LOGISTICS_DAMAGED, CaseFacts(high_value=True),
         Routing(L.LEVEL_2, SUPERVISOR, "EX-4-damaged-high")),
        (T.LOGISTICS_DAMAGED, CaseFacts(high_value=True, overdue=True),
         Routing(L.LEVEL_2, SUPERVISOR, "EX-4-damaged-high")),
        (T.LOGISTICS_DAMAGED, CaseFacts(), NOT_ESCALATED),
        (T.LOGISTICS_LOST, CaseFacts(high_value=True), NOT_ESCALATED),
        # Level 3: not resolved within the promised time.
        (T.LOGISTICS_DELAYED, CaseFacts(overdue=True),
         Routing(L.LEVEL_3, SUPPORT, "EX-4-overdue")),
        (T.LOGISTICS_DAMAGED, CaseFacts(overdue=True),
         Routing(L.LEVEL_3, SUPPORT, "EX-4-overdue")),
        # Nothing special: the agent keeps the case.
        (T.OUT_OF_STOCK, CaseFacts(), NOT_ESCALATED),
        (T.CUSTOMER_INFO, CaseFacts(vip=True, high_value=True, orders_affected=9), NOT_ESCALATED),
    ],
)  # fmt: skip
def test_ex4_the_default_matrix(type: ExceptionType, facts: CaseFacts, routing: Routing) -> None:
    """EX-4: the seed's rows route each case to its level and role; the first match wins."""
    assert MATRIX.route(type, facts) == routing


def test_ex4_a_case_no_row_matches_stays_with_the_agent() -> None:
    """EX-4: the fallback is no level, the agent handling the case, and no row named."""
    assert Routing(None, Role.AGENT, "") == NOT_ESCALATED
    assert EscalationMatrix(rows=()).route(T.COMPLAINT, CaseFacts(major_complaint=True)) == (
        NOT_ESCALATED
    )


def test_ex4_facts_are_checked() -> None:
    """EX-4: facts of the wrong kind are refused, naming the fact."""
    with pytest.raises(InvalidInput, match=r"facts\.vip"):
        CaseFacts(vip=1)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match=r"facts\.orders_affected"):
        CaseFacts(orders_affected=0)
    with pytest.raises(InvalidInput, match=r"facts\.orders_affected"):
        CaseFacts(orders_affected=True)
    with pytest.raises(InvalidInput, match="type"):
        MATRIX.route("complaint", CaseFacts())  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="facts"):
        MATRIX.route(T.COMPLAINT, {"vip": True})  # type: ignore[arg-type]


def test_ex4_host_rows_come_first_and_leave_the_matrix_unchanged() -> None:
    """EX-4: with_rows puts the host's rows before the defaults in a new matrix."""
    customs = EscalationRow(
        "host-customs", L.EXTERNAL, Role.PROCUREMENT, types={T.THIRD_PARTY_HOLD}
    )
    vip_damage = EscalationRow("host-vip-damage", L.LEVEL_1, types={T.LOGISTICS_DAMAGED}, vip=True)
    host = MATRIX.with_rows(customs, vip_damage)
    assert host.rows == (customs, vip_damage, *DEFAULT_ESCALATION_ROWS)
    assert MATRIX.rows == DEFAULT_ESCALATION_ROWS
    assert host.route(T.THIRD_PARTY_HOLD, CaseFacts(orders_affected=50)) == Routing(
        L.EXTERNAL, Role.PROCUREMENT, "host-customs"
    )
    # A row without a role gives the matrix's role for its level.
    assert host.route(T.LOGISTICS_DAMAGED, CaseFacts(vip=True)) == Routing(
        L.LEVEL_1, HEAD, "host-vip-damage"
    )
    assert host.route(T.LOGISTICS_DAMAGED, CaseFacts(high_value=True)).row == "EX-4-damaged-high"


def test_ex4_a_condition_of_false_asks_for_the_fact_to_be_false() -> None:
    """EX-4: True and False ask for that value of a fact, None matches either."""
    row = EscalationRow("not-vip", L.LEVEL_3, vip=False, min_orders_affected=2)
    assert row.matches(T.COMPLAINT, CaseFacts(orders_affected=2))
    assert not row.matches(T.COMPLAINT, CaseFacts(vip=True, orders_affected=2))
    assert not row.matches(T.COMPLAINT, CaseFacts(orders_affected=1))
    anything = EscalationRow("any", L.LEVEL_3)
    assert anything.types == frozenset()
    assert all(anything.matches(kind, CaseFacts(vip=True, overdue=True)) for kind in T)


def test_ex4_the_roles_of_each_level() -> None:
    """EX-4: a manual escalation goes to the level's role; a host may change who takes a level."""
    assert {level: MATRIX.role_for(level) for level in L} == {
        L.LEVEL_1: HEAD,
        L.LEVEL_2: SUPERVISOR,
        L.LEVEL_3: SUPPORT,
        L.EXTERNAL: Role.LEGAL,
    }
    procurement = EscalationMatrix(roles={**DEFAULT_ESCALATION_ROLES, L.EXTERNAL: Role.PROCUREMENT})
    assert procurement.role_for(L.EXTERNAL) is Role.PROCUREMENT
    assert procurement.route(T.THIRD_PARTY_HOLD, CaseFacts()).role is Role.LEGAL  # the row's
    with pytest.raises(InvalidInput, match="level"):
        MATRIX.role_for("level_1")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("build", "setting"),
    [
        (lambda: EscalationRow(" ", L.LEVEL_1), "escalation_row.name"),
        (lambda: EscalationRow("x", "level_1"), "escalation_row.level"),  # type: ignore[arg-type]
        (lambda: EscalationRow("x", L.LEVEL_1, Role.AGENT), "escalation_row.role"),
        (lambda: EscalationRow("x", L.LEVEL_1, "legal"), "escalation_row.role"),  # type: ignore[arg-type]
        (lambda: EscalationRow("x", L.LEVEL_1, types="complaint"), "escalation_row.types"),
        (lambda: EscalationRow("x", L.LEVEL_1, types={"complaint"}), "escalation_row.types"),
        (lambda: EscalationRow("x", L.LEVEL_1, types=7), "escalation_row.types"),
        (lambda: EscalationRow("x", L.LEVEL_1, vip="yes"), "escalation_row.vip"),  # type: ignore[arg-type]
        (lambda: EscalationRow("x", L.LEVEL_1, overdue=0), "escalation_row.overdue"),  # type: ignore[arg-type]
        (lambda: EscalationRow("x", L.LEVEL_1, min_orders_affected=0),
         "escalation_row.min_orders_affected"),
        (lambda: EscalationRow("x", L.LEVEL_1, min_orders_affected=True),
         "escalation_row.min_orders_affected"),
        (lambda: EscalationMatrix(rows="x"), "matrix.rows"),
        (lambda: EscalationMatrix(rows=("x",)), "matrix.rows"),
        (lambda: MATRIX.with_rows(EscalationRow("EX-4-batch", L.LEVEL_2)), "matrix.rows"),
        (lambda: EscalationMatrix(rows=[EscalationRow(f"r{i}", L.LEVEL_3)
                                        for i in range(MAX_ROWS + 1)]), "matrix.rows"),
        (lambda: EscalationMatrix(roles={L.LEVEL_1: HEAD}), "matrix.roles"),
        (lambda: EscalationMatrix(roles=[]), "matrix.roles"),
        (lambda: EscalationMatrix(roles={**DEFAULT_ESCALATION_ROLES, L.LEVEL_3: Role.AGENT}),
         "matrix.roles[level_3]"),
    ],
)  # fmt: skip
def test_ex4_a_malformed_matrix_is_refused_when_built(build: object, setting: str) -> None:
    """EX-4: a bad row or matrix is a configuration error naming the setting."""
    assert callable(build)
    with pytest.raises(InvalidConfiguration) as raised:
        build()
    assert raised.value.setting == setting


# -- the escalation rule ------------------------------------------------------------------------

_LADDER = {L.LEVEL_3: 1, L.LEVEL_2: 2, L.LEVEL_1: 3}


@pytest.mark.parametrize(
    ("current", "requested", "expected"),
    [
        (None, None, L.LEVEL_3),
        (None, L.LEVEL_3, L.LEVEL_3),
        (None, L.LEVEL_2, L.LEVEL_2),
        (None, L.LEVEL_1, L.LEVEL_1),
        (None, L.EXTERNAL, L.EXTERNAL),
        (L.LEVEL_3, None, L.LEVEL_2),
        (L.LEVEL_3, L.LEVEL_3, P.NOT_HIGHER),
        (L.LEVEL_3, L.LEVEL_2, L.LEVEL_2),
        (L.LEVEL_3, L.LEVEL_1, L.LEVEL_1),
        (L.LEVEL_3, L.EXTERNAL, L.EXTERNAL),
        (L.LEVEL_2, None, L.LEVEL_1),
        (L.LEVEL_2, L.LEVEL_3, P.NOT_HIGHER),
        (L.LEVEL_2, L.LEVEL_2, P.NOT_HIGHER),
        (L.LEVEL_2, L.LEVEL_1, L.LEVEL_1),
        (L.LEVEL_2, L.EXTERNAL, L.EXTERNAL),
        (L.LEVEL_1, None, P.AT_TOP),
        (L.LEVEL_1, L.LEVEL_3, P.AT_TOP),
        (L.LEVEL_1, L.LEVEL_2, P.AT_TOP),
        (L.LEVEL_1, L.LEVEL_1, P.AT_TOP),
        (L.LEVEL_1, L.EXTERNAL, L.EXTERNAL),
        (L.EXTERNAL, None, P.NO_LEVEL_ABOVE_EXTERNAL),
        (L.EXTERNAL, L.LEVEL_3, L.LEVEL_3),
        (L.EXTERNAL, L.LEVEL_2, L.LEVEL_2),
        (L.EXTERNAL, L.LEVEL_1, L.LEVEL_1),
        (L.EXTERNAL, L.EXTERNAL, P.NOT_HIGHER),
    ],
)
def test_ex4_the_escalation_rule(
    current: Level | None, requested: Level | None, expected: Level | EscalationProblem
) -> None:
    """EX-4: levels rise 3 -> 2 -> 1, one up when none is named; external stands apart; at
    level 1 nothing on the ladder is higher."""
    if isinstance(expected, EscalationProblem):
        assert escalation_problem(current, requested) is expected
        assert escalation_target(current, requested) is None
    else:
        assert escalation_problem(current, requested) is None
        assert escalation_target(current, requested) is expected


def test_ex4_escalating_without_a_level_climbs_the_ladder_and_stops_at_level_1() -> None:
    """EX-4: from no level, three escalations reach level 1; a fourth is refused."""
    levels: list[Level | None] = [None]
    while (target := escalation_target(levels[-1])) is not None:
        levels.append(target)
    assert levels == [None, L.LEVEL_3, L.LEVEL_2, L.LEVEL_1]
    assert escalation_problem(L.LEVEL_1) is P.AT_TOP


def test_ex4_the_rule_refuses_what_is_not_a_level() -> None:
    """EX-4: a level given as text is refused, naming which argument."""
    with pytest.raises(InvalidInput, match="current"):
        escalation_problem("level_2")  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="requested"):
        escalation_target(None, "level_1")  # type: ignore[arg-type]


_LEVELS = st.none() | st.sampled_from(Level)


@given(current=_LEVELS, requested=_LEVELS)
def test_ex4_escalation_never_goes_down(current: Level | None, requested: Level | None) -> None:
    """EX-4: an allowed escalation on the ladder always rises; a refused one has a problem."""
    target = escalation_target(current, requested)
    problem = escalation_problem(current, requested)
    assert (target is None) is (problem is not None)
    if target is None:
        return
    assert target != current
    if requested is not None:
        assert target is requested
    if current in _LADDER and target in _LADDER:
        assert _LADDER[target] > _LADDER[current]
    if requested is None:
        assert current is not L.EXTERNAL
        assert target is (L.LEVEL_3 if current is None else current.higher)


_ROLES = st.sampled_from([role for role in Role if role is not Role.AGENT])
_CONDITION = st.none() | st.booleans()
_ROW_PARTS = st.tuples(
    st.sampled_from(Level),
    st.none() | _ROLES,
    st.frozensets(st.sampled_from(ExceptionType), max_size=3),
    _CONDITION,
    _CONDITION,
    st.integers(1, 20),
    _CONDITION,
    _CONDITION,
)
_FACTS = st.builds(
    CaseFacts,
    vip=st.booleans(),
    high_value=st.booleans(),
    orders_affected=st.integers(1, 30),
    major_complaint=st.booleans(),
    overdue=st.booleans(),
)


@given(
    parts=st.lists(_ROW_PARTS, max_size=6),
    type=st.sampled_from(ExceptionType),
    facts=_FACTS,
)
def test_ex4_the_first_matching_row_decides_and_host_rows_come_first(
    parts: list[
        tuple[
            Level,
            Role | None,
            frozenset[ExceptionType],
            bool | None,
            bool | None,
            int,
            bool | None,
            bool | None,
        ]
    ],
    type: ExceptionType,
    facts: CaseFacts,
) -> None:
    """EX-4: with rows prepended, the first of them that matches decides; when none does,
    the defaults decide as they did."""  # fmt: skip
    rows = [EscalationRow(f"host-{index}", *fields) for index, fields in enumerate(parts)]
    routing = MATRIX.with_rows(*rows).route(type, facts)
    first = next((row for row in rows if row.matches(type, facts)), None)
    if first is None:
        assert routing == MATRIX.route(type, facts)
    else:
        assert routing.row == first.name
        assert routing.level is first.level
        assert routing.role is (first.role or DEFAULT_ESCALATION_ROLES[first.level])
    # A row matches exactly when each of its conditions holds.
    for row in rows:
        holds = (
            (not row.types or type in row.types)
            and facts.orders_affected >= row.min_orders_affected
            and row.vip in (None, facts.vip)
            and row.high_value in (None, facts.high_value)
            and row.major_complaint in (None, facts.major_complaint)
            and row.overdue in (None, facts.overdue)
        )
        assert row.matches(type, facts) is holds
