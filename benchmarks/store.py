"""Benchmark: commands per second through the service, against the bare driver doing the writes.

    python benchmarks/store.py              # 300 orders x 6 commands on every backend reachable
    python benchmarks/store.py 100

For each backend (memory; SQLite file in WAL mode; PostgreSQL and MariaDB when
``ORDERFLOW_TEST_POSTGRES_URL`` / ``ORDERFLOW_TEST_MYSQL_URL`` are set, or at their local
defaults when those answer) it runs the lifecycle's six commands on every order through
``OrderService.handle`` (load, decide, version-checked save with history and outbox in one
transaction), and then the bare cost of the same writes done with the driver directly: per
command one transaction with an ``UPDATE ... WHERE id = ? AND version = ?`` of a document of
the same size, one history INSERT and one outbox INSERT, into a copy of the store's own
tables (same columns, keys and indexes). It prints commands per second for both and their
ratio (target: orderflow at least 0.5x the bare driver).
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from orderflow import (
    Actor,
    Address,
    ApproveReview,
    Command,
    ConfirmDelivery,
    ConfirmReceipt,
    Money,
    OrderLine,
    Pay,
    Permission,
    PlaceOrder,
    Ship,
    StartFulfilment,
)
from orderflow.adapters.memory import InMemoryStore
from orderflow.adapters.sql import SqlStore
from orderflow.ports import ManualClock, OrderStore
from orderflow.serialization import dump
from orderflow.service import OrderService

CUSTOMER = Actor.customer("c-bench")
STAFF = Actor.staff("agent-bench", *sorted(Permission.all()))
SYSTEM = Actor.system("bench")
ADDRESS = Address("Li Lei", "13800138000", "1 Wensan Road", "Hangzhou", "Zhejiang", "310000")
LINES = (OrderLine("SKU-1", 2, Money("49.90", "CNY")), OrderLine("SKU-2", 1, Money("5.00", "CNY")))
START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
RUN = uuid.uuid4().hex[:8]
BARE = f"bare_{RUN}_"  # a prefix of this run's own: runs at the same time never collide
DEFAULT_URLS = {
    "postgresql": "postgresql+psycopg://postgres@127.0.0.1:5432/test",
    "mariadb": "mysql+pymysql://root@127.0.0.1:3306/test",
}


def lifecycle_commands(order_id: str) -> list[tuple[Command, Actor]]:
    """The six commands that take a placed order to completion."""
    return [
        (Pay(Money("104.80", "CNY"), f"pay-{order_id}"), SYSTEM),
        (ApproveReview(), STAFF),
        (StartFulfilment(), STAFF),
        (Ship("SF Express", f"SF-{order_id}"), STAFF),
        (ConfirmDelivery(), SYSTEM),
        (ConfirmReceipt(), CUSTOMER),
    ]


def run_orderflow(store: OrderStore, orders: int) -> float:
    """Commands per second through the service (placing is not timed)."""
    service = OrderService(store, clock=ManualClock(START))
    ids = [f"bench-{n:05d}" for n in range(orders)]
    for order_id in ids:
        service.place(PlaceOrder(order_id, CUSTOMER.id, LINES, ADDRESS), CUSTOMER)
    plans = [(order_id, lifecycle_commands(order_id)) for order_id in ids]
    started = time.perf_counter()
    for order_id, commands in plans:
        for command, actor in commands:
            service.handle(order_id, command, actor)
    return orders * 6 / (time.perf_counter() - started)


def sample_documents() -> tuple[str, str, str]:
    """An order document, a history entry and an outbox entry of typical sizes."""
    store = InMemoryStore()
    service = OrderService(store, clock=ManualClock(START))
    service.place(PlaceOrder("sample", CUSTOMER.id, LINES, ADDRESS), CUSTOMER)
    for command, actor in lifecycle_commands("sample")[:4]:
        outcome = service.handle("sample", command, actor)
    order_doc = dump(outcome.order)
    order_doc.pop("history")
    entry = outcome.entry
    effect = dump(entry.effects[0])
    return (
        json.dumps(order_doc),
        json.dumps({"event": entry.event, "to": entry.to_state}),
        json.dumps(effect),
    )


class BareWrites:
    """The same writes as a save, with a DB-API connection and hand-written SQL.

    The rows go into a copy of the store's own tables (same columns, keys and indexes, made
    by ``SqlStore`` under the prefix ``bare_``), so the bare figure is what the database
    itself costs for a save; the ratio is what orderflow adds on top (loading, deciding,
    serializing, SQLAlchemy).
    """

    def __init__(self, connection: Any, paramstyle: str, orders: int, prefix: str) -> None:
        self.connection = connection
        self.prefix = prefix
        self.mark = "?" if paramstyle == "qmark" else "%s"
        self.orders = orders
        self.iso_times = paramstyle == "qmark"  # sqlite3 gets the text SQLAlchemy writes

    def _time(self, value: datetime) -> Any:
        naive = value.replace(tzinfo=None)
        return naive.isoformat(sep=" ") if self.iso_times else naive

    def run(self) -> float:
        """Commands per second for the bare writes (creating the rows is not timed)."""
        m = self.mark
        p = self.prefix
        order_doc, history_doc, outbox_doc = sample_documents()
        at = self._time(START)
        cursor = self.connection.cursor()
        for n in range(self.orders):
            cursor.execute(
                f"INSERT INTO {p}orders (id, customer_id, state, version, next_deadline, "
                "currency, amount_due, amount_paid, amount_refunded, created_at, updated_at, "
                f"document) VALUES ({', '.join([m] * 12)})",
                (f"bare-{n}", "c-bench", "pending_payment", 1, at, "CNY", "104.80", "0", "0",
                 at, at, order_doc),
            )  # fmt: skip
        self.connection.commit()
        started = time.perf_counter()
        for n in range(self.orders):
            order_id = f"bare-{n}"
            for version in range(1, 7):
                cursor.execute(
                    f"UPDATE {p}orders SET customer_id = {m}, state = {m}, version = {m}, "
                    f"next_deadline = {m}, currency = {m}, amount_due = {m}, amount_paid = {m}, "
                    f"amount_refunded = {m}, created_at = {m}, updated_at = {m}, document = {m} "
                    f"WHERE id = {m} AND version = {m}",
                    ("c-bench", "paid", version + 1, None, "CNY", "104.80", "104.80", "0", at,
                     at, order_doc, order_id, version),
                )  # fmt: skip
                if cursor.rowcount != 1:
                    raise RuntimeError("lost the version race in a single-writer benchmark")
                cursor.execute(
                    f"INSERT INTO {p}history (order_id, version, from_state, to_state, event, "
                    f"actor, at, document) VALUES ({', '.join([m] * 8)})",
                    (order_id, version + 1, "pending_payment", "paid", "pay", "system:bench", at,
                     history_doc),
                )  # fmt: skip
                cursor.execute(
                    f"INSERT INTO {p}outbox (id, order_id, version, seq, kind, status, "
                    "attempts, last_error, created_at, delivered_at, document, next_attempt_at) "
                    f"VALUES ({', '.join([m] * 12)})",
                    (f"{order_id}/{version + 1}/0", order_id, version + 1, 0, "notify_customer",
                     "pending", 0, "", at, None, outbox_doc, at),
                )  # fmt: skip
                self.connection.commit()
        return self.orders * 6 / (time.perf_counter() - started)

    def close(self) -> None:
        """Close the connection."""
        self.connection.close()


def bare_memory(orders: int) -> float:
    """The bare cost in memory: a version check, a dict update and two list appends."""
    rows = {f"bare-{n}": (1, "doc") for n in range(orders)}
    history: list[tuple[str, int]] = []
    outbox: list[str] = []
    started = time.perf_counter()
    for n in range(orders):
        key = f"bare-{n}"
        for version in range(1, 7):
            if rows[key][0] != version:
                raise RuntimeError("version mismatch")
            rows[key] = (version + 1, "doc")
            history.append((key, version + 1))
            outbox.append(f"{key}/{version + 1}/0")
    return orders * 6 / (time.perf_counter() - started)


@contextmanager
def sqlite_backend(folder: Path) -> Iterator[tuple[Callable[[], OrderStore], BareWrites]]:
    """A file SQLite store in WAL mode, and a bare sqlite3 connection set up the same way."""
    path = folder / "bench.sqlite3"
    SqlStore.sqlite(str(folder / "bare.sqlite3"), table_prefix=BARE).close()
    connection = sqlite3.connect(folder / "bare.sqlite3", isolation_level="DEFERRED")
    connection.execute("PRAGMA journal_mode = WAL")
    connection.execute("PRAGMA foreign_keys = ON")
    bare = BareWrites(connection, "qmark", 0, BARE)
    stores: list[SqlStore] = []

    def make() -> OrderStore:
        store = SqlStore.sqlite(str(path))
        stores.append(store)
        return store

    try:
        yield make, bare
    finally:
        for store in stores:
            store.close()
        bare.close()


def server_connection(name: str, url: str) -> Any:
    """A DB-API connection to the server behind a SQLAlchemy URL."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if name == "postgresql":
        import psycopg

        return psycopg.connect(
            host=parsed.host, port=parsed.port, user=parsed.username, dbname=parsed.database,
            password=parsed.password or None,
        )  # fmt: skip
    import pymysql

    return pymysql.connect(
        host=parsed.host or "127.0.0.1", port=parsed.port or 3306, user=parsed.username or "root",
        password=parsed.password or "", database=parsed.database,
    )  # fmt: skip


