"""Hot-path statements compiled once per dialect, and the cache of loaded orders."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.compiler import SQLCompiler

from orderflow.order import Order


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
    """Orders this store wrote or read, by (id, version), least recently used dropped first;
    thread-safe.

    Each entry keeps the order's stored document text and the projection columns of its row
    as last checked. An entry is used only if the stored document is still the one it was
    loaded from, so an order replaced behind the store's back is never served; a store puts
    an order here only after writing it or after loading and checking it, never one it was
    merely given.
    """

    def __init__(self, size: int) -> None:
        self._size = size
        self._lock = threading.Lock()
        self._items: OrderedDict[tuple[str, int], tuple[str, Order, tuple[Any, ...]]] = (
            OrderedDict()
        )

    def get(
        self, order_id: str, version: int, document: str
    ) -> tuple[Order, tuple[Any, ...]] | None:
        """The order at this version with its checked projections, if its document is
        ``document``."""
        if not self._size:
            return None
        key = (order_id, version)
        with self._lock:
            item = self._items.get(key)
            if item is None or item[0] != document:
                return None
            self._items.move_to_end(key)
            return item[1], item[2]

    def peek(self, order_id: str, version: int) -> tuple[str, Order] | None:
        """The document and order kept for this version, if any (not marked as used)."""
        if not self._size:
            return None
        with self._lock:
            item = self._items.get((order_id, version))
            return None if item is None else (item[0], item[1])

    def put(
        self,
        order: Order,
        document: str,
        projections: tuple[Any, ...],
        replaces: int | None = None,
    ) -> None:
        """Keep an order the store wrote, or read and checked."""
        if not self._size:
            return
        with self._lock:
            if replaces is not None:
                self._items.pop((order.id, replaces), None)
            self._items[order.id, order.version] = (document, order, projections)
            self._items.move_to_end((order.id, order.version))
            while len(self._items) > self._size:
                self._items.popitem(last=False)

    def drop(self, order_id: str, version: int) -> None:
        """Forget one version of an order."""
        with self._lock:
            self._items.pop((order_id, version), None)

    def clear(self) -> None:
        """Forget every order."""
        with self._lock:
            self._items.clear()
