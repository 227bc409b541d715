"""Rows and documents: what one change of an order writes, and how stored text is read back.

JSON is written and parsed with orjson when it is installed (the ``sql`` extra installs it),
and with the standard library's ``json`` otherwise; both read what the other wrote. The
checksums of the rows are in :mod:`.checksums`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Final, NamedTuple, TypeVar

from orderflow import serialization
from orderflow.adapters.sql.checksums import _Chain
from orderflow.adapters.sql.schema import (
    _ACTOR_LENGTH,
    _EVENT_LENGTH,
    _ID_LENGTH,
)
from orderflow.addresses import address_key
from orderflow.errors import (
    DocumentError,
    InvalidInput,
    StoreError,
)
from orderflow.model import Address
from orderflow.order import HistoryEntry, Order
from orderflow.ports import OutboxStatus, outbox_entries
from orderflow.upgrades import RENAMED_EVENTS

T = TypeVar("T")

# -- documents -----------------------------------------------------------------------------


def _json_dumps(document: object) -> str:
    return json.dumps(document, separators=(",", ":"))


_json_loads: Callable[[str], Any] = json.loads
_json: Callable[[object], str] = _json_dumps
try:
    import orjson
except ImportError:  # pragma: no cover - the sql extra installs it
    pass
else:

    def _orjson_dumps(document: object) -> str:
        try:
            text: str = orjson.dumps(document).decode()
        except (orjson.JSONEncodeError, UnicodeDecodeError):  # what json still writes
            return _json_dumps(document)
        return text

    _json = _orjson_dumps
    _json_loads = orjson.loads


def _read(text: str, kind: type[T], what: str, *, max_size: int | None = None) -> T:
    """Load a stored document of ``kind``, within ``max_size`` characters if one is given.

    Raises:
        StoreError: the stored document cannot be read back (too large, not JSON, nested
            too deeply, or refused by the loader), naming ``what``.
    """
    try:
        return serialization.loads(text, kind, max_size=len(text) if max_size is None else max_size)
    except DocumentError as error:
        raise StoreError(f"orderflow cannot read the stored {what}: {error}") from error


def _read_order(text: str, entries: Sequence[str], order_id: str, version: int,
                max_size: int) -> Order:  # fmt: skip
    """Load an order from its row's document and its history rows' documents.

    Raises:
        StoreError: a document cannot be read back, or says another version than the row.
    """
    try:
        body = serialization._parse(text, max_size)
        if isinstance(body, Mapping) and body.get("version", version) != version:
            raise StoreError(
                f"stored order {order_id!r} cannot be read: the version column of its row "
                f"disagrees with its document ({version}, the document says "
                f"{_shown(body.get('version'))}); the row was changed outside orderflow"
            )
        parts = [serialization._parse(entry, max_size) for entry in entries]
        return serialization.load_order_parts(body, parts)
    except DocumentError as error:
        raise StoreError(f"orderflow cannot read the stored order {order_id!r}: {error}") from error


PROJECTED: Final = (
    "customer_id",
    "state",
    "version",
    "next_deadline",
    "currency",
    "amount_due",
    "amount_paid",
    "amount_refunded",
    "created_at",
    "updated_at",
)
"""The columns of an order's row that repeat what its document says, in table order."""


ORDER_ROW: Final = ("id", *PROJECTED, "document", "checksum", "address_key")
"""The columns a store writes of an order's row (:attr:`_Rows.order`), in table order."""


class _OrderRow(NamedTuple):
    """An order's row as a load reads it: its id, the :data:`PROJECTED` columns, its
    document and its checksum (``None`` in a row written before checksums)."""

    id: str
    customer_id: Any
    state: Any
    version: int
    next_deadline: Any
    currency: Any
    amount_due: Any
    amount_paid: Any
    amount_refunded: Any
    created_at: Any
    updated_at: Any
    document: str
    checksum: str | None


assert _OrderRow._fields == ("id", *PROJECTED, "document", "checksum")

ENTRY_PROJECTED: Final = ("version", "from_state", "to_state", "event", "actor", "at")
"""The columns of a history row that repeat what its entry says."""


