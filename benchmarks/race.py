"""Benchmark: many writers racing on one order through the service, retrying at once or after
a randomized pause.

    python benchmarks/race.py                  # 24 threads, 3 retries, 10 runs, every backend
    python benchmarks/race.py 24 3 10 --backends sqlite postgresql

For each backend (memory; SQLite file in WAL mode; PostgreSQL and MariaDB when
``ORDERFLOW_TEST_POSTGRES_URL`` / ``ORDERFLOW_TEST_MYSQL_URL`` are set, or at their local
defaults when those answer) each run places one order, releases the threads at once (a
barrier), and has each send one command through ``OrderService.handle(..., retries=n)``:
half of them a payment with its own reference (one is applied, the others are refunded,
RK-3), half an address change. It runs twice per backend: retrying at once (a ``sleep`` that
does not wait: the service as it was before it paused between retries) and with the
default pause (``CONFLICT_BACKOFF``: 2 ms doubling up to 100 ms, equal jitter).

It prints, per backend and way of retrying, how many commands per run still ended in
``ConcurrencyConflict`` once their retries were used up (min / mean / max over the runs), in
how many runs any did, and the wall time of a race (median).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from orderflow import (
    Actor,
    Address,
    ChangeAddress,
    Command,
    Money,
    OrderLine,
    Pay,
    Permission,
    PlaceOrder,
)
from orderflow.adapters.memory import InMemoryStore
from orderflow.adapters.sql import SqlStore
from orderflow.errors import ConcurrencyConflict
from orderflow.ports import OrderStore
from orderflow.service import OrderService

CUSTOMER = Actor.customer("c-race")
STAFF = Actor.staff("agent-race", *sorted(Permission.all()))
SYSTEM = Actor.system("race")
ADDRESS = Address("Li Lei", "13800138000", "1 Wensan Road", "Hangzhou", "Zhejiang", "310000")
LINES = (OrderLine("SKU-1", 2, Money("49.90", "CNY")), OrderLine("SKU-2", 1, Money("5.00", "CNY")))
DUE = Money("104.80", "CNY")
RUN = uuid.uuid4().hex[:8]
DEFAULT_URLS = {
    "postgresql": (
        "ORDERFLOW_TEST_POSTGRES_URL",
        "postgresql+psycopg://postgres@127.0.0.1:5432/test",
    ),
    "mariadb": ("ORDERFLOW_TEST_MYSQL_URL", "mysql+pymysql://root@127.0.0.1:3306/test"),
}
WAYS = ("at once", "backoff")


def _no_pause(seconds: float) -> None:
    """A sleep that does not wait: retries follow each other at once."""


def command(worker: int) -> tuple[Command, Actor]:
    """Worker ``n``'s command: a payment of its own (odd ``n``) or an address change."""
    if worker % 2:
        return Pay(DUE, f"race-pay-{worker}", command_id=f"w-{worker}"), SYSTEM
    address = Address(f"worker {worker}", "13800000000", "1 Road", "Hangzhou")
    return ChangeAddress(address, command_id=f"w-{worker}"), STAFF


def race(service: OrderService, order_id: str, threads: int, retries: int) -> tuple[int, float]:
    """One race on a new order: how many commands ended in a conflict, and its wall time.

    Raises:
        AssertionError: a command that did not end in a conflict is missing from the order,
            or another error escaped.
    """
    service.place(PlaceOrder(order_id, CUSTOMER.id, LINES, ADDRESS), CUSTOMER)
    barrier = threading.Barrier(threads)
    conflicts: list[int] = []
    failures: list[BaseException] = []

    def run(worker: int) -> None:
        todo, actor = command(worker)
        barrier.wait()
        try:
            service.handle(order_id, todo, actor, retries=retries)
        except ConcurrencyConflict:
            conflicts.append(worker)
        except BaseException as error:  # reported below, never lost in a thread
            failures.append(error)

    workers = [threading.Thread(target=run, args=(n,)) for n in range(threads)]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - started
    assert failures == [], failures
    order = service.get(order_id)
    landed = {entry.command.command_id for entry in order.history[1:]}
    assert landed == {f"w-{n}" for n in range(threads) if n not in conflicts}
    return len(conflicts), elapsed


