"""The SQL order store: construction, transactions, and the order half of the port."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from types import TracebackType
from typing import Any

import sqlalchemy as sa
from sqlalchemy.pool import StaticPool

from orderflow import serialization
from orderflow.adapters.arguments import (
    check_expected_version,
    check_order_id,
    check_order_write,
)
from orderflow.adapters.history import check_extends
from orderflow.adapters.sql.claims import SqlClaims
from orderflow.adapters.sql.codec import (
    _OUTBOX_COLUMNS,
    ENTRY_PROJECTED,
    PROJECTED,
    _check_columns,
    _check_order,
    _entry_projections,
    _OrderRow,
    _projections,
    _read_order,
    _Rows,
)
from orderflow.adapters.sql.engines import (
    _COMMITTED,
    _check_engine,
    _reset_uncommitted,
    _SqlitePragmas,
    _turns,
)
from orderflow.adapters.sql.outbox import SqlOutbox
from orderflow.adapters.sql.prepared import _OrderCache, _Prepared
from orderflow.adapters.sql.queries import SqlQueries
from orderflow.adapters.sql.schema import (
    _MYSQL_LIKE,
    _PREFIX,
    CLAIM_COLUMNS,
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


def _create_engine(url: sa.URL, options: dict[str, Any]) -> sa.Engine:
    """An engine, or :class:`InvalidConfiguration` when SQLAlchemy refuses the URL or options."""
    try:
        return sa.create_engine(url, **options)
    except sa.exc.NoSuchModuleError:
        # The value is not shown: a URL may carry a password.
        raise InvalidConfiguration("url", None, "no installed driver for its database") from None
    except (sa.exc.ArgumentError, TypeError, ValueError) as error:
        raise InvalidConfiguration(
            "engine_options", sorted(options), f"SQLAlchemy refused them ({type(error).__name__})"
        ) from error


def _engine_options(given: Mapping[str, Any] | None) -> dict[str, Any]:
    """The options of an engine the store makes: the host's, hiding bound values by default.

    Raises:
        InvalidConfiguration: ``given`` is not a mapping with string keys.
    """
    if given is None:
        given = {}
    if not isinstance(given, Mapping) or not all(isinstance(key, str) for key in given):
        raise InvalidConfiguration("engine_options", given, "must be a mapping of option names")
    return {"hide_parameters": True, **given}


class SqlStore(SqlQueries, SqlClaims, SqlOutbox):
    """An :class:`~orderflow.ports.OrderStore` on SQLAlchemy Core (SQLite, PostgreSQL, MySQL).

    Every operation runs in its own transaction on a connection of the engine's pool, so one
    store may be shared by the threads of a process. Loaded orders are kept in a small LRU
    cache keyed by id and version: :meth:`get` still reads the stored version every time,
    and only skips decoding the order when it is the version already loaded.

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
        with self._transaction("open the store") as connection:
            self._tables = _define_tables(table_prefix, _mysql_collation(connection.dialect))
            self._prepare_statements(connection.dialect)
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

    @classmethod
    def from_url(
        cls,
        url: str | sa.URL,
        *,
        table_prefix: str = "orderflow_",
        create: bool = True,
        cache_size: int = 1024,
        max_document_size: int = serialization.MAX_DOCUMENT_SIZE,
        engine_options: Mapping[str, Any] | None = None,
    ) -> SqlStore:
        """Open a store on a database URL.

        A ``sqlite://`` URL is opened like :meth:`sqlite` (WAL, busy timeout, threads sharing
        an in-memory database). The engine hides the values bound to statements from its
        errors (``hide_parameters=True``: they hold customers' names and addresses) unless
        ``engine_options`` says otherwise. On MySQL and MariaDB, unless ``engine_options`` sets
        ``pool_reset_on_return``, a connection returning to the pool right after the store
        committed on it is not sent a needless ROLLBACK; any other is rolled back as usual.

        Args:
            url: for example ``postgresql+psycopg://app@db/shop`` or
                ``mysql+pymysql://app@db/shop``.
            table_prefix: see :class:`SqlStore`.
            create: see :class:`SqlStore`.
            cache_size: see :class:`SqlStore`.
            max_document_size: see :class:`SqlStore`.
            engine_options: keyword arguments for ``sqlalchemy.create_engine`` (pool size,
                ``pool_pre_ping``, ...).

        Returns:
            The open store; it owns the engine it made.

        Raises:
            InvalidConfiguration: a malformed URL, or options SQLAlchemy refuses.
            StoreError: the database cannot be reached or holds tables of another version.
        """
        try:
            parsed = sa.make_url(url)
        except (sa.exc.ArgumentError, TypeError, ValueError):
            # The value is not shown: a URL may carry a password.
            raise InvalidConfiguration("url", None, "not a database URL") from None
        if parsed.get_backend_name() == "sqlite":
            return cls.sqlite(
                parsed.database or ":memory:",
                table_prefix=table_prefix,
                create=create,
                cache_size=cache_size,
                max_document_size=max_document_size,
                engine_options=engine_options,
            )
        options = _engine_options(engine_options)
        skip_reset = (
            parsed.get_backend_name() in _MYSQL_LIKE and "pool_reset_on_return" not in options
        )
        if skip_reset:
            options["pool_reset_on_return"] = None
        engine = _create_engine(parsed, options)
        if skip_reset:
            sa.event.listen(engine, "reset", _reset_uncommitted)
        return cls._owning(engine, table_prefix, create, cache_size, max_document_size)

    @classmethod
    def sqlite(
        cls,
        path: str | os.PathLike[str] = ":memory:",
        *,
        busy_timeout: float = 5.0,
        table_prefix: str = "orderflow_",
        create: bool = True,
        cache_size: int = 1024,
        max_document_size: int = serialization.MAX_DOCUMENT_SIZE,
        engine_options: Mapping[str, Any] | None = None,
    ) -> SqlStore:
        """Open a store on an SQLite database file, or in memory.

        A file is put in WAL journal mode (readers never wait for the writer); an in-memory
        database is one connection shared by every thread, which take turns. The engine hides
        the values bound to statements from its errors (``hide_parameters=True``) unless
        ``engine_options`` says otherwise.

        Args:
            path: the database file, or ``":memory:"``.
            busy_timeout: seconds a writer waits for another one before giving up.
            table_prefix: see :class:`SqlStore`.
            create: see :class:`SqlStore`.
            cache_size: see :class:`SqlStore`.
            max_document_size: see :class:`SqlStore`.
            engine_options: more keyword arguments for ``sqlalchemy.create_engine``.

        Returns:
            The open store; it owns the engine it made.

        Raises:
            InvalidConfiguration: a malformed path, or options SQLAlchemy refuses.
            StoreError: the file cannot be opened or holds tables of another version.
        """
        try:
            location = os.fspath(path)
        except TypeError:
            raise InvalidConfiguration("path", path, "must be a file path or ':memory:'") from None
        if not isinstance(location, str) or "\x00" in location:
            raise InvalidConfiguration("path", path, "must be a file path or ':memory:'")
        in_memory = location in ("", ":memory:")
        options: dict[str, Any] = {"poolclass": StaticPool} if in_memory else {}
        options.update(_engine_options(engine_options))
        options["connect_args"] = {"check_same_thread": False, **options.get("connect_args", {})}
        url = sa.URL.create("sqlite", database=None if in_memory else location)
        engine = _create_engine(url, options)
        sa.event.listen(engine, "connect", _SqlitePragmas(busy_timeout, wal=not in_memory))
        return cls._owning(engine, table_prefix, create, cache_size, max_document_size)

    @classmethod
    def _owning(
        cls,
        engine: sa.Engine,
        table_prefix: str,
        create: bool,
        cache_size: int,
        max_document_size: int,
    ) -> SqlStore:
        try:
            return cls(
                engine,
                table_prefix=table_prefix,
                create=create,
                cache_size=cache_size,
                max_document_size=max_document_size,
            )
        except BaseException:
            engine.dispose()
            raise

    def _prepare_statements(self, dialect: sa.Dialect) -> None:
        """Compile the statements of the hot path once; each call only binds its values."""
        tables = self._tables
        orders, history, outbox = tables.orders, tables.history, tables.outbox
        # Not a _Prepared statement: SQLAlchemy's compiled cache keeps its result metadata,
        # where a driver-level query would build it again for each of the row's columns.
        self._select_order = sa.select(*self._order_columns()).where(
            orders.c.id == sa.bindparam("order_id")
        )
        self._select_version = sa.select(orders.c.version).where(
            orders.c.id == sa.bindparam("order_id")
        )
        written = [column for column in orders.c if column.name not in CLAIM_COLUMNS]
        changed = [column for column in written if column.name != "id"]
        self._update_order = _Prepared(
            sa.update(orders)
            .where(
                orders.c.id == sa.bindparam("match_id"),
                orders.c.version == sa.bindparam("match_version"),
                orders.c.document == sa.bindparam("match_document"),
            )
            .values({column.name: sa.bindparam(column.name) for column in changed}),
            dialect,
            [column.name for column in changed] + ["match_id", "match_version", "match_document"],
            [column.type for column in changed]
            + [orders.c.id.type, orders.c.version.type, orders.c.document.type],
        )
        self._insert_order = _Prepared(
            orders.insert(),
            dialect,
            [column.name for column in written],
            [column.type for column in written],
            column_keys=[column.name for column in written],
        )
        self._insert_history = _Prepared(
            history.insert(),
            dialect,
            [column.name for column in history.c],
            [column.type for column in history.c],
            column_keys=[column.name for column in history.c],
        )
        self._insert_outbox = _Prepared(
            _insert_new(dialect, outbox, "id"),
            dialect,
            _OUTBOX_COLUMNS,
            [outbox.c[name].type for name in _OUTBOX_COLUMNS],
            column_keys=_OUTBOX_COLUMNS,
        )

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

    @contextmanager
    def _transaction(
        self, action: str, *, order_id: str | None = None, expected_version: int = 0
    ) -> Iterator[sa.Connection]:
        if self._closed:
            raise StoreError(f"orderflow could not {action}: the store is closed")
        with (
            self._turns,
            _translate(action, order_id=order_id, expected_version=expected_version),
            self._engine.connect() as connection,
        ):
            with connection.begin():
                yield connection
            if self._marks_commits:
                # Committed: the pool's reset may skip its ROLLBACK (see _reset_uncommitted).
                connection.connection.info[_COMMITTED] = True

    @contextmanager
    def _reading(self, action: str) -> Iterator[sa.Connection]:
        """A connection for reads, outside any transaction where the driver allows it.

        Reads need no transaction here: an order row and its history rows are written in one
        transaction, history is append-only, and a load keeps only the entries up to the
        version of the row it read, so it never sees a half-written change.
        """
        if self._closed:
            raise StoreError(f"orderflow could not {action}: the store is closed")
        with (
            self._turns,
            _translate(action),
            self._reader.connect() as connection,
        ):
            yield connection

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
        found = self._load(f"load order {order_id!r}", self._select_order, {"order_id": order_id})
        if not found:
            raise OrderNotFound(order_id)
        return found[0]

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
        action = f"add order {order.id!r}"
        with self._transaction(action, order_id=order.id) as connection:
            with _translate(action, order_id=order.id, inserting_order=True):
                self._insert_order.run(connection, rows.order)
            self._write_history_and_outbox(connection, rows)
        self._cache.put(order, rows.document, rows.projections)

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
        rows = _Rows(order, expected_version + 1, self._max_size)
        cached = self._cache.peek(order.id, expected_version)
        if cached is not None:
            check_extends(order, cached[1].history)
        action = f"save order {order.id!r}"
        with self._transaction(
            action, order_id=order.id, expected_version=expected_version
        ) as connection:
            if cached is None:
                document = self._check_stored_history(connection, order, expected_version)
            else:
                document = cached[0]
            change = (*rows.order[1:], order.id, expected_version, document)
            if self._update_order.run(connection, change).rowcount != 1:
                actual = connection.execute(
                    self._select_version, {"order_id": order.id}
                ).scalar_one_or_none()
                if actual is None:
                    raise OrderNotFound(order.id)
                # At the expected version with another document: replaced behind our back.
                self._cache.drop(order.id, expected_version)
                raise ConcurrencyConflict(order.id, expected_version, actual)
            self._write_history_and_outbox(connection, rows)
        self._cache.put(order, rows.document, rows.projections, replaces=expected_version)

    def _check_stored_history(
        self, connection: sa.Connection, order: Order, expected_version: int
    ) -> str:
        """Load the stored order (in the saving transaction) and refuse ``order`` unless it
        extends its history; return the stored document, for the update to match."""
        orders = self._tables.orders
        found = connection.execute(
            sa.select(*self._order_columns()).where(orders.c.id == order.id)
        ).one_or_none()
        if found is None:
            raise OrderNotFound(order.id)
        row = _OrderRow(*found)
        if row.version != expected_version:
            raise ConcurrencyConflict(order.id, expected_version, row.version)
        history = self._history_rows(connection, {row.id: row.version})[row.id]
        stored = self._read_order(row, history)
        check_extends(order, stored.history)
        document: str = row.document
        return document

    def _order_columns(self) -> list[sa.Column[Any]]:
        """The columns a load reads: id, the projections, the document."""
        orders = self._tables.orders
        return [orders.c.id, *(orders.c[name] for name in PROJECTED), orders.c.document]

    def _write_history_and_outbox(self, connection: sa.Connection, rows: _Rows) -> None:
        self._insert_history.run_many(connection, rows.history)
        self._insert_outbox.run_many(connection, rows.outbox)

    def _stored_version(self, order_id: str) -> int:
        orders = self._tables.orders
        with self._transaction(f"load order {order_id!r}") as connection:
            stored: int | None = connection.execute(
                sa.select(orders.c.version).where(orders.c.id == order_id)
            ).scalar_one_or_none()
        if stored is None:
            raise OrderNotFound(order_id)
        return stored

    def _history_rows(
        self, connection: sa.Connection, versions: Mapping[str, int]
    ) -> dict[str, list[sa.Row[Any]]]:
        """The history rows of these orders, up to the version each order row has.

        Entries are append-only: those up to the row's version are the order's, and any
        later ones belong to a save that committed after the order row was read.
        """
        history = self._tables.history
        found: dict[str, list[sa.Row[Any]]] = {order_id: [] for order_id in versions}
        query = (
            sa.select(history.c.order_id, *(history.c[n] for n in ENTRY_PROJECTED))
            .add_columns(history.c.document)
            .where(history.c.order_id.in_(versions))
            .order_by(history.c.order_id, history.c.version)
        )
        for entry in connection.execute(query):
            if entry.version <= versions[entry.order_id]:
                found[entry.order_id].append(entry)
        return found

    def _load(
        self, action: str, query: sa.Select[Any], values: Mapping[str, Any] | None = None
    ) -> list[Order]:
        """Run a query for order rows (with its bound ``values``) and load those orders,
        reading the history of every order the cache lacks with one query.

        Every row is checked against its order: its projections (state, version, deadline,
        amounts, ...) must be what the document implies, on a cache hit too.
        """
        with self._reading(action) as connection:
            rows = [_OrderRow(*row) for row in connection.execute(query, values)]
            found: dict[str, Order | None] = {}
            for row in rows:
                found[row.id] = self._cached(row)
            missing = {row.id: row.version for row in rows if found[row.id] is None}
            entries = self._history_rows(connection, missing) if missing else {}
        loaded: list[Order] = []
        for row in rows:
            order = found[row.id]
            if order is None:
                order = self._read_order(row, entries[row.id])
            loaded.append(order)
        return loaded

    def _cached(self, row: _OrderRow) -> Order | None:
        """The cached order of this row, if its document is the cached one; its
        projections are checked again when they changed since."""
        self._check_size(row.id, row.document, "row")
        hit = self._cache.get(row.id, row.version, row.document)
        if hit is None:
            return None
        order, checked = hit
        stored: tuple[Any, ...] = tuple(row[1:-1])
        if stored != checked:
            _check_columns(
                row.id, "row", PROJECTED, _projections(order), stored, self._exact_amounts
            )
            self._cache.put(order, row.document, stored)
        return order

    def _read_order(self, row: _OrderRow, entries: Sequence[sa.Row[Any]]) -> Order:
        """Load an order from its row and history rows, checking every projection.

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
        for entry_row in entries:
            self._check_size(order_id, entry_row.document, f"history row {entry_row.version}")
        order = _read_order(
            row.document,
            [entry_row.document for entry_row in entries],
            order_id,
            row.version,
            self._max_size,
        )
        for version, (entry, entry_row) in enumerate(zip(order.history, entries, strict=True), 1):
            _check_columns(
                order_id,
                f"history row {version}",
                ENTRY_PROJECTED,
                _entry_projections(version, entry),
                tuple(entry_row[1:-1]),
                self._exact_amounts,
            )
        projections: tuple[Any, ...] = tuple(row[1:-1])
        _check_columns(
            order_id, "row", PROJECTED, _projections(order), projections, self._exact_amounts
        )
        self._cache.put(order, row.document, projections)
        return order

    def _check_size(self, order_id: str, document: str, what: str) -> None:
        if len(document) > self._max_size:
            raise StoreError(
                f"stored order {order_id!r} cannot be read: the document of its {what} has "
                f"{len(document)} characters, above the store's max_document_size of "
                f"{self._max_size}"
            )
