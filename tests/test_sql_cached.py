"""Commands decided on the SQL store's cached order: no load before the save, and a stale or
hand-edited row never written over (D-9, D-3, PT-1, LC-8).

Each test runs on SQLite in memory and in a file, and on PostgreSQL and MariaDB/MySQL when
``ORDERFLOW_TEST_POSTGRES_URL`` / ``ORDERFLOW_TEST_MYSQL_URL`` are set. A second store on the
same tables stands for another process.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import sqlalchemy as sa

from orderflow import Address, Hold, OrderState, Pay, Release
from orderflow.adapters.sql import SqlStore
from orderflow.errors import ConcurrencyConflict, InvalidInput, StoreError
from orderflow.ports import ManualClock
from orderflow.service import OrderService
from tests.support import STAFF, SYSTEM, T0, apply, cny, place
from tests.test_sql_adapter import Database, snapshot


def _service(store: SqlStore, pauses: list[float] | None = None) -> OrderService:
    """A service on ``store`` recording its pauses (none is expected: a stale cache costs no
    retry)."""
    waits = [] if pauses is None else pauses
    return OrderService(store, clock=ManualClock(T0), sleep=waits.append)


def _order_reads(store: SqlStore) -> list[str]:
    """Every SELECT of the orders table the store's engine runs from now on."""
    seen: list[str] = []
    name = store.tables.orders.name

    def capture(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        if statement.startswith("SELECT") and f"FROM {name}" in statement:
            seen.append(statement)

    sa.event.listen(store.engine, "before_cursor_execute", capture)
    return seen


def _history_reads(store: SqlStore, monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """The history reads of the store's loads from now on: ``("whole", last)`` for a whole
    history, ``("since", first)`` for the rows from a cached version on."""
    reads: list[tuple[str, int]] = []
    whole = store._whole_history
    since = store._entry_rows

    def read_whole(connection: sa.Connection, order_id: str, last: int) -> Any:
        reads.append(("whole", last))
        return whole(connection, order_id, last)

    def read_since(connection: sa.Connection, order_id: str, first: int, last: int) -> Any:
        reads.append(("since", first))
        return since(connection, order_id, first, last)

    monkeypatch.setattr(store, "_whole_history", read_whole)
    monkeypatch.setattr(store, "_entry_rows", read_since)
    return reads


def _change(store: SqlStore, statement: sa.Executable) -> None:
    with store.engine.begin() as connection:
        connection.execute(statement)


def _pay() -> Pay:
    return Pay(cny("104.80"), "pay-1", command_id="webhook-1")


def test_a_command_on_a_cached_order_reads_nothing_before_its_save(db: Database) -> None:
    """D-9: with the order in the store's cache, a command is decided and saved without a
    query of the order; what is saved is what another store loads."""
    store = db.open()
    store.add(place())
    reads = _order_reads(store)
    outcome = _service(store).handle("o-1", _pay(), SYSTEM)
    assert reads == []
    assert outcome.order.version == 2
    assert db.open(cache_size=0).get("o-1") == outcome.order
    assert store.cached_order("o-1") is outcome.order


def test_cached_order_is_the_order_as_the_store_last_wrote_or_read_it(db: Database) -> None:
    """PT-1: ``cached_order`` gives what the cache holds (nothing for an order it never saw,
    nothing with the cache off), refuses a malformed id, and fails on a closed store."""
    store = db.open()
    assert store.cached_order("o-1") is None
    order = place()
    store.add(order)
    assert store.cached_order("o-1") == order
    reader = db.open()
    assert reader.cached_order("o-1") is None
    assert reader.get("o-1") == order
    assert reader.cached_order("o-1") == order
    uncached = db.open(cache_size=0)
    assert uncached.get("o-1") == order
    assert uncached.cached_order("o-1") is None
    with pytest.raises(InvalidInput):
        store.cached_order(" ")
    uncached.close()
    with pytest.raises(StoreError, match="closed"):
        uncached.cached_order("o-1")


def test_a_save_from_a_stale_cached_order_conflicts_and_keeps_it_as_a_prefix(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """D-9: a decision on a cached order another store has saved over since is refused and
    nothing of it is written; the cached order stays only as the prefix the next load
    extends, reading the newer history rows and not the whole history."""
    reader = db.open()
    writer = db.open()
    reader.add(place())
    stale = reader.cached_order("o-1")
    assert stale is not None
    held = apply(writer.get("o-1"), Hold("check")).order
    writer.save(held, 1)
    before = snapshot(writer)
    with pytest.raises(ConcurrencyConflict) as info:
        reader.save(apply(stale, _pay(), SYSTEM).order, stale.version)
    assert (info.value.expected_version, info.value.actual_version) == (1, 2)
    assert snapshot(writer) == before
    assert reader.cached_order("o-1") is stale
    history_reads = _history_reads(reader, monkeypatch)
    assert reader.get("o-1") == held
    assert reader.cached_order("o-1") == held
    assert history_reads == [("since", 1)], "the rows from the cached version on, no more"


def test_a_save_from_a_cached_order_whose_row_changed_in_place_forgets_it(
    db: Database,
) -> None:
    """PT-1: a row changed in place behind a cached order (same version, a hand edit): the
    save conflicts, nothing is written, and the store forgets the order."""
    store = db.open()
    store.add(place())
    cached = store.cached_order("o-1")
    assert cached is not None
    _change(store, store.tables.orders.update().values(state="closed"))
    before = snapshot(store)
    with pytest.raises(ConcurrencyConflict) as info:
        store.save(apply(cached, _pay(), SYSTEM).order, cached.version)
    assert (info.value.expected_version, info.value.actual_version) == (1, 1)
    assert snapshot(store) == before
    assert store.cached_order("o-1") is None


def test_a_stale_cached_order_is_decided_again_without_spending_a_retry(db: Database) -> None:
    """D-9: when another store saved the order since it was cached, the command (allowed on
    both) is decided again on the stored order and saved, with no retry asked and no pause."""
    reader = db.open()
    writer = db.open()
    reader.add(place())
    order = apply(apply(writer.get("o-1"), Hold("check")).order, Release()).order
    writer.save(order, 1)
    pauses: list[float] = []
    outcome = _service(reader, pauses).handle("o-1", _pay(), SYSTEM)
    assert pauses == []
    assert outcome.order.version == 4
    events = [entry.event for entry in outcome.order.history]
    assert events == ["place_order", "hold", "release", "pay"]
    assert db.open(cache_size=0).get("o-1") == outcome.order


def test_a_refusal_on_a_stale_cached_order_is_never_reported(db: Database) -> None:
    """D-9: a command the cached order refuses (a release of an order not held) but the
    stored one allows (another store held it) is decided on the stored order and saved."""
    reader = db.open()
    writer = db.open()
    reader.add(place())
    writer.save(apply(writer.get("o-1"), Hold("check")).order, 1)
    outcome = _service(reader).handle("o-1", Release(), STAFF)
    assert outcome.order.version == 3
    assert outcome.order.state is OrderState.PENDING_PAYMENT
    assert outcome.order.hold is None


def test_a_command_another_store_applied_since_is_a_replay(db: Database) -> None:
    """D-3: a webhook retried on another process, whose cache still holds the order from
    before the first delivery, gets the original outcome: one payment, one set of effects."""
    reader = db.open()
    writer = db.open()
    reader.add(place())
    first = _service(writer).handle("o-1", _pay(), SYSTEM)
    entries = writer.entries("o-1")
    again = _service(reader).handle("o-1", _pay(), SYSTEM)
    assert again.replayed
    assert again.entry == first.entry
    assert again.effects == first.effects
    stored = db.open(cache_size=0).get("o-1")
    assert stored.version == 2
    assert len(stored.ledger.payments) == 1
    assert writer.entries("o-1") == entries


def test_a_stale_cached_order_at_the_expected_version_is_a_conflict(db: Database) -> None:
    """D-9: a command at an expected version the cached order has but the stored one no
    longer has is a conflict, and nothing is written; at the stored version it is applied."""
    reader = db.open()
    writer = db.open()
    reader.add(place())
    writer.save(apply(writer.get("o-1"), Hold("check")).order, 1)
    before = snapshot(writer)
    service = _service(reader)
    with pytest.raises(ConcurrencyConflict) as info:
        service.handle("o-1", _pay(), SYSTEM, expected_version=1)
    assert (info.value.expected_version, info.value.actual_version) == (1, 2)
    assert snapshot(writer) == before
    released = service.handle("o-1", Release(), STAFF, expected_version=2)
    assert released.order.version == 3


def test_a_hand_edited_document_behind_a_cached_order_is_never_written_over(
    db: Database,
) -> None:
    """PT-1: a valid hand edit of the order's document (its checksum left as it was) made
    while the order is cached: the command is decided on the edited order, never on the
    cached one, and the edit is kept."""
    store = db.open()
    store.add(place())
    orders = store.tables.orders
    with store.engine.connect() as connection:
        document = json.loads(connection.execute(sa.select(orders.c.document)).scalar_one())
    document["address"]["recipient"] = "Han Meimei"
    _change(store, orders.update().values(document=json.dumps(document)))
    outcome = _service(store).handle("o-1", Hold("check"), STAFF)
    assert outcome.order.address.recipient == "Han Meimei"
    assert db.open(cache_size=0).get("o-1").address.recipient == "Han Meimei"


@pytest.mark.parametrize(
    ("column", "value"), [("state", "closed"), ("customer_id", "c-someone-else")]
)
def test_a_hand_edited_column_behind_a_cached_order_is_refused(
    db: Database, column: str, value: str
) -> None:
    """PT-1: a projection column changed by hand so that it disagrees with the document,
    while the order is cached: the command loads the row and refuses it naming the column,
    and nothing is written over the edit."""
    store = db.open()
    store.add(place())
    _change(store, store.tables.orders.update().values({column: value}))
    before = snapshot(store)
    with pytest.raises(StoreError, match=rf"order 'o-1'.* the {column} column"):
        _service(store).handle("o-1", Hold("check"), STAFF)
    assert snapshot(store) == before


def test_a_replaced_order_behind_a_cached_one_is_decided_on_the_replacement(
    db: Database,
) -> None:
    """D-9: an order dropped and stored again under the same id and version while the first
    one is cached: the command is decided on the replacement."""
    reader = db.open()
    reader.add(place())
    reader.drop_tables()
    replacement = place(address=Address("Han Meimei", "139", "2 Road", "Hz"))
    db.open().add(replacement)
    outcome = _service(reader).handle("o-1", Hold("check"), STAFF)
    assert outcome.order.address == replacement.address
    assert outcome.order.history[0] == replacement.history[0]


def test_an_order_a_query_cached_is_saved_from_the_cache(db: Database) -> None:
    """D-9: an order a query loaded (its row read through SQLAlchemy) is cached as a save
    matches it: the next command reads nothing before its save, and the save lands."""
    db.open().add(place())
    store = db.open()
    assert [order.id for order in store.find_by_state(OrderState.PENDING_PAYMENT)] == ["o-1"]
    reads = _order_reads(store)
    outcome = _service(store).handle("o-1", _pay(), SYSTEM)
    assert reads == []
    assert db.open(cache_size=0).get("o-1") == outcome.order
