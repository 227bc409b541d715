"""The docs stay true: the diagram and reference tables match the live definition, and
every Python block in README.md and docs/ runs.

Set ``ORDERFLOW_UPDATE_DOCS=1`` to rewrite the generated parts instead of failing.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from orderflow import Lifecycle
from orderflow.engine import Transition
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
