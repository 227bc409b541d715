"""Hot-path statements compiled once per dialect and run on the driver's cursor.

SQLAlchemy stays the store's engine: its pool, its transactions, its dialects and its
errors. What the hot path skips is the work SQLAlchemy does for every statement it
executes: looking the statement up in its compiled cache, building an execution context
and a result object, and processing every value bound and every value read. A prepared
statement is compiled once; each call binds its values with the processors SQLAlchemy
would use for their types on this dialect, and runs on the DB-API cursor of the
connection. A driver error is handed to SQLAlchemy's own error handling (wrapping,
``handle_error`` events, invalidation of a connection the database dropped), exactly as
for a statement SQLAlchemy ran.

When anything listens to the engine's cursor events (a host's tracing, a test counting
statements), the statements run through ``Connection.exec_driver_sql`` instead, so that
every listener sees every statement.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.compiler import SQLCompiler

from orderflow.adapters.sql.codec import _OUTBOX_COLUMNS, ORDER_ROW, PROJECTED
from orderflow.adapters.sql.schema import CLAIM_COLUMNS, SqlTables, _insert_new

Parameters = Sequence[Any] | dict[str, Any]


def _listened(connection: sa.Connection) -> bool:
    """Whether anything listens to this connection's events (unknown: yes)."""
    return bool(getattr(connection, "_has_events", True)) or bool(
        getattr(connection.engine, "_has_events", True)
    )


def _cursor(connection: sa.Connection) -> Any | None:
    """A DB-API cursor of the connection for several statements in a row (the caller closes
    it), or ``None`` when anything listens to the connection's events: then every statement
    goes through SQLAlchemy, as :func:`_execute` runs it without a cursor."""
    return None if _listened(connection) else connection.connection.cursor()


def _execute(
    connection: sa.Connection, sql: str, parameters: Any, many: bool, cursor: Any = None
) -> Any:
    """Run ``sql`` on a DB-API cursor of the connection (``cursor``, from :func:`_cursor`,
    or a new one); the cursor (or, when events are listened to, SQLAlchemy's result), which
    has ``rowcount``, ``description``, ``fetchall`` and ``close``.

    Raises:
        sqlalchemy.exc.DBAPIError: as SQLAlchemy raises it for its own statements.
    """
    if cursor is None:
        if _listened(connection):
            return connection.exec_driver_sql(sql, parameters)
        cursor = connection.connection.cursor()
    try:
        if many:
            cursor.executemany(sql, parameters)
        else:
            cursor.execute(sql, parameters)
    except Exception as error:
        connection._handle_dbapi_exception(error, sql, parameters, cursor, None)
    return cursor


class _Binding:
    """How the values of one compiled statement are bound: in the order of ``names``,
    through SQLAlchemy's bind processors for their types (SQLite keeps datetimes as text
    and numerics as floats), laid out in the driver's parameter style."""

    __slots__ = ("_names", "_positions", "_processors", "sql")

    def __init__(
        self,
        compiled: SQLCompiler,
        dialect: sa.Dialect,
        names: Sequence[str],
        types: Sequence[sa.types.TypeEngine[Any]],
    ) -> None:
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

    def bound(self, values: Sequence[Any]) -> list[Any]:
        """The values as the driver gets them (processed), in the order of ``names``."""
        values = list(values)
        for index, processor in self._processors:
            values[index] = processor(values[index])
        return values

    def layout(self, bound: Sequence[Any]) -> Parameters:
        """Bound values in the driver's parameter style."""
        positions = self._positions
        if positions is None:
            return dict(zip(self._names, bound, strict=True))
        return tuple([bound[index] for index in positions])

    def parameters(self, values: Sequence[Any]) -> Parameters:
        """The driver's parameters for one row of values (in the order of ``names``)."""
        return self.layout(self.bound(values))


