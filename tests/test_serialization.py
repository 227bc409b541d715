"""Documents: exact round trips, what a document carries, and strict refusal of malformed,
coerced or unknown documents (PT-1, LC-8)."""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from typing import Any

import attrs
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
    Money,
    Order,
    OrderLine,
    Pay,
    PlaceOrder,
    Refusal,
    RequestRefund,
    Ship,
    register_currency,
)
from orderflow.aftersales import CASE_COMMAND_TYPES
from orderflow.commands import COMMAND_TYPES
from orderflow.converter import _registry
from orderflow.incidents.commands import EXCEPTION_COMMAND_TYPES, OpenException
from orderflow.incidents.model import ExceptionType
from orderflow.serialization import SCHEMA_VERSION, converter, dump, load, loads
from orderflow.testing import strategies as ofs
from tests.support import ADDRESS, CUSTOMER, LIFECYCLE, apply, closed, cny, paid, shipped


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
    """PT-1: every order, whatever happened to it, loads back equal to what was dumped."""
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


def test_amounts_times_and_close_reasons_are_written_exactly() -> None:
    """Decimals as strings, datetimes with the offset, enums by value, close reasons whole."""
    document = dump(paid())
    assert document["ledger"]["amount_paid"] == {"amount": "119.90", "currency": "CNY"}
    assert document["history"][0]["at"] == "2026-03-02T10:00:00+00:00"
    assert document["state"] == "paid"
    command = dump(Close(CloseReason.OUT_OF_STOCK, "n", command_id="x"))
    assert command == {
        "schema_version": SCHEMA_VERSION,
        "document": "command",
        "type": "close",
        "command_id": "x",
        "reason": {
            "code": "out_of_stock",
            "description": "the goods are out of stock",
            "needs_note": False,
        },
        "note": "n",
    }


def test_an_unregistered_close_reason_round_trips_as_written() -> None:
    """CL-2: a reason this process never registered is saved whole and loads as it was."""
    reason = CloseReason("fraud_ring_unregistered", "part of a fraud ring")
    order = closed_with(reason)
    loaded = load(through_json(dump(order)), Order)
    assert loaded == order
    assert loaded.close_reason == reason
    assert reason not in CloseReason.known()


def closed_with(reason: CloseReason) -> Order:
    """A paid order closed by staff with ``reason``."""
    return apply(paid(), Close(reason, "note")).order


def test_money_in_a_host_currency_carries_its_minor_units() -> None:
    """AS-5: a currency the ISO table lacks is written with its exponent; built-in ones not."""
    register_currency("XQA", 3)
    document = converter.unstructure(Money("1.250", "XQA"))
    assert document == {"amount": "1.250", "currency": "XQA", "minor_units": 3}
    assert converter.structure(document, Money) == Money("1.25", "XQA")
    assert "minor_units" not in converter.unstructure(Money("1", "JPY"))


