"""How the SQL store holds connections: one per call, or one per command.

Each call of the store takes a connection from the engine's pool and gives it back when it
returns. A command through :meth:`~orderflow.service.OrderService.handle` makes two calls,
a load and a save; within :meth:`SqlConnections.command_scope` the calls a thread makes
share one connection, taken at the first and given back when the scope ends, so a command
costs one checkout instead of two. The scope is short by design (one attempt of one
command: a load, a decision in the pure core, a save): a thread never keeps a connection
between commands, so a pool never runs dry because threads sit idle.

On PostgreSQL the load then runs in the save's transaction instead of in autocommit: the
same round trips (the ``BEGIN`` comes before the load instead of after it), under the same
``READ COMMITTED`` rules, since the save's ``UPDATE`` checks the version it writes on
whatever is committed when it runs. On MySQL and MariaDB the pool's reset no longer has to
roll back the load's snapshot between the two calls.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import sqlalchemy as sa

from orderflow.adapters.sql.engines import _COMMITTED
from orderflow.adapters.sql.translate import _translate
from orderflow.errors import StoreError


class _Pin(threading.local):
    """The connection a thread's calls share within a command scope, if any."""

    depth = 0
    connection: sa.Connection | None = None


class SqlConnections:
    """Connections and transactions of :class:`~orderflow.adapters.sql.SqlStore`.

    It runs on the store's engine; it is not used on its own.
    """

    _engine: sa.Engine
    _reader: sa.Engine
    _turns: AbstractContextManager[Any]
    _marks_commits: bool
    _closed: bool
    _pin: _Pin

    @contextmanager
    def command_scope(self) -> Iterator[None]:
        """Within the block, the calls this thread makes share one connection of the pool.

        :meth:`~orderflow.service.OrderService.handle` runs each attempt of a command (load,
        decide, save) in one scope. Every call is still its own transaction, and behaves
        exactly as outside a scope; the connection goes back to the pool when the block
        ends (or when a call fails). Scopes nest: an inner one shares the outer one's
        connection.

        Raises:
            StoreError: the connection could not be given back to the pool.
        """
        pin = self._pin
        if pin.depth:
            yield
            return
        pin.depth = 1
        try:
            with self._turns:
                yield
        finally:
            pin.depth = 0
            with _translate("give a connection back to the pool"):
                self._unpin()

    def _pinned(self) -> sa.Connection:
        pin = self._pin
        connection = pin.connection
        if connection is None or connection.closed or connection.invalidated:
            connection = pin.connection = self._engine.connect()
        return connection

    def _unpin(self) -> None:
        pin = self._pin
        connection, pin.connection = pin.connection, None
        if connection is not None:
            connection.close()

    def _check_open(self, action: str) -> None:
        if self._closed:
            raise StoreError(f"orderflow could not {action}: the store is closed")

    @contextmanager
    def _transaction(
        self, action: str, *, order_id: str | None = None, expected_version: int = 0
    ) -> Iterator[sa.Connection]:
        self._check_open(action)
        if self._pin.depth:
            with _translate(action, order_id=order_id, expected_version=expected_version):
                connection = self._pinned()
                try:
                    if connection.in_transaction():  # a load's, begun by SQLAlchemy
                        yield connection
                        connection.commit()
                    else:
                        with connection.begin():
                            yield connection
                except BaseException:
                    self._unpin()
                    raise
                if self._marks_commits:
                    connection.connection.info[_COMMITTED] = True
            return
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
        self._check_open(action)
        if self._pin.depth:
            with _translate(action):
                connection = self._pinned()
                if self._marks_commits:  # a read after a commit: the reset must roll back
                    connection.connection.info.pop(_COMMITTED, None)
                try:
                    yield connection
                except BaseException:
                    self._unpin()
                    raise
            return
        with (
            self._turns,
            _translate(action),
            self._reader.connect() as connection,
        ):
            yield connection
