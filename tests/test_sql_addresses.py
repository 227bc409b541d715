"""The SQL store finds the orders to one place from its address index (RK-1, PT-4).

Schema version 3 adds the orders' ``address_key`` column and the index
``(address_key, created_at, id)``. These tests pin what only the SQL store can get wrong:
tables of version 2 (the committed rows of ``tests/fixtures/sql_v2_rows.json``) are upgraded
in place and their keys filled from the stored documents, the step can run again, the query
reads the index without sorting, and a key changed by hand is refused. They run on SQLite in
memory and in a file, and on PostgreSQL and MariaDB/MySQL when their URLs are set, each test
under its own table prefix (see ``tests/test_sql_adapter.py``).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from orderflow import Actor, Address, ChangeAddress, PlaceOrder
from orderflow.adapters.memory import InMemoryStore
from orderflow.adapters.sql import SCHEMA_VERSION, SqlStore
from orderflow.adapters.sql.codec import _Rows
from orderflow.adapters.sql.upgrades import UPGRADES
from orderflow.addresses import address_key
from orderflow.errors import StoreError
from tests.fixtures.sql_v2 import (
    ELSEWHERE,
    HOME,
    HOME_AGAIN,
    NOWHERE,
    START,
    store_rows,
    version_2_tables,
)
from tests.fixtures.sql_v2 import orders as version_2_orders
from tests.support import LIFECYCLE, T0, place
from tests.test_sql_adapter import Database, snapshot


def _ids(found: list[Any]) -> list[str]:
    return [order.id for order in found]


def _version_2_store(db: Database) -> None:
    """The version-2 tables under the test's prefix, holding the committed rows."""
    engine = db.open(suffix="scratch_").engine
    with engine.begin() as connection:
        store_rows(version_2_tables(db.prefix, connection), connection)


def _keys(store: SqlStore) -> dict[str, str | None]:
    orders = store.tables.orders
    with store.engine.connect() as connection:
        rows = connection.execute(sa.select(orders.c.id, orders.c.address_key))
        return {row.id: row.address_key for row in rows}


def test_version_2_tables_are_upgraded_and_find_orders_by_address(db: Database) -> None:
    """RK-1: opening the committed version-2 rows with create=True adds the address key,
    fills it from each stored document (none for an incomplete address), makes the index,
    records version 3, and finds the orders to one place as the in-memory store does;
    create=False refuses the tables until then."""
    _version_2_store(db)
    with pytest.raises(StoreError, match=r"version 2.*create=True to upgrade"):
        db.open(create=False)
    store = db.open()
    with store.engine.connect() as connection:
        meta = store.tables.meta
        assert connection.execute(sa.select(meta.c.value)).scalar_one() == str(SCHEMA_VERSION)
    inspector = sa.inspect(store.engine)
    columns = {c["name"]: c for c in inspector.get_columns(store.tables.orders.name)}
    assert columns["address_key"]["nullable"] is True
    indexes = {
        i["name"]: i["column_names"] for i in inspector.get_indexes(store.tables.orders.name)
    }
    assert indexes[f"{db.prefix}orders_by_address"] == ["address_key", "created_at", "id"]
    home, elsewhere = address_key(HOME), address_key(ELSEWHERE)
    assert _keys(store) == {
        "o-v2-a": home,
        "o-v2-b": home,  # HOME_AGAIN: full-width digits, other case and spaces
        "o-v2-c": home,  # placed to ELSEWHERE, corrected to HOME
        "o-v2-d": elsewhere,
        "o-v2-e": None,  # no street line: no key
    }
    reference = InMemoryStore()
    for versions in version_2_orders():
        reference.add(versions[-1])
    for address in (HOME, HOME_AGAIN, ELSEWHERE, NOWHERE):
        for since in (START, START + timedelta(hours=1), START + timedelta(hours=9)):
            found = store.find_by_address(address, since=since)
            assert found == reference.find_by_address(address, since=since)
    assert _ids(store.find_by_address(HOME_AGAIN, since=START)) == ["o-v2-c", "o-v2-b", "o-v2-a"]
    assert _ids(store.find_by_address(ELSEWHERE, since=START)) == ["o-v2-d"]
    assert db.open(create=False).find_by_address(HOME, since=START, limit=1)[0].id == "o-v2-c"
    moved = LIFECYCLE.handle(
        store.get("o-v2-a"),
        ChangeAddress(ELSEWHERE),
        Actor.customer("c-1"),
        START + timedelta(hours=9),
    ).order
    store.save(moved, 1)
    assert _ids(store.find_by_address(ELSEWHERE, since=START)) == ["o-v2-d", "o-v2-a"]
    assert _ids(store.find_by_address(HOME, since=START)) == ["o-v2-c", "o-v2-b"]


