"""An order store on SQLAlchemy Core: SQLite, PostgreSQL and MySQL/MariaDB (PT-1, D-9, D-14).

Install with ``pip install orderflow[sql]``. One :class:`SqlStore` runs the same code on all
three backends::

    store = SqlStore.sqlite("orders.db")                          # embedded, WAL journal
    store = SqlStore.from_url("postgresql+psycopg://app@db/shop")  # psycopg 3
    store = SqlStore.from_url("mysql+pymysql://app@db/shop")       # MySQL or MariaDB

It behaves exactly like the reference :class:`~orderflow.adapters.memory.InMemoryStore`:
optimistic concurrency on the order's version, the order, its new history entries and its
outbox entries written in one transaction, exact round trips. Every error of the database
driver is translated in one place (:func:`_translate`) into
:class:`~orderflow.errors.StoreError`, :class:`~orderflow.errors.OrderAlreadyExists` or
:class:`~orderflow.errors.ConcurrencyConflict`, chained with ``raise ... from``.

Schema, version 1 (:data:`SCHEMA_VERSION`)
-------------------------------------------

Four tables, named with the store's ``table_prefix`` (``orderflow_`` by default), made by
``MetaData.create_all`` when the store opens with ``create=True`` (no migrations). The
documents are the JSON of :mod:`orderflow.serialization` (decimals as strings, datetimes with
their offset); they are the truth. The other columns are projections, for the store's own
queries and for a host's reports; all times in them are naive UTC (``DATETIME(6)`` on
MySQL). Text is ``utf8mb4`` with a binary collation on MySQL and keys use the ``"C"``
collation on PostgreSQL, so ids compare and sort exactly as Python strings do::

    <prefix>meta     key VARCHAR(64) PK, value VARCHAR(200)
                     -- one row: schema_version = 1
    <prefix>orders   id VARCHAR(100) PK, customer_id VARCHAR(100), state VARCHAR(32),
                     version INTEGER, next_deadline DATETIME NULL, currency CHAR(3),
                     amount_due, amount_paid, amount_refunded NUMERIC(26, 8),
                     created_at DATETIME, updated_at DATETIME,
                     document TEXT  -- the order without its history
                     index (customer_id), (state, id), (next_deadline, id)
    <prefix>history  order_id VARCHAR(100) FK -> orders.id, version INTEGER,
                     PK (order_id, version), from_state VARCHAR(32) NULL,
                     to_state VARCHAR(32), event VARCHAR(64), actor VARCHAR(200),
                     at DATETIME, document TEXT  -- one history entry
    <prefix>outbox   position BIGINT PK autoincrement (the order entries were written in),
                     id VARCHAR(200) UNIQUE (the effect id), order_id VARCHAR(100),
                     version INTEGER, seq INTEGER, kind VARCHAR(64), status VARCHAR(16),
                     attempts INTEGER, last_error TEXT, created_at DATETIME,
                     delivered_at DATETIME NULL, document TEXT  -- the effect
                     index (order_id), (status, attempts, created_at, position)

``TEXT`` is ``LONGTEXT`` on MySQL. The amounts are wide enough for any amount
:class:`~orderflow.Money` accepts (18 integer digits, 8 decimal places); SQLite keeps them as
floating point, so report on them there with care (the documents stay exact). A store opened
on tables of another schema version refuses to work (:class:`~orderflow.errors.StoreError`).

Limits the SQL store adds to the reference semantics: order ids and customer ids of at most
100 characters, effect ids of at most 200 (longer ones are refused with
:class:`~orderflow.errors.InvalidInput`); the times given to :meth:`SqlStore.find_due`,
:meth:`SqlStore.mark_delivered` and :meth:`SqlStore.mark_failed` must be timezone-aware; the
``actor`` and ``event`` projections are cut to their column's length.
"""

from __future__ import annotations

import json
import os
import re
import threading
import weakref
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Final, TypeVar

import attrs
import sqlalchemy as sa
from sqlalchemy import exc
from sqlalchemy.dialects import mysql, postgresql, sqlite
from sqlalchemy.pool import PoolResetState, StaticPool
from sqlalchemy.sql.compiler import SQLCompiler

from orderflow import serialization
from orderflow.effects import Effect
from orderflow.errors import (
    ConcurrencyConflict,
    InvalidConfiguration,
    InvalidInput,
    OrderAlreadyExists,
    OrderNotFound,
    StoreError,
)
from orderflow.model import OrderState
from orderflow.order import Order
from orderflow.ports import OutboxEntry, OutboxStatus, outbox_entries

__all__ = ["SCHEMA_VERSION", "SqlStore", "SqlTables"]

SCHEMA_VERSION: Final = 1
"""The version of the table layout this module reads and writes."""

T = TypeVar("T")

