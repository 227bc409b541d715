"""The docs stay true: the diagram and reference tables match the live definition, and
every Python block in README.md and docs/ runs.

Set ``ORDERFLOW_UPDATE_DOCS=1`` to rewrite the generated parts instead of failing.
"""

from __future__ import annotations

import ast
import enum
import inspect
import itertools
import os
import re
import textwrap
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import attrs
import pytest

from orderflow import (
    Actor,
    Address,
    ApproveReview,
    Close,
    CloseReason,
    DeadlineKind,
    Lifecycle,
    Money,
    Order,
    OrderLine,
    Pay,
    Permission,
    PlaceOrder,
    Settings,
    Ship,
    StartFulfilment,
)
from orderflow.engine import Transition
from orderflow.incidents import (
    DEFAULT_DETECTORS,
    PLAYBOOKS,
    Classifier,
    Context,
    EscalationRow,
    ExceptionType,
    Finding,
    IncidentSettings,
    RecentOrder,
    Resolution,
    ServiceTargets,
    TrackingDetector,
    TrackingEvent,
    TrackingKind,
)
from orderflow.incidents.appliers import CLOSING
from orderflow.lifecycle import LIFECYCLE

ROOT = Path(__file__).resolve().parent.parent
UPDATE = os.environ.get("ORDERFLOW_UPDATE_DOCS") == "1"
DIAGRAM = ROOT / "docs" / "lifecycle.mmd"
README = ROOT / "README.md"
REFERENCE = ROOT / "docs" / "lifecycle.md"
REFUSALS = ROOT / "docs" / "refusals.md"
CASE_DIAGRAM = ROOT / "docs" / "aftersales.mmd"
AFTERSALES = ROOT / "docs" / "aftersales.md"


def _sync(path: Path, start: str, end: str, generated: str) -> None:
    text = path.read_text(encoding="utf-8")
    pattern = re.compile(re.escape(start) + r"\n.*?" + re.escape(end), re.DOTALL)
    assert pattern.search(text), f"{path.name} lacks the markers {start!r} ... {end!r}"
    wanted = pattern.sub(lambda _: f"{start}\n{generated}{end}", text)
    if wanted != text:
        if UPDATE:
            path.write_text(wanted, encoding="utf-8")
        else:
            pytest.fail(f"{path.name} is out of date; run with ORDERFLOW_UPDATE_DOCS=1")


def test_committed_diagram_matches_the_live_definition() -> None:
    """The Mermaid diagram in docs/ and in the README is the one the definition draws."""
    diagram = Lifecycle().mermaid()
    assert diagram.startswith("stateDiagram-v2\n")
    assert "in_fulfilment --> shipped: ship" in diagram
    if UPDATE:
        DIAGRAM.write_text(diagram, encoding="utf-8")
    assert DIAGRAM.read_text(encoding="utf-8") == diagram
    _sync(README, "```mermaid", "```", diagram)


def _states(states: tuple[object, ...]) -> str:
    return ", ".join(f"`{getattr(state, 'value', state)}`" for state in states)


def transitions_table(transitions: tuple[Transition, ...]) -> str:
    """A definition's transitions as a Markdown table: command, from, to, who, permission,
    rules."""
    rows = [
        "| command | from | to | who | staff permission | rules |",
        "|---|---|---|---|---|---|",
    ]
    for t in transitions:
        when = f" ({t.when[0]})" if t.when else ""
        dest = f"`{t.dest.value}`" if t.dest else "(stays)"
        who = ", ".join(sorted(kind.value for kind in t.actors))
        permission = f"`{t.permission}`" if t.permission else ""
        rows.append(
            f"| `{t.command.__name__}` | {_states(t.sources)}{when} | {dest} | {who} "
            f"| {permission} | {t.rule} |"
        )
    return "\n".join(rows) + "\n"


def reference_tables() -> str:
    """The transitions of the default lifecycle, as a Markdown table."""
    return transitions_table(LIFECYCLE.transitions)


