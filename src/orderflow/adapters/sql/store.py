"""The SQL order store: the class itself, its transactions, and the order half of the port
(its constructors from a URL or an SQLite path are in :mod:`.opening`)."""

from __future__ import annotations

from types import TracebackType
from typing import Any, Final

import sqlalchemy as sa

from orderflow import serialization
from orderflow.adapters.arguments import (
    check_expected_version,
    check_order_id,
    check_order_write,
)
from orderflow.adapters.history import check_extends
from orderflow.adapters.sql.cache import _Cached, _OrderCache
from orderflow.adapters.sql.claims import SqlClaims
from orderflow.adapters.sql.codec import PROJECTED, _check_order, _Rows
from orderflow.adapters.sql.connections import SqlConnections, _Pin
from orderflow.adapters.sql.engines import (
    _check_engine,
    _reset_uncommitted,
    _turns,
)
from orderflow.adapters.sql.loading import SqlLoading
from orderflow.adapters.sql.opening import SqlOpening
from orderflow.adapters.sql.outbox import SqlOutbox
from orderflow.adapters.sql.prepared import _cursor, _Statements
from orderflow.adapters.sql.queries import SqlQueries
from orderflow.adapters.sql.schema import (
    _PREFIX,
    SCHEMA_VERSION,
    SqlTables,
    _define_tables,
    _insert_new,
    _mysql_collation,
)
from orderflow.adapters.sql.translate import _translate
from orderflow.adapters.sql.upgrades import stored_version, upgrade
from orderflow.errors import (
    ConcurrencyConflict,
    InvalidConfiguration,
    InvalidInput,
    OrderNotFound,
    StoreError,
)
from orderflow.order import Order

_LEAST_DOCUMENT_SIZE = 1024
"""The smallest ``max_document_size`` a store accepts: below it, no order would fit."""

# -- the store -----------------------------------------------------------------------------


class _Lost(Exception):
    """A save's ``UPDATE`` matched no row: the order changed, or is gone."""


