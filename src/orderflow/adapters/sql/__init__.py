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
``actor`` and ``event`` projections are cut to their column's length; a stored document (the
order without its history, a history entry, an outbox entry) has at most
``max_document_size`` characters (4 MiB by default), refused on write, and for an order's
documents on read too. Every load checks the order row's columns against its document (a
cached order too), every read of an order's history rows checks them against their entries
(versions 1 to n, states, times), and a disagreement is refused naming the order and the
column (:class:`~orderflow.errors.StoreError`).
"""

from orderflow.adapters.sql.schema import SCHEMA_VERSION, SqlTables
from orderflow.adapters.sql.store import SqlStore

__all__ = ["SCHEMA_VERSION", "SqlStore", "SqlTables"]