class _EntryRow(NamedTuple):
    """A history row as a load reads it: its order, the :data:`ENTRY_PROJECTED` columns,
    its document and its checksum (``None`` in a row written before checksums)."""

    order_id: str
    version: int
    from_state: Any
    to_state: Any
    event: Any
    actor: Any
    at: Any
    document: str
    checksum: str | None


assert _EntryRow._fields == ("order_id", *ENTRY_PROJECTED, "document", "checksum")


def _projections(order: Order) -> tuple[Any, ...]:
    """The values of :data:`PROJECTED` for an order, as they are written."""
    deadline = order.next_deadline
    return (
        order.customer_id,
        order.state.value,
        order.version,
        None if deadline is None else _naive_utc(deadline.due_at),
        order.currency,
        order.amount_due.amount,
        order.amount_paid.amount,
        order.amount_refunded.amount,
        _naive_utc(order.created_at),
        _naive_utc(order.updated_at),
    )


def _entry_projections(version: int, entry: HistoryEntry) -> tuple[Any, ...]:
    """The values of :data:`ENTRY_PROJECTED` for a history entry, as they are written."""
    return (
        version,
        None if entry.from_state is None else entry.from_state.value,
        entry.to_state.value,
        entry.event[:_EVENT_LENGTH],
        str(entry.actor)[:_ACTOR_LENGTH],
        _naive_utc(entry.at),
    )


def _entry_agrees(version: int, entry: HistoryEntry, stored: Sequence[Any]) -> bool:
    """Whether a history row's projections are those of its entry: the quick comparison
    for rows the store wrote (states compare equal to their values)."""
    at = entry[4]
    actor = entry[3]
    return stored == (
        version,
        entry[0],
        entry[1],
        entry[2].event[:_EVENT_LENGTH],
        f"{actor.kind._value_}:{actor.id}"[:_ACTOR_LENGTH],
        at.replace(tzinfo=None) if at.tzinfo is UTC else _naive_utc(at),
    )


def _disagreement(
    names: Sequence[str], written: Sequence[Any], stored: Sequence[Any], exact_amounts: bool
) -> str | None:
    """The first column whose stored value is not the one the document implies, if any.

    Where amounts are kept as floating point (SQLite), they agree when their floats do.
    """
    for name, want, got in zip(names, written, stored, strict=True):
        if want == got or (name == "event" and RENAMED_EVENTS.get(got) == want):
            continue
        if (
            not exact_amounts
            and name.startswith("amount_")
            and isinstance(got, Decimal | float)
            and float(want) == float(got)
        ):
            continue
        return name
    return None


def _shown(value: object) -> str:
    text = str(value)
    return repr(text if len(text) <= 40 else text[:40] + "…")


def _check_columns(
    order_id: str, what: str, names: Sequence[str], written: Sequence[Any],
    stored: Sequence[Any], exact_amounts: bool,
) -> None:  # fmt: skip
    """Refuse a row whose projections disagree with its document, naming the column.

    Raises:
        StoreError: naming the order, the row and the column.
    """
    column = _disagreement(names, written, stored, exact_amounts)
    if column is None:
        return
    index = list(names).index(column)
    says = (
        ""
        if column == "customer_id"
        else (f" ({_shown(stored[index])}, the document says {_shown(written[index])})")
    )
    raise StoreError(
        f"stored order {order_id!r} cannot be read: the {column} column of its {what} "
        f"disagrees with its document{says}; the row was changed outside orderflow"
    )


def _stored_address_key(text: str) -> str | None:
    """The address key of the order a stored order document (of any schema version)
    ships to; ``None`` for an address without a key, or a document that cannot be read
    (the store refuses to load that order anyway, naming what is wrong)."""
    try:
        document = _json_loads(text)
        version = serialization._version_of(document)
        skip = ("schema_version", "document", "version", "history")
        body = {k: v for k, v in document.items() if k not in skip}
        body = serialization._upgraded("order", body, version)
        address = serialization.converter.structure(body["address"], Address)
    except Exception:  # anything unreadable: left without a key
        return None
    return address_key(address)


def _naive_utc(value: datetime, field: str = "at") -> datetime:
    if type(value) is datetime and value.tzinfo is UTC:  # the usual case, already UTC
        return value.replace(tzinfo=None)
    if not isinstance(value, datetime) or value.utcoffset() is None:
        raise InvalidInput(field, value, "must be a timezone-aware datetime")
    return value.astimezone(UTC).replace(tzinfo=None)