def case_tables() -> str:
    """The transitions of the default after-sales case machine, then the moves its cases make
    when the order's own commands move their refunds or close the order, as Markdown tables."""
    definition = Lifecycle().case_definition
    rows = [
        "| moved by | from | to |",
        "|---|---|---|",
        *(
            f"| {event} | {_states((source,))} | {_states((dest,))} |"
            for source, dest, event in definition.followed
        ),
    ]
    return transitions_table(definition.transitions) + "\n" + "\n".join(rows) + "\n"


def refusal_table() -> str:
    """Every refusal the lifecycle can give, from its catalogue, as a Markdown table."""
    rows = [
        "| code | category | rule | sentence | hint |",
        "|---|---|---|---|---|",
    ]
    for entry in Lifecycle().catalogue():
        rows.append(
            f"| `{entry.code}` | {entry.category.value} ({entry.category.http_status}) "
            f"| {entry.rule} | {entry.message} | {entry.hint} |"
        )
    return "\n".join(rows) + "\n"


def test_refusal_catalogue_page_matches_the_definition() -> None:
    """docs/refusals.md lists exactly the refusals the catalogue gives."""
    _sync(REFUSALS, "<!-- generated: refusals -->", "<!-- end generated -->", refusal_table())


def test_reference_tables_match_the_definition() -> None:
    """docs/lifecycle.md lists exactly the transitions of the definition."""
    _sync(
        REFERENCE, "<!-- generated: transitions -->", "<!-- end generated -->", reference_tables()
    )


def test_committed_case_diagram_matches_the_live_definition() -> None:
    """The after-sales case diagram in docs/ is the one the case definition draws (AS-1)."""
    diagram = Lifecycle().case_mermaid()
    assert diagram.startswith("stateDiagram-v2\n")
    assert "returning --> refund_pending: receive_return" in diagram
    if UPDATE:
        CASE_DIAGRAM.write_text(diagram, encoding="utf-8")
    assert CASE_DIAGRAM.read_text(encoding="utf-8") == diagram
    _sync(
        AFTERSALES,
        "<!-- generated: case diagram -->",
        "<!-- end generated -->",
        f"```mermaid\n{diagram}```\n",
    )


def test_case_tables_match_the_definition() -> None:
    """docs/aftersales.md lists exactly the transitions of the case machine (AS-1, D-5..D-8)."""
    _sync(
        AFTERSALES, "<!-- generated: case transitions -->", "<!-- end generated -->", case_tables()
    )


def _python_blocks(path: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", path.read_text(encoding="utf-8"), re.DOTALL)


DOCUMENTS = [README, *sorted((ROOT / "docs").glob("*.md"))]


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda path: path.name)
def test_every_python_block_in_the_docs_runs(path: Path) -> None:
    """Every ```python block of a document runs, in order, in one namespace."""
    blocks = _python_blocks(path)
    namespace: dict[str, object] = {"__name__": f"docs_{path.stem}"}
    for block in blocks:
        exec(compile(block, str(path), "exec"), namespace)


def test_readme_gives_exactly_two_commands() -> None:
    """The README's two commands: the demo and the test suite."""
    text = README.read_text(encoding="utf-8")
    commands = re.findall(r"^python3 tasks\.py (\w+)", text, re.MULTILINE)
    assert commands == ["demo", "test"]


# -- order exceptions (docs/exceptions.md) -------------------------------------------------

EXCEPTION_DIAGRAM = ROOT / "docs" / "exceptions.mmd"
EXCEPTIONS = ROOT / "docs" / "exceptions.md"


