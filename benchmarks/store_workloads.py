"""The workloads of ``benchmarks/store.py``: orders, commands, and the bare driver's writes."""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from orderflow import (
    Actor,
    Address,
    ApproveReview,
    Command,
    ConfirmDelivery,
    ConfirmReceipt,
    Hold,
    Lifecycle,
    Money,
    Order,
    OrderLine,
    Pay,
    Permission,
    PlaceOrder,
    Release,
    Ship,
    StartFulfilment,
)
from orderflow.adapters.memory import InMemoryStore
from orderflow.ports import ManualClock, OrderStore
from orderflow.serialization import dump
from orderflow.service import OrderService

CUSTOMER = Actor.customer("c-bench")
STAFF = Actor.staff("agent-bench", *sorted(Permission.all()))
SYSTEM = Actor.system("bench")
ADDRESS = Address("Li Lei", "13800138000", "1 Wensan Road", "Hangzhou", "Zhejiang", "310000")
LINES = (OrderLine("SKU-1", 2, Money("49.90", "CNY")), OrderLine("SKU-2", 1, Money("5.00", "CNY")))
START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
LONG = 50
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


def place_orders(store: OrderStore, prefix: str, orders: int) -> list[str]:
    """Place ``orders`` orders through the service (not timed); their ids."""
    service = OrderService(store, clock=ManualClock(START))
    ids = [f"{prefix}-{n:05d}" for n in range(orders)]
    for order_id in ids:
        service.place(PlaceOrder(order_id, CUSTOMER.id, LINES, ADDRESS), CUSTOMER)
    return ids


Step = Callable[[], object]


def command_steps(store: OrderStore, ids: list[str]) -> list[Step]:
    """One step per command: the six lifecycle commands on each order, through the service."""
    service = OrderService(store, clock=ManualClock(START))
    return [
        functools.partial(service.handle, order_id, command, actor)
        for order_id in ids
        for command, actor in lifecycle_commands(order_id)
    ]


def rate(steps: Sequence[Step]) -> float:
    """Steps per second, run one after the other."""
    started = time.perf_counter()
    for step in steps:
        step()
    return len(steps) / (time.perf_counter() - started)


def interleaved(first: Sequence[Step], second: Sequence[Step]) -> tuple[float, float]:
    """Steps per second of each list, run in turn (one step of each, then the next), so that
    both see the same machine: a disk or a neighbour slowing down slows both."""
    spent = [0.0, 0.0]
    clock = time.perf_counter
    for one, other in zip(first, second, strict=True):
        started = clock()
        one()
        middle = clock()
        other()
        spent[0] += middle - started
        spent[1] += clock() - middle
    return len(first) / spent[0], len(second) / spent[1]


def long_orders(prefix: str, orders: int) -> list[Order]:
    """Paid orders of :data:`LONG` history entries (placed, paid, then held and released in
    turn), built in memory."""
    lifecycle = Lifecycle()
    built = []
    for n in range(orders):
        order_id = f"{prefix}-{n:05d}"
        at = START
        order = lifecycle.place(
            PlaceOrder(order_id, CUSTOMER.id, LINES, ADDRESS), CUSTOMER, at
        ).order
        order = lifecycle.handle(
            order, Pay(Money("104.80", "CNY"), f"pay-{order_id}"), SYSTEM, at
        ).order
        while order.version < LONG:
            at += timedelta(minutes=1)
            command: Command = Hold("address check") if order.version % 2 == 0 else Release()
            order = lifecycle.handle(order, command, STAFF, at).order
        built.append(order)
    return built


def long_steps(store: OrderStore, orders: list[Order]) -> list[Step]:
    """One step per command: a hold on each order in turn, then a release on each."""
    service = OrderService(store, clock=ManualClock(orders[0].updated_at + timedelta(hours=1)))
    return [
        functools.partial(service.handle, order.id, command, STAFF)
        for command in (Hold("address check"), Release())
        for order in orders
    ]