def test_a_document_currency_is_registered_and_a_conflict_refused() -> None:
    """AS-5: loading registers a currency the document defines; a different exponent for a
    known currency is refused, naming where."""
    money = converter.structure({"amount": "7.5", "currency": "XQB", "minor_units": 1}, Money)
    assert money == Money("7.5", "XQB")
    with pytest.raises(DocumentError, match=r"minor_units.*known with 2"):
        load(
            {"schema_version": SCHEMA_VERSION, "document": "command", "type": "pay",
             "amount": {"amount": "1", "currency": "CNY", "minor_units": 3},
             "payment_reference": "p"},
            Command,
        )  # fmt: skip
    with pytest.raises(DocumentError, match="minor_units"):
        converter.structure({"amount": "1", "currency": "XQC", "minor_units": 9}, Money)
    with pytest.raises(DocumentError, match="minor_units: must be a whole number"):
        converter.structure({"amount": "1", "currency": "XQC", "minor_units": "2"}, Money)


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
        (("schema_version",), SCHEMA_VERSION + 1, r"\$\.schema_version: this orderflow reads"),
        (("schema_version",), 0, "schema versions 1 to"),
        (("schema_version",), True, "schema_version: must be a whole number"),
        (("schema_version",), "2", "schema_version: must be a whole number"),
        (("schema_version",), KeyError, "schema_version"),
        (("document",), "command", "expected a order"),
        (("state",), "teleported", r"\$\.state .*not a known OrderState"),
        (("state",), 3, r"\$\.state .*must be a OrderState value"),
        (("id",), KeyError, r"\$\.id: a required key is missing"),
        (("surprise",), 1, "unexpected keys .got surprise"),
        (("ledger", "amount_paid", "amount"), 119.9, "amount written as a string"),
        (("ledger", "amount_paid", "amount"), "1.234", "decimal places"),
        (("ledger", "amount_paid"), "119.90", "money is"),
        (("ledger", "amount_paid", "currency"), "XXQ", "not a known ISO 4217"),
        (("ledger", "amount_paid", "currency"), 156, r"currency .*must be a currency code"),
        (("history", 0, "at"), "2026-03-02T10:00:00", "offset"),
        (("history", 0, "at"), "yesterday", "ISO 8601"),
        (("history", 0, "at"), 1700000000, "ISO 8601"),
        (("history", 1, "command", "type"), "teleport", "known command"),
        (("history", 1, "effects"), [{"kind": "explode"}], "known effect"),
        (("history", 1, "actor", "kind"), "robot", "customer, staff or system"),
        (("history", 1, "actor"), "system", "an actor is"),
        (("history", 1, "actor", "kind"), 2, r"actor\.kind .*must be a string"),
        (("history", 1, "actor", "id"), None, r"actor\.id .*must be a string"),
        (("history", 1), ["paid"], r"\$\.history\[1\] .*must be a mapping"),
        (("history", 0, "effects", 1, "details"), [], r"effects\[1\]\.details .*a mapping"),
        (("history", 1, "actor", "permissions"), "all", r"history\[1\]\.actor\.permissions"),
        (("history", 1, "actor", "permissions"), [7], r"permissions\[0\] .*must be a string"),
        (("history", 1, "to_state"), "shipped", "history ends"),
        (("history",), "abc", r"\$\.history .*must be a list"),
        (("history",), {"0": {}}, r"\$\.history .*must be a list"),
        (("history", 1, "command", "amount", "amount"), 119, "amount written as a string"),
        (("history", 1, "command", "payment_reference"), 42, "must be a string .got a whole"),
        (("lines", 0, "quantity"), 2.9, r"lines\[0\]\.quantity .*whole number .got a fraction"),
        (("lines", 0, "quantity"), True, r"quantity .*got a boolean"),
        (("lines", 0, "quantity"), "2", r"quantity .*got a string"),
        (("lines", 0, "sku"), ["SKU-A"], r"lines\[0\]\.sku .*must be a string .got a list"),
        (("ledger", "payments", 0, "applied"), 1, r"applied .*true or false"),
        (("ledger", "amount_paid", "amount"), "1.00", "payments add up"),
        (("lines",), [], "at least one line"),
    ],
)
def test_malformed_or_coerced_documents_are_refused_whole(
    path: tuple[str | int, ...], value: Any, problem: str
) -> None:
    """PT-1: a malformed document, or one that would need a value coerced, raises
    DocumentError naming where; nothing is loaded."""
    document = through_json(dump(paid()))
    with pytest.raises(DocumentError, match=problem):
        load(_break(document, path, value), Order)


def test_shipment_strings_are_never_coerced() -> None:
    """LC-3: a carrier of 12345 or a tracking number of ["x"] is refused, not turned into
    text."""
    document = through_json(dump(shipped()))
    ship = next(i for i, h in enumerate(document["history"]) if h["command"]["type"] == "ship")
    for key, value in (("carrier", 12345), ("tracking_number", ["x"])):
        with pytest.raises(DocumentError, match=rf"history\[{ship}\]\.command\.{key}"):
            load(_break(document, ("history", ship, "command", key), value), Order)
        with pytest.raises(DocumentError, match=rf"\$\.shipment\.{key}"):
            load(_break(document, ("shipment", key), value), Order)