def _aware(value: datetime | None) -> datetime | None:
    return None if value is None else value.replace(tzinfo=UTC)


def _check_order(order: object) -> None:
    if type(order) is not Order:
        raise InvalidInput("order", order, "must be an Order")
    for field, value in (("order.id", order.id), ("order.customer_id", order.customer_id)):
        if len(value) > _ID_LENGTH:
            raise InvalidInput(field, value, f"the SQL store keeps at most {_ID_LENGTH} chars")


class _Rows:
    """The rows one change of an order writes: the order, its history entries from
    ``first_new_version`` on, and an outbox entry for each of their effects.

    Each row is a tuple of its table's column values in the table's column order (the outbox
    without its ``position``), as :class:`_Prepared` statements take them; ``body`` is the
    order's document before it is written as JSON (``earlier``: as for
    :func:`~orderflow.serialization.dump_order_parts`). The order row and
    the history rows get their checksums from :meth:`seal`: at once for a new order, and for
    a change once the checksum chain of the stored history it extends is known.

    Raises:
        InvalidInput: a document is larger than ``max_size`` characters.
    """

    __slots__ = (
        "address_key",
        "body",
        "chain",
        "checksum",
        "document",
        "history",
        "order",
        "outbox",
        "projections",
    )

    def __init__(
        self,
        order: Order,
        first_new_version: int,
        max_size: int = serialization.MAX_DOCUMENT_SIZE,
        earlier: tuple[Order, Mapping[str, Any]] | None = None,
    ) -> None:
        body, entries = serialization.dump_order_parts(order, first_new_version, earlier=earlier)
        self.body: Mapping[str, Any] = body
        self.document = _sized(_json(body), max_size, "order")
        order_id = order.id
        self.projections = _projections(order)
        self.order: tuple[Any, ...] = (order_id, *self.projections, self.document)
        self.address_key = address_key(order.address)
        self.history: list[tuple[Any, ...]] = [
            (
                order_id,
                *_entry_projections(version, entry),
                _sized(_json(document), max_size, f"order.history[{version - 1}]"),
            )
            for version, (entry, document) in enumerate(
                zip(order.history[first_new_version - 1 :], entries, strict=True),
                start=first_new_version,
            )
        ]
        pending = OutboxStatus.PENDING.value
        self.outbox: list[tuple[Any, ...]] = [
            (
                entry.id,
                entry.order_id,
                entry.version,
                entry.effect.seq,
                entry.kind[:_EVENT_LENGTH],
                pending,
                0,
                "",
                created,
                None,
                _sized(
                    _json(serialization.dump(entry.effect)),
                    max_size,
                    f"order.history[{entry.version - 1}].effects[{entry.effect.seq}]",
                ),
                created,  # next_attempt_at: due at once
                None,
                None,
            )
            for entry in outbox_entries(order, first_new_version)
            for created in (_naive_utc(entry.created_at),)
        ]
        self.chain = _Chain()
        self.checksum = ""
        if first_new_version == 1:  # a new order: its chain starts here
            self.seal(self.chain)

    def seal(self, stored: _Chain) -> None:
        """Add the checksums to the order row and the history rows, continuing the chain of
        the stored history they extend (an empty one for a new order); the order row ends
        with its checksum and its address key, as the table's written columns do."""
        history = self.history
        self.chain, checksums = stored.checksums([row[-1] for row in history])
        for index, checksum in enumerate(checksums):
            history[index] = (*history[index], checksum)
        self.checksum = self.chain.sealed(self.document)
        self.order = (*self.order, self.checksum, self.address_key)


def _sized(text: str, max_size: int, field: str) -> str:
    if len(text) > max_size:
        raise InvalidInput(
            field,
            f"{len(text)} characters",
            f"its document is larger than the store's max_document_size of {max_size}",
        )
    return text


_OUTBOX_COLUMNS: Final = (
    "id",
    "order_id",
    "version",
    "seq",
    "kind",
    "status",
    "attempts",
    "last_error",
    "created_at",
    "delivered_at",
    "document",
    "next_attempt_at",
    "claimed_by",
    "claimed_until",
)
"""The outbox columns a new entry is written with (``position`` is the database's)."""
