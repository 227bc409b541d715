"""The SQL store passes the conformance kit on SQLite, PostgreSQL and MariaDB.

PostgreSQL and MariaDB run when ``ORDERFLOW_TEST_POSTGRES_URL`` / ``ORDERFLOW_TEST_MYSQL_URL``
are set (``.ci/run`` sets both), and are skipped with a message otherwise.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
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

    def make_peer(self, store: OrderStore) -> OrderStore | None:
        """A store on the same tables, with a cache of its own (on the same engine for an
        in-memory database, on an engine of its own otherwise)."""
        assert isinstance(store, SqlStore)
        if store.engine.url.database in (None, "", ":memory:"):
            return SqlStore(store.engine, table_prefix=store.table_prefix, create=False)
        url = store.engine.url.render_as_string(hide_password=False)
        return SqlStore.from_url(url, table_prefix=store.table_prefix, create=False)

    def dispose_peer(self, peer: OrderStore) -> None:
        """Close a peer on an engine of its own (an in-memory database's is the store's)."""
        assert isinstance(peer, SqlStore)
        if peer.engine.url.database not in (None, "", ":memory:"):
            peer.close()


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


_DIFFERENTIAL_PREFIX = f"of_diff_{uuid.uuid4().hex[:8]}_"
_DIFFERENTIAL_URLS: set[str] = set()


def _differential_server(url: str | None) -> SqlStore:
    """A store on the tables the differential examples share on a server (created by the
    first): creating and dropping tables for each example costs more than the example. No
    cache, so that every read decodes what the server holds."""
    assert url is not None
    _DIFFERENTIAL_URLS.add(url)
    return SqlStore.from_url(url, table_prefix=_DIFFERENTIAL_PREFIX, cache_size=0)


def _emptied(store: OrderStore) -> None:
    """Delete every row but the schema's (children first) and close the store."""
    assert isinstance(store, SqlStore)
    tables = store.tables
    with store.engine.begin() as connection:
        for table in reversed(tables.metadata.sorted_tables):
            if table is not tables.meta:
                connection.execute(table.delete())
    store.close()


@pytest.fixture(autouse=True, scope="module")
def _drop_differential_tables() -> Iterator[None]:
    """Drop the tables the differential examples shared, once the module's tests ran."""
    yield
    for url in sorted(_DIFFERENTIAL_URLS):
        store = SqlStore.from_url(url, table_prefix=_DIFFERENTIAL_PREFIX)
        _dispose(store)


# Each example costs about 0.3 s on SQLite and 0.6 s on a server: a fixed number of examples,
# whatever the profile, keeps each of these tests within a few seconds. SQLite runs without
# the store's cache, so every read decodes the stored documents (the servers use the cache).
TestSqliteAgainstReference = differential_test(
    lambda: SqlStore.sqlite(":memory:", cache_size=0), _dispose, max_examples=20
)
TestPostgresAgainstReference = needs_postgres(
    differential_test(lambda: _differential_server(POSTGRES_URL), _emptied, max_examples=8)
)
TestMysqlAgainstReference = needs_mysql(
    differential_test(lambda: _differential_server(MYSQL_URL), _emptied, max_examples=8)
)
