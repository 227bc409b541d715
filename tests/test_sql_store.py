"""The SQL store passes the conformance kit on SQLite, PostgreSQL and MariaDB.

PostgreSQL and MariaDB run when ``ORDERFLOW_TEST_POSTGRES_URL`` / ``ORDERFLOW_TEST_MYSQL_URL``
are set (``.ci/run`` sets both), and are skipped with a message otherwise.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from orderflow.adapters.sql import SqlStore
from orderflow.ports import OrderStore
from orderflow.testing.contracts import OrderStoreContract, differential_test

POSTGRES_URL = os.environ.get("ORDERFLOW_TEST_POSTGRES_URL")
MYSQL_URL = os.environ.get("ORDERFLOW_TEST_MYSQL_URL")
needs_postgres = pytest.mark.skipif(
    not POSTGRES_URL, reason="set ORDERFLOW_TEST_POSTGRES_URL to run the PostgreSQL store tests"
)
needs_mysql = pytest.mark.skipif(
    not MYSQL_URL, reason="set ORDERFLOW_TEST_MYSQL_URL to run the MySQL/MariaDB store tests"
)


def _dispose(store: OrderStore) -> None:
    assert isinstance(store, SqlStore)
    if store.engine.dialect.name != "sqlite":
        store.drop_tables()
    store.close()


def _server(url: str | None) -> SqlStore:
    assert url is not None
    return SqlStore.from_url(url, table_prefix=f"of_{uuid.uuid4().hex[:10]}_")


class _SqlContract(OrderStoreContract):
    def dispose_store(self, store: OrderStore) -> None:
        """Drop a server's tables and close the engine."""
        _dispose(store)


class TestSqliteMemoryStore(_SqlContract):
    """SQLite in memory."""

    def make_store(self) -> OrderStore:
        """A fresh in-memory database."""
        return SqlStore.sqlite(":memory:")


class TestSqliteFileStore(_SqlContract):
    """SQLite in a file, WAL journal."""

    @pytest.fixture(autouse=True)
    def _folder(self, tmp_path: Path) -> None:
        self.folder = tmp_path

    def make_store(self) -> OrderStore:
        """A fresh database file."""
        return SqlStore.sqlite(str(self.folder / f"{uuid.uuid4().hex}.sqlite3"))


@needs_postgres
class TestPostgresStore(_SqlContract):
    """PostgreSQL through psycopg 3."""

    def make_store(self) -> OrderStore:
        """Fresh tables under a unique prefix."""
        return _server(POSTGRES_URL)


@needs_mysql
class TestMysqlStore(_SqlContract):
    """MySQL/MariaDB through PyMySQL."""

    def make_store(self) -> OrderStore:
        """Fresh tables under a unique prefix."""
        return _server(MYSQL_URL)


TestSqliteAgainstReference = differential_test(lambda: SqlStore.sqlite(":memory:"), _dispose)
TestPostgresAgainstReference = needs_postgres(
    differential_test(lambda: _server(POSTGRES_URL), _dispose, max_examples=20)
)
TestMysqlAgainstReference = needs_mysql(
    differential_test(lambda: _server(MYSQL_URL), _dispose, max_examples=20)
)