def sample_documents() -> tuple[str, str, str]:
    """An order document, a history entry and an outbox entry of typical sizes."""
    store = InMemoryStore()
    ids = place_orders(store, "sample", 1)
    service = OrderService(store, clock=ManualClock(START))
    for command, actor in lifecycle_commands(ids[0])[:4]:
        outcome = service.handle(ids[0], command, actor)
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
    by ``SqlStore`` under a prefix of the run's own), so the bare figure is what the database
    itself costs for a save; the ratio is what orderflow adds on top (loading, deciding,
    serializing, SQLAlchemy).

    Args:
        connection: a DB-API connection (sqlite3, psycopg, PyMySQL).
        backend: ``"sqlite"``, ``"postgresql"`` or ``"mariadb"``.
        prefix: the prefix of the copy of the store's tables.
        orders: how many orders to write.
        first: the number of the first order (workers write orders of their own).
    """

    def __init__(self, connection: Any, backend: str, prefix: str, orders: int, first: int = 0):
        self.connection = connection
        self.prefix = prefix
        self.mark = "?" if backend == "sqlite" else "%s"
        self.ids = [f"bare-{n}" for n in range(first, first + orders)]
        self.iso_times = backend == "sqlite"  # sqlite3 gets the text SQLAlchemy writes

    def _time(self, value: datetime) -> Any:
        naive = value.replace(tzinfo=None)
        return naive.isoformat(sep=" ") if self.iso_times else naive

    def prepare(self) -> list[Step]:
        """Insert the orders' rows (not timed); one step per command's writes."""
        m, p = self.mark, self.prefix
        order_doc, history_doc, outbox_doc = sample_documents()
        at = self._time(START)
        cursor = self.connection.cursor()
        for order_id in self.ids:
            cursor.execute(
                f"INSERT INTO {p}orders (id, customer_id, state, version, next_deadline, "
                "currency, amount_due, amount_paid, amount_refunded, created_at, updated_at, "
                f"document) VALUES ({', '.join([m] * 12)})",
                (order_id, "c-bench", "pending_payment", 1, at, "CNY", "104.80", "0", "0",
                 at, at, order_doc),
            )  # fmt: skip
        self.connection.commit()

        def write(order_id: str, version: int) -> None:
            cursor.execute(
                f"UPDATE {p}orders SET customer_id = {m}, state = {m}, version = {m}, "
                f"next_deadline = {m}, currency = {m}, amount_due = {m}, "
                f"amount_paid = {m}, amount_refunded = {m}, created_at = {m}, "
                f"updated_at = {m}, document = {m} WHERE id = {m} AND version = {m}",
                ("c-bench", "paid", version + 1, None, "CNY", "104.80", "104.80", "0",
                 at, at, order_doc, order_id, version),
            )  # fmt: skip
            if cursor.rowcount != 1:
                raise RuntimeError("lost the version race in a single-writer benchmark")
            cursor.execute(
                f"INSERT INTO {p}history (order_id, version, from_state, to_state, "
                f"event, actor, at, document) VALUES ({', '.join([m] * 8)})",
                (order_id, version + 1, "pending_payment", "paid", "pay", "system:bench",
                 at, history_doc),
            )  # fmt: skip
            cursor.execute(
                f"INSERT INTO {p}outbox (id, order_id, version, seq, kind, status, "
                "attempts, last_error, created_at, delivered_at, document, "
                f"next_attempt_at) VALUES ({', '.join([m] * 12)})",
                (f"{order_id}/{version + 1}/0", order_id, version + 1, 0,
                 "notify_customer", "pending", 0, "", at, None, outbox_doc, at),
            )  # fmt: skip
            self.connection.commit()

        return [
            functools.partial(write, order_id, version)
            for order_id in self.ids
            for version in range(1, 7)
        ]

    def run(self) -> float:
        """Commands per second for the bare writes (creating the rows is not timed)."""
        return rate(self.prepare())

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
