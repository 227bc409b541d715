"""How the SQL store loads orders: its own writes trusted, hand-edited rows refused, only new
history rows read after a cached prefix, one connection per command (PT-1, LC-8, D-9).

Each test runs on SQLite in memory and in a file, and on PostgreSQL and MariaDB/MySQL when
``ORDERFLOW_TEST_POSTGRES_URL`` / ``ORDERFLOW_TEST_MYSQL_URL`` are set.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import sqlalchemy as sa

from orderflow import Address, Hold, Order, Release
from orderflow.adapters.sql import SqlStore, loading
from orderflow.adapters.sql import codec as sql_codec
from orderflow.errors import ConcurrencyConflict, StoreError
from orderflow.ports import ManualClock
from orderflow.service import OrderService
from tests.support import STAFF, T0, apply, awaiting_shipment, held, paid, place
from tests.test_sql_adapter import Database, copy_to_version_1


def _change(store: SqlStore, statement: sa.Executable) -> None:
    with store.engine.begin() as connection:
        connection.execute(statement)


def _strict_loads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record every order the store loads the strict way."""
    seen: list[str] = []
    strict = sql_codec._read_order

    def recording(text: str, entries: Any, order_id: str, version: int, size: int) -> Order:
        seen.append(order_id)
        return strict(text, entries, order_id, version, size)

    monkeypatch.setattr(loading, "_read_order", recording)
    return seen