def _member_docs(enum_class: type[enum.Enum]) -> dict[str, str]:
    """The docstring written under each member of an enum, by member name (from its source)."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(enum_class)))
    body = tree.body[0]
    assert isinstance(body, ast.ClassDef)
    docs: dict[str, str] = {}
    for first, second in itertools.pairwise(body.body):
        if (
            isinstance(first, ast.Assign)
            and isinstance(first.targets[0], ast.Name)
            and isinstance(second, ast.Expr)
            and isinstance(second.value, ast.Constant)
            and isinstance(second.value.value, str)
        ):
            docs[first.targets[0].id] = " ".join(second.value.value.split())
    return docs


def _duration(value: timedelta) -> str:
    seconds = int(value.total_seconds())
    for unit, size in (("days", 86400), ("hours", 3600), ("minutes", 60)):
        if seconds >= max(size, 7 * 86400 if unit == "days" else 0) and seconds % size == 0:
            count = seconds // size
            return f"{count} {unit if count != 1 else unit[:-1]}"
    return f"{seconds} seconds"


def _setting(value: object) -> str:
    if isinstance(value, timedelta):
        return _duration(value)
    if isinstance(value, tuple):
        return ", ".join(f"`{item}`" for item in value)
    return f"`{value}`"


def _configuration(detector: object) -> str:
    """A detector's thresholds: its attrs fields but its id and where it reads events."""
    kind = type(detector)
    assert attrs.has(kind)
    fields = [
        f"`{field.name}` = {_setting(getattr(detector, field.name))}"
        for field in attrs.fields(kind)
        if field.init and field.name not in ("detector_id", "events")
    ]
    return "; ".join(fields) or "none"


def _everything_wrong() -> list[tuple[str, Finding]]:
    """Every default detector firing: three orders and a context built to trip them all, and
    the findings of the default classifier on them, with the detector that found each."""
    lifecycle = Lifecycle()
    at = datetime(2026, 11, 11, 9, 0, tzinfo=UTC)
    gateway = Actor.system("gateway")
    staff = Actor.staff("ops-1", Permission.REVIEW, Permission.FULFIL, Permission.SHIP)
    price = Money("10.00", "CNY")
    bad_address = Address("Li Lei", "12345", "", "Hangzhou")  # no street, a bad phone
    lines = (OrderLine("TEA", 2, price),)

    def placed(order_id: str, customer: str, address: Address = bad_address) -> Order:
        command = PlaceOrder(order_id, customer, lines, address)
        return lifecycle.place(command, Actor.customer(customer), at).order

    main = placed("SO-1", "c-1")
    for reference in ("pay-1", "pay-2"):  # the second is a duplicate payment (RK-3)
        main = lifecycle.handle(main, Pay(Money("20.00", "CNY"), reference), gateway, at).order
    recent = (("TEA", 2, price),)
    earlier = [
        RecentOrder(f"SO-0{n}", "c-1", at - timedelta(minutes=n), main.amount_due, recent)
        for n in range(1, 5)
    ]
    others = [
        RecentOrder(f"SO-X{n}", f"c-x{n}", at - timedelta(hours=n), main.amount_due, recent)
        for n in range(1, 3)
    ]
    context = Context(
        stock={"TEA": 1},
        list_prices={"TEA": Money("100.00", "CNY")},
        customer_orders=earlier,
        address_orders=others,
    )
    late = placed("SO-2", "c-2")
    closed = lifecycle.handle(
        late, Close(CloseReason.CUSTOMER_CANCELLED), Actor.customer("c-2"), at
    )
    late_order = lifecycle.handle(closed.order, Pay(Money("20.00", "CNY"), "pay-3"), gateway, at)
    shipped = placed("SO-3", "c-3", Address("Li Lei", "13800138000", "1 Wensan Road", "Hangzhou"))
    shipped = lifecycle.handle(shipped, Pay(Money("20.00", "CNY"), "pay-4"), gateway, at).order
    for command in (ApproveReview(), StartFulfilment(), Ship("SF Express", "SF1")):
        shipped = lifecycle.handle(shipped, command, staff, at).order
    classifier = Classifier.default()
    tracking = classifier.detector("EX-1-tracking")
    assert isinstance(tracking, TrackingDetector)
    events = [TrackingEvent(kind, at) for kind in TrackingKind if kind.is_exceptional]
    found = [
        *classifier.classify(main, context, at),
        *classifier.classify(late_order.order, Context(), at),
        *tracking.findings(events, at),
    ]
    return [(finding.detector, finding) for finding in found]


