"""Benchmark: the timer sweep and the due query among many orders, beside loading every order.

    python benchmarks/timers.py                         # 20,000 and 100,000 orders, 1,000 due
    python benchmarks/timers.py 20000,100000 1000 100 --runs 3
    python benchmarks/timers.py 100000 --backends sqlite,postgresql --runs 1
    python benchmarks/timers.py 300,600 30 5 --runs 1 --classifier 50   # seconds

Backends: memory; an SQLite file in WAL mode; PostgreSQL and MariaDB when
``ORDERFLOW_TEST_POSTGRES_URL`` / ``ORDERFLOW_TEST_MYSQL_URL`` are set, or at their local
defaults when those answer. Each run of each total uses a store of its own (a fresh SQLite
file, fresh tables with a random prefix on the servers, dropped afterwards), bulk-loaded (not
timed) and then analyzed (``ANALYZE``), as a database in service has statistics.

The orders: ``due`` orders with a deadline that has passed, of six kinds in turn (TM-1 an
unpaid order past its close; TM-2 a paid order not reviewed within the hour; TM-3 a reviewed
order not shipped 48 hours after payment; TM-4 a shipped order without a tracking update for
72 hours; TM-7 a review-overdue case an earlier sweep opened, its response target missed;
AS-4 a refund request the seller left unanswered), ``stuck`` of them (unpaid ones) refused by
their timer; and the rest with every deadline still ahead (unpaid, paid, shipped) or none
(completed). The same due orders are stored at every total, so the due work is the same.

Timed, each from a cold store cache (the orders the script built are moved out of the garbage
collector's reach first, and a collection runs before each timing):

* ``due query``: ``store.find_due(now, limit=due)``, the index read that finds every due
  order and loads them (target: under 5 % of loading every order); then the same again, the
  store's cache cleared but the database's buffers now holding those rows (``again``);
* ``sweep``: one :class:`~orderflow.sweep.TimerSweep` run (batches of 100 claims) that fires
  every due deadline and sets the stuck orders aside; ``again``: a second run at the same
  instant, which finds nothing;
* ``load all``: the naive way, loading every order page by page and checking its deadlines.

With two totals it prints how each figure grows from the smaller to the larger (the sweep and
the due query should stay near 1x; loading everything grows with the total). On the SQL
backends it prints the plans of the due query (its order rows and its history rows) and of the
sweep's claim, from the database's ``EXPLAIN`` (``EXPLAIN QUERY PLAN`` on SQLite), with a
verdict: an index search and no table scan. Last, the classifier's cost per order beside a
lifecycle command's (``benchmarks/classifier.py``).
"""

from __future__ import annotations

import argparse
import gc
import os
import runpy
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from orderflow import (
    Actor,
    Address,
    ApproveReview,
    Command,
    ConfirmDelivery,
    ConfirmReceipt,
    Lifecycle,
    Money,
    Order,
    OrderLine,
    OrderState,
    Pay,
    Permission,
    PlaceOrder,
    Ship,
    StartFulfilment,
)
from orderflow.adapters.memory import InMemoryStore
from orderflow.adapters.sql import SqlStore
from orderflow.aftersales import CaseKind, CaseReason, RequestAfterSales
from orderflow.incidents.commands import FlagReviewOverdue
from orderflow.order import Deadline, DeadlineKind
from orderflow.ports import ManualClock, OrderStore
from orderflow.service import OrderService
from orderflow.sweep import SweepReport, SweepStatus, TimerSweep
from orderflow.timers import TIMERS, TimerCommand

CUSTOMER = Actor.customer("c-bench")
SYSTEM = Actor.system("bench")
STAFF = Actor.staff("staff-bench", *Permission.all())
ADDRESS = Address("Li Lei", "13800138000", "1 Wensan Road", "Hangzhou", "Zhejiang", "310000")
LINES = (OrderLine("SKU-1", 2, Money("49.90", "CNY")), OrderLine("SKU-2", 1, Money("5.00", "CNY")))
PAID = Money("104.80", "CNY")
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
DEFAULT_URLS = {
    "postgresql": ("ORDERFLOW_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1/test"),
    "mariadb": ("ORDERFLOW_TEST_MYSQL_URL", "mysql+pymysql://root@127.0.0.1:3306/test"),
}
BACKENDS = ("memory", "sqlite", "postgresql", "mariadb")
LIFECYCLE = Lifecycle()
MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)


