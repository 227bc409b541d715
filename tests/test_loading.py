"""A stored order always loads, and loads only if it holds together (PT-1, LC-8).

Loading checks what is cheap to check and refuses a mismatch naming the order; documents of
schema version 1 still load; what a document needs is in the document or in the library, so
it loads in any process, whatever that process registered and whenever its garbage collector
runs.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import textwrap
from datetime import timedelta
from pathlib import Path
from typing import Any

import attrs
import pytest

import orderflow
from orderflow import (
    Actor,
    Close,
    CloseReason,
    Command,
    DocumentError,
    Effect,
    Hold,
    InvalidInput,
    Money,
    Order,
    RetryRefund,
    check_invariants,
)
from orderflow.adapters.history import check_extends
from orderflow.aftersales import Policy
from orderflow.serialization import SCHEMA_VERSION, dump, load, load_order_parts
from orderflow.upgrades import STEPS, upgrade
from tests.fixtures.version1 import as_stored_before_exceptions, rich_order
from tests.support import CUSTOMER, OTHER_CUSTOMER, STAFF, apply, closed, paid, place

FIXTURES = Path(__file__).parent / "fixtures"
SOURCE = Path(orderflow.__file__).resolve().parent.parent


def through_json(value: Any) -> Any:
    """A document as a store or a queue gives it back."""
    return json.loads(json.dumps(value))


def run_python(code: str, *args: str) -> str:
    """Run ``code`` in a fresh interpreter that imports this orderflow; its output."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SOURCE), str(SOURCE.parent)])}
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


# -- process-independence -------------------------------------------------------------------


def test_loading_does_not_depend_on_garbage_collection() -> None:
    """PT-1: with the collector off from before orderflow is imported, a placed order loads
    (the class tables are explicit, not found through ``__subclasses__``)."""
    out = run_python(
        """
        import gc
        gc.disable()
        import json
        from tests.fixtures.version1 import as_stored_before_exceptions, rich_order
        from orderflow import Command, Effect, Order
        from orderflow.serialization import dump, load
        for order in rich_order():
            document = json.loads(json.dumps(dump(order)))
            assert load(document, Order) == order
            for entry in order.history:
                assert load(dump(entry.command), Command) == entry.command
                for effect in entry.effects:
                    assert load(dump(effect), Effect) == effect
        print("loaded", gc.isenabled())
        """
    )
    assert out.split() == ["loaded", "False"]


def test_an_order_saved_in_one_process_loads_in_one_that_registered_nothing(
    tmp_path: Path,
) -> None:
    """CL-2, AS-5: an extension close reason and a host currency, registered only by the
    process that saved the order, load in a fresh process that never registered them."""
    pytest.importorskip("sqlalchemy")
    database = str(tmp_path / "orders.db")
    run_python(
        """
        import sys
        from datetime import UTC, datetime, timedelta
        from orderflow import (Actor, Address, Close, CloseReason, Money, OrderLine, Pay,
                               Permission, PlaceOrder, register_currency)
        from orderflow.adapters.sql import SqlStore
        from orderflow.ports import ManualClock
        from orderflow.service import OrderService
        register_currency("XLT", 3)
        fraud_ring = CloseReason.register("fraud_ring", "part of a fraud ring")
        clock = ManualClock(datetime(2026, 4, 1, 8, 0, tzinfo=UTC))
        with SqlStore.sqlite(sys.argv[1]) as store:
            service = OrderService(store, clock=clock)
            customer = Actor.customer("c-x")
            staff = Actor.staff("s-x", *sorted(Permission.all()))
            line = OrderLine("SKU", 2, Money("1.125", "XLT"))
            address = Address("Li", "1", "2 Road", "Hangzhou")
            service.place(PlaceOrder("o-x", "c-x", (line,), address), customer)
            clock.advance(timedelta(minutes=1))
            service.handle("o-x", Pay(Money("2.250", "XLT"), "p-1"), Actor.system())
            clock.advance(timedelta(minutes=1))
            service.handle("o-x", Close(fraud_ring), staff)
        """,
        database,
    )
    out = run_python(
        """
        import sys
        from orderflow import CloseReason
        from orderflow.adapters.sql import SqlStore
        from orderflow.money import currency_exponent
        with SqlStore.sqlite(sys.argv[1]) as store:
            order = store.get("o-x")
            print(order.state, order.close_reason.code, order.close_reason.description)
            print(order.amount_paid, currency_exponent("XLT"))
            print([reason.code for reason in CloseReason.known()].count("fraud_ring"))
            refunds = [e.effect for e in store.pending() if e.kind == "request_refund"]
            print(refunds[0].amount)
        """,
        database,
    )
    assert out.splitlines() == [
        "closed fraud_ring part of a fraud ring",
        "2.250 XLT 3",
        "0",
        "2.250 XLT",
    ]


