"""Benchmark: commands per second through the service, against the bare driver doing the writes.

    python benchmarks/store.py                  # 300 orders, 3 runs, every backend reachable
    python benchmarks/store.py 100 --runs 5
    python benchmarks/store.py 300 --workers 1,2,4 --long 100

Backends: memory; an SQLite file in WAL mode; PostgreSQL and MariaDB when
``ORDERFLOW_TEST_POSTGRES_URL`` / ``ORDERFLOW_TEST_MYSQL_URL`` are set, or at their local
defaults when those answer. Every run uses tables of its own (a fresh random prefix), so runs
at the same time never collide. Three measurements, each repeated ``--runs`` times, printed
as min-max over the runs:

1. Cache hits against the bare driver: the lifecycle's six commands on each of N orders
   through ``OrderService.handle`` (load, decide, version-checked save with history and
   outbox in one transaction; the store's cache holds every order), and the bare cost of the
   same writes done with the DB-API driver directly: per command one transaction with an
   ``UPDATE ... WHERE id = ? AND version = ?`` of a document of the same size, one history
   INSERT and one outbox INSERT, into a copy of the store's own tables (same columns, keys
   and indexes). Target: orderflow at least 0.7x the bare driver.
2. Cache misses: orders of 50 history entries, two commands each (hold, release), through a
   store whose cache holds them all (hits), and through one whose cache holds a quarter of
   them, visited in turn so that every load misses (the whole history is read and decoded).
   Target: a command on a miss within 1.5x the time of one on a hit.
3. Worker processes (PostgreSQL): 1, 2 and 4 processes, each running the six commands on
   orders of its own through its own store, started at the same moment; commands per second
   from the first start to the last finish, beside as many bare-driver processes.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))

from orderflow.adapters.memory import InMemoryStore
from orderflow.adapters.sql import SqlStore
from store_workloads import (
    DEFAULT_URLS,
    BareWrites,
    bare_memory,
    command_steps,
    interleaved,
    long_orders,
    long_steps,
    place_orders,
    rate,
    server_connection,
)

VARIABLES = {"postgresql": "ORDERFLOW_TEST_POSTGRES_URL", "mariadb": "ORDERFLOW_TEST_MYSQL_URL"}
Figures = dict[str, list[float]]


def _prefix(kind: str) -> str:
    return f"of_bench_{kind}_{uuid.uuid4().hex[:8]}_"


def server_url(name: str) -> str | None:
    """The URL to benchmark a server at, or ``None`` when it does not answer."""
    url = os.environ.get(VARIABLES[name]) or DEFAULT_URLS[name]
    try:
        server_connection(name, url).close()
    except Exception:
        return None
    return url


@contextmanager
def sql_backend(name: str, url: str, cache_size: int = 1024) -> Iterator[SqlStore]:
    """A store on fresh tables of its own, dropped afterwards."""
    store = SqlStore.from_url(url, table_prefix=_prefix("of"), cache_size=cache_size)
    try:
        yield store
    finally:
        store.drop_tables()
        store.close()


@contextmanager
def bare_writes(name: str, url: str, orders: int, first: int = 0) -> Iterator[BareWrites]:
    """The bare writes of ``orders`` orders, into fresh copies of the store's tables."""
    tables = SqlStore.from_url(url, table_prefix=_prefix("bare"))
    try:
        if name == "sqlite":
            import sqlite3

            connection: Any = sqlite3.connect(url.removeprefix("sqlite:///"))
            connection.execute("PRAGMA journal_mode = WAL")
            connection.execute("PRAGMA foreign_keys = ON")
        else:
            connection = server_connection(name, url)
        writes = BareWrites(connection, name, tables.table_prefix, orders, first)
        try:
            yield writes
        finally:
            writes.close()
    finally:
        tables.drop_tables()
        tables.close()


# -- the three measurements ----------------------------------------------------------------


def hits_against_bare(name: str, url: str, orders: int) -> tuple[float, float]:
    """One run of measurement 1: (orderflow, bare) commands per second, run in turn."""
    with sql_backend(name, url) as store, bare_writes(name, url, orders) as bare:
        ours = command_steps(store, place_orders(store, "bench", orders))
        return interleaved(ours, bare.prepare())


