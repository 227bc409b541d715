"""The SQL store's tables, named with its prefix, and the dialect details they need."""

from __future__ import annotations

import re
from typing import Any, Final

import attrs
import sqlalchemy as sa
from sqlalchemy.dialects import mysql, postgresql, sqlite

SCHEMA_VERSION: Final = 3
"""The version of the table layout this module reads and writes (see :mod:`.upgrades` for
the steps from earlier versions)."""

_ID_LENGTH: Final = 100
_EFFECT_ID_LENGTH: Final = 200
_EVENT_LENGTH: Final = 64
_ACTOR_LENGTH: Final = 200
_WORKER_LENGTH: Final = 100
_ADDRESS_KEY_LENGTH: Final = 64
_PREFIX = re.compile(r"[a-z_][a-z0-9_]{0,39}|")
_DIALECTS: Final = ("sqlite", "postgresql", "mysql", "mariadb")
_MYSQL_LIKE: Final = ("mysql", "mariadb")


# -- the schema ----------------------------------------------------------------------------


def _key(length: int) -> sa.types.TypeEngine[str]:
    """A key column: compared byte by byte (code point order), like Python strings."""
    return sa.String(length).with_variant(postgresql.VARCHAR(length, collation="C"), "postgresql")


_TIMESTAMP: Final = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), *_MYSQL_LIKE)
_TEXT: Final = sa.Text().with_variant(mysql.LONGTEXT(), *_MYSQL_LIKE)
_AMOUNT: Final = sa.Numeric(26, 8)
_CHECKSUM_LENGTH: Final = 32
_POSITION: Final = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


@attrs.frozen(eq=False)
class SqlTables:
    """The tables of one store, for hosts that report on them with their own queries.

    Attributes:
        metadata: the ``MetaData`` holding the four tables.
        orders: one row per order: projections, the order's document without history, the
            checksum of its documents, and the key of its address
            (:func:`orderflow.addresses.address_key`).
        history: one row per history entry, with the checksum of its documents so far.
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
        sa.Column("checksum", sa.String(_CHECKSUM_LENGTH), nullable=True),
        sa.Column("due_claimed_by", sa.String(_ID_LENGTH), nullable=True),
        sa.Column("due_claimed_until", _TIMESTAMP, nullable=True),
        sa.Column("address_key", sa.String(_ADDRESS_KEY_LENGTH), nullable=True),
        sa.Index(f"{prefix}orders_by_customer", "customer_id", "created_at", "id"),
        sa.Index(f"{prefix}orders_by_address", "address_key", "created_at", "id"),
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
        sa.Column("checksum", sa.String(_CHECKSUM_LENGTH), nullable=True),
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
        sa.Column("next_attempt_at", _TIMESTAMP, nullable=False),
        sa.Column("claimed_by", sa.String(_WORKER_LENGTH), nullable=True),
        sa.Column("claimed_until", _TIMESTAMP, nullable=True),
        sa.UniqueConstraint("id", name=f"{prefix}outbox_id"),
        sa.Index(f"{prefix}outbox_order", "order_id"),
        sa.Index(f"{prefix}outbox_due", "status", "next_attempt_at", "created_at", "position"),
        **options,
    )
    return SqlTables(metadata, orders, history, outbox, meta)


CLAIM_COLUMNS: Final = ("due_claimed_by", "due_claimed_until")
"""Columns of the orders table that only timer sweepers write (claims); a save leaves them."""


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
