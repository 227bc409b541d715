"""Engines: the checks a store makes of one, SQLite pragmas, and the MySQL pool reset."""

from __future__ import annotations

import threading
import weakref
from contextlib import AbstractContextManager, nullcontext
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.pool import PoolResetState, StaticPool

from orderflow.adapters.sql.schema import _DIALECTS
from orderflow.errors import (
    InvalidConfiguration,
)

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