def measure(
    make: Callable[[], OrderStore], threads: int, retries: int, runs: int
) -> dict[str, list[tuple[int, float]]]:
    """``runs`` races each way on one store."""
    store = make()
    results: dict[str, list[tuple[int, float]]] = {}
    try:
        for way in WAYS:
            service = (
                OrderService(store, sleep=_no_pause) if way == "at once" else OrderService(store)
            )
            results[way] = [
                race(service, f"race-{RUN}-{way[0]}-{n}", threads, retries) for n in range(runs)
            ]
    finally:
        if isinstance(store, SqlStore):
            if store.engine.dialect.name != "sqlite":
                store.drop_tables()
            store.close()
    return results


@contextmanager
def backends(names: list[str]) -> Iterator[dict[str, Callable[[], OrderStore]]]:
    """Store factories for the chosen backends that can be reached."""
    with tempfile.TemporaryDirectory() as folder:
        found: dict[str, Callable[[], OrderStore]] = {}
        if "memory" in names:
            found["memory"] = InMemoryStore
        if "sqlite" in names:
            found["sqlite (file, WAL)"] = lambda: SqlStore.sqlite(Path(folder) / "race.sqlite3")
        for name, (variable, default) in DEFAULT_URLS.items():
            if name not in names:
                continue
            url = os.environ.get(variable) or default
            try:
                SqlStore.from_url(url, table_prefix=f"of_probe_{RUN}_").drop_tables()
            except Exception:
                print(f"{name}: not reachable, skipped")
                continue
            found[name] = _server(url)
        yield found


def _server(url: str) -> Callable[[], OrderStore]:
    """A factory of stores on the server, with a connection for every racing thread."""

    def make() -> OrderStore:
        return SqlStore.from_url(
            url, table_prefix=f"of_race_{RUN}_", engine_options={"pool_size": 30}
        )

    return make


def main(
    threads: int = 24,
    retries: int = 3,
    runs: int = 10,
    names: tuple[str, ...] = ("memory", "sqlite", "postgresql", "mariadb"),
) -> dict[str, dict[str, list[tuple[int, float]]]]:
    """Measure and print the table."""
    results: dict[str, dict[str, list[tuple[int, float]]]] = {}
    with backends(list(names)) as found:
        for name, make in found.items():
            results[name] = measure(make, threads, retries, runs)
    print(f"{threads} threads on one order, retries={retries}, {runs} runs each way")
    header = (
        f"{'backend':<20}{'retrying':<10}{'conflicts/run min':>19}{'mean':>7}{'max':>6}"
        f"{'runs with any':>15}{'race ms (median)':>18}"
    )
    print(header)
    print("-" * len(header))
    for name, ways in results.items():
        for way, outcomes in ways.items():
            counts = [count for count, _ in outcomes]
            median = statistics.median(elapsed for _, elapsed in outcomes) * 1000
            print(
                f"{name:<20}{way:<10}{min(counts):>19}{statistics.mean(counts):>7.1f}"
                f"{max(counts):>6}{sum(1 for n in counts if n):>12}/{len(counts):<2}"
                f"{median:>18.0f}"
            )
    print("target: no conflict left with the backoff and retries=10 (the store contract's race)")
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("threads", type=int, nargs="?", default=24)
    parser.add_argument("retries", type=int, nargs="?", default=3)
    parser.add_argument("runs", type=int, nargs="?", default=10)
    parser.add_argument(
        "--backends", nargs="+", default=["memory", "sqlite", "postgresql", "mariadb"]
    )
    arguments = parser.parse_args()
    main(arguments.threads, arguments.retries, arguments.runs, tuple(arguments.backends))