# -- version 1 -------------------------------------------------------------------------------


def test_version_2_documents_load_with_the_default_policy_and_pending_recomputed() -> None:
    """PT-1, AS-4, D-6: the committed version-2 documents (written before after-sales) load:
    each order gets the default policy's snapshot and no cases, and a declined refund no
    longer counts as pending, so its room is free until it is retried."""
    rich, declined = json.loads((FIXTURES / "order_v2.json").read_text(encoding="utf-8"))
    assert rich["schema_version"] == declined["schema_version"] == 2
    assert "policy" not in rich
    assert "cases" not in rich
    loaded = load(rich, Order)
    assert loaded == as_stored_before_exceptions(rich_order()[-1])
    assert loaded.policy == Policy.default().snapshot()
    assert loaded.cases == ()
    assert declined["ledger"]["amount_refund_pending"]["amount"] == "30.00"
    order = load(declined, Order)
    assert order.ledger.amount_refund_pending == Money("0.00", "CNY")
    assert order.ledger.refundable == Money("30.00", "CNY")
    assert dump(order)["schema_version"] == SCHEMA_VERSION == 3
    assert load(json.loads(json.dumps(dump(order))), Order) == order
    (refund,) = order.ledger.refunds
    retried = apply(order, RetryRefund(refund.refund_id), STAFF).order
    assert retried.ledger.amount_refund_pending == Money("30.00", "CNY")
    assert retried.ledger.refunds[0].idempotency_key == f"{refund.refund_id}#2"  # D-17


def test_a_version_1_order_document_loads_as_the_order_it_was() -> None:
    """PT-1: the committed version-1 document (a closed order with refunds, a duplicate
    payment, a hold and a change of address) loads equal to the same order built today."""
    document = json.loads((FIXTURES / "order_v1.json").read_text(encoding="utf-8"))
    assert document["schema_version"] == 1
    expected = as_stored_before_exceptions(rich_order()[-1])
    loaded = load(document, Order)
    assert loaded == expected
    assert loaded.close_reason == CloseReason.OTHER
    assert dump(loaded)["schema_version"] == SCHEMA_VERSION
    assert load(dump(loaded), Order) == expected


def test_version_1_rows_of_the_sql_store_load_as_the_order_they_were() -> None:
    """PT-1: the version-1 documents of the SQL store's rows (the order without its history,
    one per entry, the outbox effects, a command) load, also mixed with newer entries."""
    rows = json.loads((FIXTURES / "sql_v1_rows.json").read_text(encoding="utf-8"))
    expected = as_stored_before_exceptions(rich_order()[-1])
    body = json.loads(rows["order"]["document"])
    entries = [json.loads(row["document"]) for row in rows["history"]]
    assert load_order_parts(body, entries) == expected
    effects = [load(json.loads(row["document"]), Effect) for row in rows["outbox"]]
    assert effects == [effect for entry in expected.history for effect in entry.effects]
    assert load(rows["command"], Command) == expected.history[9].command
    newer = dump(expected)["history"]
    mixed = [*entries[:5], *({"schema_version": 2, **entry} for entry in newer[5:])]
    assert load_order_parts(body, mixed) == expected


def test_a_version_1_close_reason_needs_its_code_known() -> None:
    """CL-2: a version-1 document names its close reason by code only; an unknown code is
    refused, naming where and what to do."""
    document = json.loads((FIXTURES / "order_v1.json").read_text(encoding="utf-8"))
    document["closure"]["reason"] = "never_registered"
    problem = r"\$\.closure\.reason \(order 'o-v1'\): .*register it.*'never_registered'"
    with pytest.raises(DocumentError, match=problem):
        load(document, Order)
    document = json.loads((FIXTURES / "order_v1.json").read_text(encoding="utf-8"))
    document["history"][9]["command"]["reason"] = "never_registered"
    with pytest.raises(DocumentError, match=r"\$\.history\[9\]\.command\.reason"):
        load(document, Order)
    rows = json.loads((FIXTURES / "sql_v1_rows.json").read_text(encoding="utf-8"))
    entries = [json.loads(row["document"]) for row in rows["history"]]
    entries[9]["command"]["reason"] = "never_registered"
    with pytest.raises(DocumentError, match=r"\$\.history\[9\]\.command\.reason"):
        load_order_parts(json.loads(rows["order"]["document"]), entries)