# -- the orders --------------------------------------------------------------------------------


def _placed(order_id: str, at: datetime) -> Order:
    command = PlaceOrder(order_id, CUSTOMER.id, LINES, ADDRESS)
    return LIFECYCLE.place(command, CUSTOMER, at).order


def _walk(order: Order, at: datetime, *steps: tuple[Command, Actor]) -> Order:
    """The order after each command in turn, a minute apart from ``at``."""
    for n, (command, actor) in enumerate(steps):
        order = LIFECYCLE.handle(order, command, actor, at + n * MINUTE).order
    return order


def _paid(order_id: str, at: datetime) -> Order:
    return _walk(_placed(order_id, at), at, (Pay(PAID, f"pay-{order_id}"), SYSTEM))


def _reviewed(order_id: str, at: datetime) -> Order:
    return _walk(_paid(order_id, at), at + 10 * MINUTE, (ApproveReview(), STAFF))


def _shipped(order_id: str, at: datetime) -> Order:
    return _walk(
        _reviewed(order_id, at),
        at + 20 * MINUTE,
        (StartFulfilment(), STAFF),
        (Ship("SF Express", f"SF{order_id[-6:]}"), STAFF),
    )


def _unpaid_past_close(order_id: str) -> Order:
    return _placed(order_id, NOW - 2 * HOUR)


def _review_overdue(order_id: str) -> Order:
    return _paid(order_id, NOW - 2 * HOUR)


def _shipment_overdue(order_id: str) -> Order:
    return _reviewed(order_id, NOW - 50 * HOUR)


def _tracking_silent(order_id: str) -> Order:
    return _shipped(order_id, NOW - 80 * HOUR)


def _exception_target_missed(order_id: str) -> Order:
    """A review-overdue case (TM-2, opened by an earlier sweep) whose response target passed."""
    order = _paid(order_id, NOW - 7 * HOUR)
    return _walk(order, NOW - 6 * HOUR, (FlagReviewOverdue(command_id="timer:tm2"), SYSTEM))


def _seller_silent(order_id: str) -> Order:
    order = _walk(
        _shipped(order_id, NOW - 6 * 24 * HOUR), NOW - 5 * 24 * HOUR, (ConfirmDelivery(), SYSTEM)
    )
    request = RequestAfterSales(
        CaseKind.REFUND_ONLY, CaseReason.QUALITY_PROBLEM, (), Money("5.00", "CNY")
    )
    return _walk(order, NOW - 4 * 24 * HOUR, (request, CUSTOMER))


DUE_KINDS: tuple[tuple[str, DeadlineKind, Callable[[str], Order]], ...] = (
    ("TM-1", DeadlineKind.AUTO_CLOSE_UNPAID, _unpaid_past_close),
    ("TM-2", DeadlineKind.REVIEW_OVERDUE, _review_overdue),
    ("TM-3", DeadlineKind.SHIPMENT_OVERDUE, _shipment_overdue),
    ("TM-4", DeadlineKind.TRACKING_SILENCE, _tracking_silent),
    ("TM-7", DeadlineKind.EXCEPTION_TARGET, _exception_target_missed),
    ("AS-4", DeadlineKind.SELLER_RESPONSE, _seller_silent),
)
"""The due orders' kinds, in turn: the rule, the deadline that is due, how the order is built."""


def due_orders(due: int, stuck: int) -> list[Order]:
    """The due orders: ``stuck`` unpaid ones refused by their timer, then the kinds in turn."""
    built: list[Order] = []
    for n in range(due):
        if n < stuck:
            order = _unpaid_past_close(f"stuck-{n:06d}")
        else:
            rule, kind, build = DUE_KINDS[n % len(DUE_KINDS)]
            order = build(f"due-{n:06d}")
            assert [d.kind for d in order.deadlines if d.is_due(NOW)] == [kind], (rule, order)
        built.append(order)
    return built


