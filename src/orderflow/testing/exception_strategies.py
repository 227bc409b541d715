"""Hypothesis strategies for order-exception commands on a given order (EX-1..EX-7, TM-4).

Like :mod:`orderflow.testing.aftersales_strategies`, each strategy reads the order it is
given (its exception cases' ids, states and types, its currency, its last change) and draws
mostly what fits, with a share of commands that do not. Every command drawn can be built.
"""

from __future__ import annotations

from datetime import UTC, timedelta, timezone
from decimal import Decimal

from hypothesis import strategies as st

from orderflow import commands as c
from orderflow.incidents.case import ExceptionCase, ExceptionState
from orderflow.incidents.commands import (
    AcknowledgeException,
    CloseException,
    EscalateException,
    OpenException,
    RecordCompensation,
    RecordFollowUp,
    RecordTracking,
    ResolveException,
)
from orderflow.incidents.compensation import Compensation, CompensationKind
from orderflow.incidents.model import PLAYBOOKS, ExceptionType, Level, Priority, Resolution
from orderflow.incidents.tracking import TrackingEvent, TrackingKind
from orderflow.order import Order
from orderflow.testing.aftersales_strategies import Draw, _amounts, _note, one_in
from orderflow.testing.strategies import addresses

__all__ = [
    "exception_commands",
    "exception_openings",
    "exception_steps",
    "tracking_events",
]


@st.composite
def _exception_id(draw: Draw, order: Order) -> str:
    """The id of one of the order's exception cases, now and then one it does not have."""
    ids = [case.case_id for case in order.exceptions]
    unknown = f"{order.id}/exception/99"
    if not ids or draw(one_in(10), label="unknown exception?"):
        return unknown
    return draw(st.sampled_from(ids), label="exception")


@st.composite
def tracking_events(draw: Draw, order: Order) -> RecordTracking:
    """A carrier's tracking event (EX-2, TM-4) of any kind, ordinary or exceptional, reported
    up to a day before the order's last change, in UTC or another zone."""
    kind = draw(st.sampled_from(TrackingKind), label="kind")
    before = timedelta(minutes=draw(st.integers(0, 24 * 60), label="minutes before"))
    zone = draw(st.sampled_from([UTC, timezone(timedelta(hours=8))]))
    at = (order.updated_at - before).astimezone(zone)
    note = draw(st.sampled_from(["", "depot scan", "杭州转运中心"]))
    return RecordTracking(TrackingEvent(kind, at, note))


@st.composite
def exception_openings(draw: Draw, order: Order) -> OpenException:
    """An agent opening an exception case by hand (EX-2) of any type and priority, now and
    then major, holding the order (refused once shipped), affecting many orders (EX-4),
    under the id of a case the order already has, or, out of stock, naming the short line's
    missing units (now and then more than it has)."""
    case_id = None
    if draw(one_in(10), label="case id?") and order.exceptions:
        case_id = draw(st.sampled_from([case.case_id for case in order.exceptions]))
    type = draw(st.sampled_from(ExceptionType), label="type")
    sku = missing = None
    if type is ExceptionType.OUT_OF_STOCK and draw(one_in(2), label="names its units?"):
        line = draw(st.sampled_from(order.lines), label="short line")
        sku, missing = line.sku, draw(st.integers(1, line.quantity + 1), label="missing")
    return OpenException(
        type,
        draw(st.sampled_from(["the customer called", "the address looks wrong"])),
        draw(st.sampled_from(Priority), label="priority"),
        major=draw(one_in(5), label="major?"),
        hold=draw(one_in(4), label="hold?"),
        case_id=case_id,
        orders_affected=draw(st.sampled_from([1, 1, 1, 40])),
        sku=sku,
        missing=missing,
    )


@st.composite
def _resolve(draw: Draw, order: Order, case_id: str) -> ResolveException:
    """A resolution of the case's playbook (EX-3) mostly, now and then any resolution."""
    case = order.exception(case_id)
    playbook = PLAYBOOKS[case.type] if case is not None else tuple(Resolution)
    resolution = draw(st.one_of(st.sampled_from(playbook), st.sampled_from(playbook),
                                st.sampled_from(Resolution)), label="resolution")  # fmt: skip
    address = draw(addresses()) if resolution is Resolution.CORRECT_INFO else None
    eta = None
    if resolution in (Resolution.WAIT_FOR_RESTOCK, Resolution.NEW_ETA):
        eta = order.updated_at + timedelta(hours=draw(st.integers(1, 240), label="eta hours"))
    if resolution is Resolution.CORRECT_PRICE:  # a line of the order, now and then not
        sku = draw(st.sampled_from([*(line.sku for line in order.lines), "SKU-NONE"]))
        price = draw(_amounts(order), label="corrected price")
        return ResolveException(case_id, resolution, draw(_note()), sku=sku, unit_price=price)
    return ResolveException(case_id, resolution, draw(_note()), address, eta)


