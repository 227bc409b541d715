"""The SQL store's cache of loaded orders: one entry per order id, least recently used
dropped first."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any, NamedTuple

from orderflow.adapters.sql.checksums import _Chain
from orderflow.order import Order


class _Cached(NamedTuple):
    """An order as the store last wrote or read and checked it.

    Attributes:
        order: the order.
        checksum: the ``checksum`` column of its row (never ``None``: rows without one,
            written before checksums, are not cached).
        document: the ``document`` column of its row.
        chain: the hash of its history rows' documents, versions 1 to the order's version
            (what the next history row's checksum continues).
        projections: the projection columns of its row, as last checked, as the driver
            gives or takes them (as a write binds them, for a row a query read through
            SQLAlchemy). A save from the entry matches them (with the version, the checksum
            and the document): it writes only on the row the entry was made from.
        body: the order's document as the store wrote it, before JSON (``None`` for an
            order it read): the next save converts again only the fields that changed.
    """

    order: Order
    checksum: str
    document: str
    chain: _Chain
    projections: tuple[Any, ...]
    body: Mapping[str, Any] | None = None

    @property
    def version(self) -> int:
        """The cached order's version."""
        return self.order.version


class _OrderCache:
    """Orders this store wrote or read, by id, least recently used dropped first;
    thread-safe.

    An entry is used for a load only if the order's row still has the version, checksum and
    document it was cached with, so an order changed or replaced behind the store's back is
    never served; an entry at an earlier version than the row is a prefix the store may extend
    with the newer history rows, once their checksums show they follow it. A store puts an
    order here only after writing it, or after loading and checking it, never one it was
    merely given.
    """

    def __init__(self, size: int) -> None:
        self._size = size
        self._lock = threading.Lock()
        self._items: OrderedDict[str, _Cached] = OrderedDict()

    def get(self, order_id: str) -> _Cached | None:
        """The entry of this order, if any, marked as used."""
        if not self._size:
            return None
        with self._lock:
            item = self._items.get(order_id)
            if item is not None:
                self._items.move_to_end(order_id)
            return item

    def put(self, item: _Cached) -> None:
        """Keep an order the store wrote, or read and checked, in place of its older entry."""
        if not self._size:
            return
        order_id = item.order.id
        with self._lock:
            self._items[order_id] = item
            self._items.move_to_end(order_id)
            while len(self._items) > self._size:
                self._items.popitem(last=False)

    def drop(self, order_id: str) -> None:
        """Forget an order."""
        with self._lock:
            self._items.pop(order_id, None)

    def clear(self) -> None:
        """Forget every order."""
        with self._lock:
            self._items.clear()