def other_orders(count: int) -> list[Order]:
    """Orders with every deadline ahead (unpaid, paid, shipped: 3 in 10, 3 in 10, 2 in 10)
    or none (completed: 2 in 10)."""
    built: list[Order] = []
    for n in range(count):
        order_id = f"later-{n:06d}"
        share = n % 10
        if share < 3:
            order = _placed(order_id, NOW - 5 * MINUTE)
        elif share < 6:
            order = _paid(order_id, NOW - 10 * MINUTE)
        elif share < 8:
            order = _shipped(order_id, NOW - 24 * HOUR)
        else:
            order = _walk(
                _shipped(order_id, NOW - 3 * 24 * HOUR),
                NOW - 2 * 24 * HOUR,
                (ConfirmDelivery(), SYSTEM),
                (ConfirmReceipt(), CUSTOMER),
            )
        assert not any(d.is_due(NOW) for d in order.deadlines), order
        built.append(order)
    return built


def refusing_timers() -> dict[DeadlineKind, TimerCommand]:
    """The default timers, except that orders named ``stuck-*`` get a command refused."""
    close = TIMERS[DeadlineKind.AUTO_CLOSE_UNPAID]

    def timer(order: Order, deadline: Deadline) -> Command | None:
        if order.id.startswith("stuck-"):
            return ConfirmDelivery()
        return close(order, deadline)

    return {**TIMERS, DeadlineKind.AUTO_CLOSE_UNPAID: timer}


# -- the stores --------------------------------------------------------------------------------


def load_sql(store: SqlStore, orders: Sequence[Order]) -> None:
    """Bulk-load the orders into a SQL store's tables, a thousand per transaction (not timed:
    adding them one transaction each would take minutes on a server), then analyze them."""
    from orderflow.adapters.sql.codec import _Rows

    for start in range(0, len(orders), 1000):
        rows = [_Rows(order, 1) for order in orders[start : start + 1000]]
        with store._transaction("bulk load") as connection:
            store._statements.insert_order.run_many(connection, [row.order for row in rows])
            store._statements.insert_history.run_many(
                connection, [h for row in rows for h in row.history]
            )
            store._statements.insert_outbox.run_many(
                connection, [o for row in rows for o in row.outbox]
            )
    tables = store.tables
    with store.engine.begin() as connection:
        dialect = connection.dialect.name
        if dialect == "sqlite":
            connection.exec_driver_sql("ANALYZE")
        for table in (tables.orders, tables.history, tables.outbox):
            if dialect == "postgresql":
                connection.exec_driver_sql(f"ANALYZE {table.name}")
            elif dialect in ("mysql", "mariadb"):
                connection.exec_driver_sql(f"ANALYZE TABLE {table.name}").all()


def server_url(name: str) -> str | None:
    """The URL of a server that answers, or ``None``."""
    variable, default = DEFAULT_URLS[name]
    url = os.environ.get(variable, default)
    try:
        engine = sa.create_engine(url)
        try:
            with engine.connect():
                pass
        finally:
            engine.dispose()
    except Exception:
        return None
    return url


@contextmanager
def fresh_store(backend: str, url: str | None, folder: Path) -> Iterator[OrderStore]:
    """A new, empty store of this backend, dropped and closed afterwards."""
    prefix = f"of_timers_{uuid.uuid4().hex[:8]}_"  # runs at the same time never collide
    if backend == "memory":
        yield InMemoryStore()
        return
    if backend == "sqlite":
        store = SqlStore.sqlite(folder / f"{prefix}.sqlite3")
    else:
        assert url is not None
        store = SqlStore.from_url(url, table_prefix=prefix)
    try:
        yield store
    finally:
        try:
            if backend != "sqlite":
                store.drop_tables()
        finally:
            store.close()


def _clear_cache(store: OrderStore) -> None:
    if isinstance(store, SqlStore):
        store._cache.clear()


# -- the measurements --------------------------------------------------------------------------


def load_everything(store: OrderStore) -> int:
    """The naive sweep: load every order, page by page, and count the due ones."""
    due = 0
    for state in OrderState:
        after: str | None = None
        while page := store.find_by_state(state, limit=1000, after_id=after):
            due += sum(1 for order in page if any(d.is_due(NOW) for d in order.deadlines))
            after = page[-1].id
    return due


