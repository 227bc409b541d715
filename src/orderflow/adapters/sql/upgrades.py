"""Upgrades of a store's tables from an earlier schema version, in place, step by step.

:data:`UPGRADES` maps each schema version to the steps that bring tables of the version
before it up to it; a step is a function ``(connection, tables) -> None`` that changes the
tables (as :func:`orderflow.adapters.sql.schema._define_tables` describes them now) and may
be run again safely (on MySQL every DDL statement commits by itself, so a step interrupted
half-way is run again from the start). :func:`upgrade` runs the steps of every version
between the stored one and :data:`~orderflow.adapters.sql.schema.SCHEMA_VERSION`, one
version at a time, recording each in the meta table, while holding a lock that keeps other
stores opening the same tables from upgrading them at the same time.

To change the tables in a new version: bump ``SCHEMA_VERSION``, change the table definitions,
and add the version's steps here (helpers: :func:`add_column`, :func:`add_index`,
:func:`replace_index`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Final

import sqlalchemy as sa

from orderflow.adapters.sql.codec import _stored_address_key
from orderflow.adapters.sql.schema import _MYSQL_LIKE, SCHEMA_VERSION, SqlTables
from orderflow.errors import StoreError

Step = Callable[[sa.Connection, SqlTables], None]
"""One change of the tables on the way to a version; safe to run again."""

_EPOCH: Final = "1970-01-01 00:00:00.000000"


def add_column(
    connection: sa.Connection,
    table: sa.Table,
    name: str,
    *,
    fill: sa.ColumnElement[Any] | None = None,
    placeholder: str | None = None,
) -> None:
    """Add the column ``name`` of ``table`` (as the table defines it) to the stored table,
    unless it is there already.

    A ``NOT NULL`` column is added nullable, filled with ``fill`` (an expression over the
    row's other columns), then made ``NOT NULL``; SQLite cannot change a column afterwards,
    so there it is added ``NOT NULL DEFAULT placeholder`` (an SQL literal) and then filled.

    Raises:
        AssertionError: a ``NOT NULL`` column without ``fill`` and ``placeholder`` (a bug in
            a step, never a host's error).
    """
    column = table.c[name]
    dialect = connection.dialect
    preparer = dialect.identifier_preparer
    quoted_table, quoted_column = preparer.format_table(table), preparer.quote(name)
    type_sql = column.type.compile(dialect=dialect)
    present = {c["name"] for c in sa.inspect(connection).get_columns(table.name)}
    if not column.nullable and (fill is None or placeholder is None):
        raise AssertionError(f"a NOT NULL column {name!r} needs a fill and a placeholder")
    if name not in present:
        definition = f"{quoted_column} {type_sql}"
        if dialect.name == "sqlite" and not column.nullable:
            definition += f" NOT NULL DEFAULT {placeholder}"
        else:
            definition += " NULL"
        connection.exec_driver_sql(f"ALTER TABLE {quoted_table} ADD COLUMN {definition}")
    if column.nullable or fill is None:
        return
    if dialect.name == "sqlite":
        if name not in present:
            connection.execute(sa.update(table).values({name: fill}))
        return
    connection.execute(sa.update(table).where(column.is_(None)).values({name: fill}))
    if dialect.name == "postgresql":
        connection.exec_driver_sql(
            f"ALTER TABLE {quoted_table} ALTER COLUMN {quoted_column} SET NOT NULL"
        )
    else:
        connection.exec_driver_sql(
            f"ALTER TABLE {quoted_table} MODIFY COLUMN {quoted_column} {type_sql} NOT NULL"
        )


def _index_names(connection: sa.Connection, table: sa.Table) -> set[str]:
    return {str(index["name"]) for index in sa.inspect(connection).get_indexes(table.name)}


def add_index(connection: sa.Connection, table: sa.Table, name: str) -> None:
    """Create the index ``table`` defines under the name ``name``, unless it is there."""
    if name not in _index_names(connection, table):
        (index,) = (index for index in table.indexes if index.name == name)
        index.create(connection)


def replace_index(connection: sa.Connection, table: sa.Table, old: str, new: str) -> None:
    """Drop the stored index ``old`` of ``table`` if it is there, and create the index the
    table defines under the name ``new`` if it is not."""
    preparer = connection.dialect.identifier_preparer
    if old in _index_names(connection, table):
        on = f" ON {preparer.format_table(table)}" if connection.dialect.name in _MYSQL_LIKE else ""
        connection.exec_driver_sql(f"DROP INDEX {preparer.quote(old)}{on}")
    add_index(connection, table, new)


def _outbox_claims(connection: sa.Connection, tables: SqlTables) -> None:
    """Version 2: outbox entries get a due time and a claim (several relays, backoff)."""
    outbox = tables.outbox
    add_column(
        connection, outbox, "next_attempt_at", fill=outbox.c.created_at, placeholder=f"'{_EPOCH}'"
    )
    add_column(connection, outbox, "claimed_by")
    add_column(connection, outbox, "claimed_until")
    prefix = outbox.name.removesuffix("outbox")
    replace_index(connection, outbox, f"{prefix}outbox_pending", f"{prefix}outbox_due")


def _sweeper_claims(connection: sa.Connection, tables: SqlTables) -> None:
    """Version 2: orders get a timer sweeper's claim (several sweepers share the work)."""
    add_column(connection, tables.orders, "due_claimed_by")
    add_column(connection, tables.orders, "due_claimed_until")


def _customer_pages(connection: sa.Connection, tables: SqlTables) -> None:
    """Version 2: a customer's orders are read newest first, a page at a time, from the
    index ``(customer_id, created_at, id)``, which replaces ``(customer_id)``."""
    orders = tables.orders
    prefix = orders.name.removesuffix("orders")
    replace_index(connection, orders, f"{prefix}orders_customer", f"{prefix}orders_by_customer")


def _checksums(connection: sa.Connection, tables: SqlTables) -> None:
    """Version 2: order and history rows get a checksum of their documents, which lets the
    store read back its own writes without checking every value again. Rows written before
    keep none (``NULL``), and are read the strict way until the order is saved again."""
    add_column(connection, tables.orders, "checksum")
    add_column(connection, tables.history, "checksum")


_BACKFILL_BATCH: Final = 500
"""How many order rows the address key step reads at a time."""


def _address_keys(connection: sa.Connection, tables: SqlTables) -> None:
    """Version 3: orders get the key of their address (``address_key``, computed from each
    stored document by :func:`orderflow.addresses.address_key`) and the index
    ``(address_key, created_at, id)``: the orders to one place since an instant
    (:meth:`~orderflow.adapters.sql.SqlStore.find_by_address`, RK-1).

    Rows are filled a batch at a time, by id; a row whose key is still ``NULL`` (its
    address has none, or the step was interrupted) is read again when the step runs again.
    The index is made after the rows are filled."""
    orders = tables.orders
    add_column(connection, orders, "address_key")
    fill = (
        sa.update(orders)
        .where(orders.c.id == sa.bindparam("filled_id"))
        .values(address_key=sa.bindparam("filled_key"))
    )
    last: str | None = None
    while True:
        query = sa.select(orders.c.id, orders.c.document).where(orders.c.address_key.is_(None))
        if last is not None:
            query = query.where(orders.c.id > last)
        rows = connection.execute(query.order_by(orders.c.id).limit(_BACKFILL_BATCH)).all()
        if not rows:
            break
        keys = [
            {"filled_id": order_id, "filled_key": key}
            for order_id, document in rows
            if (key := _stored_address_key(document)) is not None
        ]
        if keys:
            connection.execute(fill, keys)
        last = rows[-1][0]
    prefix = orders.name.removesuffix("orders")
    add_index(connection, orders, f"{prefix}orders_by_address")


UPGRADES: Final[dict[int, tuple[Step, ...]]] = {
    2: (_outbox_claims, _sweeper_claims, _customer_pages, _checksums),
    3: (_address_keys,),
}
"""The steps that bring tables of version ``n - 1`` to version ``n``, by ``n``."""


@contextmanager
def _upgrade_lock(connection: sa.Connection, tables: SqlTables) -> Iterator[None]:
    """Hold the lock that serializes upgrades of these tables, for the block.

    PostgreSQL: the meta row, locked until the transaction ends (its DDL is transactional).
    SQLite: the database's write lock, taken by a write to the meta row. MySQL: a named lock
    of the session, because DDL commits the transaction (and would release row locks).
    """
    meta = tables.meta
    version_row = meta.c.key == "schema_version"
    if connection.dialect.name in _MYSQL_LIKE:
        name = f"orderflow_upgrade_{meta.name}"
        got = connection.execute(sa.select(sa.func.get_lock(name, 60))).scalar()
        if got != 1:
            raise StoreError(f"another store is upgrading the tables {meta.name[:-4]}*")
        try:
            yield
        finally:
            connection.execute(sa.select(sa.func.release_lock(name)))
        return
    if connection.dialect.name == "postgresql":
        connection.execute(sa.select(meta.c.value).where(version_row).with_for_update())
    else:
        connection.execute(sa.update(meta).where(version_row).values(value=meta.c.value))
    yield


def stored_version(
    connection: sa.Connection, tables: SqlTables, *, latest: bool = False
) -> str | None:
    """The schema version recorded in the meta table (``None`` without a record).

    With ``latest``, a locking read: the last committed value even inside a MySQL snapshot.
    """
    meta = tables.meta
    query = sa.select(meta.c.value).where(meta.c.key == "schema_version")
    if latest:
        query = query.with_for_update()
    value: str | None = connection.execute(query).scalar_one_or_none()
    return value


def upgrade(connection: sa.Connection, tables: SqlTables) -> int | None:
    """Bring tables of an earlier version up to ``SCHEMA_VERSION``, in place.

    Tables of the current version, of a later one, or without a version record are left as
    they are (the store's schema check then accepts or refuses them).

    Returns:
        The version the tables were upgraded from, or ``None`` if nothing was done.

    Raises:
        StoreError: the database refused a step, or another store held the upgrade lock for
            a minute (MySQL).
    """
    found = stored_version(connection, tables)
    if not _upgradable(found):
        return None
    with _upgrade_lock(connection, tables):
        found = stored_version(connection, tables, latest=True)  # another may have done it
        if not _upgradable(found):
            return None
        assert found is not None
        start = int(found)
        for version in range(start + 1, SCHEMA_VERSION + 1):
            for step in UPGRADES[version]:
                step(connection, tables)
            meta = tables.meta
            connection.execute(
                sa.update(meta).where(meta.c.key == "schema_version").values(value=str(version))
            )
        return start


def _upgradable(found: str | None) -> bool:
    return (
        found is not None
        and found.isdigit()
        and 0 < int(found) < SCHEMA_VERSION
        and all(version in UPGRADES for version in range(int(found) + 1, SCHEMA_VERSION + 1))
    )
