"""Refusals a host can route: one code scheme, a category per refusal, a fixed precedence,
a catalogue generated from the definition, and availability limited to what an actor could
ever send."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orderflow import (
    Actor,
    AutoCloseUnpaid,
    BeginPayment,
    Close,
    CloseReason,
    CommandRefused,
    ConfirmRefund,
    FailPayment,
    FailRefund,
    InvalidInput,
    Pay,
    Permission,
    RefusalCategory,
    RetryRefund,
    Ship,
)
from orderflow.aftersales import CASE_COMMAND_TYPES
from orderflow.commands import COMMAND_TYPES as LIFECYCLE_COMMANDS
from orderflow.incidents.commands import EXCEPTION_COMMAND_TYPES
from orderflow.testing import strategies as ofs
from tests.support import (
    CUSTOMER,
    LIFECYCLE,
    OTHER_CUSTOMER,
    STAFF,
    SYSTEM,
    apply,
    awaiting_shipment,
    closed,
    cny,
    paid,
    place,
    shipped,
)

CATALOGUE = {entry.code: entry for entry in LIFECYCLE.catalogue()}


COMMAND_TYPES = (*LIFECYCLE_COMMANDS, *CASE_COMMAND_TYPES, *EXCEPTION_COMMAND_TYPES)


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def test_event_names_are_class_names_in_snake_case() -> None:
    """One scheme: every command's event name is its class name in snake case."""
    for command in COMMAND_TYPES:
        assert command.event == _snake(command.__name__), command


def test_every_catalogue_code_is_command_dot_reason() -> None:
    """Every code starts with its command's event name; reasons are lower snake case."""
    events = {command.__name__: command.event for command in COMMAND_TYPES}
    assert len(CATALOGUE) > 60
    for code, entry in CATALOGUE.items():
        event, reason = code.split(".", 1)
        assert event == events[entry.command], code
        assert re.fullmatch(r"[a-z_]+", reason), code
        assert entry.message
        assert isinstance(entry.category, RefusalCategory)


def test_the_catalogue_covers_the_codes_clients_used_to_miss() -> None:
    """Generic refusals (actor, final state, hold, id conflict) are in the catalogue too."""
    for code in (
        "close.not_owner",
        "ship.forbidden",
        "ship.missing_permission",
        "approve_review.id_conflict",
        "start_fulfilment.order_final",
        "start_fulfilment.on_hold",
        "release.invalid_state",
        "close.preparation_started",
        "auto_close_unpaid.payment_in_progress",
        "pay.reference_conflict",
        "place_order.not_owner",
        "place_order.forbidden",
    ):
        assert code in CATALOGUE, code


@settings(max_examples=150)
@given(order=ofs.orders(), data=st.data())
def test_every_refusal_given_is_in_the_catalogue_in_precedence_order(
    order: object, data: st.DataObject
) -> None:
    """Whatever is refused, each reason's code and category are the catalogue's, and the
    reasons come actor first, then state, then payload."""
    assert hasattr(order, "customer_id")
    script = data.draw(ofs.command_scripts(order))  # type: ignore[arg-type]
    for _, step, after in ofs.run_script(LIFECYCLE, order, script):  # type: ignore[arg-type]
        if not isinstance(after, CommandRefused):
            continue
        assert after.category is after.reasons[0].category
        ranks = [reason.category.rank for reason in after.reasons]
        assert ranks == sorted(ranks), after.codes
        for reason in after.reasons:
            entry = CATALOGUE.get(reason.code)
            assert entry is not None, reason.code
            assert entry.category is reason.category, reason.code
            assert reason.code.startswith(f"{step.command.event}."), (reason.code, step)


def test_a_customer_shipping_is_told_it_is_not_theirs_to_do_before_the_state() -> None:
    """403 before 409: a customer shipping an awaiting_shipment order is forbidden."""
    order = awaiting_shipment()
    error = _refused(order, Ship("SF", "1"), CUSTOMER)
    assert (error.code, error.category.http_status) == ("ship.forbidden", 403)
    error = _refused(order, Ship("SF", "1"), OTHER_CUSTOMER)
    assert error.code == "ship.not_owner"
    clerk = Actor.staff("clerk", Permission.REVIEW)
    assert _refused(order, Ship("SF", "1"), clerk).code == "ship.missing_permission"
    assert _refused(order, Ship("SF", "1"), STAFF).code == "ship.not_ready"


