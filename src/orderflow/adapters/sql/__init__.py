"""An order store on SQLAlchemy Core: SQLite, PostgreSQL and MySQL/MariaDB (PT-1, D-9, D-14).

Install with ``pip install "orderflow-commerce[sql]"`` (the import package is ``orderflow``).
One :class:`SqlStore` runs the same code on all three backends::

    store = SqlStore.sqlite("orders.db")                          # embedded, WAL journal
    store = SqlStore.from_url("postgresql+psycopg://app@db/shop")  # psycopg 3
    store = SqlStore.from_url("mysql+pymysql://app@db/shop")       # MySQL or MariaDB

It behaves exactly like the reference :class:`~orderflow.adapters.memory.InMemoryStore`:
optimistic concurrency on the order's version, the order, its new history entries and its
outbox entries written in one transaction, exact round trips. Every error of the database
driver is translated in one place (:func:`_translate`) into
:class:`~orderflow.errors.StoreError`, :class:`~orderflow.errors.OrderAlreadyExists` or
:class:`~orderflow.errors.ConcurrencyConflict`, chained with ``raise ... from``.

Schema, version 3 (:data:`SCHEMA_VERSION`)
-------------------------------------------

Four tables, named with the store's ``table_prefix`` (``orderflow_`` by default), made by
``MetaData.create_all`` when the store opens with ``create=True``. The documents are the JSON
of :mod:`orderflow.serialization` (decimals as strings, datetimes with their offset); they
are the truth. The other columns are projections, for the store's own queries and for a
host's reports; all times in them are naive UTC (``DATETIME(6)`` on MySQL). Text is
``utf8mb4`` with a binary collation on MySQL and keys use the ``"C"`` collation on
PostgreSQL, so ids compare and sort exactly as Python strings do::

    <prefix>meta     key VARCHAR(64) PK, value VARCHAR(200)
                     -- one row: schema_version = 3
    <prefix>orders   id VARCHAR(100) PK, customer_id VARCHAR(100), state VARCHAR(32),
                     version INTEGER, next_deadline DATETIME NULL, currency CHAR(3),
                     amount_due, amount_paid, amount_refunded NUMERIC(26, 8),
                     created_at DATETIME, updated_at DATETIME,
                     document TEXT  -- the order without its history
                     checksum VARCHAR(32) NULL  -- of the order's documents
                     due_claimed_by VARCHAR(100) NULL, due_claimed_until DATETIME NULL
                     -- the timer sweeper holding the order, and until when
                     address_key VARCHAR(64) NULL  -- orderflow.addresses.address_key
                     -- of the order's address (NULL: an address without a key)
                     index (customer_id, created_at, id), (state, id),
                     (next_deadline, id), (address_key, created_at, id)
    <prefix>history  order_id VARCHAR(100) FK -> orders.id, version INTEGER,
                     PK (order_id, version), from_state VARCHAR(32) NULL,
                     to_state VARCHAR(32), event VARCHAR(64), actor VARCHAR(200),
                     at DATETIME, document TEXT  -- one history entry
                     checksum VARCHAR(32) NULL  -- of the documents up to this entry
    <prefix>outbox   position BIGINT PK autoincrement (the order entries were written in),
                     id VARCHAR(200) UNIQUE (the effect id), order_id VARCHAR(100),
                     version INTEGER, seq INTEGER, kind VARCHAR(64),
                     status VARCHAR(16) (pending, delivered, dead), attempts INTEGER,
                     last_error TEXT, created_at DATETIME, delivered_at DATETIME NULL,
                     document TEXT  -- the effect
                     next_attempt_at DATETIME (when it is due), claimed_by VARCHAR(100)
                     NULL, claimed_until DATETIME NULL (the relay holding it, and until when)
                     index (order_id), (status, next_attempt_at, created_at, position)

``TEXT`` is ``LONGTEXT`` on MySQL. The amounts are wide enough for any amount
:class:`~orderflow.Money` accepts (18 integer digits, 8 decimal places); SQLite keeps them as
floating point, so report on them there with care (the documents stay exact).

Checksums. A history row's ``checksum`` is the BLAKE2b hash (16 bytes, in hex) of the
documents of the order's history rows up to its own, each preceded by its length; the order
row's is that of all of them followed by the order's document. An order whose documents hash
to its row's checksum is one an orderflow store wrote, and is read back without checking
every value again; rows changed by hand (or written before checksums) do not match and are
read the strict way, which refuses what does not hold together. A checksum is not a
signature: it tells a store's own writes from others, not from someone who can write the
tables and hash. Reports need not read it.

Upgrades. Opening tables of an earlier schema version with ``create=True`` upgrades them in
place, version by version (:mod:`orderflow.adapters.sql.upgrades`), and records the new
version; stores opening the same tables at the same moment wait for the one upgrading them
(a lock on the meta row on PostgreSQL, the write lock on SQLite, a named lock on MySQL). With
``create=False`` such tables are refused with :class:`~orderflow.errors.StoreError`, and
tables of an unknown or later version are refused either way. Version 1 to 2 adds the
outbox's ``next_attempt_at`` (filled from ``created_at``), ``claimed_by`` and
``claimed_until`` columns and replaces the index ``(status, attempts, created_at, position)``
by ``(status, next_attempt_at, created_at, position)``, adds the orders' ``due_claimed_by``
and ``due_claimed_until`` columns (timer sweepers' claims), and replaces the orders' index
``(customer_id)`` by ``(customer_id, created_at, id)`` (a customer's orders, newest first, in
pages: :meth:`SqlStore.find_by_customer`), and adds the ``checksum`` columns of orders and
history rows, left ``NULL`` in the rows already there (they are read the strict way until
their order is saved again). Version 2 to 3 adds the orders' ``address_key`` column, fills
it from each stored order document (500 rows at a time, by id; a row left ``NULL`` is read
again when the step runs again) and then creates the index ``(address_key, created_at,
id)`` (the orders to one place since an instant: :meth:`SqlStore.find_by_address`). The key
is a SHA-256 of the address's canonical location, not the address: no address is indexed in
plain text (the documents still hold it). Stop the stores of the previous version before
upgrading: one that saves afterwards leaves an order's key as it was. An upgrade alters the
outbox and orders tables:
on large ones it takes a while, and on MySQL it waits for the transactions of running
stores; upgrade while no relay runs, and back the database up first.

Outbox claims (:meth:`SqlStore.claim`) select due rows ``FOR UPDATE SKIP LOCKED`` on
PostgreSQL and MySQL/MariaDB (MySQL 8.0.1 or MariaDB 10.6 and later) and mark them in the
same transaction; on SQLite one ``UPDATE ... WHERE position IN (SELECT ... LIMIT n)``
statement claims them under the database's write lock. Timer sweepers claim due orders
(:meth:`SqlStore.claim_due`) the same way, through the ``(next_deadline, id)`` index; a save
never writes the claim columns.

Limits the SQL store adds to the reference semantics: order ids and customer ids of at most
100 characters (longer ones are refused with :class:`~orderflow.errors.InvalidInput`; the
effect ids made of them fit the outbox's 200); the times given to :meth:`SqlStore.find_due`,
:meth:`SqlStore.find_by_customer`, :meth:`SqlStore.find_by_address`, :meth:`SqlStore.claim`,
:meth:`SqlStore.mark_delivered`, :meth:`SqlStore.mark_failed`, :meth:`SqlStore.requeue` and
:meth:`SqlStore.purge_delivered` must be timezone-aware; the
``actor`` and ``event`` projections are cut to their column's length; relay names are at most
100 characters and delivery errors are kept cleaned and cut to 500 characters
(:func:`orderflow.ports.clean_error`); a stored document (the order without its history, a
history entry, an outbox entry) has at most ``max_document_size`` characters (4 MiB by
default), refused on write, and for an order's documents on read too. Every load checks the
order row's columns against its document (a cached order too), every read of an order's
history rows checks them against their entries (versions 1 to n, states, times), and a
disagreement is refused naming the order and the column
(:class:`~orderflow.errors.StoreError`). The ``address_key`` column is not checked on every
load (that would hash every address read); :meth:`SqlStore.find_by_address` checks the key of
every order it finds, and refuses a row whose key disagrees with its document.

Loading (:mod:`orderflow.adapters.sql.loading`): a cache hit (the row's version, checksum and
document are the cached ones) reads the order's row and decodes nothing; when the cache holds
an earlier version of the order, only the history rows after it are read and decoded; a
store's own rows are decoded without the strict loader's checks
(:mod:`orderflow.adapters.sql.trusted`), the entries of a whole history each when first
read. Within :meth:`SqlStore.command_scope` the calls of one thread share one pooled
connection (:meth:`~orderflow.service.OrderService.handle` runs each attempt of a command in
one). :meth:`SqlStore.cached_order` gives the cached order
without a query, for :meth:`~orderflow.service.OrderService.handle` to decide on: a save from
a cache entry matches the row's version, checksum, document and projection columns as cached,
so a stale or hand-edited row is never written over (the save conflicts, and the service
loads the order and decides again). The hot statements are compiled once and run on the
driver's cursor, through SQLAlchemy's error handling; when anything listens to the engine's
cursor events, they run through ``Connection.exec_driver_sql`` so every listener sees them.
JSON is written and parsed with orjson when it is installed (the ``sql`` extra installs it).
"""

from orderflow.adapters.sql.schema import SCHEMA_VERSION, SqlTables
from orderflow.adapters.sql.store import SqlStore

__all__ = ["SCHEMA_VERSION", "SqlStore", "SqlTables"]