_ID_LENGTH: Final = 100
_EFFECT_ID_LENGTH: Final = 200
_EVENT_LENGTH: Final = 64
_ACTOR_LENGTH: Final = 200
_PREFIX = re.compile(r"[a-z_][a-z0-9_]{0,39}|")
_DIALECTS: Final = ("sqlite", "postgresql", "mysql", "mariadb")
_MYSQL_LIKE: Final = ("mysql", "mariadb")

# Errors a database raises when two transactions collide: the transaction is sound and may be
# run again. PostgreSQL: serialization failure, deadlock. MySQL: lock wait timeout, deadlock.
_CONFLICT_SQLSTATES: Final = frozenset({"40001", "40P01"})
_CONFLICT_MYSQL_CODES: Final = frozenset({1205, 1213})


# -- the schema ----------------------------------------------------------------------------


def _key(length: int) -> sa.types.TypeEngine[str]:
    """A key column: compared byte by byte (code point order), like Python strings."""
    return sa.String(length).with_variant(postgresql.VARCHAR(length, collation="C"), "postgresql")


_TIMESTAMP: Final = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), *_MYSQL_LIKE)
_TEXT: Final = sa.Text().with_variant(mysql.LONGTEXT(), *_MYSQL_LIKE)
_AMOUNT: Final = sa.Numeric(26, 8)
_POSITION: Final = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


@attrs.frozen(eq=False)
class SqlTables:
    """The tables of one store, for hosts that report on them with their own queries.

    Attributes:
        metadata: the ``MetaData`` holding the four tables.
        orders: one row per order: projections and the order's document without history.
        history: one row per history entry.
        outbox: one row per outbox entry.
        meta: key/value pairs about the tables (``schema_version``).
    """

    metadata: sa.MetaData
    orders: sa.Table
    history: sa.Table
    outbox: sa.Table
    meta: sa.Table