def hits_and_misses(name: str, url: str, orders: int) -> tuple[float, float]:
    """One run of measurement 2: (hit, miss) commands per second on orders of 50 entries,
    run in turn."""
    with sql_backend(name, url) as store:
        hit_orders = long_orders("hit", orders)
        miss_orders = long_orders("miss", orders)
        for order in hit_orders + miss_orders:
            store.add(order)
        small = SqlStore.from_url(
            url, table_prefix=store.table_prefix, cache_size=max(1, orders // 4)
        )
        try:
            return interleaved(long_steps(store, hit_orders), long_steps(small, miss_orders))
        finally:
            small.close()


def workers_on(url: str, processes: int, orders: int, bare: bool) -> float:
    """One run of measurement 3: commands per second over ``processes`` worker processes."""
    kind = "bare" if bare else "of"
    with tempfile.TemporaryDirectory() as folder:
        tables = SqlStore.from_url(url, table_prefix=_prefix(kind))
        try:
            go = Path(folder) / "go"
            outs = [Path(folder) / f"{n}.json" for n in range(processes)]
            share = max(1, orders // processes)
            commands = [
                [sys.executable, __file__, "worker", kind, url, tables.table_prefix,
                 str(share), str(n * share), str(out), str(go)]
                for n, out in enumerate(outs)
            ]  # fmt: skip
            running = [subprocess.Popen(args, stderr=subprocess.PIPE) for args in commands]
            deadline = time.monotonic() + 300
            while not all(Path(f"{out}.ready").exists() for out in outs):
                if time.monotonic() > deadline or any(p.poll() is not None for p in running):
                    break
                time.sleep(0.01)
            go.touch()
            for process in running:
                _, errors = process.communicate(timeout=900)
                if process.returncode:
                    raise RuntimeError(f"a worker failed: {errors.decode()[-2000:]}")
            reports = [json.loads(out.read_text()) for out in outs]
        finally:
            tables.drop_tables()
            tables.close()
    seconds = max(r["finished"] for r in reports) - min(r["started"] for r in reports)
    return sum(r["commands"] for r in reports) / seconds


def worker(kind: str, url: str, prefix: str, orders: int, first: int, out: str, go: str) -> None:
    """One worker process: set up its own orders, wait for ``go``, run, report to ``out``."""
    if kind == "bare":
        connection = server_connection("postgresql", url)
        steps = BareWrites(connection, "postgresql", prefix, orders, first).prepare()
    else:
        store = SqlStore.from_url(url, table_prefix=prefix, create=False)
        steps = command_steps(store, place_orders(store, f"w{first}", orders))
    Path(f"{out}.ready").touch()
    while not os.path.exists(go):
        time.sleep(0.001)
    started = time.time()
    rate(steps)
    finished = time.time()
    report = {"started": started, "finished": finished, "commands": orders * 6}
    Path(out).write_text(json.dumps(report), encoding="utf-8")


# -- the machine and the tables ------------------------------------------------------------


def machine(urls: dict[str, str], folder: Path) -> str:
    """The processor, cores, Python, SQLAlchemy, servers, and the disk's fsync time."""
    model = "unknown processor"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        names = [line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines()
                 if line.startswith("model name")]  # fmt: skip
        model = names[0] if names else model
    servers = []
    for url in urls.values():
        engine = sa.create_engine(url)
        try:
            with engine.connect() as connection:
                version = connection.exec_driver_sql("SELECT version()").scalar()
            servers.append(str(version).split(" on ")[0].split(" (")[0])
        finally:
            engine.dispose()
    probe = folder / "fsync.probe"
    timings = []
    with open(probe, "wb") as handle:
        for _ in range(50):
            handle.write(b"x" * 512)
            handle.flush()
            started = time.perf_counter()
            os.fsync(handle.fileno())
            timings.append(time.perf_counter() - started)
    fsync = statistics.median(timings) * 1000
    return (
        f"{model}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"SQLAlchemy {sa.__version__}; {', '.join(servers) or 'no servers'}; "
        f"fsync {fsync:.2f} ms (median of 50)"
    )


def _span(values: list[float], fmt: str = ",.0f") -> str:
    low, high = min(values), max(values)
    return f"{low:{fmt}}" if f"{low:{fmt}}" == f"{high:{fmt}}" else f"{low:{fmt}}-{high:{fmt}}"


def repeat(
    runs: int, measure: Callable[..., tuple[float, float]], *arguments: Any
) -> tuple[Figures, list[float]]:
    """Run ``measure(*arguments)`` ``runs`` times: both figures of every run, their ratios."""
    first: list[float] = []
    second: list[float] = []
    for _ in range(runs):
        a, b = measure(*arguments)
        first.append(a)
        second.append(b)
    return {"a": first, "b": second}, [a / b for a, b in zip(first, second, strict=True)]


def in_memory(orders: int) -> tuple[float, float]:
    """One run of measurement 1 in memory: (orderflow, a bare dict) commands per second."""
    store = InMemoryStore()
    return rate(command_steps(store, place_orders(store, "bench", orders))), bare_memory(orders)


def both_on_workers(url: str, count: int, orders: int) -> tuple[float, float]:
    """One run of measurement 3: (orderflow, bare) commands per second over the workers."""
    return workers_on(url, count, orders, False), workers_on(url, count, orders, True)


def _row(label: str, figures: Figures, ratios: list[float], widths: tuple[int, ...]) -> str:
    cells = (_span(figures["a"]), _span(figures["b"]), _span(ratios, ".2f"))
    return f"{label:<{widths[0]}}" + "".join(
        f"{cell:>{width}}" for cell, width in zip(cells, widths[1:], strict=True)
    )


def main(
    orders: int = 300, runs: int = 3, long: int = 100, workers: tuple[int, ...] = (1, 2, 4)
) -> dict[str, Any]:
    """Measure and print the three tables; the figures of every run."""
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as folder:
        urls = {"sqlite (file, WAL)": f"sqlite:///{Path(folder) / 'bench.sqlite3'}"}
        servers = {}
        for name in ("postgresql", "mariadb"):
            url = server_url(name)
            if url is None:
                print(f"{name}: not reachable, skipped")
            else:
                servers[name] = urls[name] = url
        print(machine(servers, Path(folder)))
        print(f"\n1. cache hits: {orders} orders x 6 commands, one process ({runs} runs)")
        widths = (22, 18, 20, 12)
        header = f"{'backend':<22}{'orderflow cmd/s':>18}{'bare driver cmd/s':>20}{'ratio':>12}"
        print(header + "\n" + "-" * len(header))
        memory, ratios = repeat(runs, in_memory, orders)
        results["memory"] = (memory, ratios)
        print(f"{'memory':<22}{_span(memory['a']):>18}{'(a dict update)':>20}")
        for label, url in urls.items():
            figures, ratios = repeat(runs, hits_against_bare, label.split(" ")[0], url, orders)
            results[label] = (figures, ratios)
            print(_row(label, figures, ratios, widths))
        print("target: orderflow at least 0.7x the bare driver on the SQL backends")
        print(f"\n2. orders of 50 entries, {long} orders x 2 commands: cache hits, then misses")
        widths = (22, 14, 14, 24)
        header = f"{'backend':<22}{'hit cmd/s':>14}{'miss cmd/s':>14}{'miss time / hit time':>24}"
        print(header + "\n" + "-" * len(header))
        for label, url in urls.items():
            figures, ratios = repeat(runs, hits_and_misses, label.split(" ")[0], url, long)
            results[f"{label} misses"] = (figures, ratios)
            print(_row(label, figures, ratios, widths))
        print("target: a miss within 1.5x the time of a hit")
        if "postgresql" in servers:
            print(f"\n3. PostgreSQL, worker processes sharing {orders} orders x 6 commands")
            widths = (10, 18, 20, 12)
            header = f"{'workers':<10}{'orderflow cmd/s':>18}{'bare driver cmd/s':>20}"
            header += f"{'ratio':>12}"
            print(header + "\n" + "-" * len(header))
            for count in workers:
                figures, ratios = repeat(
                    runs, both_on_workers, servers["postgresql"], count, orders
                )
                results[f"postgresql x{count}"] = (figures, ratios)
                print(_row(str(count), figures, ratios, widths))
    return results


def _arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("orders", nargs="?", type=int, default=300)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--long", type=int, default=100, help="orders of 50 entries")
    parser.add_argument("--workers", default="1,2,4", help="process counts, comma separated")
    return parser.parse_args(argv)


if __name__ == "__main__":
    if sys.argv[1:2] == ["worker"]:
        kind, url, prefix, count, first, out, go = sys.argv[2:9]
        worker(kind, url, prefix, int(count), int(first), out, go)
    else:
        options = _arguments(sys.argv[1:])
        main(
            options.orders,
            options.runs,
            options.long,
            tuple(int(n) for n in options.workers.split(",")),
        )
