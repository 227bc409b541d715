"""The SQL store's trusted decoders build exactly what the strict loader builds (PT-1, LC-8).

The store reads back the documents it wrote itself without checking every value again; what
it builds that way must be the very order the strict loader builds from the same documents,
and anything outside the layout it knows must be left to the strict loader.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orderflow import Order, Pay, Release
from orderflow.adapters.sql import trusted as trusted_module
from orderflow.adapters.sql.checksums import _Chain
from orderflow.adapters.sql.codec import _json_dumps, _json_loads
from orderflow.adapters.sql.trusted import Untrusted, decode_entry, decode_order, lazy_history
from orderflow.history import History
from orderflow.machine import Lifecycle
from orderflow.order import HistoryEntry
from orderflow.serialization import dump, dump_order_parts, load_order_parts
from orderflow.testing import strategies as ofs
from tests.fixtures.version1 import rich_order
from tests.support import apply, closed, held, paid

LIFECYCLE = Lifecycle()


def trusted(body: dict[str, Any], entries: list[dict[str, Any]]) -> Order:
    """An order decoded the trusted way from its parts."""
    return decode_order(body, History([decode_entry(entry) for entry in entries]))


def parts(order: Order) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The documents a store writes for an order, as they come back from JSON text."""
    body, entries = dump_order_parts(order, 1)
    return json.loads(_json_dumps(body)), [json.loads(_json_dumps(entry)) for entry in entries]


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_trusted_decoding_builds_what_the_strict_loader_builds(data: st.DataObject) -> None:
    """PT-1: for random orders after random commands, the trusted decoders build an order
    equal to the strict loader's, that dumps to the same documents."""
    order = data.draw(ofs.orders())
    for _, _, after in ofs.run_script(
        LIFECYCLE, order, data.draw(ofs.command_scripts(order, max_size=8))
    ):
        if isinstance(after, Order):
            order = after
    body, entries = parts(order)
    strict = load_order_parts(body, entries)
    fast = trusted(body, entries)
    assert fast == strict == order
    assert type(fast) is Order
    assert dump(fast) == dump(strict)
    assert [type(entry.command) for entry in fast.history] == [
        type(entry.command) for entry in strict.history
    ]


@pytest.mark.parametrize("order", [closed(paid()), held(paid()), *rich_order()[-1:]])
def test_trusted_decoding_of_every_kind_of_record(order: Order) -> None:
    """PT-1: closures, holds, refunds and payments decode the trusted way as they load."""
    body, entries = parts(order)
    assert trusted(body, entries) == load_order_parts(body, entries) == order


def _changed(document: dict[str, Any], path: list[Any], value: Any) -> dict[str, Any]:
    changed: dict[str, Any] = json.loads(json.dumps(document))
    target = changed
    for key in path[:-1]:
        target = target[key]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return changed


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (["schema_version"], 1),
        (["actor", "extra"], "x"),
        (["command", "note"], KeyError),
        (["command", "type"], "no_such_command"),
        (["to_state"], "no_such_state"),
        (["at"], "yesterday"),
    ],
)
def test_an_entry_outside_the_known_layout_is_left_to_the_strict_loader(
    path: list[Any], value: Any
) -> None:
    """PT-1: another schema version, a key too many or too few, an unknown command, state or
    time: the trusted decoder refuses to guess (the store then loads strictly)."""
    _, entries = parts(held(paid()))
    with pytest.raises((Untrusted, KeyError, ValueError)):
        decode_entry(_changed(entries[-1], path, value))


def test_an_order_document_outside_the_known_layout_is_left_to_the_strict_loader() -> None:
    """PT-1: an order document saying another version than its history, or carrying a
    currency's minor units (which the strict loader registers), is not decoded trusted."""
    body, entries = parts(paid())
    history = History([decode_entry(entry) for entry in entries])
    with pytest.raises(Untrusted):
        decode_order(_changed(body, ["version"], 7), history)
    with pytest.raises(Untrusted):
        decode_order(_changed(body, ["extra"], 1), history)
    minor = _changed(body, ["ledger", "amount_due", "minor_units"], 2)
    with pytest.raises(Untrusted):
        decode_order(minor, history)


def test_json_and_orjson_documents_read_alike() -> None:
    """PT-1: a document the store wrote with either JSON library reads back the same with
    the other (orjson keeps non-ASCII text as it is, json escapes it)."""
    order = paid()
    body, _ = dump_order_parts(order, 1)
    assert json.loads(_json_dumps(body)) == _json_loads(_json_dumps(body)) == body