def test_a_malformed_version_1_document_is_refused_by_the_loader() -> None:
    """PT-1: an upgrade leaves what it cannot read to the loader, which names where."""
    document = json.loads((FIXTURES / "order_v1.json").read_text(encoding="utf-8"))
    cases: list[tuple[Any, str]] = [
        ({**document, "closure": {**document["closure"], "reason": 7}}, r"closure\.reason"),
        ({**document, "history": "none"}, r"\$\.history .*must be a list"),
        ({**document, "history": [*document["history"][:9], 7, *document["history"][10:]]},
         r"\$\.history\[9\] .*must be a mapping"),
    ]  # fmt: skip
    changed = copy.deepcopy(document)
    changed["history"][9]["command"] = "close"
    cases.append((changed, r"\$\.history\[9\]\.command .*a command, a mapping"))
    for broken, problem in cases:
        with pytest.raises(DocumentError, match=problem):
            load(broken, Order)


def test_every_earlier_version_has_an_upgrade_step() -> None:
    """PT-1: one explicit step per version up to the current one, none changing its input."""
    assert sorted(STEPS) == list(range(1, SCHEMA_VERSION))
    document = json.loads((FIXTURES / "order_v1.json").read_text(encoding="utf-8"))
    body = {k: v for k, v in document.items() if k not in ("schema_version", "document")}
    before = copy.deepcopy(body)
    upgraded = upgrade("order", body, 1, SCHEMA_VERSION)
    assert body == before
    assert upgraded["closure"]["reason"]["code"] == "other"
    assert upgrade("order", upgraded, SCHEMA_VERSION, SCHEMA_VERSION) is upgraded
    effect = through_json(dump(rich_order()[-1].history[4].effects[0]))
    assert upgrade("effect", effect, 1, SCHEMA_VERSION) == effect


def test_order_parts_are_refused_with_the_entry_named() -> None:
    """PT-1: a malformed part names the history entry it is in."""
    order = closed(paid())
    document = dump(order)
    body = {k: v for k, v in document.items() if k != "history"}
    entries = [{"schema_version": SCHEMA_VERSION, **entry} for entry in document["history"]]
    assert load_order_parts(body, entries) == order
    with pytest.raises(DocumentError, match=r"\$\.history\[1\]\.schema_version"):
        load_order_parts(body, [entries[0], {**entries[1], "schema_version": 9}, entries[2]])
    with pytest.raises(DocumentError, match=r"\$\.history\[1\]: must be a history entry"):
        load_order_parts(body, [entries[0], "entry", entries[2]])
    with pytest.raises(DocumentError, match="without history"):
        load_order_parts(document, entries)
    with pytest.raises(DocumentError, match=r"\$\.version: the order's document has 2 entries"):
        load_order_parts({**body, "version": 3}, entries[:2])
    with pytest.raises(DocumentError, match=r"\$\.version: must be a whole number"):
        load_order_parts({**body, "version": "3"}, entries)
    with pytest.raises(DocumentError, match=r"\$: must be a document"):
        load_order_parts([], entries)


# -- the cheap checks ----------------------------------------------------------------------


def _document(order: Order) -> Any:
    return through_json(dump(order))


def _refused(document: Any, problem: str) -> None:
    with pytest.raises(DocumentError, match=problem) as error:
        load(document, Order)
    assert f"(order '{document['id']}')" in str(error.value)


def test_a_hand_edited_customer_in_history_is_refused() -> None:
    """LC-8: an entry whose customer actor is another customer does not load."""
    document = _document(apply(place(), Close(CloseReason.CUSTOMER_CANCELLED), CUSTOMER).order)
    assert document["history"][1]["actor"]["id"] == CUSTOMER.id
    document["history"][1]["actor"]["id"] = OTHER_CUSTOMER.id
    _refused(document, r"\$\.history\[1\]\.actor .*a customer other than the order's")


def test_an_entry_placed_before_the_one_before_it_is_refused() -> None:
    """LC-8: times in history never go backwards."""
    document = _document(paid())
    document["history"][1]["at"] = "2026-03-02T09:59:59+00:00"
    _refused(document, r"\$\.history\[1\]\.at .*earlier than the entry before it")


@pytest.mark.parametrize(("field", "value"), [("order_id", "o-2"), ("customer_id", "c-2")])
def test_a_placing_entry_of_another_order_is_refused(field: str, value: str) -> None:
    """LC-8: the first entry places this very order, for this very customer."""
    document = _document(paid())
    document["history"][0]["command"][field] = value
    _refused(document, r"\$\.history\[0\]\.command .*places another order")


def test_a_history_not_starting_with_the_placing_entry_is_refused() -> None:
    """LC-8: the first entry places the order; no later entry places one."""
    document = _document(paid())
    document["history"][0]["command"] = document["history"][1]["command"]
    _refused(document, r"\$\.history\[0\]\.command .*the first entry places it")
    document = _document(paid())
    second = copy.deepcopy(document["history"][0])
    second.update(from_state="pending_payment", effects=[])
    document["history"].insert(1, second)
    _refused(document, r"\$\.history\[1\]\.command .*only the first entry places it")
    document = _document(paid())
    document["history"][0]["from_state"] = "paid"
    _refused(document, r"\$\.history\[0\]\.from_state .*the first entry has none")


