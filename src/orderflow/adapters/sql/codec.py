"""Rows and documents: what one change of an order writes, and how stored text is read back."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Final, TypeVar

from orderflow import serialization
from orderflow.adapters.sql.schema import (
    _ACTOR_LENGTH,
    _EFFECT_ID_LENGTH,
    _EVENT_LENGTH,
    _ID_LENGTH,
)
from orderflow.effects import Effect
from orderflow.errors import (
    InvalidInput,
    StoreError,
)
from orderflow.order import Order
from orderflow.ports import OutboxStatus, outbox_entries

T = TypeVar("T")

# -- documents -----------------------------------------------------------------------------


def _json(document: object) -> str:
    return json.dumps(document, separators=(",", ":"))


def _read(text: str, kind: type[T], what: str, history: Sequence[str] | None = None) -> T:
    """Load a stored document (with its history entries, for an order).

    Raises:
        StoreError: the stored document cannot be read back.
    """
    try:
        document = json.loads(text)
        if history is not None:
            document["history"] = [json.loads(entry) for entry in history]
        return serialization.load(document, kind)
    except (ValueError, TypeError) as error:  # DocumentError is a ValueError
        raise StoreError(f"orderflow cannot read the stored {what}: {error}") from error


def _naive_utc(value: datetime, field: str = "at") -> datetime:
    if type(value) is datetime and value.tzinfo is UTC:  # the usual case, already UTC
        return value.replace(tzinfo=None)
    if not isinstance(value, datetime) or value.utcoffset() is None:
        raise InvalidInput(field, value, "must be a timezone-aware datetime")
    return value.astimezone(UTC).replace(tzinfo=None)


def _aware(value: datetime | None) -> datetime | None:
    return None if value is None else value.replace(tzinfo=UTC)


def _check_limit(limit: int) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
        raise InvalidInput("limit", limit, "must be a whole number, 0 or more")
    return limit


def _check_order(order: object, effects: Sequence[Effect]) -> None:
    if type(order) is not Order:
        raise InvalidInput("order", order, "must be an Order")
    for field, value in (("order.id", order.id), ("order.customer_id", order.customer_id)):
        if len(value) > _ID_LENGTH:
            raise InvalidInput(field, value, f"the SQL store keeps at most {_ID_LENGTH} chars")
    for index, effect in enumerate(effects):
        if not isinstance(effect, Effect):
            raise InvalidInput(f"effects[{index}]", effect, "must be an Effect")
        if len(effect.order_id) > _ID_LENGTH or len(effect.id) > _EFFECT_ID_LENGTH:
            raise InvalidInput(
                f"effects[{index}].id", effect.id, "too long for the SQL store's outbox"
            )


class _Rows:
    """The rows one change of an order writes: order, new history entries, outbox entries.

    Each row is a tuple of its table's column values in the table's column order (the outbox
    without its ``position``), as :class:`_Prepared` statements take them.
    """

    __slots__ = ("document", "history", "order", "outbox")

    def __init__(self, order: Order, effects: Sequence[Effect], first_new_version: int) -> None:
        body, entries = serialization.dump_order_parts(order, first_new_version)
        self.document = _json(body)
        deadline = order.next_deadline
        order_id = order.id
        self.order: tuple[Any, ...] = (
            order_id,
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
            self.document,
        )
        self.history: list[tuple[Any, ...]] = [
            (
                order_id,
                version,
                None if entry.from_state is None else entry.from_state.value,
                entry.to_state.value,
                entry.event[:_EVENT_LENGTH],
                str(entry.actor)[:_ACTOR_LENGTH],
                _naive_utc(entry.at),
                _json(document),
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
                _json(serialization.dump(entry.effect)),
                created,  # next_attempt_at: due at once
                None,
                None,
            )
            for entry in outbox_entries(order, effects)
            for created in (_naive_utc(entry.created_at),)
        ]


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
