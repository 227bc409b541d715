"""The definition is validated when a Lifecycle is built; broken appliers are caught as bugs."""

from __future__ import annotations

import attrs
import pytest

from orderflow import (
    LIFECYCLE,
    ActorKind,
    ApproveReview,
    CommandRefused,
    DefinitionError,
    InvalidInput,
    InvariantViolation,
    Lifecycle,
    OrderState,
    Pay,
    PlaceOrder,
    Ship,
    StartFulfilment,
)
from orderflow.history import History
from orderflow.lifecycle import Definition, Step, Transition
from orderflow.order import HistoryEntry, Order
from tests.support import CUSTOMER, STAFF, SYSTEM, apply, awaiting_shipment, cny, paid, place

S = OrderState
EVERYONE = frozenset(ActorKind)


def _with(*transitions: Transition, states: tuple[OrderState, ...] | None = None) -> Definition:
    return attrs.evolve(
        LIFECYCLE,
        transitions=(*LIFECYCLE.transitions, *transitions),
        states=states or LIFECYCLE.states,
    )


def test_an_unconditional_branch_hiding_another_is_refused() -> None:
    """Two unconditional transitions for one command and state cannot both be reached."""
    shadow = Transition(StartFulfilment, (S.PAID,), S.IN_FULFILMENT, Step.commit, EVERYONE)
    shadowed = Transition(StartFulfilment, (S.PAID,), S.SHIPPED, Step.commit, EVERYONE)
    with pytest.raises(DefinitionError, match="unconditional transition must be the last"):
        Lifecycle(definition=_with(shadow, shadowed))


def test_a_final_state_with_a_way_out_is_refused() -> None:
    """LC-9: a transition leaving a final state is a definition error."""
    escape = Transition(StartFulfilment, (S.CLOSED,), S.PAID, Step.commit, EVERYONE)
    with pytest.raises(DefinitionError, match="final state closed has a way out"):
        Lifecycle(definition=_with(escape))


def test_unreachable_states_are_refused() -> None:
    """Every state must be reachable from the initial state."""
    definition = attrs.evolve(
        LIFECYCLE,
        transitions=tuple(t for t in LIFECYCLE.transitions if t.dest is not S.ON_HOLD),
        followed=(),
    )
    with pytest.raises(DefinitionError, match="not reachable from pending_payment: on_hold"):
        Lifecycle(definition=definition)


def test_states_outside_the_definition_are_refused() -> None:
    """A transition naming a state the definition lacks is refused."""
    states = tuple(state for state in OrderState if state is not S.ON_HOLD)
    with pytest.raises(DefinitionError, match="not in the definition"):
        Lifecycle(definition=_with(states=states))


def test_settings_must_be_settings() -> None:
    """A Lifecycle refuses settings of the wrong type."""
    with pytest.raises(InvalidInput):
        Lifecycle(settings={"unpaid_timeout": 5})  # type: ignore[arg-type]


def _broken_lifecycle(apply_fn: object) -> Lifecycle:
    broken = Transition(ApproveReview, (S.PAID,), S.AWAITING_SHIPMENT, apply_fn, EVERYONE)  # type: ignore[arg-type]
    others = tuple(t for t in LIFECYCLE.transitions if t.command is not ApproveReview)
    return Lifecycle(definition=attrs.evolve(LIFECYCLE, transitions=(*others, broken)))


def test_an_applier_that_loses_history_is_reported_as_a_bug() -> None:
    """An applier that does not append exactly one entry raises InvariantViolation."""

    def forgetful(step: Step) -> tuple[Order, HistoryEntry]:
        new, entry = step.commit()
        fields = list(new)
        fields[6] = History(new.history[:-2] + new.history[-1:])
        return tuple.__new__(Order, tuple(fields)), entry

    order = paid()
    with pytest.raises(InvariantViolation, match="history grows by one"):
        _broken_lifecycle(forgetful).handle(order, ApproveReview(), STAFF, order.updated_at)


def test_an_applier_that_refunds_too_much_is_reported_as_a_bug() -> None:
    """AS-5: an applier whose refunds exceed what was paid raises InvariantViolation."""

    def generous(step: Step) -> tuple[Order, HistoryEntry]:
        ledger = attrs.evolve(step.order.ledger, amount_refunded=cny("500.00"))
        return step.commit(ledger=ledger)

    def overpaid(step: Step) -> tuple[Order, HistoryEntry]:
        ledger = attrs.evolve(step.order.ledger, amount_paid=cny("500.00"))
        return step.commit(ledger=ledger)

    order = paid()
    with pytest.raises(InvariantViolation, match="refunded <= paid"):
        _broken_lifecycle(generous).handle(order, ApproveReview(), STAFF, order.updated_at)
    with pytest.raises(InvariantViolation, match="paid <= due"):
        _broken_lifecycle(overpaid).handle(order, ApproveReview(), STAFF, order.updated_at)


def test_the_reference_interpreter_refuses_like_the_compiled_table() -> None:
    """The transitions-driven interpreter gives the same refusals and replays."""
    order = awaiting_shipment()
    with pytest.raises(CommandRefused) as info:
        LIFECYCLE_ENGINE.handle_reference(order, Ship("SF", "1"), STAFF, order.updated_at)
    assert info.value.code == "ship.not_ready"
    pay = Pay(cny("119.90"), "pay-x", command_id="evt")
    first = apply(place(), pay, SYSTEM)
    again = LIFECYCLE_ENGINE.handle_reference(first.order, pay, SYSTEM, first.order.updated_at)
    assert again.replayed
    with pytest.raises(InvalidInput):
        LIFECYCLE_ENGINE.handle_reference(order, PlaceOrder("o", "c", order.lines, order.address),
                                          STAFF, order.updated_at)  # fmt: skip
    with pytest.raises(CommandRefused) as info:
        LIFECYCLE_ENGINE.handle_reference(
            order, Pay(cny("1.00"), "pay-1"), CUSTOMER, order.updated_at
        )
    assert info.value.code == "pay.reference_conflict"


LIFECYCLE_ENGINE = Lifecycle()