def test_a_broken_chain_of_states_is_refused() -> None:
    """LC-8: each entry starts where the one before it ended, and the last ends in the
    order's state."""
    document = _document(closed(paid()))
    document["history"][2]["from_state"] = "pending_payment"
    _refused(document, r"\$\.history\[2\]\.from_state .*expected paid")
    document = _document(closed(paid()))
    document["state"] = "paid"
    _refused(document, "history ends in closed")


@pytest.mark.parametrize(("field", "value"), [("order_id", "o-2"), ("version", 2), ("seq", 1)])
def test_an_effect_of_another_order_or_entry_is_refused(field: str, value: object) -> None:
    """D-14: every effect in history is the order's own, at its entry's version and place."""
    document = _document(closed(paid()))
    document["history"][2]["effects"][0][field] = value
    _refused(document, r"\$\.history\[2\]\.effects\[0\] .*an effect of this entry has the id")


def test_every_order_the_lifecycle_makes_passes_the_load_checks() -> None:
    """LC-8: the checks refuse forgeries only: the rich order at every version passes them."""
    for order in rich_order():
        check_invariants(order)
        assert load(_document(order), Order) == order


def test_staff_and_system_actors_may_be_anyone() -> None:
    """CL-6: only customer actors are tied to the order's customer."""
    document = _document(paid())
    document["history"][1]["actor"]["id"] = "another-payment-service"
    order = load(document, Order)
    assert order.history[1].actor == Actor.system("another-payment-service")
    assert order.version == 2
    assert order.updated_at - order.created_at == timedelta(minutes=1)


def _rebuilt(order: Order, **changes: Any) -> Order:
    """``Order(...)`` with the fields of ``order`` and ``changes``: the loading constructor."""
    fields = {field: getattr(order, field) for field in (
        "id", "customer_id", "lines", "address", "state", "ledger", "history", "shipment",
        "closure", "hold", "deadlines")}  # fmt: skip
    return Order(**{**fields, **changes})


def test_the_loading_constructor_refuses_entries_of_the_wrong_types() -> None:
    """LC-8: Order(...) refuses a history made of anything but entries of commands, actors,
    states and effects, and refunds with a wrong currency or attempt count."""
    order = closed(paid())
    entry = order.history[1]
    refund = order.ledger.refunds[0]
    cases: list[tuple[dict[str, Any], str]] = [
        ({"history": (order.history[0], "entry", *order.history[2:])}, "must be a HistoryEntry"),
        ({"history": (order.history[0], _replaced(entry, command="pay"), *order.history[2:])},
         "must be a Command"),
        ({"history": (order.history[0], _replaced(entry, actor="system"), *order.history[2:])},
         "must be an Actor"),
        ({"history": (order.history[0], _replaced(entry, to_state="paid"), *order.history[2:])},
         "must be an OrderState"),
        ({"history": (order.history[0], _replaced(entry, effects=[]), *order.history[2:])},
         "must be a tuple of effects"),
        ({"history": (order.history[0], _replaced(entry, effects=("e",)), *order.history[2:])},
         "must be an Effect"),
    ]  # fmt: skip
    for refunds, problem in (
        ((refund.__class__(**{**_fields(refund), "amount": Money("1", "JPY")}),), "not CNY"),
        ((refund.__class__(**{**_fields(refund), "attempts": True}),), "at least 1"),
    ):
        ledger = order.ledger.__class__(**{**_fields(order.ledger), "refunds": refunds})
        cases.append(({"ledger": ledger}, problem))
    for changes, problem in cases:
        with pytest.raises(InvalidInput, match=problem):
            _rebuilt(order, **changes)


def _replaced(entry: Any, **changes: Any) -> Any:
    """A history entry with fields of the wrong types (what a hand-built order might hold)."""
    return entry._replace(**changes)


def _fields(value: Any) -> dict[str, Any]:
    return {field.name: getattr(value, field.name) for field in attrs.fields(type(value))}


def test_a_save_must_extend_the_stored_history_entry_for_entry() -> None:
    """LC-8: check_extends accepts the stored entries or equal ones, and names the first
    entry that differs, or a history shorter than the stored one."""
    stored = paid()
    later = apply(stored, Hold("check"), STAFF).order
    check_extends(later, stored.history)
    copied = load(_document(later), Order)
    assert copied.history[0] is not stored.history[0]
    check_extends(copied, stored.history)
    rewritten = _rebuilt(
        later, history=(later.history[0], later.history[1]._replace(actor=STAFF), later.history[2])
    )
    with pytest.raises(InvalidInput, match=r"order\.history\[1\]: differs from the stored"):
        check_extends(rewritten, stored.history)
    with pytest.raises(InvalidInput, match="shorter than the stored history"):
        check_extends(place(), stored.history)
