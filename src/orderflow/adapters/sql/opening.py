"""Opening a SQL store: from a database URL, or on an SQLite file or in-memory database, with
the engine options the store needs (bound values hidden from errors, SQLite's pragmas, no
needless rollback on MySQL)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self

import sqlalchemy as sa
from sqlalchemy.pool import StaticPool

from orderflow import serialization
from orderflow.adapters.sql.engines import _reset_uncommitted, _SqlitePragmas
from orderflow.adapters.sql.schema import _MYSQL_LIKE
from orderflow.errors import InvalidConfiguration

__all__ = ["SqlOpening"]


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


class SqlOpening:
    """The constructors of :class:`~orderflow.adapters.sql.SqlStore` that make its engine."""

    if TYPE_CHECKING:

        def __init__(
            self,
            engine: sa.Engine,
            *,
            table_prefix: str = ...,
            create: bool = ...,
            cache_size: int = ...,
            max_document_size: int = ...,
        ) -> None: ...

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
    ) -> Self:
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
    ) -> Self:
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
    ) -> Self:
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