def detector_table() -> str:
    """The default detectors, in the order they run, with what their findings are (found by
    running each on an order built to trip it) and their configuration."""
    found: dict[str, list[Finding]] = {}
    for detector_id, finding in _everything_wrong():
        found.setdefault(detector_id, []).append(finding)
    rows = [
        "| detector | class | finds (EX-1) | blocks review | freezes (RK-4) | evidence "
        "| configuration (defaults) |",
        "|---|---|---|---|---|---|---|",
    ]
    for detector in DEFAULT_DETECTORS:
        findings = found[detector.detector_id]  # every default detector fires here
        types = sorted({finding.type.value for finding in findings})
        blocks = {finding.blocks_review for finding in findings}
        freezes = {finding.freezes for finding in findings}
        assert len(blocks) == len(freezes) == 1
        keys = sorted({key for finding in findings for key in finding.evidence})
        rows.append(
            f"| `{detector.detector_id}` | `{type(detector).__name__}` "
            f"| {', '.join(f'`{name}`' for name in types)} "
            f"| {'yes' if blocks.pop() else 'no'} | {'yes' if freezes.pop() else 'no'} "
            f"| {', '.join(keys)} | {_configuration(detector)} |"
        )
    return "\n".join(rows) + "\n"


def playbook_tables() -> str:
    """Each type with its playbook and the priority its cases get; then what each
    resolution does, from the docstrings of the enums."""
    targets = ServiceTargets()
    type_docs = _member_docs(ExceptionType)
    rows = [
        "| type | what it is | resolutions (EX-3) | priority when found |",
        "|---|---|---|---|",
    ]
    for kind, resolutions in PLAYBOOKS.items():
        rows.append(
            f"| `{kind.value}` | {type_docs[kind.name]} "
            f"| {', '.join(f'`{item.value}`' for item in resolutions)} "
            f"| {targets.priority_for(kind).value} |"
        )
    resolution_docs = _member_docs(Resolution)
    used = {item for resolutions in PLAYBOOKS.values() for item in resolutions}
    second = ["| resolution | what it does | closes the order with |", "|---|---|---|"]
    for resolution in Resolution:
        closes = CLOSING.get(resolution)
        where = "" if resolution in used else " (not chosen by an agent)"
        second.append(
            f"| `{resolution.value}`{where} | {resolution_docs[resolution.name]} "
            f"| {f'`{closes.code}`' if closes else ''} |"
        )
    return "\n".join(rows) + "\n\n" + "\n".join(second) + "\n"


def _conditions(row: EscalationRow) -> str:
    parts = []
    if row.types:
        parts.append("type " + " or ".join(f"`{kind.value}`" for kind in sorted(row.types)))
    for name in ("vip", "high_value", "major_complaint", "overdue"):
        value = getattr(row, name)
        if value is not None:
            parts.append(name.replace("_", " ") if value else f"not {name.replace('_', ' ')}")
    if row.min_orders_affected > 1:
        parts.append(f"at least {row.min_orders_affected} orders affected")
    return ", ".join(parts) or "any case"


def matrix_tables() -> str:
    """The default escalation matrix, row by row, then who takes each level when no row
    names a role."""
    matrix = IncidentSettings().matrix
    rows = ["| # | row | matches | level | role |", "|---|---|---|---|---|"]
    for number, row in enumerate(matrix.rows, start=1):
        role = (row.role or matrix.role_for(row.level)).value
        rows.append(
            f"| {number} | `{row.name}` | {_conditions(row)} | `{row.level.value}` | {role} |"
        )
    roles = ["| level | taken by |", "|---|---|"]
    roles.extend(f"| `{level.value}` | {role.value} |" for level, role in matrix.roles.items())
    return "\n".join(rows) + "\n\n" + "\n".join(roles) + "\n"


