"""Views: JSON-safe data for API responses (orders with their version, history entries,
availabilities, refusals and outcomes)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given

from orderflow import (
    Actor,
    ChangePrice,
    Close,
    CloseReason,
    CommandRefused,
    Money,
    OrderState,
    Pay,
)
from orderflow.testing import strategies as ofs
from orderflow.views import (
    view_availability,
    view_entry,
    view_history,
    view_order,
    view_outcome,
    view_refusal,
)
from tests.support import CUSTOMER, LIFECYCLE, STAFF, SYSTEM, apply, closed, paid, place


def _json_values(value: Any) -> None:
    """Fail on anything that is not a JSON value (floats included: money is never a float)."""
    if isinstance(value, dict):
        for key, item in value.items():
            assert isinstance(key, str)
            _json_values(item)
    elif isinstance(value, list):
        for item in value:
            _json_values(item)
    else:
        assert value is None or isinstance(value, str | int | bool), value
        assert not isinstance(value, float)


@given(ofs.orders())
def test_an_order_view_is_json_with_its_version(order: Any) -> None:
    """An order in any state views as JSON values, with its version and exact amounts."""
    view = view_order(order)
    _json_values(view)
    assert json.loads(json.dumps(view)) == view
    assert view["version"] == order.version
    assert view["state"] == order.state.value
    assert view["amount_due"] == {
        "amount": str(order.amount_due.amount),
        "currency": order.currency,
    }
    history = view_history(order)
    _json_values(history)
    assert [entry["version"] for entry in history] == list(range(1, order.version + 1))
    assert history[-1]["to_state"] == order.state.value


def test_a_history_entry_view_names_its_effects_by_kind() -> None:
    """LC-8: from, to, event, actor, time and the effects' ids grouped by kind."""
    order = closed(paid())
    entry = view_entry(order.history[-1], order.version)
    assert entry["event"] == "close"
    assert (entry["from_state"], entry["to_state"]) == ("paid", "closed")
    assert entry["actor"] == {"kind": "staff", "id": STAFF.id}
    assert entry["reason"] == "out_of_stock"
    assert sorted(entry["effects"]) == ["notify_customer", "release_stock", "request_refund"]
    assert entry["effects"]["request_refund"] == [f"{order.id}/{order.version}/0"]
    assert entry["at"].endswith("+00:00")


def test_a_refusal_view_keeps_every_reason() -> None:
    """A refusal views with its code, sentence, hint and every reason."""
    order = place()
    clerk = Actor.staff("clerk")
    with pytest.raises(CommandRefused) as info:
        apply(order, ChangePrice("SKU-A", Money("1.00", "USD")), clerk)
    view = view_refusal(info.value)
    _json_values(view)
    assert view["code"] == "change_price.missing_permission"
    assert view["category"] == "forbidden"
    assert view["status"] == 403
    assert [reason["code"] for reason in view["reasons"]] == [
        "change_price.missing_permission",
        "change_price.currency_mismatch",
    ]
    assert [reason["category"] for reason in view["reasons"]] == ["forbidden", "invalid"]
    assert view["state"] == "pending_payment"


def test_an_availability_view_lists_events() -> None:
    """What an actor may do, by event name, and why not the rest."""
    order = paid()
    view = view_availability(LIFECYCLE.available(order, CUSTOMER, order.updated_at))
    _json_values(view)
    assert "close" in view["allowed"]
    assert "ship" not in view["refused"]  # a customer never ships: it is not listed
    assert view["refused"]["confirm_receipt"][0]["code"] == "confirm_receipt.invalid_state"


def test_an_outcome_view_and_a_replayed_one() -> None:
    """An outcome views with the order, its entry and its effects; a replay names the
    entry that was applied first."""
    placed = apply(paid(), Close(CloseReason.CUSTOMER_CANCELLED), CUSTOMER)
    view = view_outcome(placed)
    _json_values(view)
    assert view["order"]["state"] == OrderState.CLOSED.value
    assert view["entry"]["version"] == placed.order.version
    assert [effect["kind"] for effect in view["effects"]] == [
        "request_refund",
        "release_stock",
        "notify_customer",
    ]
    order = paid()
    pay = Pay(order.amount_due, "pay-1")
    replay = apply(order, pay, SYSTEM)
    assert replay.replayed
    replayed = view_outcome(replay)
    assert replayed["replayed"] is True
    assert replayed["entry"]["version"] == 2
    assert replayed["entry"]["event"] == "pay"