def test_checksums_chain_every_document_in_order() -> None:
    """LC-8: a checksum depends on every document before it, their order and their
    boundaries, and extending a chain leaves it as it was."""
    start = _Chain()
    one = start.extended(["ab", "c"])
    assert one.checksum() == start.extended(["ab"]).extended(["c"]).checksum()
    assert one.checksum() != start.extended(["a", "bc"]).checksum()
    assert one.checksum() != start.extended(["c", "ab"]).checksum()
    assert one.sealed("d") == one.extended(["d"]).checksum() != one.checksum()
    assert one.length == 2
    assert start.checksum() == _Chain().checksum()
    grown, each = start.checksums(["ab", "c"])
    assert each == [start.extended(["ab"]).checksum(), one.checksum()]
    assert grown.checksum() == one.checksum()


@given(st.data())
def test_a_document_made_from_an_earlier_one_is_the_document_made_afresh(
    data: st.DataObject,
) -> None:
    """PT-1: after random commands, an order's document built from the document of the order
    before each change (its unchanged fields reused) equals the one built afresh, and the
    earlier document is left as it was."""
    order = data.draw(ofs.orders())
    body, _ = dump_order_parts(order, order.version)
    for before, _, after in ofs.run_script(
        LIFECYCLE, order, data.draw(ofs.command_scripts(order, max_size=8))
    ):
        if not isinstance(after, Order):
            continue
        kept = json.dumps(body, sort_keys=True)
        reused = dump_order_parts(after, before.version + 1, earlier=(before, body))
        assert reused == dump_order_parts(after, before.version + 1)
        assert json.dumps(body, sort_keys=True) == kept
        body = reused[0]


@given(st.data())
def test_a_lazy_history_reads_as_the_history_it_holds(data: st.DataObject) -> None:
    """PT-1, D-3: a history decoded entry by entry from a random order's documents equals
    its history, and answers the idempotency look-ups without decoding the entries."""
    order = data.draw(ofs.orders())
    for _, _, after in ofs.run_script(
        LIFECYCLE, order, data.draw(ofs.command_scripts(order, max_size=8))
    ):
        if isinstance(after, Order):
            order = after
    _, entries = parts(order)
    decoded: list[dict[str, Any]] = []
    lazy = _lazy(entries, decoded)
    assert len(decoded) == min(2, len(entries))  # the first and the last
    assert lazy.command_ids() == order.history.command_ids()
    for entry in order.history:
        command = entry.command
        if command.command_id is not None:
            assert lazy.position_of(command.command_id) == order.history.position_of(
                command.command_id
            )
        if isinstance(command, Pay):
            assert lazy.payment_entry(command.payment_reference) == order.history.payment_entry(
                command.payment_reference
            )
    middle = len(entries) // 2
    assert lazy[middle] == order.history[middle]
    assert lazy[middle:] == order.history[middle:]
    assert list(reversed(lazy)) == list(reversed(order.history))
    assert lazy == order.history
    assert len(decoded) == len(entries)  # each decoded once, whatever was read


def _lazy(entries: list[dict[str, Any]], decoded: list[dict[str, Any]]) -> History:
    """A history of the documents, recording what it decodes."""
    made = lazy_history(entries)
    assert made is not None
    decode = made._decode
    assert decode is not None

    def recording(document: dict[str, Any]) -> HistoryEntry:
        decoded.append(document)
        return decode(document)

    return History._of_documents(entries, recording, trusted_module._entry_keys)


def test_a_lazy_history_shares_what_it_decodes_and_grows_like_any_other() -> None:
    """LC-8: appending to a history of documents keeps the entries undecoded; histories
    sharing them see each decoded once; a fork decodes its own."""
    order = held(paid())
    _, entries = parts(order)
    decoded: list[dict[str, Any]] = []
    lazy = _lazy(entries, decoded)
    extra = apply(order, Release()).entry
    grown = lazy.append(extra)
    assert len(decoded) == 2
    assert grown.last is extra
    assert grown[1] == order.history[1]
    assert lazy[1] is grown[1]
    assert len(decoded) == 3
    assert grown.extends(lazy)
    fork = lazy.append(apply(order, Release()).entry)
    assert fork[:3] == tuple(order.history)
    assert grown[:3] == fork[:3]
    assert tuple(grown) == (*order.history, extra)


def test_an_entry_the_trusted_decoder_does_not_read_is_read_strictly_when_first_read() -> None:
    """PT-1: in a history of documents, an entry outside the trusted decoder's layout (a
    money amount carrying its currency's minor units) is read by the strict loader."""
    order = held(paid())
    _, entries = parts(order)
    payment = entries[1]
    with_units = _changed(payment, ["command", "amount", "minor_units"], 2)
    with pytest.raises(Untrusted):
        decode_entry(with_units)
    lazy = lazy_history([entries[0], with_units, entries[2]])
    assert lazy is not None
    assert lazy[1] == order.history[1]
    assert lazy_history([_changed(entries[0], ["schema_version"], 2), *entries[1:]]) is None
