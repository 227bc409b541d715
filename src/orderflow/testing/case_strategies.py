"""Hypothesis strategies for the commands on the cases inside an order: after-sales cases
and order exceptions, with the timers they run and who sends each.

Where :func:`orderflow.testing.strategies.any_commands` covers the order lifecycle, these
cover the cases that live inside the order: after-sales requests, decisions, returns and
their refunds (AS-1..AS-7, from :mod:`orderflow.testing.aftersales_strategies`), and
exception cases with tracking events, playbook resolutions and compensation (EX-1..EX-7,
from :mod:`orderflow.testing.exception_strategies`). Each strategy reads the order it is
given and draws what makes sense for it (its line SKUs and quantities, its cases' ids and
states, its refunds, its currency), with a share of commands that are wrong for it (an
unknown SKU or case, a state the case is not in, an amount above the caps), so that a
stateful test sees many commands accepted and some refused. Every command drawn can be
built: a payload its class refuses is never drawn.

Pair a command with :func:`senders` to have it sent, usually, by the actor it is meant for.

Example::

    from hypothesis import given, strategies as st
    from orderflow import Lifecycle, OrderState
    from orderflow.testing import case_strategies as cases
    from orderflow.testing import strategies as ofs

    @given(ofs.orders(state=OrderState.DELIVERED), st.data())
    def test_case_commands_never_break_the_order(order, data):
        command = data.draw(cases.case_commands(order))
        actor = data.draw(cases.senders(order, command))
        ...
"""

from __future__ import annotations

from datetime import datetime

from hypothesis import strategies as st

from orderflow import commands as c
from orderflow.aftersales.commands import AskForReview, RequestAfterSales
from orderflow.aftersales.followups import (
    CloseReturnWindow,
    ExpireCase,
    ReceiveOverdueReturn,
    RemindStaff,
    RespondForSeller,
    ShipBack,
)
from orderflow.incidents.commands import (
    CheckRestock,
    FlagReviewOverdue,
    FlagShipmentOverdue,
    FlagTrackingSilence,
    MissExceptionTarget,
    RecordTracking,
)
from orderflow.model import Actor, Permission
from orderflow.order import Order
from orderflow.testing.aftersales_strategies import (
    Draw,
    case_commands,
    case_decisions,
    case_requests,
    money_only_refunds,
    one_in,
    refund_answers,
    return_steps,
)
from orderflow.testing.exception_strategies import (
    exception_commands,
    exception_openings,
    exception_steps,
    tracking_events,
)
from orderflow.testing.strategies import actors, any_commands
from orderflow.timers import TIMERS, due_deadlines

__all__ = [
    "SENDER_IDS",
    "case_commands",
    "case_decisions",
    "case_requests",
    "due_timer_commands",
    "every_command",
    "exception_commands",
    "exception_openings",
    "exception_steps",
    "money_only_refunds",
    "refund_answers",
    "return_steps",
    "senders",
    "tracking_events",
]

SENDER_IDS = {"staff": "case-staff", "system": "case-system"}
"""The ids of the staff member (with every permission) and of the system :func:`senders`
sends commands as."""

_STAFF = Actor.staff(SENDER_IDS["staff"], *sorted(Permission.all()))
_SYSTEM = Actor.system(SENDER_IDS["system"])


def due_timer_commands(order: Order, now: datetime) -> st.SearchStrategy[c.Command]:
    """The commands the order's deadlines due at ``now`` fire (what the timer sweep would
    send, D-15); nothing when none is due (use it inside ``st.one_of`` or check first)."""
    fired = [
        command
        for deadline in due_deadlines(order, now)
        if (command := TIMERS[deadline.kind](order, deadline)) is not None
    ]
    return st.sampled_from(fired) if fired else st.nothing()


def every_command(order: Order) -> st.SearchStrategy[c.Command]:
    """Any command on ``order``: a lifecycle command
    (:func:`~orderflow.testing.strategies.any_commands`), an after-sales command or an
    exception command, in about equal shares."""
    return st.one_of(any_commands(order), case_commands(order), exception_commands(order))


_CUSTOMER_SENDS = (RequestAfterSales, AskForReview, ShipBack, c.ConfirmReceipt)
_SYSTEM_SENDS = (
    c.Pay,
    c.BeginPayment,
    c.FailPayment,
    c.AutoCloseUnpaid,
    c.AutoConfirmReceipt,
    c.ConfirmDelivery,
    c.ConfirmRefund,
    c.FailRefund,
    c.RetryRefund,
    RecordTracking,
    RespondForSeller,
    ExpireCase,
    ReceiveOverdueReturn,
    RemindStaff,
    CloseReturnWindow,
    MissExceptionTarget,
    CheckRestock,
    FlagReviewOverdue,
    FlagShipmentOverdue,
    FlagTrackingSilence,
)


def _meant_for(order: Order, command: c.Command) -> Actor:
    if isinstance(command, _CUSTOMER_SENDS):
        return Actor.customer(order.customer_id)
    if isinstance(command, _SYSTEM_SENDS):
        return _SYSTEM
    return _STAFF


@st.composite
def senders(draw: Draw, order: Order, command: c.Command) -> Actor:
    """Who sends ``command``: nine times in ten the actor it is meant for (the buyer for a
    request, a review asked or a return shipped back; the system for the payment side's
    answers, tracking events and timers; else staff with every permission), otherwise any
    actor (:func:`~orderflow.testing.strategies.actors`)."""
    if draw(one_in(10), label="another sender?"):
        return draw(actors(order.customer_id))
    return _meant_for(order, command)
