"""The SQL store's transactions on the connection a command scope holds: a save's three
statements on one DB-API cursor when nothing listens, through SQLAlchemy when something does,
with the same results and the same error translation either way."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from orderflow import Hold, Release
from orderflow.errors import ConcurrencyConflict, StoreError
from orderflow.ports import ManualClock
from orderflow.service import OrderService
from tests.support import STAFF, T0, apply, place
from tests.test_sql_adapter import Database


def test_a_command_on_a_cached_order_commits_without_listeners(db: Database) -> None:
    """Commands through the service, each in a scope that nothing listens to, are committed:
    another store reads every change, and the connection goes back to the pool."""
    store = db.open()
    store.add(place())
    service = OrderService(store, clock=ManualClock(T0))
    service.handle("o-1", Hold("check"), STAFF)
    service.handle("o-1", Release(), STAFF)
    assert store._pin.connection is None
    stored = db.open(cache_size=0).get("o-1")
    assert stored.version == 3
    assert stored == store.get("o-1")


def test_a_failed_commit_is_a_store_error_and_writes_nothing(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A driver error at COMMIT goes through SQLAlchemy's error handling and becomes a
    StoreError naming the save; nothing of the change is kept, and the store works on."""
    store = db.open()
    store.add(place())
    dialect = store.engine.dialect
    dbapi: Any = dialect.loaded_dbapi

    def failing(dbapi_connection: Any) -> None:
        raise dbapi.OperationalError("commit refused")

    monkeypatch.setattr(dialect, "do_commit", failing)
    order = store.get("o-1")
    with pytest.raises(StoreError, match="could not save order 'o-1'"), store.command_scope():
        store.save(apply(order, Hold("check")).order, 1)
    assert store._pin.connection is None
    monkeypatch.undo()
    stored = db.open(cache_size=0).get("o-1")
    assert stored.version == 1
    assert stored == order
    service = OrderService(store, clock=ManualClock(T0))
    assert service.handle("o-1", Hold("check"), STAFF).order.version == 2


def test_a_lost_save_in_a_scope_is_rolled_back(db: Database) -> None:
    """A save whose UPDATE matches no row rolls back what it wrote in the scope's
    transaction: no history row of the lost change is kept."""
    store = db.open()
    store.add(place())
    other = db.open()
    other.save(apply(other.get("o-1"), Hold("check")).order, 1)
    stale = store.cached_order("o-1")
    assert stale is not None
    assert stale.version == 1
    with pytest.raises(ConcurrencyConflict), store.command_scope():
        store.save(apply(stale, Hold("another")).order, 1)
    stored = db.open(cache_size=0).get("o-1")
    assert stored.version == 2
    assert stored == other.get("o-1")


def test_listeners_see_every_begin_and_commit(db: Database) -> None:
    """With a listener on the engine's transaction events, the listener sees one begin and
    one commit per command."""
    store = db.open()
    store.add(place())
    seen: list[str] = []
    sa.event.listen(store.engine, "begin", lambda connection: seen.append("begin"))
    sa.event.listen(store.engine, "commit", lambda connection: seen.append("commit"))
    service = OrderService(store, clock=ManualClock(T0))
    service.handle("o-1", Hold("check"), STAFF)
    assert seen == ["begin", "commit"]
    assert db.open(cache_size=0).get("o-1").version == 2


def test_a_failing_insert_after_the_update_is_a_store_error_and_writes_nothing(
    db: Database,
) -> None:
    """When the history INSERT of a save fails after its UPDATE matched (a history row of the
    new version is there already), the error goes through SQLAlchemy's handling to a
    StoreError, the UPDATE is rolled back with it, and the next command runs on a good
    connection."""
    store = db.open()
    store.add(place())
    orders = store.tables.orders
    with store.engine.connect() as connection:
        first = connection.execute(sa.select(orders)).one()._asdict()
    db.open().save(apply(store.get("o-1"), Hold("check")).order, 1)
    with store.engine.begin() as connection:  # the row put back by hand: version 2's entry stays
        connection.execute(orders.update().where(orders.c.id == "o-1").values(first))
    service = OrderService(store, clock=ManualClock(T0))
    with pytest.raises(StoreError, match="could not save order 'o-1'"):
        service.handle("o-1", Hold("again"), STAFF)
    assert store._pin.connection is None
    stored = db.open(cache_size=0).get("o-1")
    assert stored.version == 1
    assert stored == store.get("o-1")