def server_url(name: str) -> str | None:
    """The URL to benchmark a server at, or ``None`` when it does not answer."""
    variable = {"postgresql": "ORDERFLOW_TEST_POSTGRES_URL", "mariadb": "ORDERFLOW_TEST_MYSQL_URL"}
    url = os.environ.get(variable[name]) or DEFAULT_URLS[name]
    try:
        server_connection(name, url).close()
    except Exception:
        return None
    return url


def measure(orders: int) -> dict[str, tuple[float, float]]:
    """Commands per second, (orderflow, bare), for every reachable backend."""
    results: dict[str, tuple[float, float]] = {
        "memory": (run_orderflow(InMemoryStore(), orders), bare_memory(orders))
    }
    with tempfile.TemporaryDirectory() as folder, sqlite_backend(Path(folder)) as (make, bare):
        bare.orders = orders
        results["sqlite (file, WAL)"] = (run_orderflow(make(), orders), bare.run())
    for name in ("postgresql", "mariadb"):
        url = server_url(name)
        if url is None:
            print(f"{name}: not reachable, skipped")
            continue
        store = SqlStore.from_url(url, table_prefix=f"of_bench_{RUN}_")
        try:
            ours = run_orderflow(store, orders)
        finally:
            store.drop_tables()
            store.close()
        tables = SqlStore.from_url(url, table_prefix=BARE)
        writes = BareWrites(server_connection(name, url), "format", orders, BARE)
        try:
            results[name] = (ours, writes.run())
        finally:
            writes.close()
            tables.drop_tables()
            tables.close()
    return results


def main(orders: int = 300) -> dict[str, tuple[float, float]]:
    """Measure and print the table."""
    results = measure(orders)
    print(f"{orders} orders x 6 commands, one process, one connection")
    header = f"{'backend':<22}{'orderflow cmd/s':>17}{'bare driver cmd/s':>19}{'ratio':>8}"
    print(header)
    print("-" * len(header))
    for name, (ours, bare) in results.items():
        print(f"{name:<22}{ours:>17,.0f}{bare:>19,.0f}{ours / bare:>8.2f}")
    print("target: orderflow at least 0.5x the bare driver on the SQL backends")
    return results


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 300)