@pytest.mark.parametrize(
    ("path", "value", "problem"),
    [
        (("ledger", "refunds", 0, "attempts"), -5, r"refunds\[0\]\.attempts .*must be at least 1"),
        (("ledger", "refunds", 0, "attempts"), 0, "must be at least 1"),
        (("history", 2, "effects", 0, "attempt"), 0, r"effects\[0\]\.attempt .*at least 1"),
        (("history", 2, "effects", 0, "version"), -1, r"effects\[0\]\.version .*at least 1"),
        (("history", 2, "effects", 0, "seq"), -1, r"effects\[0\]\.seq .*must be at least 0"),
    ],
)
def test_negative_counts_are_refused(path: tuple[str | int, ...], value: int, problem: str) -> None:
    """AS-6: versions, positions and refund attempts are never below their first value."""
    order = closed(paid())
    assert isinstance(order.history[2].effects[0], RequestRefund)
    with pytest.raises(DocumentError, match=problem):
        load(_break(through_json(dump(order)), path, value), Order)


def test_standalone_effects_refuse_negative_counts() -> None:
    """D-14: an outbox document with a negative version or attempt is refused."""
    effect = closed(paid()).history[2].effects[0]
    document = through_json(dump(effect))
    for key in ("version", "attempt"):
        with pytest.raises(DocumentError, match=f"{key}: must be at least 1"):
            load({**document, key: -2}, Effect)
    with pytest.raises(DocumentError, match="attempt: must be a whole number"):
        load({**document, "attempt": 2.0}, RequestRefund)


def test_errors_never_repeat_personal_data_or_a_hostile_value_whole() -> None:
    """Errors show the path and the type of a wrongly typed value, and at most a short
    excerpt of a refused one."""
    document = through_json(dump(paid()))
    with pytest.raises(DocumentError) as error:
        load(_break(document, ("address", "phone"), 13800138000), Order)
    assert "13800138000" not in str(error.value)
    assert r"$.address.phone" in str(error.value)
    with pytest.raises(DocumentError) as error:
        load(_break(document, ("address", "recipient"), ["Li Lei", "Han Meimei"]), Order)
    assert "Li Lei" not in str(error.value)
    hostile = "x" * 100_000
    for path in (("state",), ("history", 1, "command", "type"), ("ledger", "amount_due", "amount")):
        with pytest.raises(DocumentError) as error:
            load(_break(document, path, hostile), Order)
        assert len(str(error.value)) < 300
    with pytest.raises(DocumentError) as error:
        load(_break(document, ("surprise" * 1000,), 1), Order)
    assert len(str(error.value)) < 300


def test_close_reasons_are_refused_unless_whole_and_well_formed() -> None:
    """CL-2: a close reason needs a code, a description and whether it needs a note."""
    command = through_json(dump(Close(CloseReason.OTHER, "why")))
    cases = [
        ("other", "a close reason is"),
        ({"code": "other"}, "missing keys"),
        ({"code": "", "description": "d", "needs_note": False}, "code: must not be empty"),
        ({"code": 7, "description": "d", "needs_note": False}, "code: must be a string"),
        ({"code": "c", "description": "d", "needs_note": "yes"}, "needs_note: must be true"),
        ({"code": "c", "description": "d", "needs_note": False, "x": 1}, "extra keys"),
    ]
    for reason, problem in cases:
        with pytest.raises(DocumentError, match=problem):
            load({**command, "reason": reason}, Command)


def test_documents_of_the_wrong_shape_or_kind_are_refused() -> None:
    """Non-mappings, the wrong document kind and unknown kinds are refused."""
    with pytest.raises(DocumentError):
        load(["not", "a", "mapping"], Order)
    with pytest.raises(DocumentError, match="holds a Pay"):
        load(dump(Pay(cny("1"), "p")), Ship)
    with pytest.raises(DocumentError, match="a command, a mapping"):
        load({"schema_version": 2, "document": "order", **_with_history_command("x")}, Order)
    with pytest.raises(DocumentError, match="unexpected or missing"):
        load({"schema_version": 2, "document": "command_refused"}, CommandRefused)
    refused_doc = {"schema_version": 2, "document": "command_refused", "order_id": "o",
                   "state": "s", "command": "c", "reasons": []}  # fmt: skip
    with pytest.raises(DocumentError, match="at least one reason"):
        load(refused_doc, CommandRefused)
    with pytest.raises(DocumentError, match=r"\$\.order_id: must be a string"):
        load({**refused_doc, "order_id": 5}, CommandRefused)
    with pytest.raises(DocumentError, match=r"\$\.reasons\[0\]\.code"):
        load({**refused_doc, "reasons": [{"code": 1, "message": "m"}]}, CommandRefused)
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


