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
    """Send ``steps`` commands from the case strategies (and, one time in four, a due
    timer), counting what was accepted and refused and the states the cases reached."""
    at = order.updated_at
    for _ in range(steps):
        at += data.draw(st.sampled_from(PAUSES), label="pause")
        due = any(deadline.is_due(at) for deadline in order.deadlines)
        if due and data.draw(st.sampled_from([False, False, False, True]), label="timer?"):
            command: Command = data.draw(cases.due_timer_commands(order, at), label="timer")
        else:
            options = [cases.case_commands(order), cases.exception_commands(order)]
            command = data.draw(st.one_of(options), label="command")
        actor = data.draw(cases.senders(order, command), label="actor")
        try:
            order = LIFECYCLE.handle(order, command, actor, at).order
        except CommandRefused:
            seen["refused"][type(command).__name__] += 1
            continue
        seen["accepted"][type(command).__name__] += 1
        seen["case states"].update(case.state.value for case in order.cases)
        seen["exception states"].update(case.state.value for case in order.exceptions)


EVERY_KIND = frozenset(
    {
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
)
RARE = frozenset({"ReportReturnLost", "ShipReplacement", "RefundMoneyOnly", "RetryRefund"})
"""Commands that need a long way first (an exchange received, a return shipped back, a
refund failed, room left after other cases): a short walk may not get there."""


def test_case_and_exception_commands_reach_the_states_and_are_often_accepted() -> None:
    """AS-1, EX-6: over random walks on paid and delivered orders, the strategies' commands
    (sent mostly by whom they are meant for) take exception cases to every state and
    after-sales cases to every state but the end of an exchange, each kind of command but
    at most two of the rarest is accepted, most are accepted and some refused."""
    seen: dict[str, Counter[str]] = {
        name: Counter() for name in ("accepted", "refused", "case states", "exception states")
    }

    @settings(max_examples=50, derandomize=True, database=None, deadline=None)
    @given(
        st.sampled_from([OrderState.PAID, OrderState.DELIVERED]).flatmap(
            lambda state: ofs.orders(state=state)
        ),
        st.data(),
    )
    def walk(order: Order, data: st.DataObject) -> None:
        _walk(data, order, 40, seen)

    walk()
    exchange_end = {CaseState.RECEIVED.value, CaseState.EXCHANGED.value, CaseState.NEW.value}
    assert set(seen["case states"]) >= {state.value for state in CaseState} - exchange_end
    assert set(seen["exception states"]) == {state.value for state in ExceptionState} - {"new"}
    missing = EVERY_KIND - set(seen["accepted"])
    assert missing <= RARE
    assert len(missing) <= 2
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
