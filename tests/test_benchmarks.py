"""The benchmark scripts run end to end on a few orders; no timing is asserted here."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path
from typing import Any

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def _run(script: str, *args: str) -> None:
    saved = sys.argv
    sys.argv = [str(BENCHMARKS / script), *args]
    try:
        runpy.run_path(str(BENCHMARKS / script), run_name="__main__")
    finally:
        sys.argv = saved


def test_lifecycle_benchmark_prints_its_table(capsys: pytest.CaptureFixture[str]) -> None:
    """benchmarks/lifecycle.py compares orderflow with transitions and a bare table."""
    _run("lifecycle.py", "20")
    out = capsys.readouterr().out
    for row in ("orderflow", "transitions, shared machine", "bare dict table", "target"):
        assert row in out


def test_store_benchmark_prints_its_tables(capsys: pytest.CaptureFixture[str]) -> None:
    """benchmarks/store.py compares the service with the bare driver on each backend, cache
    hits with misses on long orders, and (on PostgreSQL) worker processes."""
    _run("store.py", "6", "--runs", "1", "--long", "4", "--workers", "1,2")
    out = capsys.readouterr().out
    for row in ("memory", "sqlite (file, WAL)", "ratio", "target", "miss cmd/s", "fsync"):
        assert row in out


def test_timers_benchmark_prints_its_tables(capsys: pytest.CaptureFixture[str]) -> None:
    """benchmarks/timers.py: the due query and the sweep among orders of two totals, beside
    loading every order, with the due query's plan on SQLite and the classifier's cost."""
    bench = runpy.run_path(str(BENCHMARKS / "timers.py"), run_name="timers_benchmark")
    measured = bench["main"]((60, 120), 24, 4, runs=1, backends=("memory", "sqlite"), classifier=10)
    assert set(measured["results"]) == {(b, t) for b in ("memory", "sqlite") for t in (60, 120)}
    found = measured["plans"]["sqlite"]
    names = [plan.name for plan in found]
    assert names == ["due query: order rows", "due query: history rows", "sweep's claim"]
    assert all(plan.index_only for plan in found)
    assert "USING INDEX orderflow_orders_due" in found[0].lines[0]
    assert set(measured["classifier"]) >= {"classify, full context", "lifecycle command"}
    out = capsys.readouterr().out
    for text in (
        "due query",
        "load all",
        "share",
        "growth from 60 to 120",
        "EXPLAIN QUERY PLAN",
        "index search, no table scan",
        "lifecycle command",
    ):
        assert text in out


def test_timers_benchmark_runs_from_the_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    """The script's arguments: totals, due, stuck, runs, backends, classifier orders."""
    _run("timers.py", "40", "12", "2", "--runs", "1", "--backends", "memory", "--classifier", "0")
    out = capsys.readouterr().out
    assert "memory" in out
    assert "sqlite" not in out


def test_relay_benchmark_counts_no_duplicate(capsys: pytest.CaptureFixture[str]) -> None:
    """benchmarks/relay.py: two relay processes drain an SQLite outbox; every entry is
    delivered once (D-14: claims keep relays from sharing an entry)."""
    bench = runpy.run_path(str(BENCHMARKS / "relay.py"), run_name="relay_benchmark")
    results = bench["main"](40, (2,), 1, ("sqlite",))
    (result,) = results["sqlite", 2]
    assert (result["entries"], result["deliveries"]) == (40, 40)
    assert (result["duplicates"], result["missing"]) == (0, 0)
    out = capsys.readouterr().out
    for column in ("duplicates", "missing", "entries/s", "target"):
        assert column in out


def test_race_benchmark_counts_conflicts_each_way(capsys: pytest.CaptureFixture[str]) -> None:
    """benchmarks/race.py: threads racing on one order through the service, retrying at once
    and with the backoff (D-9); every command that did not end in a conflict landed."""
    bench = runpy.run_path(str(BENCHMARKS / "race.py"), run_name="race_benchmark")
    results = bench["main"](6, 10, 2, ("memory", "sqlite"))
    assert set(results) == {"memory", "sqlite (file, WAL)"}
    for ways in results.values():
        assert set(ways) == {"at once", "backoff"}
        assert all(len(outcomes) == 2 for outcomes in ways.values())
    out = capsys.readouterr().out
    for column in ("conflicts/run", "runs with any", "at once", "backoff", "target"):
        assert column in out


def test_memory_store_benchmark_prints_its_growth_table(capsys: pytest.CaptureFixture[str]) -> None:
    """benchmarks/memory_store.py times every write and page of the memory store at each
    size (PT-1, D-14, D-15: saves, pages, sweeper and relay claims) and prints the growth."""
    bench = runpy.run_path(str(BENCHMARKS / "memory_store.py"), run_name="memory_benchmark")
    results = bench["main"]((40, 200), rounds=2, per_round=20)
    operations = {
        "get",
        "find_by_state first",
        "find_by_state middle",
        "find_due",
        "find_by_customer",
        "claim_due+release",
        "outbox pending",
        "outbox claim",
        "save",
    }
    assert set(results) == {40, 200}
    for figures in results.values():
        assert set(figures) == operations
        assert all(0 < best <= mean for mean, best in figures.values())
    out = capsys.readouterr().out
    for text in ("200 orders: 200 pending outbox entries", "growth 40 -> 200", "target"):
        assert text in out


def test_profile_benchmark_names_where_a_command_goes(capsys: pytest.CaptureFixture[str]) -> None:
    """benchmarks/profile_command.py lists the functions a lifecycle command spends in."""
    bench = runpy.run_path(str(BENCHMARKS / "profile_command.py"), run_name="profile_benchmark")
    found = bench["main"](20, 5)
    assert len(found) == 5
    assert all(0 <= share <= 1 for _, share, _ in found)
    assert "functions by their own time" in capsys.readouterr().out


def test_instruction_counts_run_their_inner_loop() -> None:
    """benchmarks/instructions.py: the loop valgrind counts runs every case (valgrind itself
    is too slow for a smoke test)."""
    bench = runpy.run_path(str(BENCHMARKS / "instructions.py"), run_name="instructions")
    for case in ("orderflow", "transitions", "bare", "cases"):
        for mode in ("setup", "run"):
            bench["inner"](case, mode, 3)


def test_instruction_counts_per_command_without_features() -> None:
    """benchmarks/instructions.py --per-command --without: the loop of each count runs the
    first k commands on a lifecycle with the features left out, and puts the lifecycle back."""
    bench = runpy.run_path(str(BENCHMARKS / "instructions.py"), run_name="instructions")
    lifecycle: Any = sys.modules["lifecycle"]
    kept = lifecycle.LIFECYCLE
    for k in range(len(bench["STEPS"]) + 1):
        bench["inner"]("orderflow", str(k), 2, bench["FEATURES"])
    assert lifecycle.LIFECYCLE is kept
    left_out = bench["_without"]
    left_out(bench["FEATURES"])
    try:
        settings = lifecycle.LIFECYCLE.settings
        assert settings.classifier.detectors == ()
        assert settings.review_timeout is None
        assert settings.shipment_timeout is None
        assert settings.tracking_silence is None
    finally:
        lifecycle.LIFECYCLE = kept