@st.composite
def _compensate(draw: Draw, order: Order, case_id: str) -> RecordCompensation:
    kind = draw(st.sampled_from(CompensationKind), label="compensation")
    amount = draw(_amounts(order, most=Decimal(200)), label="worth")
    approver = draw(st.sampled_from([None, None, "lead-1"]), label="approver")
    return RecordCompensation(case_id, Compensation(kind, amount, "a voucher", approver))


def _exception_command(order: Order, case_id: str, choice: str) -> st.SearchStrategy[c.Command]:
    """The exception command named ``choice`` on the case ``case_id``."""
    builders: dict[str, st.SearchStrategy[c.Command]] = {
        "acknowledge": st.builds(AcknowledgeException, st.just(case_id), _note()),
        "escalate": st.builds(
            EscalateException,
            st.just(case_id),
            _note(),
            st.one_of(st.none(), st.sampled_from(Level)),
        ),
        "resolve": _resolve(order, case_id),
        "compensate": _compensate(order, case_id),
        "close": st.builds(CloseException, st.just(case_id), st.sampled_from(["", "done"])),
        "follow_up": st.builds(RecordFollowUp, st.just(case_id), st.just("happy now")),
    }
    return builders[choice]


E = ExceptionState
_EXCEPTION_WAITS_FOR: dict[ExceptionState, tuple[str, ...]] = {
    E.NEW: ("acknowledge",),
    E.OPENED: ("acknowledge", "acknowledge", "resolve", "escalate", "compensate"),
    E.ACKNOWLEDGED: ("resolve", "resolve", "escalate", "compensate"),
    E.ESCALATED: ("resolve", "resolve", "escalate", "compensate"),
    E.RESOLVED: ("close", "close", "compensate", "acknowledge"),
    E.CLOSED: ("follow_up", "follow_up", "resolve"),
}
"""For an exception case in each state, the commands it waits for (and a few it does not)."""
_EXCEPTION_CHOICES = ("acknowledge", "escalate", "resolve", "compensate", "close", "follow_up")


@st.composite
def exception_steps(draw: Draw, order: Order) -> c.Command:
    """Commands on the order's exception cases (or an unknown one): acknowledge, escalate
    (one level up or to a level named), resolve with a resolution of the case's playbook
    (now and then one outside it; an address for correcting the info, an ETA for a restock
    wait or a new delivery estimate), record a compensation (with or without an approver,
    EX-7), close, record the follow-up."""
    case_id = draw(_exception_id(order))
    choice = draw(st.sampled_from(_EXCEPTION_CHOICES))
    return draw(_exception_command(order, case_id, choice))


def _waiting(case: ExceptionCase) -> bool:
    return case.is_open or case.state is ExceptionState.RESOLVED or not case.followed_up


@st.composite
def exception_commands(draw: Draw, order: Order) -> c.Command:
    """Any order-exception command on ``order``: mostly one that an exception case of the
    order waits for in its state (an open case, a resolved one, or a closed one without its
    follow-up), else an opening by hand, a tracking event, or a command for a case in a
    state that refuses it or for an unknown case."""
    roll = draw(st.integers(0, 9), label="what")
    cases = tuple(case for case in order.exceptions if _waiting(case))
    if not cases or draw(one_in(5), label="any case?"):
        ended = draw(one_in(4), label="an ended case?")
        cases = order.exceptions if ended else ()
    if cases and roll < 6:
        case: ExceptionCase = draw(st.sampled_from(cases), label="exception")
        choice = draw(st.sampled_from(_EXCEPTION_WAITS_FOR[case.state]), label="waits for")
        return draw(_exception_command(order, case.case_id, choice))
    if roll < 8:
        return draw(st.one_of(exception_openings(order), tracking_events(order)))
    return draw(exception_steps(order))