@dataclass
class Figures:
    """One run at one total on one backend (seconds)."""

    due_query: float
    due_warm: float
    sweep: float
    again: float
    load_all: float
    fired: dict[str, int] = field(default_factory=dict)

    @property
    def share(self) -> float:
        """The due query's time as a share of loading every order."""
        return self.due_query / self.load_all

    @property
    def sweep_share(self) -> float:
        """The sweep's time as a share of loading every order."""
        return self.sweep / self.load_all


def _timed(run: Callable[[], Any]) -> tuple[Any, float]:
    gc.collect()
    started = time.perf_counter()
    value = run()
    return value, time.perf_counter() - started


def measure(store: OrderStore, due: list[Order], stuck: int) -> Figures:
    """Time the due query, the sweep, a second sweep and loading everything."""
    _clear_cache(store)
    found, due_query = _timed(lambda: store.find_due(NOW, limit=len(due)))
    assert {order.id for order in found} == {order.id for order in due}
    _clear_cache(store)
    _, due_warm = _timed(lambda: store.find_due(NOW, limit=len(due)))
    service = OrderService(store, clock=ManualClock(NOW))
    sweep = TimerSweep(service, worker="bench", batch=100, timers=refusing_timers())
    _clear_cache(store)
    report, swept = _timed(sweep.run)
    again, second = _timed(sweep.run)
    _clear_cache(store)
    left, naive = _timed(lambda: load_everything(store))
    _check(report, again, left, len(due), stuck)
    fired: dict[str, int] = {}
    for result in report.results:
        if result.status is SweepStatus.APPLIED and result.kind is not None:
            fired[result.kind.value] = fired.get(result.kind.value, 0) + 1
    return Figures(due_query, due_warm, swept, second, naive, fired)


def _check(report: SweepReport, again: SweepReport, left: int, due: int, stuck: int) -> None:
    refused = report.count(SweepStatus.REFUSED)
    assert refused == stuck, (refused, stuck)
    assert report.applied == due - stuck, (report.applied, due - stuck, report.results[:3])
    assert again.results == (), again.results[:3]
    assert left == stuck, (left, stuck)


# -- the plans ---------------------------------------------------------------------------------


@dataclass
class Plan:
    """A statement the store ran and the database's plan for it."""

    name: str
    statement: str
    lines: list[str]
    index_only: bool