def _define_tables(prefix: str, mysql_collation: str) -> SqlTables:
    metadata = sa.MetaData()
    options: dict[str, Any] = {}
    for dialect in _MYSQL_LIKE:
        options[f"{dialect}_engine"] = "InnoDB"
        options[f"{dialect}_charset"] = "utf8mb4"
        options[f"{dialect}_collate"] = mysql_collation
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
        sa.Column("id", _key(_ID_LENGTH), primary_key=True),
        sa.Column("customer_id", _key(_ID_LENGTH), nullable=False),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("next_deadline", _TIMESTAMP, nullable=True),
        sa.Column("currency", sa.CHAR(3), nullable=False),
        sa.Column("amount_due", _AMOUNT, nullable=False),
        sa.Column("amount_paid", _AMOUNT, nullable=False),
        sa.Column("amount_refunded", _AMOUNT, nullable=False),
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
        sa.Column("order_id", _key(_ID_LENGTH), sa.ForeignKey(orders.c.id), primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("from_state", sa.String(32), nullable=True),
        sa.Column("to_state", sa.String(32), nullable=False),
        sa.Column("event", sa.String(_EVENT_LENGTH), nullable=False),
        sa.Column("actor", sa.String(_ACTOR_LENGTH), nullable=False),
        sa.Column("at", _TIMESTAMP, nullable=False),
        sa.Column("document", _TEXT, nullable=False),
        **options,
    )
    outbox = sa.Table(
        f"{prefix}outbox",
        metadata,
        sa.Column("position", _POSITION, primary_key=True, autoincrement=True),
        sa.Column("id", _key(_EFFECT_ID_LENGTH), nullable=False),
        sa.Column("order_id", _key(_ID_LENGTH), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(_EVENT_LENGTH), nullable=False),
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
    return SqlTables(metadata, orders, history, outbox, meta)


def _mysql_collation(dialect: sa.Dialect) -> str:
    """A binary collation without trailing-space padding, where the server has one."""
    if getattr(dialect, "is_mariadb", False):
        return "utf8mb4_nopad_bin"
    version = dialect.server_version_info or ()
    return "utf8mb4_0900_bin" if version >= (8, 0, 17) else "utf8mb4_bin"


def _insert_new(dialect: sa.Dialect, table: sa.Table, key: str) -> sa.Insert:
    """An INSERT that skips rows whose ``key`` exists already."""
    if dialect.name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing(index_elements=[key])
    if dialect.name == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing(index_elements=[key])
    statement = mysql.insert(table)
    return statement.on_duplicate_key_update({key: statement.inserted[key]})


# -- error translation ---------------------------------------------------------------------


def _is_collision(error: exc.DBAPIError) -> bool:
    original = error.orig
    if getattr(original, "sqlstate", None) in _CONFLICT_SQLSTATES:
        return True
    args: tuple[object, ...] = getattr(original, "args", ())
    return bool(args) and args[0] in _CONFLICT_MYSQL_CODES


def _describe(error: exc.SQLAlchemyError) -> str:
    # The driver's message only: SQLAlchemy's own adds the statement's parameters, which
    # hold customers' names and addresses.
    if isinstance(error, exc.DBAPIError) and error.orig is not None:
        return f"{type(error.orig).__name__}: {error.orig}".strip()
    return f"{type(error).__name__}: {error}"


@contextmanager
def _translate(
    action: str,
    *,
    order_id: str | None = None,
    expected_version: int = 0,
    inserting_order: bool = False,
) -> Iterator[None]:
    """The one place where database errors become orderflow errors.

    Args:
        action: what was being done, for the message (``"save order 'o-1'"``).
        order_id: the order concerned, if any: collisions with other transactions on it
            become :class:`ConcurrencyConflict`.
        expected_version: the version the writer loaded, for the conflict.
        inserting_order: the block inserts the order's row: an integrity error there means
            the id is taken (:class:`OrderAlreadyExists`).

    Raises:
        OrderAlreadyExists: the order's row could not be inserted: its id is taken.
        ConcurrencyConflict: the database gave up on the transaction because of another one
            (serialization failure, deadlock, lock wait timeout).
        StoreError: any other error of the database or its driver.
    """
    try:
        yield
    except exc.IntegrityError as error:
        if inserting_order and order_id is not None:
            raise OrderAlreadyExists(order_id) from error
        raise StoreError(f"orderflow could not {action}: {_describe(error)}") from error
    except exc.DBAPIError as error:
        if order_id is not None and _is_collision(error):
            raise ConcurrencyConflict(order_id, expected_version, None) from error
        raise StoreError(f"orderflow could not {action}: {_describe(error)}") from error
    except exc.SQLAlchemyError as error:
        raise StoreError(f"orderflow could not {action}: {_describe(error)}") from error


# -- documents -----------------------------------------------------------------------------


def _json(document: object) -> str:
    return json.dumps(document, separators=(",", ":"))


def _read(text: str, kind: type[T], what: str, history: Sequence[str] | None = None) -> T:
    """Load a stored document (with its history entries, for an order).

    Raises:
        StoreError: the stored document cannot be read back.
    """
    try:
        document = json.loads(text)
        if history is not None:
            document["history"] = [json.loads(entry) for entry in history]
        return serialization.load(document, kind)
    except (ValueError, TypeError) as error:  # DocumentError is a ValueError
        raise StoreError(f"orderflow cannot read the stored {what}: {error}") from error


def _naive_utc(value: datetime, field: str = "at") -> datetime:
    if type(value) is datetime and value.tzinfo is UTC:  # the usual case, already UTC
        return value.replace(tzinfo=None)
    if not isinstance(value, datetime) or value.utcoffset() is None:
        raise InvalidInput(field, value, "must be a timezone-aware datetime")
    return value.astimezone(UTC).replace(tzinfo=None)


def _aware(value: datetime | None) -> datetime | None:
    return None if value is None else value.replace(tzinfo=UTC)


def _check_limit(limit: int) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
        raise InvalidInput("limit", limit, "must be a whole number, 0 or more")
    return limit


def _check_order(order: object, effects: Sequence[Effect]) -> None:
    if type(order) is not Order:
        raise InvalidInput("order", order, "must be an Order")
    for field, value in (("order.id", order.id), ("order.customer_id", order.customer_id)):
        if len(value) > _ID_LENGTH:
            raise InvalidInput(field, value, f"the SQL store keeps at most {_ID_LENGTH} chars")
    for index, effect in enumerate(effects):
        if not isinstance(effect, Effect):
            raise InvalidInput(f"effects[{index}]", effect, "must be an Effect")
        if len(effect.order_id) > _ID_LENGTH or len(effect.id) > _EFFECT_ID_LENGTH:
            raise InvalidInput(
                f"effects[{index}].id", effect.id, "too long for the SQL store's outbox"
            )


class _Rows:
    """The rows one change of an order writes: order, new history entries, outbox entries.

    Each row is a tuple of its table's column values in the table's column order (the outbox
    without its ``position``), as :class:`_Prepared` statements take them.
    """

    __slots__ = ("document", "history", "order", "outbox")

    def __init__(self, order: Order, effects: Sequence[Effect], first_new_version: int) -> None:
        body, entries = serialization.dump_order_parts(order, first_new_version)
        self.document = _json(body)
        deadline = order.next_deadline
        order_id = order.id
        self.order: tuple[Any, ...] = (
            order_id,
            order.customer_id,
            order.state.value,
            order.version,
            None if deadline is None else _naive_utc(deadline.due_at),
            order.currency,
            order.amount_due.amount,
            order.amount_paid.amount,
            order.amount_refunded.amount,
            _naive_utc(order.created_at),
            _naive_utc(order.updated_at),
            self.document,
        )
        self.history: list[tuple[Any, ...]] = [
            (
                order_id,
                version,
                None if entry.from_state is None else entry.from_state.value,
                entry.to_state.value,
                entry.event[:_EVENT_LENGTH],
                str(entry.actor)[:_ACTOR_LENGTH],
                _naive_utc(entry.at),
                _json(document),
            )
            for version, (entry, document) in enumerate(
                zip(order.history[first_new_version - 1 :], entries, strict=True),
                start=first_new_version,
            )
        ]
        pending = OutboxStatus.PENDING.value
        self.outbox: list[tuple[Any, ...]] = [
            (
                entry.id,
                entry.order_id,
                entry.version,
                entry.effect.seq,
                entry.kind[:_EVENT_LENGTH],
                pending,
                0,
                "",
                _naive_utc(entry.created_at),
                None,
                _json(serialization.dump(entry.effect)),
            )
            for entry in outbox_entries(order, effects)
        ]


_OUTBOX_COLUMNS: Final = (
    "id",
    "order_id",
    "version",
    "seq",
    "kind",
    "status",
    "attempts",
    "last_error",
    "created_at",
    "delivered_at",
    "document",
)
"""The outbox columns a new entry is written with (``position`` is the database's)."""


class _Prepared:
    """A hot-path statement compiled once for the engine's dialect, run with
    ``Connection.exec_driver_sql``: no compilation, cache lookup or bind processing per call.

    Values are given as tuples in the order of ``names``; each is converted with the bind
    processor SQLAlchemy would use for its type on this dialect (SQLite keeps datetimes as
    text and numerics as floats), then laid out in the driver's parameter style. Errors,
    events and the transaction are SQLAlchemy's, as with ``Connection.execute``.
    """

    __slots__ = ("_names", "_positions", "_processors", "sql")

    def __init__(
        self,
        statement: sa.ClauseElement,
        dialect: sa.Dialect,
        names: Sequence[str],
        types: Sequence[sa.types.TypeEngine[Any]],
        column_keys: Sequence[str] | None = None,
    ) -> None:
        compiled = statement.compile(
            dialect=dialect, column_keys=None if column_keys is None else list(column_keys)
        )
        assert isinstance(compiled, SQLCompiler)
        self.sql = compiled.string
        if set(compiled.binds) != set(names):
            raise AssertionError(f"the statement binds {sorted(compiled.binds)}, not {names}")
        self._names = tuple(names)
        self._processors = tuple(
            (index, processor)
            for index, type_ in enumerate(types)
            if (processor := type_.dialect_impl(dialect).bind_processor(dialect)) is not None
        )
        positions: tuple[int, ...] | None = None
        if compiled.positional:
            positions = tuple(self._names.index(name) for name in compiled.positiontup or ())
        self._positions = positions

    def parameters(self, values: Sequence[Any]) -> Sequence[Any] | dict[str, Any]:
        """The driver's parameters for one row of values (in the order of ``names``)."""
        if self._processors:
            values = list(values)
            for index, processor in self._processors:
                values[index] = processor(values[index])
        positions = self._positions
        if positions is None:
            return dict(zip(self._names, values, strict=True))
        return tuple([values[index] for index in positions])

    def run(self, connection: sa.Connection, values: Sequence[Any]) -> sa.CursorResult[Any]:
        """Execute for one row of values."""
        return connection.exec_driver_sql(self.sql, self.parameters(values))

    def run_many(self, connection: sa.Connection, rows: Sequence[Sequence[Any]]) -> None:
        """Execute for each row of values (one ``execute`` for one row, else ``executemany``)."""
        if len(rows) == 1:
            connection.exec_driver_sql(self.sql, self.parameters(rows[0]))
        elif rows:
            connection.exec_driver_sql(self.sql, [self.parameters(row) for row in rows])


# -- the cache -----------------------------------------------------------------------------


class _OrderCache:
    """Loaded orders by (id, version), least recently used dropped first; thread-safe.

    An entry is used only if the stored document is still the one it was loaded from, so an
    order replaced behind the store's back (tables dropped and filled again) is never served.
    """

    def __init__(self, size: int) -> None:
        self._size = size
        self._lock = threading.Lock()
        self._items: OrderedDict[tuple[str, int], tuple[str, Order]] = OrderedDict()

    def get(self, order_id: str, version: int, document: str) -> Order | None:
        if not self._size:
            return None
        key = (order_id, version)
        with self._lock:
            item = self._items.get(key)
            if item is None or item[0] != document:
                return None
            self._items.move_to_end(key)
            return item[1]

    def put(self, order: Order, document: str, replaces: int | None = None) -> None:
        if not self._size:
            return
        with self._lock:
            if replaces is not None:
                self._items.pop((order.id, replaces), None)
            self._items[order.id, order.version] = (document, order)
            self._items.move_to_end((order.id, order.version))
            while len(self._items) > self._size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


# -- engines -------------------------------------------------------------------------------

# An engine with a StaticPool has one connection for every thread: its stores take turns.
_SHARED_CONNECTION_LOCKS: weakref.WeakKeyDictionary[sa.Engine, threading.RLock] = (
    weakref.WeakKeyDictionary()
)
_LOCKS_GUARD = threading.Lock()


def _turns(engine: sa.Engine) -> AbstractContextManager[Any]:
    if not isinstance(engine.pool, StaticPool):
        return nullcontext()
    with _LOCKS_GUARD:
        return _SHARED_CONNECTION_LOCKS.setdefault(engine, threading.RLock())


def _check_engine(engine: object) -> sa.Engine:
    if not isinstance(engine, sa.Engine):
        raise InvalidConfiguration("engine", engine, "must be a sqlalchemy.Engine")
    if engine.dialect.name not in _DIALECTS:
        raise InvalidConfiguration(
            "engine", engine.dialect.name, "SqlStore runs on SQLite, PostgreSQL, MySQL, MariaDB"
        )
    in_memory = engine.url.database in (None, "", ":memory:")
    if engine.dialect.name == "sqlite" and in_memory and not isinstance(engine.pool, StaticPool):
        raise InvalidConfiguration(
            "engine",
            engine.url.render_as_string(),
            "an in-memory SQLite database needs a StaticPool to be shared by threads; "
            "use SqlStore.sqlite()",
        )
    return engine


_COMMITTED: Final = "orderflow_committed"
"""Key in a pooled connection's ``info``: the store has just committed on it."""


def _reset_uncommitted(
    dbapi_connection: Any, connection_record: Any, reset_state: PoolResetState
) -> None:
    """Pool reset for the MySQL engines :meth:`SqlStore.from_url` makes (with
    ``pool_reset_on_return=None``): roll back a returning connection, as the default reset
    does, unless the store has just committed on it or SQLAlchemy has already rolled it back.

    A connection the store committed on holds no transaction; the ROLLBACK the default reset
    sends there anyway (the MySQL drivers do not skip it) is a wasted round trip per write.
    """
    info = connection_record.info if connection_record is not None else {}
    if info.pop(_COMMITTED, False) or reset_state.transaction_was_reset:
        return
    dbapi_connection.rollback()


class _SqlitePragmas:
    """Sets the busy timeout, foreign keys and (for files) the WAL journal on connect."""

    def __init__(self, busy_timeout: float, wal: bool) -> None:
        self.busy_timeout_ms = round(busy_timeout * 1000)
        self.wal = wal

    def __call__(self, dbapi_connection: Any, connection_record: Any) -> None:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {self.busy_timeout_ms}")
            cursor.execute("PRAGMA foreign_keys = ON")
            if self.wal:
                cursor.execute("PRAGMA journal_mode = WAL")
        finally:
            cursor.close()


# -- the store -----------------------------------------------------------------------------


class SqlStore:
    """An :class:`~orderflow.ports.OrderStore` on SQLAlchemy Core (SQLite, PostgreSQL, MySQL).

    Every operation runs in its own transaction on a connection of the engine's pool, so one
    store may be shared by the threads of a process. Loaded orders are kept in a small LRU
    cache keyed by id and version: :meth:`get` still reads the stored version every time,
    and only skips decoding the order when it is the version already loaded.

    Args:
        engine: the engine to use (the store disposes of it in :meth:`close`).
        table_prefix: prefix of the table names: lower-case letters, digits and ``_``, at
            most 40 characters (several stores may share a database under different ones).
        create: create the tables if they do not exist; otherwise they must exist.
        cache_size: how many loaded orders to keep (0 turns the cache off).

    Raises:
        InvalidConfiguration: a malformed prefix or cache size, an engine of another database,
            or an in-memory SQLite engine whose threads would not share one database.
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
    ) -> None:
        self._engine = _check_engine(engine)
        if not isinstance(table_prefix, str) or not _PREFIX.fullmatch(table_prefix):
            raise InvalidConfiguration(
                "table_prefix", table_prefix, "use up to 40 of a-z, 0-9 and _, not first a digit"
            )
        if isinstance(cache_size, bool) or not isinstance(cache_size, int) or cache_size < 0:
            raise InvalidConfiguration("cache_size", cache_size, "must be a whole number >= 0")
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
        engine_options: Mapping[str, Any] | None = None,
    ) -> SqlStore:
        """Open a store on a database URL.

        A ``sqlite://`` URL is opened like :meth:`sqlite` (WAL, busy timeout, threads sharing
        an in-memory database). On MySQL and MariaDB, unless ``engine_options`` sets
        ``pool_reset_on_return``, a connection returning to the pool right after the store
        committed on it is not sent a needless ROLLBACK; any other is rolled back as usual.

        Args:
            url: for example ``postgresql+psycopg://app@db/shop`` or
                ``mysql+pymysql://app@db/shop``.
            table_prefix: see :class:`SqlStore`.
            create: see :class:`SqlStore`.
            cache_size: see :class:`SqlStore`.
            engine_options: keyword arguments for ``sqlalchemy.create_engine`` (pool size,
                ``pool_pre_ping``, ...).

        Returns:
            The open store; it owns the engine it made.

        Raises:
            StoreError: the database cannot be reached or holds tables of another version.
        """
        parsed = sa.make_url(url)
        if parsed.get_backend_name() == "sqlite":
            return cls.sqlite(
                parsed.database or ":memory:",
                table_prefix=table_prefix,
                create=create,
                cache_size=cache_size,
                engine_options=engine_options,
            )
        options = dict(engine_options or {})
        skip_reset = (
            parsed.get_backend_name() in _MYSQL_LIKE and "pool_reset_on_return" not in options
        )
        if skip_reset:
            options["pool_reset_on_return"] = None
        engine = sa.create_engine(parsed, **options)
        if skip_reset:
            sa.event.listen(engine, "reset", _reset_uncommitted)
        return cls._owning(engine, table_prefix, create, cache_size)

    @classmethod
    def sqlite(
        cls,
        path: str | os.PathLike[str] = ":memory:",
        *,
        busy_timeout: float = 5.0,
        table_prefix: str = "orderflow_",
        create: bool = True,
        cache_size: int = 1024,
        engine_options: Mapping[str, Any] | None = None,
    ) -> SqlStore:
        """Open a store on an SQLite database file, or in memory.

        A file is put in WAL journal mode (readers never wait for the writer); an in-memory
        database is one connection shared by every thread, which take turns.

        Args:
            path: the database file, or ``":memory:"``.
            busy_timeout: seconds a writer waits for another one before giving up.
            table_prefix: see :class:`SqlStore`.
            create: see :class:`SqlStore`.
            cache_size: see :class:`SqlStore`.
            engine_options: more keyword arguments for ``sqlalchemy.create_engine``.

        Returns:
            The open store; it owns the engine it made.

        Raises:
            StoreError: the file cannot be opened or holds tables of another version.
        """
        location = os.fspath(path)
        in_memory = location in ("", ":memory:")
        options: dict[str, Any] = {"poolclass": StaticPool} if in_memory else {}
        options.update(engine_options or {})
        options["connect_args"] = {"check_same_thread": False, **options.get("connect_args", {})}
        url = sa.URL.create("sqlite", database=None if in_memory else location)
        engine = sa.create_engine(url, **options)
        sa.event.listen(engine, "connect", _SqlitePragmas(busy_timeout, wal=not in_memory))
        return cls._owning(engine, table_prefix, create, cache_size)

    @classmethod
    def _owning(
        cls, engine: sa.Engine, table_prefix: str, create: bool, cache_size: int
    ) -> SqlStore:
        try:
            return cls(engine, table_prefix=table_prefix, create=create, cache_size=cache_size)
        except BaseException:
            engine.dispose()
            raise

    def _prepare_statements(self, dialect: sa.Dialect) -> None:
        """Compile the statements of the hot path once; each call only binds its values."""
        tables = self._tables
        orders, history, outbox = tables.orders, tables.history, tables.outbox
        self._select_order = _Prepared(
            sa.select(orders.c.id, orders.c.version, orders.c.document).where(
                orders.c.id == sa.bindparam("order_id")
            ),
            dialect,
            ["order_id"],
            [orders.c.id.type],
        )
        self._select_version = sa.select(orders.c.version).where(
            orders.c.id == sa.bindparam("order_id")
        )
        changed = [column for column in orders.c if column.name != "id"]
        self._update_order = _Prepared(
            sa.update(orders)
            .where(
                orders.c.id == sa.bindparam("match_id"),
                orders.c.version == sa.bindparam("match_version"),
            )
            .values({column.name: sa.bindparam(column.name) for column in changed}),
            dialect,
            [column.name for column in changed] + ["match_id", "match_version"],
            [column.type for column in changed] + [orders.c.id.type, orders.c.version.type],
        )
        self._insert_order = _Prepared(
            orders.insert(),
            dialect,
            [column.name for column in orders.c],
            [column.type for column in orders.c],
            column_keys=[column.name for column in orders.c],
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
        stored = connection.execute(
            sa.select(meta.c.value).where(meta.c.key == "schema_version")
        ).scalar_one_or_none()
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
            OrderNotFound: no order has this id.
            StoreError: the database failed, or the stored order cannot be read.
        """
        if not isinstance(order_id, str):
            raise OrderNotFound(order_id)
        found = self._load(f"load order {order_id!r}", self._select_order, (order_id,))
        if not found:
            raise OrderNotFound(order_id)
        return found[0]

    def add(self, order: Order, effects: Sequence[Effect] = ()) -> None:
        """Store a new order with its history and outbox entries, in one transaction.

        Args:
            order: the new order.
            effects: the effects of the change that produced it.

        Raises:
            OrderAlreadyExists: an order with this id is stored already; nothing is written.
            InvalidInput: not an :class:`~orderflow.Order`, or an id too long for the store.
            StoreError: the database failed; nothing is written.
        """
        _check_order(order, effects)
        rows = _Rows(order, effects, first_new_version=1)
        action = f"add order {order.id!r}"
        with self._transaction(action, order_id=order.id) as connection:
            with _translate(action, order_id=order.id, inserting_order=True):
                self._insert_order.run(connection, rows.order)
            self._write_history_and_outbox(connection, rows)
        self._cache.put(order, rows.document)

    def save(self, order: Order, expected_version: int, effects: Sequence[Effect] = ()) -> None:
        """Replace the stored order if it is still at ``expected_version``, appending its new
        history entries and the outbox entries, in one transaction.

        History is append-only: the entries up to ``expected_version`` are kept as stored and
        those after it are added.

        Args:
            order: the order after the change.
            expected_version: the version the order was loaded at.
            effects: the effects of the change.

        Raises:
            ConcurrencyConflict: the stored version is not ``expected_version``, or the
                database gave up on the transaction because of a concurrent one; nothing is
                written.
            OrderNotFound: no order has this id.
            InvalidInput: not an :class:`~orderflow.Order`, or its version is not above
                ``expected_version``.
            StoreError: the database failed; nothing is written.
        """
        _check_order(order, effects)
        if isinstance(expected_version, bool) or not isinstance(expected_version, int):
            raise InvalidInput("expected_version", expected_version, "must be a whole number")
        if order.version <= expected_version:
            stored = self._stored_version(order.id)
            if stored != expected_version:
                raise ConcurrencyConflict(order.id, expected_version, stored)
            raise InvalidInput(
                "order.version", order.version, f"must be above {expected_version} to save"
            )
        rows = _Rows(order, effects, first_new_version=expected_version + 1)
        change = (*rows.order[1:], order.id, expected_version)
        action = f"save order {order.id!r}"
        with self._transaction(
            action, order_id=order.id, expected_version=expected_version
        ) as connection:
            if self._update_order.run(connection, change).rowcount != 1:
                actual = connection.execute(
                    self._select_version, {"order_id": order.id}
                ).scalar_one_or_none()
                if actual is None:
                    raise OrderNotFound(order.id)
                raise ConcurrencyConflict(order.id, expected_version, actual)
            self._write_history_and_outbox(connection, rows)
        self._cache.put(order, rows.document, replaces=expected_version)

    def find_by_state(
        self, state: OrderState, *, limit: int = 100, after_id: str | None = None
    ) -> list[Order]:
        """Up to ``limit`` orders in ``state``, by id, starting after ``after_id`` (paging).

        Args:
            state: the state (or its value, ``"paid"``).
            limit: the most orders to return.
            after_id: the last id of the previous page.

        Returns:
            The orders, in id order (code point order, as Python sorts strings).

        Raises:
            ValueError: not a state.
            InvalidInput: a negative limit.
            StoreError: the database failed.
        """
        wanted = OrderState(state)
        orders = self._tables.orders
        query = sa.select(orders.c.id, orders.c.version, orders.c.document).where(
            orders.c.state == wanted.value
        )
        if after_id is not None:
            query = query.where(orders.c.id > after_id)
        query = query.order_by(orders.c.id).limit(_check_limit(limit))
        return self._load(f"find orders in state {wanted.value}", query)

    def find_due(self, before: datetime, *, limit: int = 100) -> list[Order]:
        """Up to ``limit`` orders whose next deadline is at or before ``before``, earliest
        first (ties by id).

        Args:
            before: the moment (timezone-aware); a deadline at exactly this instant is due.
            limit: the most orders to return.

        Returns:
            The orders, earliest deadline first.

        Raises:
            InvalidInput: ``before`` is naive, or a negative limit.
            StoreError: the database failed.
        """
        cutoff = _naive_utc(before, "before")
        orders = self._tables.orders
        query = (
            sa.select(orders.c.id, orders.c.version, orders.c.document)
            .where(orders.c.next_deadline.is_not(None), orders.c.next_deadline <= cutoff)
            .order_by(orders.c.next_deadline, orders.c.id)
            .limit(_check_limit(limit))
        )
        return self._load("find due orders", query)

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

    def _load(
        self, action: str, query: sa.Select[Any] | _Prepared, values: Sequence[Any] = ()
    ) -> list[Order]:
        """Run a query for (id, version, document) rows (a prepared one with its ``values``)
        and load those orders, reading the history of every order the cache lacks with one
        query."""
        history = self._tables.history
        with self._reading(action) as connection:
            if isinstance(query, _Prepared):
                rows = query.run(connection, values).all()
            else:
                rows = connection.execute(query).all()
            found = {row.id: self._cache.get(row.id, row.version, row.document) for row in rows}
            missing = {row.id: row.version for row in rows if found[row.id] is None}
            entries: dict[str, list[str]] = {order_id: [] for order_id in missing}
            if missing:
                # Entries are append-only: those up to the row's version are the order's.
                for entry in connection.execute(
                    sa.select(history.c.order_id, history.c.version, history.c.document)
                    .where(history.c.order_id.in_(missing))
                    .order_by(history.c.order_id, history.c.version)
                ):
                    if entry.version <= missing[entry.order_id]:
                        entries[entry.order_id].append(entry.document)
        loaded: list[Order] = []
        for row in rows:
            order = found[row.id]
            if order is None:
                if len(entries[row.id]) != row.version:
                    raise StoreError(
                        f"stored order {row.id!r} is at version {row.version} but has "
                        f"{len(entries[row.id])} history entries"
                    )
                order = _read(row.document, Order, f"order {row.id!r}", entries[row.id])
                self._cache.put(order, row.document)
            loaded.append(order)
        return loaded

    # -- outbox ----------------------------------------------------------------------------

    def pending(self, limit: int = 100) -> list[OutboxEntry]:
        """Up to ``limit`` undelivered entries, least-tried first, then oldest first (by
        ``created_at``, then the order they were written in).

        Args:
            limit: the most entries to return.

        Returns:
            The pending entries.

        Raises:
            InvalidInput: a negative limit.
            StoreError: the database failed.
        """
        outbox = self._tables.outbox
        query = (
            sa.select(outbox)
            .where(outbox.c.status == OutboxStatus.PENDING.value)
            .order_by(outbox.c.attempts, outbox.c.created_at, outbox.c.position)
            .limit(_check_limit(limit))
        )
        return self._entries("read pending outbox entries", query)

    def mark_delivered(self, entry_id: str, at: datetime) -> None:
        """Record a successful delivery (idempotent: marking twice changes nothing).

        Args:
            entry_id: the entry's (its effect's) id.
            at: when it was delivered (timezone-aware).

        Raises:
            LookupError: no entry has this id.
            InvalidInput: ``at`` is naive.
            StoreError: the database failed.
        """
        self._mark(
            entry_id,
            {"status": OutboxStatus.DELIVERED.value, "delivered_at": _naive_utc(at)},
            last_error="",
        )

    def mark_failed(self, entry_id: str, error: str, at: datetime) -> None:
        """Record a failed delivery attempt: a pending entry stays pending, attempts + 1.

        Args:
            entry_id: the entry's (its effect's) id.
            error: what went wrong.
            at: when (timezone-aware).

        Raises:
            LookupError: no entry has this id.
            InvalidInput: ``at`` is naive.
            StoreError: the database failed.
        """
        _naive_utc(at)
        self._mark(entry_id, {"attempts": self._tables.outbox.c.attempts + 1}, str(error))

    def entries(self, order_id: str) -> list[OutboxEntry]:
        """Every entry of one order, delivered or not, in the order they were written.

        Args:
            order_id: the order's id.

        Returns:
            The entries (none for an unknown order).

        Raises:
            StoreError: the database failed.
        """
        outbox = self._tables.outbox
        query = sa.select(outbox).where(outbox.c.order_id == order_id).order_by(outbox.c.position)
        return self._entries(f"read the outbox of order {order_id!r}", query)

    def _mark(self, entry_id: str, values: dict[str, Any], last_error: str) -> None:
        if not isinstance(entry_id, str):
            raise LookupError(f"no outbox entry {entry_id!r}")
        outbox = self._tables.outbox
        update = (
            sa.update(outbox)
            .where(outbox.c.id == entry_id, outbox.c.status == OutboxStatus.PENDING.value)
            .values({**values, "last_error": last_error})
        )
        with self._transaction(f"update outbox entry {entry_id!r}") as connection:
            if connection.execute(update).rowcount == 0:
                exists = connection.execute(
                    sa.select(outbox.c.position).where(outbox.c.id == entry_id)
                ).first()
                if exists is None:
                    raise LookupError(f"no outbox entry {entry_id!r}")

    def _entries(self, action: str, query: sa.Select[Any]) -> list[OutboxEntry]:
        with self._transaction(action) as connection:
            rows = connection.execute(query).all()
        return [
            OutboxEntry(
                id=row.id,
                order_id=row.order_id,
                version=row.version,
                effect=_read(row.document, Effect, f"outbox entry {row.id!r}"),
                created_at=row.created_at.replace(tzinfo=UTC),
                status=OutboxStatus(row.status),
                attempts=row.attempts,
                last_error=row.last_error,
                delivered_at=_aware(row.delivered_at),
            )
            for row in rows
        ]
