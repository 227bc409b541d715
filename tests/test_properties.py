"""Properties of the lifecycle over random command scripts from random actors."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from orderflow import (
    CommandRefused,
    Lifecycle,
    Order,
    OrderState,
    Outcome,
    Settings,
    check_invariants,
)
from orderflow.testing import strategies as ofs

LIFECYCLE = Lifecycle()


@st.composite
def scripted_orders(draw: st.DrawFn) -> tuple[Order, list[ofs.Scripted]]:
    """An order in any state and a random script to run against it."""
    order = draw(ofs.orders())
    return order, draw(ofs.command_scripts(order))


def _attempt(
    lifecycle: Lifecycle, order: Order, step: ofs.Scripted, at: datetime
) -> Outcome | CommandRefused:
    try:
        return lifecycle.handle(order, step.command, step.actor, at)
    except CommandRefused as refused:
        return refused


def _walk(
    case: tuple[Order, list[ofs.Scripted]],
) -> Iterator[tuple[Order, ofs.Scripted, datetime, Outcome | CommandRefused]]:
    """Run a script: yield (order before, step, time, result); applied results move on."""
    order, script = case
    at = order.updated_at
    for step in script:
        at += step.after
        result = _attempt(LIFECYCLE, order, step, at)
        yield order, step, at, result
        if isinstance(result, Outcome):
            order = result.order


@given(scripted_orders())
def test_lifecycle_invariants_hold_after_every_command(
    case: tuple[Order, list[ofs.Scripted]],
) -> None:
    """CL-1, LC-8, AS-5, D-3: over random scripts, every invariant holds after every step.

    A shipped order is never closed; history grows by exactly one entry per applied command
    and keeps its earlier entries; a refusal changes nothing; a replay changes nothing; money
    refunded or pending never exceeds money paid; the full invariant check passes.
    """
    order, script = case
    at = order.updated_at
    ever_shipped = order.shipment is not None
    for step in script:
        at += step.after
        snapshot = copy.deepcopy(order)
        result = _attempt(LIFECYCLE, order, step, at)
        assert order == snapshot  # the input order is never modified
        if isinstance(result, CommandRefused):
            assert result.reasons
            assert result.order_id == order.id
            continue
        new = result.order
        if result.replayed:
            assert new is order
            continue
        assert new.version == order.version + 1
        assert new.history[:-1] == order.history
        assert new.history[-1].command == step.command
        if ever_shipped:
            assert new.state is not OrderState.CLOSED
        ledger = new.ledger
        assert ledger.amount_refunded + ledger.amount_refund_pending <= ledger.amount_paid
        check_invariants(new)
        ever_shipped = ever_shipped or new.shipment is not None
        order = new


@given(scripted_orders())
def test_dry_run_agrees_with_handling(case: tuple[Order, list[ofs.Scripted]]) -> None:
    """A dry run is empty exactly when the command applies, and lists the same reasons."""
    for order, step, at, result in _walk(case):
        reasons = LIFECYCLE.check(order, step.command, step.actor, at)
        if isinstance(result, CommandRefused):
            assert reasons == result.reasons
        else:
            assert reasons == ()


@given(scripted_orders())
def test_compiled_table_agrees_with_the_transitions_interpreter(
    case: tuple[Order, list[ofs.Scripted]],
) -> None:
    """The compiled dispatch and the ``transitions`` reference give identical outcomes."""
    for order, step, at, compiled in _walk(case):
        try:
            reference: Outcome | CommandRefused = LIFECYCLE.handle_reference(
                order, step.command, step.actor, at
            )
        except CommandRefused as refused:
            reference = refused
        if isinstance(compiled, CommandRefused):
            assert isinstance(reference, CommandRefused)
            assert compiled.reasons == reference.reasons
        else:
            assert compiled == reference


@given(scripted_orders())
def test_replaying_an_applied_command_id_changes_nothing(
    case: tuple[Order, list[ofs.Scripted]],
) -> None:
    """D-3: every applied command with an id, sent again, is a replay with the same effects."""
    for _, step, at, result in _walk(case):
        if isinstance(result, Outcome) and step.command.command_id is not None:
            again = LIFECYCLE.handle(result.order, step.command, step.actor, at)
            assert again.replayed
            assert again.order is result.order
            assert again.effects == result.effects


@given(
    st.sampled_from([OrderState.COMPLETED, OrderState.CLOSED]).flatmap(
        lambda state: ofs.orders(state=state)
    ),
    st.data(),
)
def test_final_states_have_no_way_out(order: Order, data: st.DataObject) -> None:
    """LC-9: no command moves a completed or closed order to another state."""
    state = order.state
    script = data.draw(ofs.command_scripts(order))
    at = order.updated_at
    for step in script:
        at += step.after
        result = _attempt(LIFECYCLE, order, step, at)
        if isinstance(result, Outcome):
            assert result.order.state is state
            order = result.order


def test_every_state_is_reachable_and_final_states_have_no_exit() -> None:
    """LC-1/LC-9: the definition reaches every state; final states only stay."""
    definition = LIFECYCLE.definition
    leads_to = {t.dest for t in definition.transitions if t.dest is not None}
    assert leads_to | {definition.initial} == set(OrderState)
    for transition in definition.transitions:
        if set(transition.sources) & definition.final:
            assert transition.dest is None


@given(ofs.orders(), st.sampled_from([timedelta(minutes=1), timedelta(hours=2)]))
def test_strategies_build_consistent_orders_under_host_settings(
    order: Order, gap: timedelta
) -> None:
    """The shipped order strategy yields orders that pass every invariant."""
    check_invariants(order)
    short = Lifecycle(Settings(unpaid_timeout=gap))
    assert short.settings.unpaid_timeout == gap


@given(st.data())
def test_every_state_is_reached_by_real_commands(data: st.DataObject) -> None:
    """LC-1: the shipped strategies reach every state by running valid commands."""
    for state in OrderState:
        order = data.draw(ofs.orders(state=state), label=state.value)
        assert order.state is state
        check_invariants(order)