def test_each_category_maps_to_one_status() -> None:
    """forbidden 403, conflict 409, invalid 422."""
    assert [category.http_status for category in RefusalCategory] == [403, 409, 422]
    assert _refused(shipped(), Close(CloseReason.OUT_OF_STOCK), STAFF).category.http_status == 409
    foreign = _refused(place(), Pay(cny("1.00").__class__("1.00", "USD"), "p"), SYSTEM)
    assert foreign.category.http_status == 422


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: Ship("", "SF1"), "carrier"),
        (lambda: Ship("SF", " "), "tracking_number"),
        (lambda: Close(CloseReason.OTHER), "note"),
        (lambda: Close(CloseReason.OTHER, "  "), "note"),
        (lambda: Pay(cny("0.00"), "p"), "amount"),
        (lambda: Pay(cny("-1.00"), "p"), "amount"),
    ],
)
def test_what_the_payload_alone_decides_is_refused_when_the_command_is_built(
    build: object, field: str
) -> None:
    """The line: payload problems known at construction raise InvalidInput there."""
    with pytest.raises(InvalidInput) as info:
        build()  # type: ignore[operator]
    assert info.value.field == field
    assert Close(CloseReason.OUT_OF_STOCK).note == ""
    assert Close(CloseReason.OTHER, "buyer asked").note == "buyer asked"


# -- availability ---------------------------------------------------------------------------


def test_a_customer_is_offered_only_what_a_customer_can_send() -> None:
    """No timers, no payments of the gateway; failing a payment only while one runs."""
    order = place()
    view = LIFECYCLE.available(order, CUSTOMER, order.updated_at)
    listed = {*view.allowed, *view.refused}
    assert AutoCloseUnpaid not in listed
    assert Pay not in listed
    assert FailPayment in view.refused
    assert view.why_not(FailPayment)[0].code == "fail_payment.not_in_progress"
    begun = apply(order, BeginPayment("p-1"), CUSTOMER).order
    assert FailPayment in LIFECYCLE.available(begun, CUSTOMER, begun.updated_at).allowed


def test_another_customer_is_offered_nothing() -> None:
    """Another customer's order offers them nothing at all."""
    order = paid()
    view = LIFECYCLE.available(order, OTHER_CUSTOMER, order.updated_at)
    assert view.allowed == ()
    assert view.refused == {}


def test_refund_commands_are_judged_against_the_refunds_that_exist() -> None:
    """Staff on a shipped order with no refund are not offered pay or refund commands."""
    order = shipped()
    view = LIFECYCLE.available(order, STAFF, order.updated_at)
    for command in (Pay, ConfirmRefund, FailRefund, RetryRefund):
        assert command not in view.allowed, command
    assert view.why_not(ConfirmRefund)[0].code == "confirm_refund.refund_not_pending"
    refunding = closed(paid())
    view = LIFECYCLE.available(refunding, STAFF, refunding.updated_at)
    assert {ConfirmRefund, FailRefund} <= set(view.allowed)
    assert view.why_not(RetryRefund)[0].code == "retry_refund.refund_not_failed"
    refund_id = refunding.ledger.refunds[0].refund_id
    failed = apply(refunding, FailRefund(refund_id, "timeout"), SYSTEM).order
    view = LIFECYCLE.available(failed, STAFF, failed.updated_at)
    assert RetryRefund in view.allowed
    assert ConfirmRefund not in view.allowed


def test_staff_are_offered_only_what_their_permissions_allow() -> None:
    """A reviewer is told about reviewing, not about shipping."""
    order = paid()
    reviewer = Actor.staff("reviewer", Permission.REVIEW)
    view = LIFECYCLE.available(order, reviewer, order.updated_at)
    assert view.allowed_events == ("approve_review",)
    assert set(view.refused) == set()


def test_the_system_is_offered_its_timers_when_they_are_due() -> None:
    """Timer commands are judged whole: due or not yet."""
    order = place()
    early = LIFECYCLE.available(order, SYSTEM, order.updated_at + timedelta(minutes=1))
    assert early.why_not(AutoCloseUnpaid)[0].code == "auto_close_unpaid.not_yet_due"
    due = LIFECYCLE.available(order, SYSTEM, order.updated_at + timedelta(minutes=30))
    assert AutoCloseUnpaid in due.allowed


def _refused(order: object, command: object, actor: Actor) -> CommandRefused:
    with pytest.raises(CommandRefused) as info:
        apply(order, command, actor)  # type: ignore[arg-type]
    return info.value
