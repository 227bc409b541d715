"""Loading orders in the SQL store: the cache, the checksums, the trusted and strict reads.

An order is its row (projections, the document without history, a checksum) and its history
rows (projections, one entry's document, a checksum). A load takes the cheapest way the
rows allow, and checks every projection column it reads against the order either way:

* the cache holds the order at the row's version and checksum: nothing is decoded;
* the cache holds the order at an earlier version whose checksum the history row of that
  version still has: only the newer history rows are read and decoded, and appended;
* otherwise every history row is read. When the checksums chain from the first document to
  the order row's (the store wrote these rows), the documents are decoded without checking
  every value again (:mod:`.trusted`), each history entry when it is first read (a command
  reads few of them; the rows' projections are checked against the parsed documents); when
  they do not (rows changed by hand, rows written
  before checksums), the order is loaded the strict way
  (:func:`orderflow.serialization.load_order_parts`), which refuses what does not hold
  together.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from orderflow.adapters.history import check_extends
from orderflow.adapters.sql.cache import _Cached, _OrderCache
from orderflow.adapters.sql.checksums import _Chain
from orderflow.adapters.sql.codec import (
    ENTRY_PROJECTED,
    PROJECTED,
    _check_columns,
    _entry_agrees,
    _entry_projections,
    _EntryRow,
    _json_loads,
    _naive_utc,
    _OrderRow,
    _projections,
    _read_order,
)
from orderflow.adapters.sql.prepared import _Query, _Statements
from orderflow.adapters.sql.schema import _ACTOR_LENGTH, _EVENT_LENGTH, SqlTables
from orderflow.adapters.sql.trusted import decode_entry, decode_order, lazy_history
from orderflow.errors import ConcurrencyConflict, OrderNotFound, StoreError
from orderflow.history import History
from orderflow.order import Order


class SqlLoading:
    """The loading half of :class:`~orderflow.adapters.sql.SqlStore`.

    It runs on the store's tables, statements and cache; it is not used on its own.
    """

    _tables: SqlTables
    _cache: _OrderCache
    _max_size: int
    _exact_amounts: bool
    _select_order: _Query
    _select_history: _Query
    _statements: _Statements

    def _reading(self, action: str) -> Any:
        raise NotImplementedError

    def _order_columns(self) -> list[sa.Column[Any]]:
        """The columns a load reads: id, the projections, the document, the checksum."""
        orders = self._tables.orders
        return [
            orders.c.id,
            *(orders.c[name] for name in PROJECTED),
            orders.c.document,
            orders.c.checksum,
        ]

    def _entry_columns(self) -> list[sa.Column[Any]]:
        """The columns a load reads of a history row."""
        history = self._tables.history
        return [
            history.c.order_id,
            *(history.c[name] for name in ENTRY_PROJECTED),
            history.c.document,
            history.c.checksum,
        ]

    # -- one order, on the hot path --------------------------------------------------------

    def _load_one(self, connection: sa.Connection, order_id: str) -> Order | None:
        """The order with this id (``None``: no such order), read with the prepared
        statements: one query on a cache hit, two otherwise."""
        found = self._select_order.rows(connection, (order_id,))
        if not found:
            return None
        row = _OrderRow(*found[0])
        cached = self._cache.get(order_id)
        if cached is not None and cached.version == row.version:
            hit = self._hit(row, cached, self._select_order.process)
            if hit is not None:
                return hit
        if cached is not None and row.checksum is not None and cached.version < row.version:
            since = self._entry_rows(connection, order_id, cached.version, row.version)
            order = self._assemble(row, self._processed(row), since, cached)
            if order is not None:
                return order
        entries = self._whole_history(connection, order_id, row.version)
        return self._materialize(row, self._processed(row), entries)

    def _entry_rows(
        self, connection: sa.Connection, order_id: str, first: int, last: int
    ) -> list[_EntryRow]:
        """The history rows of an order from version ``first`` to ``last``, with their
        checksums (what extending a cached prefix checks)."""
        query = self._select_history
        found = query.rows(connection, (order_id, first, last))
        return [_EntryRow._make((order_id, *query.process(row))) for row in found]

    def _whole_history(
        self, connection: sa.Connection, order_id: str, last: int
    ) -> list[_EntryRow]:
        """The history rows of an order from version 1 to ``last``, without their checksums
        (``None``: the order row's checksum proves their documents)."""
        query = self._statements.select_whole_history
        found = query.rows(connection, (order_id, 1, last))
        return [_EntryRow._make((order_id, *query.process(row), None)) for row in found]

    def _processed(self, row: _OrderRow) -> _OrderRow:
        return _OrderRow(*self._select_order.process(row))

    def _check_stored_history(
        self, connection: sa.Connection, order: Order, expected_version: int
    ) -> tuple[str, _Chain, bool]:
        """Load the stored order (in the saving transaction) and refuse ``order`` unless it
        extends its history; what the update matches (the row's checksum, or its document
        if it has none), the hash of the history's documents, and whether the row has a checksum."""
        found = self._select_order.rows(connection, (order.id,))
        if not found:
            raise OrderNotFound(order.id)
        raw = _OrderRow(*found[0])
        if raw.version != expected_version:
            raise ConcurrencyConflict(order.id, expected_version, raw.version)
        entries = self._whole_history(connection, order.id, raw.version)
        stored = self._materialize(raw, self._processed(raw), entries)
        check_extends(order, stored.history)
        chain = _Chain().extended([entry.document for entry in entries])
        if raw.checksum is None:
            return raw.document, chain, False
        return raw.checksum, chain, True

    # -- several orders, for the queries ---------------------------------------------------

    def _load(
        self, action: str, query: sa.Select[Any], values: Mapping[str, Any] | None = None
    ) -> list[Order]:
        """Run a query for order rows (with its bound ``values``) and load those orders,
        reading the history of every order the cache lacks with one query."""
        with self._reading(action) as connection:
            rows = [_OrderRow(*row) for row in connection.execute(query, values)]
            found: dict[str, Order | None] = {}
            for row in rows:
                cached = self._cache.get(row.id)
                hit = None
                if cached is not None and cached.version == row.version:
                    hit = self._hit(self._as_bound(row), cached, lambda _, row=row: row)
                found[row.id] = hit
            missing = {row.id: row.version for row in rows if found[row.id] is None}
            entries = self._history_rows(connection, missing) if missing else {}
        loaded: list[Order] = []
        for row in rows:
            order = found[row.id]
            if order is None:
                order = self._from_rows(row, entries[row.id])
            loaded.append(order)
        return loaded

    def _from_rows(self, row: _OrderRow, entries: list[_EntryRow]) -> Order:
        """An order from its row and all its history rows, from the cached prefix if the
        rows still extend it."""
        cached = self._cache.get(row.id)
        if (
            cached is not None
            and row.checksum is not None
            and 0 < cached.version < row.version <= len(entries)
        ):
            order = self._assemble(self._as_bound(row), row, entries[cached.version - 1 :], cached)
            if order is not None:
                return order
        return self._materialize(self._as_bound(row), row, entries)

    def _as_bound(self, row: _OrderRow) -> _OrderRow:
        """A row SQLAlchemy read (processed) with its projections as a write binds them: what
        the cache keeps, and a save from the cache matches (see :class:`._Cached`)."""
        bound = self._statements.bind_projections(row[1:-2])
        return _OrderRow._make((row.id, *bound, row.document, row.checksum))

    def _history_rows(
        self, connection: sa.Connection, versions: Mapping[str, int]
    ) -> dict[str, list[_EntryRow]]:
        """The history rows of these orders, up to the version each order row has.

        Entries are append-only: those up to the row's version are the order's, and any
        later ones belong to a save that committed after the order row was read.
        """
        history = self._tables.history
        found: dict[str, list[_EntryRow]] = {order_id: [] for order_id in versions}
        query = (
            sa.select(*self._entry_columns())
            .where(history.c.order_id.in_(versions))
            .order_by(history.c.order_id, history.c.version)
        )
        for entry in connection.execute(query):
            if entry.version <= versions[entry.order_id]:
                found[entry.order_id].append(_EntryRow(*entry))
        return found

    # -- from rows to an order -------------------------------------------------------------

    def _hit(self, row: _OrderRow, cached: _Cached, process: Any) -> Order | None:
        """The cached order, if the row is still the one it was cached from (its version,
        checksum and document); its projections are checked again when they changed since."""
        if row.checksum != cached.checksum or row.document != cached.document:
            return None
        self._check_size(row.id, row.document, "row")
        projections: tuple[Any, ...] = row[1:-2]
        if projections != cached.projections:
            stored = process(row)[1:-2]
            _check_columns(
                row.id, "row", PROJECTED, _projections(cached.order), stored, self._exact_amounts
            )
            self._cache.put(cached._replace(projections=projections))
        return cached.order

    def _assemble(
        self, raw: _OrderRow, row: _OrderRow, entries: Sequence[_EntryRow], cached: _Cached
    ) -> Order | None:
        """The cached order extended with the history rows after it, if the first of
        ``entries`` is the cached last one and every checksum from there on is the store's;
        ``None`` when not (the caller then reads the whole order)."""
        if not entries or entries[0].version != cached.version:
            return None
        if entries[0].checksum != cached.chain.checksum():
            return None
        return self._trusted(raw, row, entries[1:], cached.chain, cached.order.history)

    def _materialize(self, raw: _OrderRow, row: _OrderRow, entries: Sequence[_EntryRow]) -> Order:
        """An order from its row (``raw`` as the driver gave it, ``row`` processed) and every
        history row: trusted when the checksums are the store's, strict otherwise.

        Raises:
            StoreError: naming the order, and what is wrong.
        """
        order_id: str = row.id
        versions = [entry.version for entry in entries]
        if versions != list(range(1, row.version + 1)):
            raise StoreError(
                f"stored order {order_id!r} is at version {row.version} but its history rows "
                f"are not versions 1 to {row.version} ({len(versions)} rows)"
            )
        if row.checksum is not None:
            order = self._trusted(raw, row, entries, _Chain(), None)
            if order is not None:
                return order
        return self._strict(raw, row, entries)

    def _trusted(
        self,
        raw: _OrderRow,
        row: _OrderRow,
        entries: Sequence[_EntryRow],
        chain: _Chain,
        prefix: History | None,
    ) -> Order | None:
        """The order decoded without checks, if ``chain`` extended with the rows' documents
        gives the order row's checksum; ``None`` when it does not, or a document is not one
        the trusted decoders read.

        Raises:
            StoreError: a document above the size limit, or a projection column that
                disagrees with its document.
        """
        order_id: str = row.id
        first = row.version - len(entries) + 1
        if [entry.version for entry in entries] != list(range(first, row.version + 1)):
            return None
        self._check_size(order_id, row.document, "row")
        for entry_row in entries:
            self._check_size(order_id, entry_row.document, f"history row {entry_row.version}")
        chain = chain.extended([entry_row.document for entry_row in entries])
        if row.checksum != chain.sealed(row.document):
            return None
        try:
            parsed = [_json_loads(entry.document) for entry in entries]
            # A whole history is decoded entry by entry as the order is used (see History).
            history = None if prefix is None else prefix
            lazy = prefix is None and (history := lazy_history(parsed)) is not None
            if history is None:
                history = History([decode_entry(document) for document in parsed])
            elif not lazy:
                for document in parsed:
                    history = history.append(decode_entry(document))
            order = decode_order(_json_loads(row.document), history)
        except Exception:  # anything unexpected: the strict load says what is wrong
            return None
        if lazy:
            self._check_documents(order, entries, parsed)
        else:
            self._check_entries(order, entries)
        return self._checked(order, raw, row, chain)

    def _strict(self, raw: _OrderRow, row: _OrderRow, entries: Sequence[_EntryRow]) -> Order:
        """Load an order from its row and every history row, checking every value.

        Raises:
            StoreError: naming the order, and what is wrong.
        """
        order_id: str = row.id
        self._check_size(order_id, row.document, "row")
        for entry_row in entries:
            self._check_size(order_id, entry_row.document, f"history row {entry_row.version}")
        chain = _Chain().extended([entry_row.document for entry_row in entries])
        order = _read_order(
            row.document,
            [entry_row.document for entry_row in entries],
            order_id,
            row.version,
            self._max_size,
        )
        self._check_entries(order, entries)
        return self._checked(order, raw, row, chain)

    def _check_documents(
        self, order: Order, entries: Sequence[_EntryRow], documents: Sequence[Any]
    ) -> None:
        """Refuse history rows whose projections disagree with their entries, read from the
        entries' documents (an entry is decoded only for a row that seems to disagree)."""
        for entry_row, document in zip(entries, documents, strict=True):
            if not _document_agrees(entry_row.version, document, entry_row[1:-2]):
                self._check_entries(order, (entry_row,))

    def _check_entries(self, order: Order, entries: Sequence[_EntryRow]) -> None:
        """Refuse history rows whose projections disagree with their entries."""
        history = order.history
        order_id = order.id
        for entry_row in entries:
            version = entry_row.version
            entry = history[version - 1]
            stored = entry_row[1:-2]
            if _entry_agrees(version, entry, stored):
                continue
            _check_columns(
                order_id,
                f"history row {version}",
                ENTRY_PROJECTED,
                _entry_projections(version, entry),
                stored,
                self._exact_amounts,
            )

    def _checked(self, order: Order, raw: _OrderRow, row: _OrderRow, chain: _Chain) -> Order:
        """Refuse an order row whose projections disagree with the order; cache the order
        (unless its row has no checksum: it is read the strict way until saved again)."""
        _check_columns(
            order.id, "row", PROJECTED, _projections(order), row[1:-2], self._exact_amounts
        )
        if row.checksum is not None:
            self._cache.put(_Cached(order, row.checksum, row.document, chain, tuple(raw[1:-2])))
        return order

    def _check_size(self, order_id: str, document: str, what: str) -> None:
        if len(document) > self._max_size:
            raise StoreError(
                f"stored order {order_id!r} cannot be read: the document of its {what} has "
                f"{len(document)} characters, above the store's max_document_size of "
                f"{self._max_size}"
            )


def _document_agrees(version: int, document: Any, stored: Sequence[Any]) -> bool:
    """Whether a history row's projections are those of the entry its document holds (a
    document of this schema version), read from the document."""
    try:
        command, actor = document["command"], document["actor"]
        at = datetime.fromisoformat(document["at"])
        return stored == (
            version,
            document["from_state"],
            document["to_state"],
            command["type"][:_EVENT_LENGTH],
            f"{actor['kind']}:{actor['id']}"[:_ACTOR_LENGTH],
            at.replace(tzinfo=None) if at.tzinfo is UTC else _naive_utc(at),
        )
    except Exception:  # anything unexpected: the entry itself is checked
        return False
