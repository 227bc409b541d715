"""The audit: replaying a stored history through the lifecycle reports every divergence
(LC-8, PT-1)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings

from orderflow import (
    Actor,
    ApproveReview,
    AuditReport,
    ChangeAddress,
    Command,
    Divergence,
    InvalidInput,
    InvariantViolation,
    Lifecycle,
    Order,
    Outcome,
    Settings,
    audit,
    audit_store,
)
from orderflow.adapters.memory import InMemoryStore
from orderflow.incidents import Context
from orderflow.serialization import dump, load
from tests.fixtures.version1 import rich_order
from tests.support import ADDRESS, CUSTOMER, LIFECYCLE, STAFF, apply, paid, place, walk
from tests.test_serialization import worked_orders


def edited(order: Order, change: Any) -> Order:
    """``order`` with its document changed by ``change`` (a hand edit), loaded again."""
    document = json.loads(json.dumps(dump(order)))
    change(document)
    return load(document, Order)


@settings(max_examples=40)
@given(worked_orders())
def test_every_order_the_lifecycle_makes_audits_clean(order: Order) -> None:
    """LC-8: an honest order, whatever happened to it, is what its history replays to."""
    report = audit(order, LIFECYCLE)
    assert report == AuditReport(order.id, order.version, ())
    assert report.clean


def test_the_rich_order_audits_clean_at_every_version() -> None:
    """LC-8: refunds, a duplicate payment, a hold and a late payment all replay exactly."""
    for order in rich_order():
        assert audit(order).clean


def test_a_hand_edited_actor_is_reported() -> None:
    """CL-6: an entry whose actor could not have done it is reported, and the replay stops."""
    order = rich_order()[-1]
    assert order.history[9].event == "close"

    def by_the_system(document: dict[str, Any]) -> None:
        document["history"][9]["actor"] = {"kind": "system", "id": "cron", "permissions": []}

    report = audit(edited(order, by_the_system))
    assert not report.clean
    (divergence,) = report.divergences
    assert (divergence.entry, divergence.what) == (9, "refused")
    assert "close by system" in divergence.detail
    assert "replay stops" in str(divergence)


def test_a_changed_amount_is_reported() -> None:
    """AS-5: a payment whose stored amount is not the one its command paid is reported on
    the order's ledger."""
    order = walk(3)

    def paid_less(document: dict[str, Any]) -> None:
        payment = document["ledger"]["payments"][0]
        payment["amount"]["amount"] = "100.00"
        document["ledger"]["amount_paid"]["amount"] = "100.00"

    report = audit(edited(order, paid_less))
    whats = [divergence.what for divergence in report.divergences]
    assert whats == ["order.ledger.amount_paid", "order.ledger.payments"]
    assert all(divergence.entry is None for divergence in report.divergences)
    assert str(report.divergences[0]).startswith("order: order.ledger.amount_paid:")


def test_a_forged_entry_is_reported() -> None:
    """LC-8: an entry whose effects or target state are not what its command makes is
    reported at its index; the replay goes on from what the lifecycle makes."""
    order = walk(2)

    def no_effects(document: dict[str, Any]) -> None:
        document["history"][2]["effects"] = []

    report = audit(edited(order, no_effects))
    assert [(d.entry, d.what) for d in report.divergences] == [(2, "effects")]
    assert "stored are none" in report.divergences[0].detail

    def changed_message(document: dict[str, Any]) -> None:
        document["history"][2]["effects"][0]["message"] = "Your order is lost."

    report = audit(edited(order, changed_message))
    assert [(d.entry, d.what) for d in report.divergences] == [(2, "effects")]
    assert "0 (notify_customer: message)" in report.divergences[0].detail


def test_a_forged_transition_is_reported() -> None:
    """LC-1: an entry claiming a state its command does not reach is reported, with the
    order's state."""
    order = place()

    def approved_at_once(document: dict[str, Any]) -> None:
        document["history"].append(
            {
                "from_state": "pending_payment",
                "to_state": "awaiting_shipment",
                "command": {"type": "approve_review", "command_id": None},
                "actor": json.loads(json.dumps(dump(order)["history"][0]["actor"])),
                "at": "2026-03-02T10:05:00+00:00",
                "effects": [],
            }
        )
        document["history"][1]["actor"] = {
            "kind": "staff",
            "id": STAFF.id,
            "permissions": sorted(STAFF.permissions),
        }
        document["state"] = "awaiting_shipment"
        document["deadlines"] = []

    report = audit(edited(order, approved_at_once))
    assert [(d.entry, d.what) for d in report.divergences] == [(1, "refused")]