def _history_queries(store: SqlStore) -> list[Any]:
    """The parameters of every history query the store's engine runs from now on."""
    seen: list[Any] = []
    name = store.tables.history.name

    def capture(conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.startswith("SELECT") and f"FROM {name}" in statement:
            seen.append(parameters)

    sa.event.listen(store.engine, "before_cursor_execute", capture)
    return seen


def test_the_stores_own_rows_load_without_the_strict_loader(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PT-1: an order another store wrote, checksums intact, loads equal to the one saved
    without going through the strict loader, by get and by the queries."""
    writer = db.open()
    order = held(paid())
    writer.add(place())
    writer.save(order, 1)
    seen = _strict_loads(monkeypatch)
    reader = db.open(cache_size=0)
    assert reader.get(order.id) == order
    assert reader.find_by_customer(order.customer_id) == [order]
    assert seen == []


def test_a_hand_edited_document_goes_through_the_strict_loader_and_is_refused(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """LC-8: a history document changed by hand (its checksum left as it was) so that the
    states no longer chain is loaded the strict way and refused, naming the order; the
    trusted decoder would have built it. (A store that has the order cached still serves
    it: history rows are append-only, and a cache hit reads the order row alone.)"""
    store = db.open()
    store.add(awaiting_shipment())
    history = store.tables.history
    with store.engine.connect() as connection:
        text = connection.execute(
            sa.select(history.c.document).where(history.c.version == 3)
        ).scalar_one()
    forged = json.loads(text)
    forged["from_state"] = "pending_payment"
    _change(
        store,
        history.update()
        .where(history.c.version == 3)
        .values(document=json.dumps(forged), from_state="pending_payment"),
    )
    seen = _strict_loads(monkeypatch)
    for reader in (db.open(cache_size=0), db.open()):
        with pytest.raises(StoreError, match=r"'o-1'.*history\[2\]\.from_state"):
            reader.get("o-1")
    assert seen == ["o-1", "o-1"]


def test_a_valid_hand_edit_is_loaded_as_edited(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PT-1: a document changed by hand into another valid one (a corrected recipient) is
    read the strict way and loaded as it now is, never as the store wrote it."""
    store = db.open()
    store.add(place())
    orders = store.tables.orders
    with store.engine.connect() as connection:
        document = json.loads(connection.execute(sa.select(orders.c.document)).scalar_one())
    document["address"]["recipient"] = "Han Meimei"
    _change(store, orders.update().values(document=json.dumps(document)))
    seen = _strict_loads(monkeypatch)
    for reader in (store, db.open(cache_size=0)):
        assert reader.get("o-1").address.recipient == "Han Meimei"
    assert seen == ["o-1", "o-1"]


def test_only_the_new_history_rows_are_read_after_a_cached_prefix(db: Database) -> None:
    """LC-8: a store holding an order at version 2 reads only the history rows from version
    2 on when another store has saved it since, and loads the whole order."""
    reader = db.open()
    writer = db.open()
    order = paid()
    reader.add(place())
    reader.save(order, 1)
    assert reader.get("o-1") == order
    newer = apply(order, Hold("check")).order
    newest = apply(newer, Release()).order
    writer.save(newer, 2)
    writer.save(newest, 3)
    queries = _history_queries(reader)
    assert reader.get("o-1") == newest
    assert len(queries) == 1
    values = list(queries[0].values()) if isinstance(queries[0], dict) else list(queries[0])
    assert values == ["o-1", 2, 4]
    assert reader.get("o-1") is reader.get("o-1")


def test_a_replaced_prefix_is_never_extended(db: Database) -> None:
    """LC-8: when the order a store cached was replaced by another with the same id and a
    longer history, the store loads the replacement whole, never its cached entries."""
    reader = db.open()
    original = paid()
    reader.add(place())
    reader.save(original, 1)
    assert reader.get("o-1") == original
    reader.drop_tables()
    keeper = db.open()
    other = place(address=Address("Han Meimei", "139", "2 Road", "Hz"))
    replacement = held(apply(other, *_payment(original)).order)
    keeper.add(replacement)
    assert replacement.version == 3
    assert reader.get("o-1") == replacement


def _payment(order: Order) -> tuple[Any, Any]:
    entry = order.history[1]
    return entry.command, entry.actor


def test_rows_without_checksums_load_strictly_until_saved_again(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PT-1: rows a version-1 store wrote have no checksum after the upgrade: they load the
    strict way and are not cached; once saved again the order loads the trusted way."""
    source = db.open(suffix="src_")
    order = paid()
    source.add(place())
    source.save(order, 1)
    copy_to_version_1(source, db.prefix + "v1_")
    upgraded = db.open(suffix="v1_")
    inspector = sa.inspect(upgraded.engine)
    for table in ("orders", "history"):
        columns = {c["name"]: c for c in inspector.get_columns(f"{db.prefix}v1_{table}")}
        assert columns["checksum"]["nullable"] is True
    seen = _strict_loads(monkeypatch)
    assert upgraded.get("o-1") == order
    assert upgraded.get("o-1") == order
    assert seen == ["o-1", "o-1"]
    change = apply(order, Hold("check")).order
    upgraded.save(change, 2)
    assert db.open(suffix="v1_", cache_size=0).get("o-1") == change
    assert seen == ["o-1", "o-1", "o-1"]  # the save's own check of the stored history


def test_a_command_takes_one_connection_from_the_pool(db: Database) -> None:
    """D-9: OrderService.handle loads and saves on one pooled connection, gives it back, and
    a failed call gives it back too."""
    store = db.open()
    store.add(place())
    service = OrderService(store, clock=ManualClock(T0))
    checkouts: list[object] = []
    sa.event.listen(store.engine, "checkout", lambda *args: checkouts.append(args))
    service.handle("o-1", Hold("check"), STAFF)
    assert len(checkouts) == 1
    with store.command_scope(), store.command_scope():
        assert store.get("o-1").version == 2
        assert store.get("o-1").version == 2
    assert len(checkouts) == 2
    assert store._pin.connection is None
    with pytest.raises(ConcurrencyConflict), store.command_scope():
        store.save(apply(store.get("o-1"), Release()).order, 1)
    assert store._pin.connection is None
    assert store.get("o-1").version == 2


def test_documents_written_with_json_load_with_orjson_and_back(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PT-1: a store writing with the standard json library and one reading with orjson (and
    the other way round) agree on every order, non-ASCII text included."""
    order = held(paid())
    writer = db.open()
    monkeypatch.setattr(sql_codec, "_json", sql_codec._json_dumps)
    writer.add(place())
    writer.save(order, 1)
    monkeypatch.undo()
    assert db.open(cache_size=0).get("o-1") == order
    monkeypatch.setattr(loading, "_json_loads", json.loads)
    later = apply(order, Release()).order
    writer.save(later, 3)
    assert db.open(cache_size=0).get("o-1") == later