class SqlStore(SqlOpening, SqlConnections, SqlLoading, SqlQueries, SqlClaims, SqlOutbox):
    """An :class:`~orderflow.ports.OrderStore` on SQLAlchemy Core (SQLite, PostgreSQL, MySQL).

    Every operation runs in its own transaction on a connection of the engine's pool, so one
    store may be shared by the threads of a process (:meth:`command_scope` lets the calls of
    one command share a connection). Loaded orders are kept in a small LRU cache keyed by
    id: :meth:`get` still reads the order's row every time, and only skips decoding the
    order when the row's version and checksum are the cached ones; when the cache holds an
    earlier version, only the newer history rows are read and decoded.

    Args:
        engine: the engine to use (the store disposes of it in :meth:`close`).
        table_prefix: prefix of the table names: lower-case letters, digits and ``_``, at
            most 40 characters (several stores may share a database under different ones).
        create: create the tables if they do not exist, and upgrade tables of an earlier
            schema version in place; otherwise they must exist, at the current version.
        cache_size: how many loaded orders to keep (0 turns the cache off).
        max_document_size: the most characters one stored document may have (an order
            without its history, one history entry, one outbox entry); a larger one is
            refused on write (:class:`~orderflow.errors.InvalidInput`), and an order's are
            refused on read too (:class:`~orderflow.errors.StoreError` naming the order),
            before they are parsed.

    Raises:
        InvalidConfiguration: a malformed prefix, cache size or document size limit, an
            engine of another database, or an in-memory SQLite engine whose threads would
            not share one database.
        StoreError: the database cannot be reached, the tables are missing (with
            ``create=False``) or are of another schema version.
    """

    def __init__(
        self,
        engine: sa.Engine,
        *,
        table_prefix: str = "orderflow_",
        create: bool = True,
        cache_size: int = 1024,
        max_document_size: int = serialization.MAX_DOCUMENT_SIZE,
    ) -> None:
        self._engine = _check_engine(engine)
        if not isinstance(table_prefix, str) or not _PREFIX.fullmatch(table_prefix):
            raise InvalidConfiguration(
                "table_prefix", table_prefix, "use up to 40 of a-z, 0-9 and _, not first a digit"
            )
        if isinstance(cache_size, bool) or not isinstance(cache_size, int) or cache_size < 0:
            raise InvalidConfiguration("cache_size", cache_size, "must be a whole number >= 0")
        if (
            isinstance(max_document_size, bool)
            or not isinstance(max_document_size, int)
            or max_document_size < _LEAST_DOCUMENT_SIZE
        ):
            raise InvalidConfiguration(
                "max_document_size",
                max_document_size,
                f"must be a whole number of at least {_LEAST_DOCUMENT_SIZE} characters",
            )
        self._max_size = max_document_size
        # SQLite keeps NUMERIC as floating point: its amount columns agree as floats.
        self._exact_amounts = engine.dialect.name != "sqlite"
        self._prefix = table_prefix
        self._turns = _turns(engine)
        self._marks_commits = sa.event.contains(engine, "reset", _reset_uncommitted)
        self._cache = _OrderCache(cache_size)
        self._closed = False
        self._pin = _Pin()
        with self._transaction("open the store") as connection:
            self._tables = _define_tables(table_prefix, _mysql_collation(connection.dialect))
            statements = _Statements(
                self._tables, connection.dialect, self._order_columns(), self._entry_columns()
            )
            self._statements = statements
            self._select_order = statements.select_order
            self._select_history = statements.select_history
            if create:
                self._create(connection)
        if create:  # its own transaction: holds no lock yet when it waits for the upgrade's
            with self._transaction("upgrade the tables") as connection:
                upgrade(connection, self._tables)
        with self._transaction("open the store") as connection:  # sees any upgrade committed
            self._check_schema(connection)
        # PostgreSQL: reads in autocommit skip a BEGIN and a COMMIT round trip each.
        self._reader = (
            engine.execution_options(isolation_level="AUTOCOMMIT")
            if engine.dialect.name == "postgresql"
            else engine
        )

    # -- construction ----------------------------------------------------------------------

    def _create(self, connection: sa.Connection) -> None:
        self._tables.metadata.create_all(connection)
        insert = _insert_new(connection.dialect, self._tables.meta, "key")
        connection.execute(insert, {"key": "schema_version", "value": str(SCHEMA_VERSION)})

    def _check_schema(self, connection: sa.Connection) -> None:
        meta = self._tables.meta
        if not sa.inspect(connection).has_table(meta.name):
            raise StoreError(
                f"no orderflow tables with the prefix {self._prefix!r} in this database; "
                "open the store with create=True to create them"
            )
        stored = stored_version(connection, self._tables)
        if stored is not None and stored.isdigit() and 0 < int(stored) < SCHEMA_VERSION:
            raise StoreError(
                f"the tables {self._prefix}* hold orderflow SQL schema version {stored}, "
                f"this orderflow reads version {SCHEMA_VERSION}: open the store with "
                "create=True to upgrade them in place"
            )
        if stored != str(SCHEMA_VERSION):
            raise StoreError(
                f"the tables {self._prefix}* hold orderflow SQL schema version {stored}, "
                f"this orderflow reads version {SCHEMA_VERSION}: migrate them, or use "
                "another table_prefix"
            )

    # -- resources -------------------------------------------------------------------------

    @property
    def engine(self) -> sa.Engine:
        """The engine the store runs on."""
        return self._engine

    @property
    def tables(self) -> SqlTables:
        """The store's tables, for a host's own reporting queries."""
        return self._tables

    @property
    def table_prefix(self) -> str:
        """The prefix of the store's table names."""
        return self._prefix

    def close(self) -> None:
        """Dispose of the engine's connections; the store cannot be used afterwards."""
        self._closed = True
        self._cache.clear()
        self._engine.dispose()

    def drop_tables(self) -> None:
        """Drop the store's four tables and everything in them (for tests and teardown).

        Raises:
            StoreError: the database refused.
        """
        with self._transaction("drop the tables") as connection:
            self._tables.metadata.drop_all(connection)
        self._cache.clear()

    def __enter__(self) -> SqlStore:
        """The store itself, closed when the ``with`` block ends."""
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Close the store."""
        self.close()

    def __repr__(self) -> str:
        """The store's database (without password) and table prefix."""
        url = self._engine.url.render_as_string(hide_password=True)
        return f"SqlStore({url!r}, table_prefix={self._prefix!r})"

    # -- orders ----------------------------------------------------------------------------

    def get(self, order_id: str) -> Order:
        """The order with this id, as last saved.

        Args:
            order_id: the order's id.

        Returns:
            The order, equal to the one saved (history and amounts exact).

        Raises:
            InvalidInput: the id is not an identifier.
            OrderNotFound: no order has this id.
            StoreError: the database failed, or the stored order cannot be read.
        """
        check_order_id(order_id)
        with self._reading(f"load order {order_id!r}") as connection:
            order = self._load_one(connection, order_id)
        if order is None:
            raise OrderNotFound(order_id)
        return order

    def cached_order(self, order_id: str) -> Order | None:
        """The order as this store last wrote it, or read and checked it, from its cache and
        without asking the database; ``None`` when the cache does not hold it.

        It may be stale: another store may have saved the order since, or someone may have
        changed its row. Decide on it only to save at its version:
        :meth:`~orderflow.service.OrderService.handle` does, when the cache holds the order.
        A save from a cached order matches the row as cached (version, checksum, document
        and every projection column), so on a row that changed in any of them it conflicts
        and writes nothing. The entry is dropped when the row changed in place; when another
        writer moved the order on, it stays as the prefix the next load extends with the
        newer history rows (checked, as every load checks a cached entry). Use :meth:`get`
        for the order as last saved.

        Raises:
            InvalidInput: the id is not an identifier.
            StoreError: the store is closed.
        """
        check_order_id(order_id)
        self._check_open(f"load order {order_id!r}")
        cached = self._cache.get(order_id)
        return None if cached is None else cached.order

    def add(self, order: Order) -> None:
        """Store a new order with its history and the outbox entries of its history's
        effects, in one transaction.

        Args:
            order: the new order.

        Raises:
            OrderAlreadyExists: an order with this id is stored already; nothing is written.
            InvalidInput: not an :class:`~orderflow.Order`, an id or customer id that is not an
                identifier, or a document larger than ``max_document_size``.
            StoreError: the database failed; nothing is written.
        """
        check_order_write(order)
        _check_order(order)
        rows = _Rows(order, 1, self._max_size)
        insert = self._statements.insert_order
        bound = insert.bound(rows.order)
        action = f"add order {order.id!r}"
        with self._transaction(action, order_id=order.id) as connection:
            with _translate(action, order_id=order.id, inserting_order=True):
                insert.run_bound(connection, bound)
            self._write_history_and_outbox(connection, rows)
        self._remember(order, rows, tuple(bound[1:11]))

    def save(self, order: Order, expected_version: int) -> None:
        """Replace the stored order if it is still at ``expected_version``, appending its new
        history entries (those after ``expected_version``) and the outbox entries of their
        effects, in one transaction.

        History is append-only: the order must begin with the stored history, entry for
        entry, and only the entries after ``expected_version`` are added. When the store has
        the stored version in its cache (the order was loaded through it), that check costs
        one comparison per entry; otherwise the stored history is read and loaded in the
        transaction.

        Args:
            order: the order after the change.
            expected_version: the version the order was loaded at.

        Raises:
            ConcurrencyConflict: the stored version is not ``expected_version`` (or the stored
                order was replaced behind the store's back), or the database gave up on the
                transaction because of a concurrent one; nothing is written.
            OrderNotFound: no order has this id.
            InvalidInput: malformed arguments (as for :meth:`add`, or a version that is not a
                whole number from 0 to 2^31 - 1), the order's version is not above
                ``expected_version``, or its history does not begin with the stored one;
                nothing is written.
            StoreError: the database failed, or the stored order cannot be read; nothing is
                written.
        """
        check_order_write(order)
        check_expected_version(expected_version)
        _check_order(order)
        if order.version <= expected_version:
            stored = self._stored_version(order.id)
            if stored != expected_version:
                raise ConcurrencyConflict(order.id, expected_version, stored)
            raise InvalidInput(
                "order.version", order.version, f"must be above {expected_version} to save"
            )
        cached = self._cache.get(order.id)
        if cached is not None and cached.version == expected_version:
            check_extends(order, cached.order.history)
        else:
            cached = None
        earlier = None if cached is None or cached.body is None else (cached.order, cached.body)
        rows = _Rows(order, expected_version + 1, self._max_size, earlier)
        statements = self._statements
        action = f"save order {order.id!r}"
        try:
            with self._transaction(
                action, order_id=order.id, expected_version=expected_version
            ) as connection:
                if cached is None:
                    match, chain, sealed = self._check_stored_history(
                        connection, order, expected_version
                    )
                    update = statements.update_order if sealed else statements.update_unsealed
                    matched: tuple[Any, ...] = (match,)
                else:
                    chain, update = cached.chain, statements.update_cached
                    matched = (cached.checksum, cached.document, *_as_matched(cached))
                rows.seal(chain)
                bound = update.bound((*rows.order[1:], order.id, expected_version, *matched))
                cursor = _cursor(connection)  # one for the three statements
                try:
                    if update.run_bound(connection, bound, cursor) != 1:
                        raise _Lost
                    self._write_history_and_outbox(connection, rows, cursor)
                finally:
                    if cursor is not None:
                        cursor.close()
        except _Lost:
            # Read again after the rollback: a snapshot taken earlier would show the old row.
            try:
                actual = self._stored_version(order.id)
            except OrderNotFound:
                self._cache.drop(order.id)
                raise
            if actual <= expected_version:
                # Changed in place (by hand, or the order replaced): nothing to build on.
                self._cache.drop(order.id)
            # Moved on by another writer: the entry stays, as the prefix the next load
            # extends with the newer history rows once their checksums show they follow it
            # (a load never serves it without checking the row).
            raise ConcurrencyConflict(order.id, expected_version, actual) from None
        self._remember(order, rows, tuple(bound[:10]))

    def _remember(self, order: Order, rows: _Rows, projections: tuple[Any, ...]) -> None:
        """Cache an order the store has just written, with the rows it wrote."""
        self._cache.put(
            _Cached(order, rows.checksum, rows.document, rows.chain, projections, rows.body)
        )

    def _write_history_and_outbox(
        self, connection: sa.Connection, rows: _Rows, cursor: Any = None
    ) -> None:
        self._statements.insert_history.run_many(connection, rows.history, cursor)
        self._statements.insert_outbox.run_many(connection, rows.outbox, cursor)

    def _stored_version(self, order_id: str) -> int:
        with self._reading(f"load order {order_id!r}") as connection:
            found = self._statements.select_version.rows(connection, (order_id,))
        if not found:
            raise OrderNotFound(order_id)
        version: int = found[0][0]
        return version


def _as_matched(cached: _Cached) -> tuple[Any, ...]:
    """The projection columns a save from a cached order matches, as cached (the version is
    matched on its own)."""
    projections = cached.projections
    return (*projections[:_VERSION_AT], *projections[_VERSION_AT + 1 :])


_VERSION_AT: Final = PROJECTED.index("version")