class _Prepared(_Binding):
    """A hot-path write (``INSERT``, ``UPDATE``) compiled once for the engine's dialect.

    Values are given as sequences in the order of ``names``.
    """

    __slots__ = ()

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
        super().__init__(compiled, dialect, names, types)

    def run(self, connection: sa.Connection, values: Sequence[Any]) -> int:
        """Execute for one row of values; the number of rows it matched."""
        return self.run_bound(connection, self.bound(values))

    def run_bound(self, connection: sa.Connection, bound: Sequence[Any], cursor: Any = None) -> int:
        """Execute for one row of values already bound (:meth:`bound`); the rows matched.

        On ``cursor`` (from :func:`_cursor`, left open) when one is given.
        """
        result = _execute(connection, self.sql, self.layout(bound), False, cursor)
        count: int = result.rowcount
        if result is not cursor:
            result.close()
        return count

    def run_many(
        self, connection: sa.Connection, rows: Sequence[Sequence[Any]], cursor: Any = None
    ) -> None:
        """Execute for each row of values (one ``execute`` for one row, else ``executemany``),
        on ``cursor`` (from :func:`_cursor`, left open) when one is given."""
        if len(rows) == 1:
            result = _execute(connection, self.sql, self.parameters(rows[0]), False, cursor)
        elif rows:
            parameters = [self.parameters(row) for row in rows]
            result = _execute(connection, self.sql, parameters, True, cursor)
        else:
            return
        if result is not cursor:
            result.close()


class _Query(_Binding):
    """A hot-path ``SELECT`` compiled once; rows come back as the driver gives them, and
    :meth:`process` turns one into the values SQLAlchemy would have given (SQLite's text
    datetimes and float amounts into datetimes and decimals)."""

    __slots__ = ("_columns", "_dialect", "_result_processors")

    def __init__(self, statement: sa.Select[Any], dialect: sa.Dialect, names: Sequence[str],
                 types: Sequence[sa.types.TypeEngine[Any]]) -> None:  # fmt: skip
        compiled = statement.compile(dialect=dialect)
        assert isinstance(compiled, SQLCompiler)
        super().__init__(compiled, dialect, names, types)
        self._dialect = dialect
        self._columns = [column.type for column in statement.selected_columns]
        self._result_processors: list[tuple[int, Callable[[Any], Any]]] | None = None

    def rows(self, connection: sa.Connection, values: Sequence[Any]) -> list[tuple[Any, ...]]:
        """Every row the query returns for these values, as the driver gives them."""
        cursor = _execute(connection, self.sql, self.parameters(values), many=False)
        try:
            if self._result_processors is None:
                driver_cursor = cursor if hasattr(cursor, "description") else cursor.cursor
                self._result_processors = self._processors_for(driver_cursor.description)
            return [tuple(row) for row in cursor.fetchall()]
        finally:
            cursor.close()

    def _processors_for(self, description: Any) -> list[tuple[int, Callable[[Any], Any]]]:
        dialect = self._dialect
        found: list[tuple[int, Callable[[Any], Any]]] = []
        for index, (type_, column) in enumerate(zip(self._columns, description, strict=True)):
            processor = type_.dialect_impl(dialect).result_processor(dialect, column[1])
            if processor is not None:
                found.append((index, processor))
        return found

    def process(self, row: Sequence[Any]) -> tuple[Any, ...]:
        """A row of :meth:`rows` with SQLAlchemy's result processing applied."""
        processors = self._result_processors
        if not processors:
            return tuple(row)
        values = list(row)
        for index, processor in processors:
            value = values[index]
            if value is not None:
                values[index] = processor(value)
        return tuple(values)