def target_tables() -> str:
    """The default service targets (EX-5) and the other defaults of exception handling."""
    targets = ServiceTargets()
    incidents = IncidentSettings()
    settings = Settings()
    rows = ["| target | default | setting |", "|---|---|---|"]
    for priority, wait in targets.acknowledge.items():
        rows.append(
            f"| acknowledge a `{priority.value}` case | {_duration(wait)} after opening "
            f"| `ServiceTargets.acknowledge` |"
        )
    rows.append(
        f"| solve a case | {_duration(targets.solution)} after opening "
        "| `ServiceTargets.solution` |"
    )
    for kind, wait in targets.solution_by_type.items():
        rows.append(
            f"| solve a `{kind.value}` case | {_duration(wait)} after opening "
            "| `ServiceTargets.solution_by_type` |"
        )
    follow = "off" if targets.follow_up is None else f"{_duration(targets.follow_up)} after"
    rows.append(f"| follow up a closed case | {follow} closing | `ServiceTargets.follow_up` |")
    for name in ("high_value_threshold", "compensation_limit"):
        amounts = getattr(incidents, name)
        rows.append(
            f"| {name.replace('_', ' ')} | {amounts.fallback} in any currency "
            f"| `IncidentSettings.{name}` |"
        )
    for name in ("review_timeout", "shipment_timeout", "tracking_silence"):
        rows.append(f"| `{name}` | {_setting(getattr(settings, name))} | `Settings.{name}` |")
    return "\n".join(rows) + "\n"


def timer_table() -> str:
    """The deadline kinds an order can carry, with what each means."""
    docs = _member_docs(DeadlineKind)
    rows = ["| deadline kind | what is due |", "|---|---|"]
    rows.extend(f"| `{kind.value}` | {docs[kind.name]} |" for kind in DeadlineKind)
    return "\n".join(rows) + "\n"


def exception_case_tables() -> str:
    """The transitions of the exception case machine, then the moves other commands make."""
    definition = Lifecycle().exception_definition
    rows = [
        "| moved by | from | to |",
        "|---|---|---|",
        *(
            f"| {event} | {_states((source,))} | {_states((dest,))} |"
            for source, dest, event in definition.followed
        ),
    ]
    return transitions_table(definition.transitions) + "\n" + "\n".join(rows) + "\n"


def test_committed_exception_diagram_matches_the_live_definition() -> None:
    """The exception case diagram in docs/ is the one the case definition draws (EX-6)."""
    diagram = Lifecycle().exception_mermaid()
    assert "opened --> acknowledged: acknowledge_exception" in diagram
    if UPDATE:
        EXCEPTION_DIAGRAM.write_text(diagram, encoding="utf-8")
    assert EXCEPTION_DIAGRAM.read_text(encoding="utf-8") == diagram
    _sync(
        EXCEPTIONS,
        "<!-- generated: exception diagram -->",
        "<!-- end generated -->",
        f"```mermaid\n{diagram}```\n",
    )


@pytest.mark.parametrize(
    ("marker", "generate"),
    [
        ("detectors", detector_table),
        ("playbooks", playbook_tables),
        ("exception transitions", exception_case_tables),
        ("matrix", matrix_tables),
        ("targets", target_tables),
        ("deadline kinds", timer_table),
    ],
)
def test_exception_tables_match_the_code(marker: str, generate: Callable[[], str]) -> None:
    """docs/exceptions.md shows the detectors, playbooks, case machine, matrix, targets and
    deadline kinds the code has (EX-1..EX-7, RK-1..RK-4, TM-1..TM-7)."""
    _sync(EXCEPTIONS, f"<!-- generated: {marker} -->", "<!-- end generated -->", generate())
