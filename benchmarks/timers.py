"""Benchmark: a timer sweep over many orders, few of them due, some that cannot be settled.

    python benchmarks/timers.py                      # 100,000 orders, 1,000 due, 100 stuck
    python benchmarks/timers.py 10000 200 20

For each backend (memory; SQLite file in WAL mode; PostgreSQL and MariaDB when
``ORDERFLOW_TEST_POSTGRES_URL`` / ``ORDERFLOW_TEST_MYSQL_URL`` are set, or at their local
defaults when those answer) it stores the orders (bulk-loaded, not timed): ``due`` unpaid
orders whose deadline has passed, ``stuck`` of them refused by their timer (a timer that
fires a command the lifecycle refuses), and the rest unpaid with a deadline still ahead, or
paid (no deadline). Then, timed:

* ``sweep``: one :class:`~orderflow.sweep.TimerSweep` run that closes every due order it can
  and sets the stuck ones aside;
* ``again``: a second run at the same instant (nothing left to do: the stuck orders are set
  aside, the rest are closed);
* ``load all``: the naive way, loading every order page by page and checking its deadlines.

It prints the times and the sweep's share of loading everything.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from orderflow import (
    Actor,
    Address,
    Command,
    ConfirmDelivery,
    Lifecycle,
    Money,
    Order,
    OrderLine,
    OrderState,
    Pay,
    PlaceOrder,
)
from orderflow.adapters.memory import InMemoryStore
from orderflow.adapters.sql import SqlStore
from orderflow.errors import StoreError
from orderflow.order import Deadline, DeadlineKind
from orderflow.ports import ManualClock, OrderStore
from orderflow.service import OrderService
from orderflow.sweep import SweepStatus, TimerSweep
from orderflow.timers import TIMERS, TimerCommand

CUSTOMER = Actor.customer("c-bench")
SYSTEM = Actor.system("bench")
ADDRESS = Address("Li Lei", "13800138000", "1 Wensan Road", "Hangzhou", "Zhejiang", "310000")
LINES = (OrderLine("SKU-1", 2, Money("49.90", "CNY")), OrderLine("SKU-2", 1, Money("5.00", "CNY")))
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
DEFAULT_URLS = {
    "postgresql": ("ORDERFLOW_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1/test"),
    "mariadb": ("ORDERFLOW_TEST_MYSQL_URL", "mysql+pymysql://root@127.0.0.1:3306/test"),
}


def build_orders(total: int, due: int, stuck: int) -> list[Order]:
    """The orders to store (their effects go to the outbox with them)."""
    lifecycle = Lifecycle()
    built: list[Order] = []
    for n in range(total):
        if n < due:
            order_id = f"stuck-{n:06d}" if n < stuck else f"due-{n:06d}"
            placed_at = NOW - timedelta(hours=2)
        else:
            order_id = f"later-{n:06d}"
            placed_at = NOW - timedelta(minutes=5)
        outcome = lifecycle.place(
            PlaceOrder(order_id, CUSTOMER.id, LINES, ADDRESS), CUSTOMER, placed_at
        )
        if n >= due and n % 2:
            outcome = lifecycle.handle(
                outcome.order, Pay(Money("104.80", "CNY"), f"p-{n}"), SYSTEM, placed_at
            )
        built.append(outcome.order)
    return built


def refusing_timers() -> dict[DeadlineKind, TimerCommand]:
    """The default timers, except that orders named ``stuck-*`` get a command refused."""
    close = TIMERS[DeadlineKind.AUTO_CLOSE_UNPAID]

    def timer(order: Order, deadline: Deadline) -> Command | None:
        if order.id.startswith("stuck-"):
            return ConfirmDelivery()
        return close(order, deadline)

    return {**TIMERS, DeadlineKind.AUTO_CLOSE_UNPAID: timer}


def load_memory(store: InMemoryStore, orders: list[Order]) -> None:
    """Put the orders in a memory store."""
    for order in orders:
        store.add(order)


def load_sql(store: SqlStore, orders: list[Order]) -> None:
    """Bulk-load the orders into a SQL store's tables, a thousand per transaction (not timed:
    adding them one transaction each would take minutes on a server)."""
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


def load_everything(store: OrderStore) -> int:
    """The naive sweep: load every order, page by page, and count the due ones."""
    due = 0
    for state in OrderState:
        after: str | None = None
        while page := store.find_by_state(state, limit=1000, after_id=after):
            due += sum(1 for order in page if any(d.is_due(NOW) for d in order.deadlines))
            after = page[-1].id
    return due


def measure(name: str, store: OrderStore, stuck: int) -> None:
    """Sweep, sweep again, and load everything; print the times."""
    service = OrderService(store, clock=ManualClock(NOW))
    sweep = TimerSweep(service, worker="bench", batch=100, timers=refusing_timers())
    started = time.perf_counter()
    report = sweep.run()
    swept = time.perf_counter() - started
    started = time.perf_counter()
    again = sweep.run()
    second = time.perf_counter() - started
    started = time.perf_counter()
    left = load_everything(store)
    naive = time.perf_counter() - started
    refused = report.count(SweepStatus.REFUSED)
    assert refused == stuck, (refused, stuck)
    assert again.results == ()
    assert left == stuck
    print(
        f"{name:<22} {report.applied:>8} {refused:>8} {report.batches:>8} "
        f"{swept * 1000:>9.1f} ms {second * 1000:>8.1f} ms {naive * 1000:>9.0f} ms "
        f"{swept / naive:>8.1%}"
    )


@contextmanager
def backends(folder: Path) -> Iterator[list[tuple[str, OrderStore]]]:
    """The stores to measure (those whose database answers), dropped and closed afterwards."""
    found: list[tuple[str, OrderStore]] = [
        ("memory", InMemoryStore()),
        ("sqlite (file, WAL)", SqlStore.sqlite(folder / "timers.sqlite3")),
    ]
    prefix = f"of_timers_{uuid.uuid4().hex[:8]}_"  # runs at the same time never collide
    for name, (variable, default) in DEFAULT_URLS.items():
        try:
            found.append(
                (name, SqlStore.from_url(os.environ.get(variable, default), table_prefix=prefix))
            )
        except StoreError:
            continue
    try:
        yield found
    finally:
        for _, store in found:
            if isinstance(store, SqlStore):
                if store.engine.dialect.name != "sqlite":
                    store.drop_tables()
                store.close()


def main(argv: list[str]) -> None:
    """Run the benchmark on every reachable backend."""
    total = int(argv[0]) if argv else 100_000
    due = int(argv[1]) if len(argv) > 1 else 1_000
    stuck = int(argv[2]) if len(argv) > 2 else 100
    orders = build_orders(total, due, stuck)
    print(f"{total} orders, {due} due, {stuck} of them refused by their timer")
    header = f"{'backend':<22} {'applied':>8} {'refused':>8} {'batches':>8} "
    print(header + f"{'sweep':>12} {'again':>11} {'load all':>12} {'share':>8}")
    with tempfile.TemporaryDirectory() as folder, backends(Path(folder)) as found:
        for name, store in found:
            if isinstance(store, InMemoryStore):
                load_memory(store, orders)
            else:
                assert isinstance(store, SqlStore)
                load_sql(store, orders)
            measure(name, store, stuck)


if __name__ == "__main__":
    main(sys.argv[1:])
