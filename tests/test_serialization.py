"""Documents: exact round trips, and strict refusal of malformed or unknown documents."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orderflow import (
    Close,
    CloseReason,
    Command,
    CommandRefused,
    DocumentError,
    Effect,
    InvalidInput,
    Order,
    Pay,
    Refusal,
    Ship,
)
from orderflow.serialization import SCHEMA_VERSION, dump, load
from orderflow.testing import strategies as ofs
from tests.support import LIFECYCLE, closed, cny, paid, shipped


def through_json(document: dict[str, Any]) -> Any:
    """What a store or a queue would give back."""
    return json.loads(json.dumps(document))


@st.composite
def worked_orders(draw: st.DrawFn) -> Order:
    """Orders in any state after a random script: refunds, holds, duplicates included."""
    order = draw(ofs.orders())
    trace = ofs.run_script(LIFECYCLE, order, draw(ofs.command_scripts(order, max_size=15)))
    applied = [after for _, _, after in trace if isinstance(after, Order)]
    return applied[-1] if applied else order


@given(worked_orders())
def test_orders_round_trip_exactly_through_json(order: Order) -> None:
    """Every order, whatever happened to it, loads back equal to what was dumped."""
    document = dump(order)
    assert document["schema_version"] == SCHEMA_VERSION
    loaded = load(through_json(document), Order)
    assert loaded == order
    assert dump(loaded) == document
    for entry in order.history:
        assert load(through_json(dump(entry.command)), Command) == entry.command
        for effect in entry.effects:
            assert load(through_json(dump(effect)), Effect) == effect
            assert load(through_json(dump(effect)), type(effect)) == effect


def test_amounts_and_times_are_written_exactly() -> None:
    """Decimals as strings, datetimes as ISO 8601 with the offset, enums by value."""
    document = dump(paid())
    assert document["ledger"]["amount_paid"] == {"amount": "119.90", "currency": "CNY"}
    assert document["history"][0]["at"] == "2026-03-02T10:00:00+00:00"
    assert document["state"] == "paid"
    command = dump(Close(CloseReason.OUT_OF_STOCK, "n", command_id="x"))
    assert command == {
        "schema_version": 1,
        "document": "command",
        "type": "close",
        "command_id": "x",
        "reason": "out_of_stock",
        "note": "n",
    }


def test_refusals_round_trip() -> None:
    """A refusal error travels as data and comes back with every reason."""
    error = CommandRefused(
        "o-1",
        "shipped",
        "close",
        (Refusal("close.already_shipped", "Shipped.", "Return.", "CL-1"),),
    )
    loaded = load(through_json(dump(error)), CommandRefused)
    assert (loaded.order_id, loaded.state, loaded.command, loaded.reasons) == (
        error.order_id,
        error.state,
        error.command,
        error.reasons,
    )
    assert load(through_json(dump(error.reasons[0])), Refusal) == error.reasons[0]


def _break(document: dict[str, Any], path: tuple[str | int, ...], value: Any) -> dict[str, Any]:
    broken = copy.deepcopy(document)
    target: Any = broken
    for key in path[:-1]:
        target = target[key]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return broken


@pytest.mark.parametrize(
    ("path", "value", "problem"),
    [
        (("schema_version",), 2, "schema version"),
        (("schema_version",), KeyError, "schema version"),
        (("document",), "command", "expected a order"),
        (("state",), "teleported", "state"),
        (("id",), KeyError, "id"),
        (("surprise",), 1, "surprise"),
        (("ledger", "amount_paid", "amount"), 119.9, "strings"),
        (("ledger", "amount_paid", "amount"), "1.234", "decimal places"),
        (("ledger", "amount_paid"), "119.90", "money is"),
        (("history", 0, "at"), "2026-03-02T10:00:00", "offset"),
        (("history", 0, "at"), "yesterday", "ISO 8601"),
        (("history", 0, "at"), 1700000000, "ISO 8601"),
        (("history", 1, "command", "type"), "teleport", "known command"),
        (("history", 1, "effects"), [{"kind": "explode"}], "known effect"),
        (("history", 1, "actor", "kind"), "robot", "customer, staff or system"),
        (("history", 1, "actor"), "system", "an actor is"),
        (("history", 1, "actor", "permissions"), "all", "must be a list"),
        (("history", 1, "to_state"), "shipped", "history ends"),
        (("ledger", "amount_paid", "amount"), "1.00", "payments add up"),
        (("lines",), [], "at least one line"),
    ],
)
def test_malformed_documents_are_refused_whole(
    path: tuple[str | int, ...], value: Any, problem: str
) -> None:
    """A malformed document raises DocumentError naming the problem; nothing is loaded."""
    document = through_json(dump(paid()))
    with pytest.raises(DocumentError, match=problem):
        load(_break(document, path, value), Order)


def test_documents_of_the_wrong_shape_or_kind_are_refused() -> None:
    """Non-mappings, the wrong document kind and unknown kinds are refused."""
    with pytest.raises(DocumentError):
        load(["not", "a", "mapping"], Order)
    with pytest.raises(DocumentError, match="holds a Pay"):
        load(dump(Pay(cny("1"), "p")), Ship)
    with pytest.raises(DocumentError, match="a command is a mapping"):
        load({"schema_version": 1, "document": "order", **_with_history_command("x")}, Order)
    with pytest.raises(DocumentError, match="close reason"):
        load({"schema_version": 1, "document": "command", "type": "close", "reason": 7}, Command)
    with pytest.raises(DocumentError, match="not a known close reason"):
        load({"schema_version": 1, "document": "command", "type": "close", "reason": "x"}, Command)
    with pytest.raises(DocumentError, match="unexpected or missing"):
        load({"schema_version": 1, "document": "command_refused"}, CommandRefused)
    refused_doc = {"schema_version": 1, "document": "command_refused", "order_id": "o",
                   "state": "s", "command": "c", "reasons": []}  # fmt: skip
    with pytest.raises(DocumentError, match="at least one reason"):
        load(refused_doc, CommandRefused)
    with pytest.raises(DocumentError, match="must be a string"):
        load({**refused_doc, "order_id": 5}, CommandRefused)
    with pytest.raises(InvalidInput):
        dump("an order")  # type: ignore[arg-type]
    with pytest.raises(InvalidInput):
        load(dump(paid()), dict)
    with pytest.raises(DocumentError, match="a datetime needs"):
        load(
            _break(through_json(dump(shipped())), ("shipment", "shipped_at"), "2026-01-01T00:00"),
            Order,
        )


def _with_history_command(value: Any) -> dict[str, Any]:
    document = through_json(dump(closed()))
    document["history"][1]["command"] = value
    return {k: v for k, v in document.items() if k not in ("schema_version", "document")}