def test_a_repeated_command_id_is_reported() -> None:
    """D-3: an entry repeating a command id already applied is not a new entry."""
    order = rich_order()[4]
    assert order.history[3].command.command_id == "webhook-1"

    def repeated(document: dict[str, Any]) -> None:
        document["history"][4]["command"] = document["history"][3]["command"]

    report = audit(edited(order, repeated))
    assert [(d.entry, d.what) for d in report.divergences] == [(4, "replayed")]


def test_other_settings_are_reported_as_other_deadlines() -> None:
    """TM-1: audited with another unpaid timeout, an unpaid order's deadline differs."""
    lifecycle = Lifecycle(settings=Settings(unpaid_timeout=timedelta(minutes=45)))
    report = audit(place(), lifecycle)
    assert [(d.entry, d.what) for d in report.divergences] == [(None, "order.deadlines")]


def test_audit_refuses_what_is_not_an_order() -> None:
    """An audit is of an order."""
    with pytest.raises(InvalidInput, match="must be an Order"):
        audit("o-1")  # type: ignore[arg-type]


def test_a_whole_store_is_audited_page_by_page() -> None:
    """PT-1: every order of a store is audited, across states and pages; only forged ones
    report divergences."""
    store = InMemoryStore()
    honest = [place(f"o-{n}") for n in range(2, 7)] + [paid()]
    for order in honest:
        store.add(order)

    def by_the_system(document: dict[str, Any]) -> None:
        document["history"][9]["actor"] = {"kind": "system", "id": "cron", "permissions": []}

    store.add(edited(rich_order()[-1], by_the_system))
    reports = list(audit_store(store, LIFECYCLE, page_size=2))
    assert sorted(report.order_id for report in reports) == sorted(
        [order.id for order in honest] + ["o-v1"]
    )
    unclean = [report for report in reports if not report.clean]
    assert [(report.order_id, report.divergences[0].what) for report in unclean] == [
        ("o-v1", "refused")
    ]
    with pytest.raises(InvalidInput, match="page_size"):
        list(audit_store(store, page_size=0))


def test_a_divergence_reads_as_a_sentence() -> None:
    """A divergence names the entry (or the order) and what differs."""
    assert str(Divergence(3, "to_state", "x")) == "history[3]: to_state: x"
    assert str(Divergence(None, "order.hold", "y")) == "order: order.hold: y"
    order = LIFECYCLE.handle(paid(), ApproveReview(), STAFF, paid().updated_at).order
    assert audit(order).version == 3


def test_a_placing_entry_the_lifecycle_refuses_is_reported() -> None:
    """CL-6: an order the system placed (edited in) fails its replay at entry 0."""

    def placed_by_the_system(document: dict[str, Any]) -> None:
        document["history"][0]["actor"] = {"kind": "system", "id": "cron", "permissions": []}

    report = audit(edited(paid(), placed_by_the_system))
    assert [(d.entry, d.what) for d in report.divergences] == [(0, "refused")]
    assert "place_order.forbidden" in report.divergences[0].detail


def test_a_state_the_command_does_not_reach_is_reported() -> None:
    """LC-1: an entry that says its command reached another state is reported with its
    states, and the order's state after it."""

    def paid_by_changing_the_address(document: dict[str, Any]) -> None:
        document["history"][1]["to_state"] = "paid"
        document["state"] = "paid"

    order = apply(place(), ChangeAddress(ADDRESS), CUSTOMER).order
    report = audit(edited(order, paid_by_changing_the_address))
    assert [(d.entry, d.what) for d in report.divergences] == [
        (1, "to_state"),
        (None, "order.state"),
    ]
    assert report.divergences[0].detail == "the replay gives pending_payment, stored is paid"


class _Broken(Lifecycle):
    """A lifecycle whose handling fails as a defective extension would."""

    def __init__(self, error: Exception) -> None:
        super().__init__()
        self.error = error

    def handle(
        self,
        order: Order,
        command: Command,
        actor: Actor,
        at: datetime,
        *,
        context: Context | None = None,
    ) -> Outcome:
        raise self.error


@pytest.mark.parametrize(
    ("error", "detail"),
    [
        (InvariantViolation("o-1", "paid <= due", "x"), "pay breaks paid <= due"),
        (InvalidInput("at", "then", "is too early"), "pay: at: is too early"),
    ],
)
def test_a_replay_the_lifecycle_cannot_run_is_reported(error: Exception, detail: str) -> None:
    """LC-8: an entry whose command the lifecycle cannot apply at all stops the replay,
    reported as invalid."""
    report = audit(paid(), _Broken(error))
    assert [(d.entry, d.what) for d in report.divergences] == [(1, "invalid")]
    assert report.divergences[0].detail.startswith(detail)
