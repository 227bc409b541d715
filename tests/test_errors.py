"""The error family: every error pickles with its attributes, outbox calls refuse malformed
arguments with the library's errors, and a lifecycle refuses what is not a definition."""

from __future__ import annotations

import pickle
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from orderflow import CommandRefused, InvalidInput, Lifecycle, Refusal
from orderflow.adapters.memory import InMemoryStore
from orderflow.adapters.sql import SqlStore
from orderflow.errors import (
    ConcurrencyConflict,
    DocumentError,
    EntryNotFound,
    InvalidConfiguration,
    InvariantViolation,
    OrderAlreadyExists,
    OrderflowError,
    OrderNotFound,
    StoreError,
)
from orderflow.ports import OrderStore

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


ERRORS: list[OrderflowError] = [
    InvalidInput("address.phone", "13800138000", "must be a phone number"),
    DocumentError("$.history[0]", None, "not a mapping"),
    InvalidConfiguration("unpaid_timeout", timedelta(0), "must be above zero"),
    InvariantViolation("o-1", "refunded <= paid", "1.00 > 0.00"),
    CommandRefused("o-1", "shipped", "close", (Refusal("close.already_shipped", "Shipped."),)),
    ConcurrencyConflict("o-1", 3, 4),
    OrderNotFound("o-1"),
    OrderAlreadyExists("o-1"),
    EntryNotFound("o-1/1/0"),
    StoreError("the database is gone"),
]


@pytest.mark.parametrize("error", ERRORS, ids=lambda error: type(error).__name__)
def test_every_error_pickles_with_its_attributes(error: OrderflowError) -> None:
    """Errors cross process boundaries (pools, task queues) whole."""
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error)
    assert str(copy) == str(error)
    assert vars(copy) == vars(error)


def test_personal_values_stay_out_of_the_message() -> None:
    """An address part is named, never quoted."""
    error = InvalidInput("address.phone", "13800138000", "must be a phone number")
    assert "13800138000" not in str(error)
    assert error.value == "13800138000"


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest) -> Iterator[OrderStore]:
    """A memory store, and an SQLite one in memory."""
    if request.param == "memory":
        yield InMemoryStore()
    else:
        sql = SqlStore.sqlite()
        yield sql
        sql.close()


BAD_CALLS = [
    ("pending", ("x",), {}),
    ("pending", (-1,), {}),
    ("dead", (), {"limit": True}),
    ("dead", (), {"after_id": 5}),
    ("mark_delivered", (None, NOW), {}),
    ("mark_delivered", ("e\x00", NOW), {}),
    ("mark_delivered", ("e" * 201, NOW), {}),
    ("mark_delivered", ("e", NOW), {"note": 7}),
    ("mark_failed", ("e", b"error", NOW), {"retry_at": None}),
    ("mark_failed", ("\ud800", "error", NOW), {"retry_at": None}),
    ("requeue", (7, NOW), {}),
    ("entries", (5,), {}),
    ("entries", ("",), {}),
    ("purge_delivered", ("x",), {}),
    ("purge_delivered", (NOW,), {"limit": -1}),
]


@pytest.mark.parametrize(("method", "args", "kwargs"), BAD_CALLS)
def test_outbox_calls_refuse_malformed_arguments(
    store: OrderStore, method: str, args: tuple[object, ...], kwargs: dict[str, object]
) -> None:
    """Every outbox method checks its arguments and raises InvalidInput, never a raw error."""
    with pytest.raises(InvalidInput):
        getattr(store, method)(*args, **kwargs)


def test_an_unknown_entry_is_not_found_without_echoing_a_long_id(store: OrderStore) -> None:
    """EntryNotFound is a LookupError whose message quotes a bounded excerpt of the id."""
    long_id = "x" * 200
    with pytest.raises(EntryNotFound) as info:
        store.mark_delivered(long_id, NOW)
    assert isinstance(info.value, LookupError)
    assert long_id not in str(info.value)
    with pytest.raises(EntryNotFound):
        store.requeue("no-such-entry", NOW)


def test_a_lifecycle_refuses_what_is_not_a_definition() -> None:
    """A definition of the wrong type is an InvalidInput, not an AttributeError."""
    with pytest.raises(InvalidInput):
        Lifecycle(definition="order")  # type: ignore[arg-type]