def test_loads_refuses_large_deep_or_malformed_text() -> None:
    """PT-1: JSON text over the size limit, nested too deeply or not JSON is a DocumentError,
    never a RecursionError or a raw ValueError."""
    text = json.dumps(dump(paid()))
    assert loads(text, Order) == paid()
    assert loads(text.encode(), Order) == paid()
    with pytest.raises(DocumentError, match="larger than the limit of 100"):
        loads(text, Order, max_size=100)
    with pytest.raises(DocumentError, match="nested too deeply"):
        loads("[" * 50_000 + "]" * 50_000, Order)
    with pytest.raises(DocumentError, match="not JSON"):
        loads("{'single': 'quotes'}", Order)
    with pytest.raises(DocumentError, match="JSON text"):
        loads(None, Order)  # type: ignore[arg-type]


def test_a_placing_command_in_a_loaded_history_is_checked_like_any_other() -> None:
    """A PlaceOrder document refuses coerced lines exactly as a loaded order does."""
    command = PlaceOrder("o-9", CUSTOMER.id, (OrderLine("S", 1, cny("1.00")),), ADDRESS)
    document = through_json(dump(command))
    assert load(document, PlaceOrder) == command
    with pytest.raises(DocumentError, match=r"\$\.lines\[0\]\.quantity"):
        load(_break(document, ("lines", 0, "quantity"), 1.0), Command)
    with pytest.raises(DocumentError, match=r"\$\.lines: must be a list"):
        load(_break(document, ("lines",), "S"), Command)


def test_every_problem_of_a_document_is_counted_and_the_first_named() -> None:
    """PT-1: a document with several problems names the first and where the others are."""
    document = through_json(dump(paid()))
    for index in range(6):
        document["lines"][0][f"extra_{index}"] = index
    document["address"]["phone"] = 1
    document["state"] = 1
    with pytest.raises(DocumentError, match=r"also at \$\..*and \d more"):
        load(document, Order)


def test_the_converter_is_strict_for_a_hosts_own_values() -> None:
    """The public converter refuses coercions in a host's classes too, naming the type."""
    assert converter.structure("1.50", Decimal) == Decimal("1.50")
    with pytest.raises(DocumentError, match="not a decimal number"):
        converter.structure("one", Decimal)
    with pytest.raises(DocumentError, match="a decimal number written as a string"):
        converter.structure(1.5, Decimal)
    with pytest.raises(DocumentError, match=r"must be a string .got a set"):
        converter.structure({"x"}, str)
    with pytest.raises(DocumentError, match=r"must be true or false .got a whole number"):
        converter.structure(1, bool)
    with pytest.raises(AssertionError, match="two classes are registered as type 'pay'"):
        _registry([Pay, Pay], "type")


def test_an_order_with_an_exception_opened_by_hand_round_trips() -> None:
    """EX-2: the command opening an exception case by hand keeps its command tag apart from
    the exception's type, so an order whose history holds it loads back equal (it was
    written with the type in place of the tag, and refused when read)."""
    opening = OpenException(ExceptionType.COMPLAINT, "rude courier", hold=True)
    order = apply(paid(), opening).order
    document = json.loads(json.dumps(dump(order)))
    assert document["history"][-1]["command"]["type"] == "open_exception"
    assert load(document, Order) == order
    loaded = load(document, Order).history.last.command
    assert isinstance(loaded, OpenException)
    assert loaded.type is ExceptionType.COMPLAINT
    assert OpenException(type=ExceptionType.COMPLAINT, summary="rude") == OpenException(
        ExceptionType.COMPLAINT, "rude"
    )


def test_no_command_has_a_field_named_like_the_command_tag() -> None:
    """A command's document names its class under ``type``: no command class may have a
    field of that name, or its value would take the tag's place."""
    for command_class in (*COMMAND_TYPES, *CASE_COMMAND_TYPES, *EXCEPTION_COMMAND_TYPES):
        assert "type" not in {field.name for field in attrs.fields(command_class)}, command_class