class _Statements:
    """The store's hot-path statements, compiled once for its tables and dialect.

    Attributes:
        select_order: an order's row (id, projections, document, checksum) by id.
        select_history: an order's history rows from version ``first`` to ``last``, without
            the order id.
        select_whole_history: the same without the rows' checksums either, for a load of the
            whole history.
        select_version: an order's version by id.
        update_order: a save's ``UPDATE`` of the order row, matching the id, the version and
            the checksum the order was loaded with.
        update_unsealed: the same for a row written before checksums (matching its document).
        update_cached: the same for a save from a cached order, matching everything a cache
            hit compares: the checksum, the document and every projection column, as the
            cache holds them (see :meth:`SqlStore.save <orderflow.adapters.sql.SqlStore.save>`).
        insert_order, insert_history, insert_outbox: the rows of a new order or a change.
    """

    def __init__(
        self,
        tables: SqlTables,
        dialect: sa.Dialect,
        order_columns: Sequence[sa.Column[Any]],
        entry_columns: Sequence[sa.Column[Any]],
    ) -> None:
        orders, history, outbox = tables.orders, tables.history, tables.outbox
        self.select_order = _Query(
            sa.select(*order_columns).where(orders.c.id == sa.bindparam("order_id")),
            dialect,
            ["order_id"],
            [orders.c.id.type],
        )
        # Without the order id (asked for) and, for a whole history, the rows' checksums (the
        # order row's proves the documents): a driver parsing rows in Python reads less.
        self.select_history, self.select_whole_history = (
            _Query(
                sa.select(*columns)
                .where(
                    history.c.order_id == sa.bindparam("order_id"),
                    history.c.version >= sa.bindparam("first"),
                    history.c.version <= sa.bindparam("last"),
                )
                .order_by(history.c.version),
                dialect,
                ["order_id", "first", "last"],
                [history.c.order_id.type, history.c.version.type, history.c.version.type],
            )
            for columns in (entry_columns[1:], entry_columns[1:-1])
        )
        self.select_version = _Query(
            sa.select(orders.c.version).where(orders.c.id == sa.bindparam("order_id")),
            dialect,
            ["order_id"],
            [orders.c.id.type],
        )
        written = [column for column in orders.c if column.name not in CLAIM_COLUMNS]
        if [column.name for column in written] != list(ORDER_ROW):
            raise AssertionError(f"the order row's columns are not {ORDER_ROW}")
        changed = [column for column in written if column.name != "id"]
        projected = [orders.c[name] for name in PROJECTED if name != "version"]
        checksum, document = orders.c.checksum, orders.c.document

        def update(conditions: Sequence[sa.ColumnElement[bool]], matched: Sequence[str],
                   types: Sequence[sa.types.TypeEngine[Any]]) -> _Prepared:  # fmt: skip
            return _Prepared(
                sa.update(orders)
                .where(
                    orders.c.id == sa.bindparam("match_id"),
                    orders.c.version == sa.bindparam("match_version"),
                    *conditions,
                )
                .values({column.name: sa.bindparam(column.name) for column in changed}),
                dialect,
                [column.name for column in changed] + ["match_id", "match_version", *matched],
                [column.type for column in changed]
                + [orders.c.id.type, orders.c.version.type, *types],
            )

        self.update_order = update(
            [checksum == sa.bindparam("match_checksum")], ["match_checksum"], [checksum.type]
        )
        self.update_unsealed = update(
            [checksum.is_(None), document == sa.bindparam("match_document")],
            ["match_document"],
            [document.type],
        )
        # The row as cached: values as the driver gave or took them, bound without processing.
        self.update_cached = update(
            [
                checksum == sa.bindparam("match_checksum"),
                document == sa.bindparam("match_document"),
                *(
                    column.is_not_distinct_from(sa.bindparam(f"match_{column.name}"))
                    if column.nullable
                    else column == sa.bindparam(f"match_{column.name}")
                    for column in projected
                ),
            ],
            ["match_checksum", "match_document", *(f"match_{c.name}" for c in projected)],
            [sa.types.NullType()] * (2 + len(projected)),
        )
        self._projection_processors = [
            (index, processor)
            for index, name in enumerate(PROJECTED)
            if (processor := orders.c[name].type.dialect_impl(dialect).bind_processor(dialect))
        ]
        self.insert_order = _Prepared(
            orders.insert(),
            dialect,
            [column.name for column in written],
            [column.type for column in written],
            column_keys=[column.name for column in written],
        )
        self.insert_history = _Prepared(
            history.insert(),
            dialect,
            [column.name for column in history.c],
            [column.type for column in history.c],
            column_keys=[column.name for column in history.c],
        )
        self.insert_outbox = _Prepared(
            _insert_new(dialect, outbox, "id"),
            dialect,
            _OUTBOX_COLUMNS,
            [outbox.c[name].type for name in _OUTBOX_COLUMNS],
            column_keys=_OUTBOX_COLUMNS,
        )

    def bind_projections(self, values: Sequence[Any]) -> tuple[Any, ...]:
        """Values of the :data:`~orderflow.adapters.sql.codec.PROJECTED` columns as a write
        binds them (as the driver takes them), from the values SQLAlchemy reads."""
        bound = list(values)
        for index, processor in self._projection_processors:
            if bound[index] is not None:
                bound[index] = processor(bound[index])
        return tuple(bound)
