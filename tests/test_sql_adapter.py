"""SQL-specific behaviour of :class:`~orderflow.adapters.sql.SqlStore`.

The conformance kit pins what every store shares; these tests pin what only a SQL store can
get wrong: rows left behind by a failed transaction, decimals through NUMERIC columns, ids
under database collations, the schema version, driver errors, the cache of a store whose
database another store changed, and writers racing on real connections.

Each test runs on SQLite in memory and in a file, and on PostgreSQL and MariaDB/MySQL when
``ORDERFLOW_TEST_POSTGRES_URL`` / ``ORDERFLOW_TEST_MYSQL_URL`` are set. On a server each test
gets its own table prefix and drops its tables afterwards.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orderflow import (
    Actor,
    Address,
    ChangeAddress,
    Close,
    CloseReason,
    ConfirmRefund,
    FailRefund,
    HistoryEntry,
    Hold,
    InvalidConfiguration,
    InvalidInput,
    Money,
    Order,
    OrderLine,
    OrderState,
    Outcome,
    PlaceOrder,
)
from orderflow.adapters.sql import SCHEMA_VERSION, SqlStore, SqlTables
from orderflow.adapters.sql.codec import _OUTBOX_COLUMNS, _Rows
from orderflow.adapters.sql.schema import _POSITION, _TEXT, _TIMESTAMP, _key, _mysql_collation
from orderflow.effects import EFFECT_TYPES, Effect
from orderflow.errors import ConcurrencyConflict, OrderAlreadyExists, OrderNotFound, StoreError
from orderflow.ports import ManualClock, OutboxStatus, clean_error
from orderflow.relay import OutboxRelay
from orderflow.serialization import MAX_DOCUMENT_SIZE, converter, dump
from orderflow.serialization import SCHEMA_VERSION as DOCUMENT_VERSION
from orderflow.testing import strategies as ofs
from orderflow.testing.fakes import RecordingHandler
from tests.fixtures.version1 import as_stored_before_exceptions, rich_order
from tests.support import (
    ADDRESS,
    CUSTOMER,
    LIFECYCLE,
    STAFF,
    SYSTEM,
    T0,
    apply,
    awaiting_shipment,
    closed,
    completed,
    held,
    paid,
    place,
)

SERVERS = {
    "postgresql": ("ORDERFLOW_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1/test"),
    "mysql": ("ORDERFLOW_TEST_MYSQL_URL", "mysql+pymysql://root@127.0.0.1:3306/test"),
}
BACKENDS = ["sqlite-memory", "sqlite-file", "postgresql", "mysql"]
LATER = timedelta(minutes=1)


# -- the databases -------------------------------------------------------------------------


class Database:
    """One test database: opens stores on its tables, and cleans up after the test."""

    def __init__(self, backend: str, tmp_path: Path) -> None:
        self.backend = backend
        self.path = tmp_path / "orders.db"
        self.prefix = f"of_{uuid.uuid4().hex[:8]}_"
        self.url = ""
        if backend in SERVERS:
            variable, example = SERVERS[backend]
            self.url = os.environ.get(variable, "")
            if not self.url:
                pytest.skip(f"set {variable} to run the {backend} tests (e.g. {example})")
        self.stores: list[SqlStore] = []

    @property
    def is_server(self) -> bool:
        """Whether the database is a server (PostgreSQL, MySQL)."""
        return bool(self.url)

    def open(
        self,
        *,
        suffix: str = "",
        create: bool = True,
        cache_size: int = 1024,
        engine_options: Mapping[str, Any] | None = None,
        busy_timeout: float = 5.0,
        max_document_size: int = MAX_DOCUMENT_SIZE,
    ) -> SqlStore:
        """A store on this database (on the test's tables, unless ``suffix`` is given)."""
        prefix = self.prefix + suffix
        options: dict[str, Any] = {
            "table_prefix": prefix,
            "create": create,
            "cache_size": cache_size,
            "max_document_size": max_document_size,
        }
        if self.backend == "sqlite-memory" and self.stores:
            store = SqlStore(self.stores[0].engine, **options)
        elif self.backend == "sqlite-memory":
            store = SqlStore.sqlite(**options, engine_options=engine_options)
        elif self.backend == "sqlite-file":
            store = SqlStore.sqlite(
                self.path, busy_timeout=busy_timeout, engine_options=engine_options, **options
            )
        else:
            store = SqlStore.from_url(self.url, engine_options=engine_options, **options)
        self.stores.append(store)
        return store

    def close(self) -> None:
        """Drop the test's tables (on a server) and close every store."""
        if self.is_server:
            engine = sa.create_engine(self.url)
            try:
                tables = sa.MetaData()
                tables.reflect(engine, only=lambda name, _: name.startswith(self.prefix))
                tables.drop_all(engine)
            finally:
                engine.dispose()
        for store in self.stores:
            store.close()


@pytest.fixture
def store(db: Database) -> SqlStore:
    """A store on an empty database of each backend."""
    return db.open()


# -- helpers -------------------------------------------------------------------------------


def placed(order_id: str, lines: tuple[OrderLine, ...] | None = None, at: datetime = T0) -> Outcome:
    """The outcome of placing an order (with its effects)."""
    command = PlaceOrder(order_id, CUSTOMER.id, lines or place().lines, ADDRESS)
    return LIFECYCLE.place(command, CUSTOMER, at)


def snapshot(store: SqlStore) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the store's order, history and outbox tables, in key order."""
    tables = store.tables
    keys = {
        tables.orders: [tables.orders.c.id],
        tables.history: [tables.history.c.order_id, tables.history.c.version],
        tables.outbox: [tables.outbox.c.position],
    }
    with store.engine.connect() as connection:
        return {
            table.name: [tuple(row) for row in connection.execute(sa.select(table).order_by(*key))]
            for table, key in keys.items()
        }


class StatementCounter:
    """Counts the SQL statements an engine runs while it is active."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self.statements: list[str] = []

    def _record(self, *args: Any) -> None:
        self.statements.append(str(args[2]))

    def __enter__(self) -> StatementCounter:
        sa.event.listen(self.engine, "before_cursor_execute", self._record)
        return self

    def __exit__(self, *exc_info: object) -> None:
        sa.event.remove(self.engine, "before_cursor_execute", self._record)


def run_in_thread(target: Callable[[], None]) -> tuple[threading.Thread, list[BaseException]]:
    """Start ``target`` in a thread; the list collects what it raised."""
    raised: list[BaseException] = []

    def run() -> None:
        try:
            target()
        except BaseException as error:
            raised.append(error)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, raised


# -- round trips ---------------------------------------------------------------------------


def test_orders_in_every_state_round_trip_through_add_and_save(store: SqlStore) -> None:
    """An order added, then saved step by step into every state, loads back equal each time."""
    seen: set[OrderState] = set()
    for final in (completed(), closed(paid()), held(awaiting_shipment()), held(place())):
        outcome = placed(f"rt-{final.state.value}-{final.version}")
        store.add(outcome.order)
        current = outcome.order
        assert store.get(current.id) == current
        for entry in final.history[1:]:
            step = LIFECYCLE.handle(current, entry.command, entry.actor, entry.at)
            store.save(step.order, current.version)
            assert store.get(current.id) == step.order
            current = step.order
            seen.add(current.state)
        assert current.state is final.state
        assert [e.id for e in store.entries(current.id)] == [
            effect.id for entry in current.history for effect in entry.effects
        ]
    assert seen | {OrderState.PENDING_PAYMENT} == set(OrderState)


_numbers = itertools.count()


@settings(max_examples=12, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_generated_orders_of_every_state_and_currency_round_trip(
    store: SqlStore, data: st.DataObject
) -> None:
    """Orders built by the strategies, in any state and currency, load back equal."""
    state = data.draw(st.sampled_from(list(OrderState)), label="state")
    currency = data.draw(st.sampled_from(["CNY", "JPY", "KWD", "USD"]), label="currency")
    order_id = f"gen-{next(_numbers)}"
    order = data.draw(ofs.orders(state=state, currency=currency, order_id=order_id))
    store.add(order)
    assert store.get(order_id) == order
    assert order in store.find_by_state(state, limit=10_000)


def test_each_history_entry_is_its_own_document(store: SqlStore) -> None:
    """The orders row holds the order without history; each history row holds one entry."""
    order = completed()
    store.add(order)
    tables = store.tables
    with store.engine.connect() as connection:
        row = connection.execute(sa.select(tables.orders)).one()
        entries = connection.execute(
            sa.select(tables.history).order_by(tables.history.c.version)
        ).all()
    assert tables.orders.name == f"{store.table_prefix}orders"
    assert (row.state, row.version, row.currency) == ("completed", order.version, "CNY")
    assert row.updated_at == order.updated_at.astimezone(UTC).replace(tzinfo=None)
    # A completed order's next deadline is its no-reason return window closing (TM-6).
    assert order.next_deadline is not None
    assert row.next_deadline == order.next_deadline.due_at.astimezone(UTC).replace(tzinfo=None)
    assert "history" not in row.document
    assert [entry.version for entry in entries] == list(range(1, order.version + 1))
    for stored, entry in zip(entries, order.history, strict=True):
        assert stored.event == entry.event
        assert stored.actor == str(entry.actor)
        assert stored.to_state == entry.to_state.value
        document = json.loads(stored.document)
        assert document.pop("schema_version") == DOCUMENT_VERSION
        assert document == converter.unstructure(entry)
        assert converter.structure(document, HistoryEntry) == entry
    documents = [json.loads(e.document) for e in entries]
    assert [{k: v for k, v in d.items() if k != "schema_version"} for d in documents] == dump(
        order
    )["history"]


@pytest.mark.parametrize(
    ("currency", "unit_price", "quantity"),
    [
        ("KWD", "12.345", 3),
        ("KWD", "0.005", 7),
        ("JPY", "1200", 2),
        ("JPY", "999999999999999999", 1),
        ("CNY", "0.10", 3),
    ],
)
def test_decimal_amounts_are_exact_in_documents_and_columns(
    store: SqlStore, currency: str, unit_price: str, quantity: int
) -> None:
    """Amounts come back as the exact Decimal, and the NUMERIC projections hold them too."""
    lines = (OrderLine("SKU-X", quantity, Money(unit_price, currency)),)
    outcome = placed("dec-1", lines)
    order = apply(outcome.order, ChangeAddress(ADDRESS), STAFF).order
    store.add(outcome.order)
    store.save(order, 1)
    loaded = store.get("dec-1")
    assert loaded == order
    assert loaded.amount_due.amount == Decimal(unit_price) * quantity
    assert str(loaded.amount_due.amount) == str(order.amount_due.amount)
    if store.engine.dialect.name != "sqlite":  # SQLite keeps NUMERIC as floating point
        orders = store.tables.orders
        with store.engine.connect() as connection:
            due = connection.execute(sa.select(orders.c.amount_due)).scalar_one()
        assert due == order.amount_due.amount


def test_text_beyond_the_basic_plane_round_trips(store: SqlStore) -> None:
    """Four-byte characters (utf8mb4 on MySQL) survive in documents and key columns."""
    address = Address("李雷 🚚", "13800138000", "文三路 1 号 🏠", "杭州")
    command = PlaceOrder("订单-🚚", "客户-😀", place().lines, address)
    order = LIFECYCLE.place(command, STAFF, T0).order
    store.add(order)
    assert store.get("订单-🚚") == order
    assert store.find_by_state(OrderState.PENDING_PAYMENT) == [order]


# -- nothing written on failure ------------------------------------------------------------


def test_a_stale_save_is_refused_and_writes_nothing(store: SqlStore) -> None:
    """A save on an old version raises ConcurrencyConflict and leaves every row as it was."""
    outcome = placed("o-1")
    store.add(outcome.order)
    changed = apply(outcome.order, ChangeAddress(ADDRESS))
    store.save(changed.order, 1)
    before = snapshot(store)
    stale = apply(outcome.order, Hold("check the address"))
    with pytest.raises(ConcurrencyConflict) as conflict:
        store.save(stale.order, 1)
    assert (conflict.value.expected_version, conflict.value.actual_version) == (1, 2)
    assert snapshot(store) == before
    assert store.get("o-1") == changed.order


def test_a_duplicate_add_is_refused_and_writes_nothing(store: SqlStore) -> None:
    """Adding an id that exists raises OrderAlreadyExists; nothing of the second is written."""
    first = placed("o-1")
    store.add(first.order)
    before = snapshot(store)
    other = LIFECYCLE.place(
        PlaceOrder("o-1", "someone-else", place().lines, ADDRESS), STAFF, T0 + LATER
    )
    with pytest.raises(OrderAlreadyExists) as refused:
        store.add(other.order)
    assert refused.value.order_id == "o-1"
    assert isinstance(refused.value.__cause__, sa.exc.IntegrityError)
    assert snapshot(store) == before
    assert store.get("o-1") == first.order


def test_a_save_failing_midway_writes_nothing(store: SqlStore) -> None:
    """A save whose history rows collide with a stray row fails after its order update,
    and the update is rolled back: nothing is written.

    (An outbox id collision cannot be used: by the Outbox contract it is a no-op.)
    """
    outcome = placed("o-1")
    store.add(outcome.order)
    second = apply(outcome.order, ChangeAddress(ADDRESS))
    third = apply(second.order, Hold("check"))
    history = store.tables.history
    with store.engine.begin() as connection:  # a row left by something else
        connection.execute(
            history.insert(),
            {
                "order_id": "o-1",
                "version": 3,
                "from_state": "x",
                "to_state": "y",
                "event": "rogue",
                "actor": "nobody",
                "at": datetime(2026, 1, 1),
                "document": "{}",
            },
        )
    before = snapshot(store)
    with pytest.raises(StoreError) as failed:
        store.save(third.order, 1)
    assert isinstance(failed.value.__cause__, sa.exc.IntegrityError)
    assert "[parameters:" not in str(failed.value)  # documents stay out of messages
    assert snapshot(store) == before
    assert [entry.id for entry in store.entries("o-1")] == [e.id for e in outcome.effects]


def test_a_customers_page_is_read_from_its_index_without_sorting(db: Database) -> None:
    """PT-1: find_by_customer reads the (customer_id, created_at, id) index backwards, after
    the cursor: the plan names the index and sorts nothing, on every backend."""
    store = db.open()
    rows = [
        _Rows(
            LIFECYCLE.place(
                PlaceOrder(f"o-{n:04}", f"c-{n % 40}", place().lines, ADDRESS),
                Actor.customer(f"c-{n % 40}"),
                T0 + timedelta(minutes=n // 7),
            ).order,
            1,
        )
        for n in range(2000)
    ]
    with store._transaction("load") as connection:
        store._statements.insert_order.run_many(connection, [row.order for row in rows])
        store._statements.insert_history.run_many(
            connection, [h for row in rows for h in row.history]
        )
        if db.backend in ("postgresql", "mysql"):
            connection.exec_driver_sql(f"ANALYZE TABLE {store.tables.orders.name}"
                                       if db.backend == "mysql"
                                       else f"ANALYZE {store.tables.orders.name}")  # fmt: skip
    seen: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if "created_at DESC" in statement:
            seen.append((statement, parameters))

    sa.event.listen(store.engine, "before_cursor_execute", capture)
    try:
        first = store.find_by_customer("c-7", limit=5)
        page = store.find_by_customer("c-7", limit=5, before=(first[-1].created_at, first[-1].id))
    finally:
        sa.event.remove(store.engine, "before_cursor_execute", capture)
    assert [o.created_at for o in first + page] == sorted(
        (o.created_at for o in first + page), reverse=True
    )
    statement, parameters = seen[-1]
    explain = {"sqlite": "EXPLAIN QUERY PLAN ", "postgresql": "EXPLAIN "}.get(
        store.engine.dialect.name, "EXPLAIN "
    )
    with store.engine.connect() as connection:
        plan = [
            " ".join(str(value) for value in row)
            for row in connection.exec_driver_sql(explain + statement, parameters)
        ]
    text = "\n".join(plan)
    assert f"{store.table_prefix}orders_by_customer" in text, text
    for sorting in ("TEMP B-TREE", "filesort", "Sort "):  # SQLite, MySQL, PostgreSQL
        assert sorting not in text, text


def test_an_existing_outbox_entry_is_kept_as_it_is(store: SqlStore) -> None:
    """Writing an entry whose id exists is a no-op: the stored entry keeps its status (here
    an entry of the version a save adds, left delivered in the outbox by something else)."""
    outcome = placed("o-1")
    store.add(outcome.order)
    closing = apply(outcome.order, Close(CloseReason.OUT_OF_STOCK))
    assert len(closing.effects) > 1
    left = dict(zip(_OUTBOX_COLUMNS, _Rows(closing.order, 2).outbox[0], strict=True))
    left.update(status=OutboxStatus.DELIVERED.value, delivered_at=datetime(2026, 1, 1))
    with store.engine.begin() as connection:
        connection.execute(store.tables.outbox.insert(), left)
    store.save(closing.order, 1)
    entries = store.entries("o-1")
    assert [entry.id for entry in entries] == [
        effect.id for effect in (*outcome.effects, *closing.effects)
    ]
    statuses = [entry.status for entry in entries]
    assert statuses.count(OutboxStatus.DELIVERED) == 1
    assert entries[len(outcome.effects)].status is OutboxStatus.DELIVERED


def test_saves_are_refused_like_the_reference_store(store: SqlStore) -> None:
    """Unknown ids, versions not above the expected one and non-orders are refused."""
    order = place("o-1")
    with pytest.raises(OrderNotFound):
        store.save(apply(order, ChangeAddress(ADDRESS)).order, 1)
    store.add(order)
    with pytest.raises(InvalidInput, match="above 1"):
        store.save(order, 1)
    with pytest.raises(ConcurrencyConflict):
        store.save(order, 0)
    with pytest.raises(InvalidInput):
        store.add("not an order")  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="100"):
        store.add(place("x" * 101))
    with pytest.raises(OrderNotFound):
        store.get("missing")
    assert [row[0] for row in snapshot(store)[store.tables.orders.name]] == ["o-1"]


# -- queries -------------------------------------------------------------------------------


def test_find_by_state_pages_in_python_string_order(store: SqlStore) -> None:
    """Ids compare and sort like Python strings (case, accents, trailing spaces, emoji)."""
    ids = ["o-10", "o-9", "O-1", "o-1", "o-1 ", "ö-1", "o-1\t", "🚚-1", "a"]
    for order_id in ids:
        store.add(place(order_id))
    store.add(closed(place("o-closed")))
    pages: list[list[str]] = []
    after: str | None = None
    while page := [o.id for o in store.find_by_state(OrderState.PENDING_PAYMENT, limit=2,
                                                     after_id=after)]:  # fmt: skip
        pages.append(page)
        after = page[-1]
    assert [order_id for page in pages for order_id in page] == sorted(ids)
    assert all(len(page) == 2 for page in pages[:-1])
    assert [o.id for o in store.find_by_state(OrderState.CLOSED)] == ["o-closed"]
    assert store.find_by_state(OrderState.PAID) == []


def test_find_due_includes_a_deadline_at_exactly_before(store: SqlStore) -> None:
    """find_due(before) returns deadlines at or before it, earliest first, in any offset."""
    orders = []
    for minutes, order_id in ((0, "b-at"), (0, "a-at"), (-7, "early"), (5, "later")):
        outcome = placed(order_id, at=T0 + timedelta(minutes=minutes, microseconds=1))
        store.add(outcome.order)
        orders.append(outcome.order)
    store.add(paid())  # its review is due an hour after payment (TM-2)
    deadline = orders[0].next_deadline
    assert deadline is not None
    at = deadline.due_at
    assert [o.id for o in store.find_due(at)] == ["early", "a-at", "b-at"]
    assert [o.id for o in store.find_due(at - timedelta(microseconds=1))] == ["early"]
    in_shanghai = at.astimezone(timezone(timedelta(hours=8)))
    assert [o.id for o in store.find_due(in_shanghai, limit=2)] == ["early", "a-at"]
    assert len(store.find_due(at + timedelta(days=1))) == 5
    with pytest.raises(InvalidInput):
        store.find_due(at.replace(tzinfo=None))


def test_find_due_reads_history_with_one_query(db: Database) -> None:
    """A batch of orders loads with one query for the orders and one for all their history;
    a cached order costs one query."""
    store = db.open(cache_size=0)
    for number in range(5):
        store.add(place(f"o-{number}"))
    with StatementCounter(store.engine) as counter:
        assert len(store.find_due(T0 + timedelta(days=1))) == 5
    selects = [s for s in counter.statements if "SELECT" in s]
    assert len(selects) == 2
    assert store.tables.history.name in selects[1]
    cached = db.open(cache_size=10)
    cached.get("o-1")
    with StatementCounter(cached.engine) as counter:
        assert cached.get("o-1") is cached.get("o-1")
    assert len([s for s in counter.statements if "SELECT" in s]) == 2


# -- the outbox ----------------------------------------------------------------------------


def test_pending_and_claims_follow_due_time_then_age_then_written_order(
    store: SqlStore,
) -> None:
    """pending() and claim() order by next attempt, then created_at, then the order entries
    were written in (not by id); a claim returns its batch oldest first."""
    for outcome in (placed("a-later", at=T0 + LATER), placed("z-first"), placed("b-second")):
        store.add(outcome.order)
    ids = [entry.id for entry in store.pending()]
    assert ids == [
        "z-first/1/0", "z-first/1/1", "b-second/1/0", "b-second/1/1", "a-later/1/0",
        "a-later/1/1",
    ]  # fmt: skip
    store.mark_failed("z-first/1/0", "channel down", T0, retry_at=T0 + 2 * LATER)
    store.mark_failed("b-second/1/1", "channel down", T0, retry_at=T0 + LATER)
    store.mark_delivered("b-second/1/0", T0)
    assert [entry.id for entry in store.pending()] == [
        "z-first/1/1", "b-second/1/1", "a-later/1/0", "a-later/1/1", "z-first/1/0",
    ]  # fmt: skip
    assert [entry.id for entry in store.pending(limit=1)] == ["z-first/1/1"]
    assert store.pending(limit=0) == []
    claimed = store.claim("relay", T0 + LATER, limit=4, lease=LATER)
    assert [entry.id for entry in claimed] == [
        "z-first/1/1", "b-second/1/1", "a-later/1/0", "a-later/1/1",
    ]  # fmt: skip


def test_an_unreadable_entry_is_parked_dead_and_blocks_nothing(store: SqlStore) -> None:
    """NT-2: a row whose document cannot be read is listed with the reason (never raised),
    parked dead by the next claim, and the other entries are claimed and delivered."""
    for outcome in (placed("o-1"), placed("o-2", at=T0 + LATER)):
        store.add(outcome.order)
    outbox = store.tables.outbox
    with store.engine.begin() as connection:
        connection.execute(
            sa.update(outbox).where(outbox.c.id == "o-1/1/0").values(document="{not json")
        )
        connection.execute(
            sa.update(outbox)
            .where(outbox.c.id == "o-1/1/1")
            .values(document=json.dumps({"schema_version": 1, "document": "effect"}))
        )
    listed = store.pending()
    assert [entry.id for entry in listed][:2] == ["o-1/1/0", "o-1/1/1"]
    assert listed[0].last_error.startswith("unreadable: orderflow cannot read the stored")
    assert type(listed[0].effect) is Effect
    assert listed[0].effect.id == "o-1/1/0"
    handler = RecordingHandler()
    relay = OutboxRelay(
        store, handlers=dict.fromkeys(EFFECT_TYPES, handler), clock=ManualClock(T0 + LATER)
    )
    report = relay.drain()
    assert report.delivered == 2
    assert [effect.id for effect in handler.handled] == ["o-2/1/0", "o-2/1/1"]
    dead = store.dead()
    assert [entry.id for entry in dead] == ["o-1/1/0", "o-1/1/1"]
    assert all(entry.last_error.startswith("unreadable: ") for entry in dead)
    assert {entry.status for entry in store.entries("o-1")} == {OutboxStatus.DEAD}
    assert store.pending() == []


def test_claims_without_returning_read_the_claim_back(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite libraries before 3.35 (no UPDATE ... RETURNING): the claim is read back in the
    same transaction, with the same result."""
    if not db.backend.startswith("sqlite"):
        pytest.skip("only the SQLite claim uses RETURNING")
    store = db.open()
    for outcome in (placed("o-1"), placed("o-2", at=T0 + LATER)):
        store.add(outcome.order)
    monkeypatch.setattr(store.engine.dialect, "update_returning", False)
    with StatementCounter(store.engine) as counter:
        claimed = store.claim("relay", T0 + LATER, limit=3, lease=LATER)
    assert [entry.id for entry in claimed] == ["o-1/1/0", "o-1/1/1", "o-2/1/0"]
    assert {(entry.claimed_by, entry.claimed_until) for entry in claimed} == {
        ("relay", T0 + 2 * LATER)
    }
    assert not any("RETURNING" in statement for statement in counter.statements)
    assert store.claim("other", T0 + LATER, lease=LATER)[0].id == "o-2/1/1"


def test_claims_and_records_run_again_after_losing_a_deadlock(store: SqlStore) -> None:
    """A claim or a delivery record the database gives up as a deadlock's loser is run
    again (three tries in all), so a relay does not stop on a collision with another."""
    outcome = placed("o-1")
    store.add(outcome.order)
    outbox = store.tables.outbox.name
    failures = {"left": 0}
    driver_error = store.engine.dialect.loaded_dbapi.OperationalError

    def collide(*args: Any) -> None:
        statement = str(args[2])
        if failures["left"] and outbox in statement and not statement.startswith("SET"):
            failures["left"] -= 1
            raise driver_error(1213, "Deadlock found when trying to get lock")

    sa.event.listen(store.engine, "before_cursor_execute", collide)
    try:
        failures["left"] = 2
        assert len(store.claim("relay", T0, lease=LATER)) == 2
        failures["left"] = 2
        store.mark_delivered("o-1/1/0", T0)
        assert failures["left"] == 0
        failures["left"] = 3
        with pytest.raises(StoreError, match="Deadlock"):
            store.mark_delivered("o-1/1/1", T0)
    finally:
        sa.event.remove(store.engine, "before_cursor_execute", collide)
    assert [e.status for e in store.entries("o-1")] == [
        OutboxStatus.DELIVERED,
        OutboxStatus.PENDING,
    ]


def test_hostile_error_texts_are_stored_cleaned(store: SqlStore) -> None:
    """mark_failed keeps NUL characters (refused by PostgreSQL) and lone surrogates (refused
    by every driver) out of the row, and the column holds what the entry says."""
    outcome = placed("o-1")
    store.add(outcome.order)
    store.mark_failed("o-1/1/0", "a\x00b\ud800c" * 200_000, T0, retry_at=None)
    outbox = store.tables.outbox
    with store.engine.connect() as connection:
        stored = connection.execute(
            sa.select(outbox.c.last_error).where(outbox.c.id == "o-1/1/0")
        ).scalar_one()
    assert stored == store.dead()[0].last_error == clean_error("a\x00b\ud800c" * 200_000)
    assert stored.startswith("ab\\ud800cab")


# -- opening, schema and errors ------------------------------------------------------------


def test_tables_of_another_schema_version_are_refused(db: Database) -> None:
    """Opening tables whose meta row holds another schema_version raises StoreError."""
    store = db.open()
    meta = store.tables.meta
    with store.engine.begin() as connection:
        assert connection.execute(sa.select(meta.c.value)).scalar_one() == str(SCHEMA_VERSION)
        connection.execute(sa.update(meta).values(value=str(SCHEMA_VERSION + 1)))
    with pytest.raises(StoreError, match=f"schema version {SCHEMA_VERSION + 1}"):
        db.open()
    with pytest.raises(StoreError, match="create=True"):
        db.open(suffix="none_", create=False)


def version_1_tables(prefix: str, connection: sa.Connection) -> SqlTables:
    """The four tables as schema version 1 defined them (before outbox claims)."""
    metadata = sa.MetaData()
    options: dict[str, Any] = {}
    for dialect in ("mysql", "mariadb"):
        options[f"{dialect}_engine"] = "InnoDB"
        options[f"{dialect}_charset"] = "utf8mb4"
        options[f"{dialect}_collate"] = _mysql_collation(connection.dialect)
    meta = sa.Table(
        f"{prefix}meta",
        metadata,
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.String(200), nullable=False),
        **options,
    )
    orders = sa.Table(
        f"{prefix}orders",
        metadata,
        sa.Column("id", _key(100), primary_key=True),
        sa.Column("customer_id", _key(100), nullable=False),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("next_deadline", _TIMESTAMP, nullable=True),
        sa.Column("currency", sa.CHAR(3), nullable=False),
        sa.Column("amount_due", sa.Numeric(26, 8), nullable=False),
        sa.Column("amount_paid", sa.Numeric(26, 8), nullable=False),
        sa.Column("amount_refunded", sa.Numeric(26, 8), nullable=False),
        sa.Column("created_at", _TIMESTAMP, nullable=False),
        sa.Column("updated_at", _TIMESTAMP, nullable=False),
        sa.Column("document", _TEXT, nullable=False),
        sa.Index(f"{prefix}orders_customer", "customer_id"),
        sa.Index(f"{prefix}orders_state", "state", "id"),
        sa.Index(f"{prefix}orders_due", "next_deadline", "id"),
        **options,
    )
    history = sa.Table(
        f"{prefix}history",
        metadata,
        sa.Column("order_id", _key(100), sa.ForeignKey(orders.c.id), primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("from_state", sa.String(32), nullable=True),
        sa.Column("to_state", sa.String(32), nullable=False),
        sa.Column("event", sa.String(64), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("at", _TIMESTAMP, nullable=False),
        sa.Column("document", _TEXT, nullable=False),
        **options,
    )
    outbox = sa.Table(
        f"{prefix}outbox",
        metadata,
        sa.Column("position", _POSITION, primary_key=True, autoincrement=True),
        sa.Column("id", _key(200), nullable=False),
        sa.Column("order_id", _key(100), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("last_error", _TEXT, nullable=False),
        sa.Column("created_at", _TIMESTAMP, nullable=False),
        sa.Column("delivered_at", _TIMESTAMP, nullable=True),
        sa.Column("document", _TEXT, nullable=False),
        sa.UniqueConstraint("id", name=f"{prefix}outbox_id"),
        sa.Index(f"{prefix}outbox_order", "order_id"),
        sa.Index(f"{prefix}outbox_pending", "status", "attempts", "created_at", "position"),
        **options,
    )
    metadata.create_all(connection)
    return SqlTables(metadata, orders, history, outbox, meta)


def copy_to_version_1(source: SqlStore, prefix: str) -> None:
    """Version 1 tables under ``prefix`` holding the rows of ``source``'s tables."""
    with source.engine.begin() as connection:
        old = version_1_tables(prefix, connection)
        connection.execute(old.meta.insert(), {"key": "schema_version", "value": "1"})
        for new, target in (
            (source.tables.orders, old.orders),
            (source.tables.history, old.history),
            (source.tables.outbox, old.outbox),
        ):
            columns = [column.name for column in target.c if column.name != "position"]
            rows = connection.execute(
                sa.select(*(new.c[name] for name in columns)).order_by(*new.primary_key)
            ).all()
            if rows:
                connection.execute(
                    target.insert(), [dict(zip(columns, row, strict=True)) for row in rows]
                )


def _filled_source(db: Database) -> tuple[SqlStore, list[str]]:
    """A current store with orders whose outbox holds pending and delivered entries."""
    source = db.open(suffix="src_")
    for final in (closed(paid()), awaiting_shipment()):
        order_id = f"up-{final.state.value}"
        outcome = placed(order_id)
        source.add(outcome.order)
        current = outcome.order
        for entry in final.history[1:]:
            step = LIFECYCLE.handle(current, entry.command, entry.actor, entry.at)
            source.save(step.order, current.version)
            current = step.order
    source.mark_delivered("up-closed/1/0", T0 + LATER)
    return source, ["up-closed", "up-awaiting_shipment"]


def test_version_1_tables_are_upgraded_in_place(db: Database) -> None:
    """Opening tables of schema version 1 with create=True upgrades them in place: the
    outbox gains its due time (its creation time) and claim columns and the new index, the
    rows load as before, and relays can claim them; create=False refuses to open them."""
    source, order_ids = _filled_source(db)
    copy_to_version_1(source, db.prefix + "v1_")
    with pytest.raises(StoreError, match=r"version 1.*create=True to upgrade"):
        db.open(suffix="v1_", create=False)
    upgraded = db.open(suffix="v1_")
    for order_id in order_ids:
        assert upgraded.get(order_id) == source.get(order_id)
        assert upgraded.entries(order_id) == source.entries(order_id)
    outbox = upgraded.tables.outbox
    inspector = sa.inspect(upgraded.engine)
    columns = {c["name"]: c for c in inspector.get_columns(outbox.name)}
    assert columns["next_attempt_at"]["nullable"] is False
    assert columns["claimed_by"]["nullable"] is True
    assert columns["claimed_until"]["nullable"] is True
    indexes = {index["name"] for index in inspector.get_indexes(outbox.name)}
    assert f"{db.prefix}v1_outbox_due" in indexes
    assert f"{db.prefix}v1_outbox_pending" not in indexes
    by_customer = {
        index["name"]: index["column_names"]
        for index in inspector.get_indexes(upgraded.tables.orders.name)
    }
    assert by_customer[f"{db.prefix}v1_orders_by_customer"] == ["customer_id", "created_at", "id"]
    assert f"{db.prefix}v1_orders_customer" not in by_customer
    assert [o.id for o in upgraded.find_by_customer(CUSTOMER.id)] == sorted(order_ids, reverse=True)
    with upgraded.engine.connect() as connection:
        version = connection.execute(sa.select(upgraded.tables.meta.c.value)).scalar_one()
    assert version == str(SCHEMA_VERSION)
    assert db.open(suffix="v1_", create=False).get(order_ids[0]) == source.get(order_ids[0])
    pending = [e.id for e in source.pending()]
    claimed = upgraded.claim("relay", T0 + timedelta(days=1), limit=100, lease=LATER)
    assert sorted(e.id for e in claimed) == sorted(pending)
    fresh = placed("up-new")
    upgraded.add(fresh.order)
    assert [e.next_attempt_at for e in upgraded.entries("up-new")] == [fresh.order.updated_at] * 2


def test_stores_opening_version_1_tables_at_once_upgrade_them_once(db: Database) -> None:
    """Several stores opening the same version 1 tables at the same moment: one upgrades,
    the others wait for it and find the tables current."""
    source, order_ids = _filled_source(db)
    copy_to_version_1(source, db.prefix + "v1_")
    opened: list[SqlStore] = []
    barrier = threading.Barrier(3)

    def open_store() -> None:
        barrier.wait(timeout=30)
        opened.append(db.open(suffix="v1_"))

    threads = [run_in_thread(open_store) for _ in range(3)]
    for thread, _ in threads:
        thread.join(timeout=120)
    assert [error for _, raised in threads for error in raised] == []
    assert len(opened) == 3
    for store in opened:
        assert store.entries(order_ids[0]) == source.entries(order_ids[0])


def test_an_existing_schema_opens_without_create(db: Database) -> None:
    """A store opened with create=False works on tables another store created."""
    first = db.open()
    first.add(place("o-1"))
    second = db.open(create=False)
    assert second.get("o-1") == place("o-1")
    assert db.open().get("o-1") == place("o-1")  # create=True on existing tables is harmless


def test_driver_errors_become_store_errors(db: Database) -> None:
    """A dropped table and a closed store raise StoreError, the driver's error chained."""
    store = db.open()
    store.add(place("o-1"))
    with store.engine.begin() as connection:
        connection.execute(sa.text(f"DROP TABLE {store.tables.outbox.name}"))
    with pytest.raises(StoreError) as failed:
        store.pending()
    assert isinstance(failed.value.__cause__, sa.exc.SQLAlchemyError)
    outcome = placed("o-2")
    with pytest.raises(StoreError):
        store.add(outcome.order)
    with pytest.raises(OrderNotFound):
        store.get("o-2")  # the add failed at its last insert and wrote nothing
    changed = apply(place("o-1"), Close(CloseReason.OUT_OF_STOCK))
    assert changed.effects
    with pytest.raises(StoreError):
        store.save(changed.order, 1)
    assert store.get("o-1") == place("o-1")  # so did the save
    other = db.open(suffix="closed_")
    other.close()
    with pytest.raises(StoreError, match="closed"):
        other.get("o-1")


def test_an_unreachable_database_is_a_store_error(db: Database, tmp_path: Path) -> None:
    """Opening a store on a database that cannot be reached raises StoreError."""
    if db.is_server:
        url = sa.make_url(db.url).set(port=1, host="127.0.0.1")
        with pytest.raises(StoreError) as failed:
            SqlStore.from_url(url)
    else:
        with pytest.raises(StoreError) as failed:
            SqlStore.sqlite(tmp_path / "missing" / "dir" / "orders.db")
    assert isinstance(failed.value.__cause__, sa.exc.OperationalError)


def test_a_transaction_the_database_gives_up_on(db: Database) -> None:
    """Lock conflicts: PostgreSQL 40001 and MySQL 1205 become ConcurrencyConflict; a locked
    SQLite file is a StoreError. Nothing is written."""
    if db.backend == "sqlite-memory":
        pytest.skip("an in-memory database has one connection: nothing can hold a lock on it")
    options: dict[str, Any] = {}
    if db.backend == "postgresql":
        options = {"isolation_level": "SERIALIZABLE"}
    elif db.backend == "mysql":
        options = {"connect_args": {"init_command": "SET SESSION innodb_lock_wait_timeout = 1"}}
    store = db.open(engine_options=options, busy_timeout=0.2)
    order = place("o-1")
    store.add(order)
    entries = store.entries("o-1")
    change = apply(order, ChangeAddress(ADDRESS))
    orders = store.tables.orders
    if db.backend == "sqlite-file":
        writer = sqlite3.connect(db.path, isolation_level=None)
        try:
            writer.execute("BEGIN IMMEDIATE")
            with pytest.raises(StoreError, match="locked"):
                store.save(change.order, 1)
            writer.execute("ROLLBACK")
        finally:
            writer.close()
    elif db.backend == "mysql":
        with store.engine.connect() as blocker, blocker.begin():
            blocker.execute(sa.select(orders.c.id).with_for_update())
            with pytest.raises(ConcurrencyConflict) as conflict:
                store.save(change.order, 1)
            assert conflict.value.actual_version is None
    else:
        with store.engine.connect() as blocker, store.engine.connect() as watcher:
            with blocker.begin():
                blocker.execute(sa.update(orders).values(version=orders.c.version))
                thread, raised = run_in_thread(lambda: store.save(change.order, 1))
                waiting = sa.text("SELECT count(*) FROM pg_locks WHERE NOT granted")
                deadline = time.monotonic() + 10
                while not watcher.execute(waiting).scalar_one() and time.monotonic() < deadline:
                    watcher.rollback()
                    time.sleep(0.01)
            thread.join()
            assert [type(error) for error in raised] == [ConcurrencyConflict]
    assert store.get("o-1") == order
    assert store.entries("o-1") == entries


def test_configuration_mistakes_are_refused() -> None:
    """A malformed prefix or cache size, or an in-memory SQLite engine threads would not
    share, is refused at once."""
    with pytest.raises(InvalidConfiguration):
        SqlStore.sqlite(table_prefix="Orders; DROP")
    with pytest.raises(InvalidConfiguration):
        SqlStore.sqlite(cache_size=-1)
    engine = sa.create_engine("sqlite://")
    try:
        with pytest.raises(InvalidConfiguration, match="StaticPool"):
            SqlStore(engine)
    finally:
        engine.dispose()
    with SqlStore.from_url("sqlite://", table_prefix="") as store:
        store.add(place())
        assert store.get("o-1") == place()
        assert store.tables.orders.name == "orders"


# -- the cache and concurrency -------------------------------------------------------------


def test_the_cache_serves_fresh_data_after_another_store_saved(db: Database) -> None:
    """A store's cache never hides a newer version, or an order replaced behind its back."""
    reader = db.open()
    writer = db.open()
    order = place("o-1")
    reader.add(order)
    assert reader.get("o-1") is reader.get("o-1")
    changed = apply(order, Hold("check"))
    writer.save(changed.order, 1)
    assert reader.get("o-1") == changed.order
    assert reader.find_by_state(OrderState.ON_HOLD) == [changed.order]
    writer.drop_tables()
    replacement = place("o-1", address=Address("Han Meimei", "139", "2 Road", "Hz"))
    db.open().add(replacement)
    assert reader.get("o-1") == replacement


def test_a_read_racing_a_save_loads_one_whole_version(db: Database) -> None:
    """An order read while another store saves it between the read's two queries loads as
    the version its row had, never with the newer history entries mixed in."""
    if db.backend == "sqlite-memory":
        pytest.skip("an in-memory database has one connection: reads and saves take turns")
    reader = db.open(cache_size=0)
    writer = db.open()
    order = place("o-1")
    reader.add(order)
    change = apply(order, Hold("check"))
    orders = reader.tables.orders.name
    saved: list[bool] = []

    def save_between(*args: Any) -> None:
        statement = str(args[2])
        if not saved and statement.startswith("SELECT") and f"FROM {orders}" in statement:
            saved.append(True)
            writer.save(change.order, 1)

    sa.event.listen(reader.engine, "after_cursor_execute", save_between)
    try:
        assert reader.get("o-1") == order
    finally:
        sa.event.remove(reader.engine, "after_cursor_execute", save_between)
    assert saved == [True]
    assert reader.get("o-1") == change.order


def test_racing_savers_have_exactly_one_winner_and_gapless_history(db: Database) -> None:
    """Eight threads save on the same version: one wins, seven get ConcurrencyConflict,
    and the stored history has no gap."""
    store = db.open()
    order = awaiting_shipment()
    store.add(order)
    assert order.version == 3
    threads = 8
    barrier = threading.Barrier(threads)
    won: list[Outcome] = []
    lost: list[ConcurrencyConflict] = []
    errors: list[BaseException] = []

    def save(number: int) -> None:
        try:
            loaded = store.get(order.id)
            outcome = apply(loaded, Hold(f"thread {number}"))
            barrier.wait(timeout=10)
            store.save(outcome.order, loaded.version)
            won.append(outcome)
        except ConcurrencyConflict as conflict:
            lost.append(conflict)
        except BaseException as error:
            errors.append(error)

    workers = [threading.Thread(target=save, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert errors == []
    assert len(won) == 1
    assert len(lost) == threads - 1
    assert {(c.expected_version, c.actual_version) for c in lost} == {(3, 4)}
    assert store.get(order.id) == won[0].order
    history = store.tables.history
    with store.engine.connect() as connection:
        versions = connection.execute(
            sa.select(history.c.version).order_by(history.c.version)
        ).scalars()
        assert list(versions) == [1, 2, 3, 4]
    every = [effect for entry in won[0].order.history for effect in entry.effects]
    assert [e.effect for e in store.entries(order.id)] == every


def test_a_connection_returns_to_the_pool_without_a_wasted_rollback(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On MySQL, a save sends no ROLLBACK after its COMMIT, but a connection returned with a
    transaction open is still rolled back: the next read sees what others committed."""
    if db.backend != "mysql":
        pytest.skip("only the MySQL engines SqlStore makes skip the pool's reset")
    store = db.open()
    order = place("o-1")
    store.add(order)
    change = apply(order, Hold("check"))
    sent: list[str] = []
    with store.engine.connect() as connection:
        driver_connection: type[Any] = type(connection.connection.dbapi_connection)
    rollback = driver_connection.rollback

    def recording_rollback(self: Any) -> None:
        sent.append("ROLLBACK")
        rollback(self)

    monkeypatch.setattr(driver_connection, "rollback", recording_rollback)
    store.save(change.order, 1)
    assert sent == []
    orders = store.tables.orders
    raw = store.engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute(f"SELECT count(*) FROM {orders.name}")  # opens a snapshot
        cursor.close()
    finally:
        raw.close()  # returned with its snapshot open: the reset must roll it back
    assert sent == ["ROLLBACK"]
    other = db.open()
    other.add(place("o-2"))
    assert [o.id for o in store.find_by_state(OrderState.PENDING_PAYMENT)] == ["o-2"]


def test_sqlite_projections_are_written_as_sqlalchemy_writes_them(db: Database) -> None:
    """The prepared statements bind values as SQLAlchemy would: the projection columns read
    back through SQLAlchemy as the values of the order."""
    store = db.open()
    order = place("o-1")
    store.add(order)
    change = apply(order, Hold("check"))
    store.save(change.order, 1)
    orders, history = store.tables.orders, store.tables.history
    with store.engine.connect() as connection:
        row = connection.execute(sa.select(orders)).one()
        entries = connection.execute(sa.select(history).order_by(history.c.version)).all()
    saved = change.order
    assert (row.id, row.customer_id, row.state, row.version) == (
        saved.id,
        saved.customer_id,
        saved.state.value,
        2,
    )
    assert row.created_at == saved.created_at.astimezone(UTC).replace(tzinfo=None)
    assert row.updated_at == saved.updated_at.astimezone(UTC).replace(tzinfo=None)
    assert Decimal(str(row.amount_due)) == saved.amount_due.amount
    assert [e.at for e in entries] == [
        e.at.astimezone(UTC).replace(tzinfo=None) for e in saved.history
    ]


# -- loading what is stored ----------------------------------------------------------------

FIXTURES = Path(__file__).parent / "fixtures"


def _insert_version_1_rows(store: SqlStore) -> None:
    """The committed rows a version-1 store wrote for the rich fixture order, inserted as
    they were."""
    rows = json.loads((FIXTURES / "sql_v1_rows.json").read_text(encoding="utf-8"))
    tables = store.tables

    def typed(table: sa.Table, row: dict[str, Any]) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for name, text in row.items():
            if name == "position":
                continue  # the database numbers them
            kind = table.c[name].type
            value: Any = text
            if text is not None and isinstance(kind, sa.DateTime):
                value = datetime.fromisoformat(text)
            elif text is not None and isinstance(kind, sa.Numeric):
                value = Decimal(text)
            values[name] = value
        return values

    with store.engine.begin() as connection:
        connection.execute(tables.orders.insert(), typed(tables.orders, rows["order"]))
        connection.execute(
            tables.history.insert(), [typed(tables.history, row) for row in rows["history"]]
        )
        outbox = [typed(tables.outbox, row) for row in rows["outbox"]]
        for row in outbox:  # as the version-2 upgrade fills it in
            row.setdefault("next_attempt_at", row["created_at"])
        connection.execute(tables.outbox.insert(), outbox)


def test_rows_written_by_version_1_load_and_take_new_entries(db: Database) -> None:
    """PT-1: an order whose rows a version-1 store wrote loads as it was, takes a new change
    (checked against its version-1 history), and loads with its rows of both versions."""
    store = db.open(cache_size=0)
    _insert_version_1_rows(store)
    expected = as_stored_before_exceptions(rich_order()[-1])
    assert store.get("o-v1") == expected
    assert [entry.effect for entry in store.entries("o-v1")] == [
        effect for entry in expected.history for effect in entry.effects
    ]
    change = LIFECYCLE.handle(
        expected, ConfirmRefund("o-v1/refund/2"), SYSTEM, expected.updated_at + LATER
    )
    store.save(change.order, expected.version)
    assert db.open(cache_size=0).get("o-v1") == change.order
    with store.engine.connect() as connection:
        documents = connection.execute(
            sa.select(store.tables.history.c.document).order_by(store.tables.history.c.version)
        ).scalars()
        versions = [json.loads(document).get("schema_version", 1) for document in documents]
    assert versions == [1] * expected.version + [DOCUMENT_VERSION]
    forged = Order(
        id=change.order.id,
        customer_id=change.order.customer_id,
        lines=change.order.lines,
        address=change.order.address,
        state=change.order.state,
        ledger=change.order.ledger,
        history=(change.order.history[0]._replace(actor=STAFF), *change.order.history[1:]),
        closure=change.order.closure,
        deadlines=change.order.deadlines,
    )
    again = LIFECYCLE.handle(forged, FailRefund("o-v1/refund/3"), SYSTEM, forged.updated_at)
    before = snapshot(store)
    with pytest.raises(InvalidInput, match=r"history\[0\]"):
        store.save(again.order, change.order.version)
    assert snapshot(store) == before


def _change(store: SqlStore, statement: sa.Executable) -> None:
    with store.engine.begin() as connection:
        connection.execute(statement)


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("state", "paid"),
        ("version", 2),
        ("customer_id", "c-someone-else"),
        ("currency", "USD"),
        ("amount_paid", Decimal("1.00")),
        ("created_at", datetime(2026, 1, 1)),
        ("next_deadline", datetime(2026, 1, 1)),
    ],
)
def test_a_column_that_disagrees_with_the_document_is_refused(
    db: Database, column: str, value: Any
) -> None:
    """PT-1: get, find_by_state and find_due never return an order whose row says something
    its document does not; the error names the order and the column, cached or not."""
    store = db.open()
    order = closed(paid())
    store.add(order)
    assert store.get(order.id) == order  # now cached
    orders = store.tables.orders
    _change(store, orders.update().values({column: value}))
    fresh = db.open(cache_size=0)
    for reader in (store, fresh):
        with pytest.raises(StoreError, match=rf"order 'o-1'.* the {column} column") as error:
            reader.get(order.id)
        assert "c-someone-else" not in str(error.value)
    if column == "state":
        with pytest.raises(StoreError, match="the state column of its row disagrees"):
            store.find_by_state(OrderState.PAID)
    if column == "next_deadline":
        with pytest.raises(StoreError, match="next_deadline"):
            store.find_due(T0)


def test_history_rows_must_be_whole_and_agree_with_their_documents(db: Database) -> None:
    """LC-8: a missing history row, a history column that disagrees with its entry, or an
    entry a customer other than the order's made, is refused naming the order."""
    store = db.open()
    order = held(paid())
    store.add(order)
    history = store.tables.history
    reader = db.open(cache_size=0)
    _change(store, history.update().where(history.c.version == 2).values(to_state="closed"))
    with pytest.raises(StoreError, match=r"'o-1'.*to_state column of its history row 2"):
        reader.get("o-1")
    _change(store, history.update().where(history.c.version == 2).values(to_state="paid"))
    assert reader.get("o-1") == order
    with store.engine.connect() as connection:
        first = connection.execute(
            sa.select(history.c.document).where(history.c.version == 1)
        ).scalar_one()
    forged = json.loads(first)
    forged["actor"]["id"] = "c-2"
    _change(
        store, history.update().where(history.c.version == 1).values(document=json.dumps(forged))
    )
    with pytest.raises(StoreError, match=r"'o-1'.*history\[0\]\.actor.*a customer other"):
        reader.get("o-1")
    _change(store, history.delete().where(history.c.version == 2))
    with pytest.raises(StoreError, match="'o-1' is at version 3 but its history rows are not"):
        reader.get("o-1")


def test_documents_above_the_size_limit_are_refused_on_write_and_on_read(db: Database) -> None:
    """PT-1: a document larger than max_document_size is refused on write (nothing written)
    and on read (naming the order), before it is parsed."""
    small = db.open(max_document_size=4096)
    small.add(place("o-small"))
    many = tuple(OrderLine(f"SKU-{n}", 1, Money("1.00", "CNY")) for n in range(60))
    big = placed("o-big", many)
    before = snapshot(small)
    with pytest.raises(InvalidInput, match="larger than the store's max_document_size of 4096"):
        small.add(big.order)
    assert snapshot(small) == before
    db.open().add(big.order)
    with pytest.raises(StoreError, match=r"'o-big'.*above the store's max_document_size"):
        small.get("o-big")
    with pytest.raises(StoreError, match="'o-big'"):
        small.find_by_state(OrderState.PENDING_PAYMENT)
    for wrong in (10, True, "4096"):
        with pytest.raises(InvalidConfiguration, match="max_document_size"):
            db.open(max_document_size=wrong)  # type: ignore[arg-type]


def test_a_document_nested_too_deeply_is_a_store_error(db: Database) -> None:
    """PT-1: a 50,000-deep stored history entry is a StoreError naming the order, never a
    RecursionError."""
    store = db.open(cache_size=0)
    store.add(place())
    history = store.tables.history
    deep = "[" * 50_000 + "]" * 50_000
    _change(store, history.update().values(document=deep))
    with pytest.raises(StoreError, match=r"'o-1'.*nested too deeply"):
        store.get("o-1")


def test_a_refused_rewrite_leaves_every_process_seeing_one_history(db: Database) -> None:
    """LC-8: a save rewriting the stored history is refused whether the store has the order
    cached or not, and the store never caches the forgery: two stores report one history."""
    cached = db.open()
    uncached = db.open(cache_size=0)
    order = paid()
    cached.add(place())
    cached.save(order, 1)
    assert cached.get("o-1") == order
    forged_payment = order.history[1]._replace(actor=STAFF)
    forged = Order(
        id=order.id,
        customer_id=order.customer_id,
        lines=order.lines,
        address=order.address,
        state=order.state,
        ledger=order.ledger,
        history=(order.history[0], forged_payment),
        deadlines=order.deadlines,
    )
    change = apply(forged, Hold("check"))
    before = snapshot(cached)
    for store in (cached, uncached):
        with pytest.raises(InvalidInput, match=r"order\.history\[1\]"):
            store.save(change.order, 2)
    assert snapshot(cached) == before
    assert cached.get("o-1") == uncached.get("o-1") == order
    assert cached.get("o-1").history[1].actor == SYSTEM


def test_a_save_on_an_order_replaced_behind_the_stores_back_conflicts(db: Database) -> None:
    """D-9: a store whose cached version was replaced (tables dropped and filled again)
    cannot write on top of the replacement: the save conflicts and writes nothing."""
    reader = db.open()
    writer = db.open()
    original = place("o-1")
    reader.add(original)
    assert reader.get("o-1") == original
    writer.drop_tables()
    replacement = place("o-1", address=Address("Han Meimei", "139", "2 Road", "Hz"))
    keeper = db.open()
    keeper.add(replacement)
    change = apply(original, Hold("check"))
    before = snapshot(keeper)
    with pytest.raises(ConcurrencyConflict):
        reader.save(change.order, 1)
    assert snapshot(keeper) == before
    assert reader.get("o-1") == replacement


def test_an_outbox_document_that_cannot_be_read_is_shown_with_the_reason(db: Database) -> None:
    """D-14: an outbox entry whose document was damaged is listed with why it cannot be read,
    naming the entry, and never stops the listing."""
    store = db.open()
    outcome = placed("o-1")
    store.add(outcome.order)
    outbox = store.tables.outbox
    _change(store, outbox.update().where(outbox.c.seq == 0).values(document='{"kind": 7'))
    damaged, intact = store.pending()
    assert damaged.id == "o-1/1/0"
    assert re.search(r"unreadable: .*outbox entry 'o-1/1/0'.*not JSON", damaged.last_error)
    assert intact.effect == outcome.effects[1]
