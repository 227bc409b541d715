"""Under faults and load: a process killed at random points, and workers racing on PostgreSQL.

Both tests print their figures (run with ``-s`` to see them).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from orderflow import OrderState, Pay, PlaceOrder, check_invariants
from orderflow.adapters.sql import SqlStore
from orderflow.effects import EFFECT_TYPES, Effect
from orderflow.order import Order
from orderflow.ports import ManualClock, OutboxStatus, SystemClock
from orderflow.relay import OutboxRelay
from orderflow.service import OrderService
from tests.workers import ADDRESS, CUSTOMER, LINES, SYSTEM

ROOT = Path(__file__).resolve().parent.parent


def _worker(*args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.workers", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE if args[0] == "crash" else subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _all_orders(store: SqlStore) -> list[Order]:
    return [o for state in OrderState for o in store.find_by_state(state, limit=100_000)]


def _check_outbox_matches_history(store: SqlStore, order: Order) -> None:
    written = [entry.id for entry in store.entries(order.id)]
    produced = [effect.id for entry in order.history for effect in entry.effects]
    assert written == produced, order.id


def test_a_process_killed_at_random_points_loses_nothing(tmp_path: Path) -> None:
    """NT-2/D-14: after repeated SIGKILLs during saves and relays, every committed change
    has its effects in the outbox, and every effect is delivered at least once."""
    db, log = str(tmp_path / "crash.sqlite3"), tmp_path / "delivered.log"
    SqlStore.sqlite(db).close()
    rng = random.Random(20261124)
    kills = 0
    for round_number in range(10):
        worker = _worker("crash", db, str(log), str(round_number))
        # The kill comes at a random point of the work, not of the interpreter's start (which
        # a busy machine can stretch past the whole window): the worker says when it works.
        assert worker.stdout is not None
        if worker.stdout.readline() != b"working\n":
            _, errors = worker.communicate()
            pytest.fail(f"worker died before working: {errors.decode()[-2000:]}")
        time.sleep(rng.uniform(0.4, 1.2))
        if worker.poll() is not None:
            _, errors = worker.communicate()
            pytest.fail(f"worker died by itself: {errors.decode()[-2000:]}")
        os.kill(worker.pid, signal.SIGKILL)
        worker.communicate()
        kills += 1
    store = SqlStore.sqlite(db)
    delivered_before = log.read_text().split() if log.exists() else []
    with log.open("a", encoding="utf-8") as out:

        def record(effect: Effect) -> None:
            out.write(effect.id + "\n")

        # Entries a killed worker had claimed are due again once their lease ends: the final
        # relay's clock is past every lease the workers (on their own clocks) took.
        after_leases = ManualClock(datetime(2027, 1, 1, tzinfo=UTC))
        relay = OutboxRelay(store, handlers=dict.fromkeys(EFFECT_TYPES, record), clock=after_leases)
        relay.drain(batch=500)
    orders = _all_orders(store)
    assert orders, "the workers placed no order"
    for order in orders:
        check_invariants(order)
        _check_outbox_matches_history(store, order)
        assert all(e.status is OutboxStatus.DELIVERED for e in store.entries(order.id))
    deliveries = Counter(log.read_text().split())
    effects = {e.id for order in orders for e in store.entries(order.id)}
    assert set(deliveries) == effects  # none lost, none invented
    changes = sum(order.version for order in orders)
    print(
        f"\ncrash test: {kills} kills, {len(orders)} orders, {changes} committed changes, "
        f"{len(effects)} effects, {len(delivered_before)} delivered before the final relay, "
        f"{sum(n - 1 for n in deliveries.values())} delivered twice (at-least-once)"
    )
    store.close()


POSTGRES_URL = os.environ.get("ORDERFLOW_TEST_POSTGRES_URL")


@pytest.mark.skipif(
    not POSTGRES_URL, reason="set ORDERFLOW_TEST_POSTGRES_URL to run the PostgreSQL contention test"
)
def test_four_processes_racing_on_fifty_orders_lose_no_update(tmp_path: Path) -> None:
    """D-9: 4 processes on 50 shared orders: gapless histories, each payment once, every
    outbox entry traced to history, refunds within payments, and no lost update."""
    assert POSTGRES_URL is not None
    prefix = f"of_race_{uuid.uuid4().hex[:8]}_"
    store = SqlStore.from_url(POSTGRES_URL, table_prefix=prefix)
    try:
        service = OrderService(store, clock=SystemClock())
        for n in range(50):
            placed = service.place(
                PlaceOrder(f"race-{n:02d}", CUSTOMER.id, LINES, ADDRESS), CUSTOMER
            )
            if n % 2:
                service.handle(placed.order.id, Pay(placed.order.amount_due, f"pay-{n}"), SYSTEM)
        setup = {o.id: o.version for o in _all_orders(store)}
        reports = [tmp_path / f"worker-{n}.json" for n in range(4)]
        workers = [
            _worker("contend", POSTGRES_URL, prefix, "6", str(n), str(report))
            for n, report in enumerate(reports)
        ]
        for worker in workers:
            _, errors = worker.communicate(timeout=120)
            assert worker.returncode == 0, errors.decode()[-3000:]
        results = [json.loads(report.read_text()) for report in reports]
        applied = [tuple(pair) for result in results for pair in result["applied"]]
        conflicts = sum(result["conflicts"] for result in results)
        lost = len(applied) - len(set(applied))
        orders = {o.id: o for o in _all_orders(store)}
        assert len(orders) == 50
        for order_id, order in orders.items():
            check_invariants(order)
            versions = sorted(v for oid, v in applied if oid == order_id)
            assert versions == list(range(setup[order_id] + 1, order.version + 1)), order_id
            references = [p.reference for p in order.ledger.payments if p.applied]
            assert len(references) == len(set(references)) <= 1
            _check_outbox_matches_history(store, order)
            ledger = order.ledger
            assert ledger.amount_refunded + ledger.amount_refund_pending <= ledger.amount_paid
        assert lost == 0
        assert applied, "no command was applied"
        print(
            f"\ncontention test: {len(applied)} commands applied, {conflicts} conflicts retried, "
            f"{sum(r['refused'] for r in results)} refused, {lost} lost updates"
        )
    finally:
        store.drop_tables()
        store.close()