def test_the_address_key_step_runs_again_safely(db: Database) -> None:
    """The version-3 step may run again (on MySQL every DDL statement commits, so an
    interrupted upgrade starts again): it changes nothing in filled rows, and fills the rows
    an interrupted run left without a key."""
    _version_2_store(db)
    store = db.open()
    before = snapshot(store)
    orders = store.tables.orders
    (step,) = UPGRADES[3]
    with store.engine.begin() as connection:
        step(connection, store.tables)
    assert snapshot(store) == before
    with store.engine.begin() as connection:
        connection.execute(sa.update(orders).values(address_key=None))
    with store.engine.begin() as connection:
        step(connection, store.tables)
    assert snapshot(store) == before


def test_a_hand_changed_address_key_is_refused(db: Database) -> None:
    """A row whose address key was changed outside orderflow is refused when a query finds
    it under the wrong place, naming the order and the column; it is not counted there."""
    store = db.open()
    store.add(place("o-1"))
    orders = store.tables.orders
    with store.engine.begin() as connection:
        connection.execute(sa.update(orders).values(address_key=address_key(ELSEWHERE)))
    with pytest.raises(StoreError, match=r"'o-1'.*address_key column"):
        store.find_by_address(ELSEWHERE, since=T0)


def plan_of_address_query(db: Database, store: SqlStore) -> str:
    """Fill the store with 2,000 orders to 40 places, page through the orders to one place,
    and return the database's plan of the last page's query."""
    places = [
        Address("Wang Fang", "13911112222", f"{n} Binjiang Road", "Hangzhou") for n in range(40)
    ]
    rows = [
        _Rows(
            LIFECYCLE.place(
                PlaceOrder(f"o-{n:04}", f"c-{n % 7}", place().lines, places[n % 40]),
                Actor.customer(f"c-{n % 7}"),
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
        table = store.tables.orders.name
        if db.backend == "mysql":
            connection.exec_driver_sql(f"ANALYZE TABLE {table}")
        elif db.backend == "postgresql":
            connection.exec_driver_sql(f"ANALYZE {table}")
    seen: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if "address_key" in statement and "created_at DESC" in statement:
            seen.append((statement, parameters))

    since = T0 + timedelta(minutes=100)
    sa.event.listen(store.engine, "before_cursor_execute", capture)
    try:
        first = store.find_by_address(places[7], since=since, limit=5)
        cursor = (first[-1].created_at, first[-1].id)
        page = store.find_by_address(places[7], since=since, limit=5, before=cursor)
    finally:
        sa.event.remove(store.engine, "before_cursor_execute", capture)
    found = first + page
    assert len(found) == 10
    assert all(o.address == places[7] and o.created_at >= since for o in found)
    keys = [(o.created_at, o.id) for o in found]
    assert keys == sorted(keys, reverse=True)
    statement, parameters = seen[-1]
    explain = "EXPLAIN QUERY PLAN " if db.backend.startswith("sqlite") else "EXPLAIN "
    with store.engine.connect() as connection:
        plan = [
            " ".join(str(value) for value in row)
            for row in connection.exec_driver_sql(explain + statement, parameters)
        ]
    return "\n".join(plan)


def test_the_orders_to_a_place_are_read_from_its_index_without_sorting(db: Database) -> None:
    """RK-1, PT-1: find_by_address reads the (address_key, created_at, id) index backwards,
    from the cursor down to ``since``: the plan names the index and sorts nothing, on every
    backend."""
    store = db.open()
    text = plan_of_address_query(db, store)
    assert f"{store.table_prefix}orders_by_address" in text, text
    for sorting in ("TEMP B-TREE", "filesort", "Sort "):  # SQLite, MySQL, PostgreSQL
        assert sorting not in text, text