def _capture(store: SqlStore, run: Callable[[], Any]) -> list[tuple[str, Any]]:
    """The statements (with their parameters) the store sends while ``run`` runs."""
    seen: list[tuple[str, Any]] = []

    def listen(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        seen.append((statement, parameters))

    sa.event.listen(store.engine, "before_cursor_execute", listen)
    try:
        run()
    finally:
        sa.event.remove(store.engine, "before_cursor_execute", listen)
    return seen


def _explain(store: SqlStore, name: str, statement: str, parameters: Any) -> Plan:
    dialect = store.engine.dialect.name
    names = [t.name.lower() for t in (store.tables.orders, store.tables.history)]
    with store.engine.connect() as connection:
        if dialect == "sqlite":
            rows = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
            lines = [str(row[3]) for row in rows]
            scans = [
                line
                for line in lines
                if line.startswith("SCAN ") and line.split()[1].lower() in names
            ]
        elif dialect == "postgresql":
            rows = connection.exec_driver_sql("EXPLAIN " + statement, parameters)
            lines = [str(row[0]) for row in rows]
            scans = [line for line in lines if "Seq Scan" in line]
        else:
            result = connection.exec_driver_sql("EXPLAIN " + statement, parameters)
            keys = list(result.keys())
            table = [dict(zip(keys, row, strict=True)) for row in result]
            lines = [
                " ".join(f"{k}={r[k]}" for k in ("table", "type", "key", "rows", "Extra"))
                for r in table
            ]
            scans = [
                line for r, line in zip(table, lines, strict=True) if r["type"] in ("ALL", "index")
            ]
        connection.rollback()
    return Plan(name, " ".join(statement.split()), lines, not scans)


def plans(store: SqlStore, due: int) -> list[Plan]:
    """The plans of the due query (its order rows, its history rows) and of the sweep's claim
    of a batch, taken before the sweep (the claim is released at once)."""
    _clear_cache(store)
    found = _capture(store, lambda: store.find_due(NOW, limit=due))
    ids: list[str] = []
    claimed = _capture(
        store,
        lambda: ids.extend(store.claim_due("explain", NOW, limit=100, lease=timedelta(minutes=5))),
    )
    for order_id in ids:  # as it was: nothing claimed
        store.release_due(order_id, "explain")
    _clear_cache(store)
    orders = store.tables.orders.name
    history = store.tables.history.name
    chosen: list[Plan] = []
    for name, captured, table in (
        ("due query: order rows", found, orders),
        ("due query: history rows", found, history),
        ("sweep's claim", claimed, orders),
    ):
        for statement, parameters in captured:
            words = statement.split()
            if words and words[0].upper() in ("SELECT", "UPDATE") and table in statement:
                if name == "due query: order rows" and history in statement:
                    continue
                if name == "due query: history rows" and f"FROM {history}" not in statement:
                    continue
                chosen.append(_explain(store, name, statement, parameters))
                break
    return chosen


def print_plans(backend: str, found: list[Plan]) -> None:
    """Print the plans and their verdicts."""
    print(f"\n{backend}: plans (EXPLAIN{' QUERY PLAN' if backend == 'sqlite' else ''})")
    for plan in found:
        verdict = "index search, no table scan" if plan.index_only else "TABLE SCAN"
        print(f"  {plan.name}: {verdict}")
        text = plan.statement
        print(f"    sql: {text[:160]}{' ...' if len(text) > 160 else ''}")
        for line in plan.lines:
            print(f"    | {line[:200]}{' ...' if len(line) > 200 else ''}")


# -- the report --------------------------------------------------------------------------------


def _range(values: Sequence[float], scale: float = 1.0, digits: int = 1) -> str:
    low, high, mid = min(values), max(values), statistics.median(values)
    return f"{mid * scale:.{digits}f} ({low * scale:.{digits}f}-{high * scale:.{digits}f})"


def print_run(backend: str, total: int, run: int, figures: Figures) -> None:
    """One row per run."""
    print(
        f"{backend:<11} {total:>8} {run:>4} {figures.due_query * 1000:>10.1f} "
        f"{figures.due_warm * 1000:>10.1f} {figures.sweep * 1000:>10.1f} "
        f"{figures.again * 1000:>8.1f} "
        f"{figures.load_all * 1000:>10.0f} {figures.share:>8.2%} {figures.sweep_share:>8.1%}",
        flush=True,
    )


def print_summary(results: dict[tuple[str, int], list[Figures]], totals: Sequence[int]) -> None:
    """Medians and min-max over the runs, and the growth from the smallest total."""
    print(
        "\nmedian (min-max) over the runs; times in ms; share = due query / load all (target < 5 %)"
    )
    print(
        f"{'backend':<11} {'orders':>8} {'due query':>22} {'due, again':>22} {'sweep':>22} "
        f"{'load all':>22} {'share':>20}"
    )
    for (backend, total), runs in results.items():
        print(
            f"{backend:<11} {total:>8} {_range([f.due_query for f in runs], 1000):>22} "
            f"{_range([f.due_warm for f in runs], 1000):>22} "
            f"{_range([f.sweep for f in runs], 1000):>22} "
            f"{_range([f.load_all for f in runs], 1000, 0):>22} "
            f"{_range([f.share for f in runs], 100, 2):>18} %"
        )
    if len(totals) < 2:
        return
    small, large = min(totals), max(totals)
    print(
        f"\ngrowth from {small} to {large} orders (same due work), run by run: "
        "median (min-max); target for the sweep and the due query: about 1x"
    )
    print(f"{'backend':<11} {'due query':>20} {'due, again':>20} {'sweep':>20} {'load all':>20}")
    for backend in dict.fromkeys(b for b, _ in results):
        low, high = results.get((backend, small)), results.get((backend, large))
        if not low or not high:
            continue
        pairs = list(zip(low, high, strict=False))
        cells = [
            _range([getattr(b, name) / getattr(a, name) for a, b in pairs], 1.0, 2)
            for name in ("due_query", "due_warm", "sweep", "load_all")
        ]
        print(f"{backend:<11} " + " ".join(f"{cell:>20}" for cell in cells))


def classifier_figures(orders: int) -> dict[str, float]:
    """The classifier beside a lifecycle command (``benchmarks/classifier.py``)."""
    bench = runpy.run_path(str(Path(__file__).with_name("classifier.py")), run_name="classifier")
    measured: dict[str, float] = bench["measure"](orders)
    command = measured["lifecycle command"]
    print(
        f"\nclassifier (EX-2) beside a lifecycle command, us per order, best of 5 over "
        f"{orders} paid orders"
    )
    for name, micros in measured.items():
        print(f"  {name:<28}{micros:>9.2f}")
    print(
        f"  classify (full context) / lifecycle command: "
        f"{measured['classify, full context'] / command:.1f}x"
    )
    return measured


def main(
    totals: Sequence[int] = (20_000, 100_000),
    due: int = 1_000,
    stuck: int = 100,
    runs: int = 3,
    backends: Sequence[str] = BACKENDS,
    classifier: int = 3000,
) -> dict[str, Any]:
    """Measure every reachable backend at every total, ``runs`` times; print and return."""
    if not 0 <= stuck <= due <= min(totals):
        raise SystemExit("need 0 <= stuck <= due <= every total")
    urls = {name: server_url(name) for name in backends if name in DEFAULT_URLS}
    reachable = [b for b in backends if b not in DEFAULT_URLS or urls[b] is not None]
    started = time.perf_counter()
    due_built = due_orders(due, stuck)
    others = other_orders(max(totals) - due)
    gc.collect()
    gc.freeze()  # the built orders live to the end: collections need not walk them
    print(
        f"{len(due_built)} due orders ({stuck} refused by their timer; kinds in turn: "
        f"{', '.join(rule for rule, _, _ in DUE_KINDS)}) among "
        f"{' and '.join(str(t) for t in totals)} orders; built in "
        f"{time.perf_counter() - started:.1f} s; backends: {', '.join(reachable)}"
    )
    print(
        f"{'backend':<11} {'orders':>8} {'run':>4} {'due query':>10} {'due again':>10} "
        f"{'sweep':>10} {'again':>8} {'load all':>10} {'share':>8} {'sweep/all':>8}   (ms)"
    )
    results: dict[tuple[str, int], list[Figures]] = {}
    found_plans: dict[str, list[Plan]] = {}
    fired: dict[str, int] = {}
    with tempfile.TemporaryDirectory() as folder:
        for run in range(1, runs + 1):
            for backend in reachable:
                for total in totals:
                    orders = [*due_built, *others[: total - due]]
                    with fresh_store(backend, urls.get(backend), Path(folder)) as store:
                        if isinstance(store, SqlStore):
                            load_sql(store, orders)
                        else:
                            assert isinstance(store, InMemoryStore)
                            for order in orders:
                                store.add(order)
                        if (
                            isinstance(store, SqlStore)
                            and backend not in found_plans
                            and total == max(totals)
                        ):
                            found_plans[backend] = plans(store, due)
                        figures = measure(store, due_built, stuck)
                        fired = figures.fired
                    results.setdefault((backend, total), []).append(figures)
                    print_run(backend, total, run, figures)
    print(
        "deadlines fired and applied per run: "
        + ", ".join(f"{kind} {count}" for kind, count in fired.items())
    )
    print_summary(results, totals)
    for backend, found in found_plans.items():
        print_plans(backend, found)
    measured = classifier_figures(classifier) if classifier else {}
    return {"results": results, "plans": found_plans, "classifier": measured}


def _arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "totals",
        nargs="?",
        default="20000,100000",
        help="orders in the store, comma-separated (default 20000,100000)",
    )
    parser.add_argument("due", nargs="?", type=int, default=1000, help="due orders")
    parser.add_argument(
        "stuck", nargs="?", type=int, default=100, help="due orders refused by their timer"
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--backends", default=",".join(BACKENDS))
    parser.add_argument(
        "--classifier",
        type=int,
        default=3000,
        help="orders for the classifier figures (0: skip them)",
    )
    return parser.parse_args(argv)


if __name__ == "__main__":
    arguments = _arguments(sys.argv[1:])
    main(
        [int(t) for t in arguments.totals.split(",")],
        arguments.due,
        arguments.stuck,
        arguments.runs,
        arguments.backends.split(","),
        arguments.classifier,
    )
