"""The kit's case strategies draw commands that take cases through every state, and only
commands that can be built."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from orderflow import CommandRefused, OrderState
from orderflow.aftersales import CaseState
from orderflow.commands import Command
from orderflow.incidents.case import ExceptionState
from orderflow.order import Order
from orderflow.testing import case_strategies as cases
from orderflow.testing import strategies as ofs
from tests.support import LIFECYCLE

PAUSES = (timedelta(minutes=1), timedelta(hours=3), timedelta(days=3))


def _walk(data: st.DataObject, order: Order, steps: int, seen: dict[str, Counter[str]]) -> None:
    """Send ``steps`` commands from the case strategies (and due timers), counting what was
    accepted and refused and the states the cases reached."""
    at = order.updated_at
    for _ in range(steps):
        at += data.draw(st.sampled_from(PAUSES), label="pause")
        options = [cases.case_commands(order), cases.exception_commands(order)]
        if any(deadline.is_due(at) for deadline in order.deadlines):
            options.append(cases.due_timer_commands(order, at))
        command: Command = data.draw(st.one_of(options), label="command")
        actor = data.draw(cases.senders(order, command), label="actor")
        try:
            order = LIFECYCLE.handle(order, command, actor, at).order
        except CommandRefused:
            seen["refused"][type(command).__name__] += 1
            continue
        seen["accepted"][type(command).__name__] += 1
        seen["case states"].update(case.state.value for case in order.cases)
        seen["exception states"].update(case.state.value for case in order.exceptions)


def test_case_and_exception_commands_reach_every_state_and_are_often_accepted() -> None:
    """AS-1, EX-6: over random walks on paid and delivered orders, the strategies' commands
    (sent mostly by whom they are meant for) take cases to every state, each kind of command
    is accepted at least once, and some are refused."""
    seen: dict[str, Counter[str]] = {
        name: Counter() for name in ("accepted", "refused", "case states", "exception states")
    }

    @settings(max_examples=25, derandomize=True, database=None, deadline=None)
    @given(
        st.sampled_from([OrderState.PAID, OrderState.DELIVERED]).flatmap(
            lambda state: ofs.orders(state=state)
        ),
        st.data(),
    )
    def walk(order: Order, data: st.DataObject) -> None:
        _walk(data, order, 30, seen)

    walk()
    assert set(seen["case states"]) == {state.value for state in CaseState} - {"new"}
    assert set(seen["exception states"]) == {state.value for state in ExceptionState} - {"new"}
    assert set(seen["accepted"]) >= {
        "RequestAfterSales",
        "ApproveCase",
        "RejectCase",
        "AskForReview",
        "DecideReview",
        "OverrideDenial",
        "ShipBack",
        "ReceiveReturn",
        "ReportReturnLost",
        "ShipReplacement",
        "RefundMoneyOnly",
        "ConfirmRefund",
        "FailRefund",
        "RetryRefund",
        "OpenException",
        "AcknowledgeException",
        "EscalateException",
        "ResolveException",
        "RecordCompensation",
        "CloseException",
        "RecordFollowUp",
        "RecordTracking",
    }
    accepted, refused = seen["accepted"].total(), seen["refused"].total()
    assert refused > 0
    assert accepted > refused / 2


@settings(max_examples=30)
@given(ofs.orders(), st.data())
def test_every_command_draws_lifecycle_case_and_exception_commands(
    order: Order, data: st.DataObject
) -> None:
    """every_command draws built commands, and senders an actor for each."""
    command = data.draw(cases.every_command(order))
    assert isinstance(command, Command)
    actor = data.draw(cases.senders(order, command))
    assert actor.id
