"""The guards of the exception case machine and their refusals (EX-3, EX-4, EX-6)."""

from __future__ import annotations

from orderflow.engine import Guard, GuardResult, RefusalText
from orderflow.errors import RefusalCategory
from orderflow.incidents.appliers import CLOSING, exception_of, missing_units, nothing_ships
from orderflow.incidents.case import Origin
from orderflow.incidents.commands import (
    EscalateException,
    OpenException,
    RecordCompensation,
    ResolveException,
)
from orderflow.incidents.detectors import CustomerInfoDetector
from orderflow.incidents.escalation import escalation_problem
from orderflow.incidents.model import PLAYBOOKS, ExceptionType, Resolution
from orderflow.lines import quantity_of
from orderflow.model import Address, OrderState
from orderflow.step import Step

__all__ = [
    "CAN_HOLD",
    "CASES_LEFT",
    "COMPENSATION_FITS",
    "ESCALATION_ALLOWED",
    "EXCEPTION_TIMER_DUE",
    "FITS_THE_ORDER",
    "IN_PLAYBOOK",
    "NOT_FOLLOWED_UP",
    "SHORTAGE_FITS",
    "WAITING_FOR_RESTOCK",
]

_OK: GuardResult = None
_INVALID = RefusalCategory.INVALID
S = OrderState
R = Resolution
_HOLDABLE = frozenset({S.PENDING_PAYMENT, S.PAID, S.AWAITING_SHIPMENT, S.IN_FULFILMENT})
_CLOSABLE = frozenset({S.PENDING_PAYMENT, S.PAID, S.AWAITING_SHIPMENT})
_SHIPPED = frozenset({S.SHIPPED, S.DELIVERED, S.COMPLETED})


def _can_hold(step: Step) -> GuardResult:
    command = step.command
    assert isinstance(command, OpenException)
    state = step.order.state
    if not command.hold or state in _HOLDABLE or state is S.ON_HOLD:
        return _OK
    return {"state": state.value}


CAN_HOLD = Guard(
    RefusalText(
        "cannot_hold",
        "An order that is {state} cannot be held.",
        "Open the case without holding the order.",
        "LC-6",
    ),
    _can_hold,
    payload=True,
)
"""Only an order not yet shipped is held (LC-6)."""


def _cases_left(step: Step) -> GuardResult:
    most = step.settings.limits.exception_cases_per_order
    opened = sum(1 for case in step.order.exceptions if case.origin is Origin.AGENT)
    return {"most": str(most)} if opened >= most else _OK


CASES_LEFT = Guard(
    RefusalText(
        "too_many_cases",
        "Agents have opened {most} exception cases on this order, the most this shop allows.",
        "Handle it within an open case of the order.",
        "EX-2",
    ),
    _cases_left,
)
"""An agent opens at most ``Limits.exception_cases_per_order`` cases on one order."""


def _shortage(step: Step) -> GuardResult:
    command = step.command
    assert isinstance(command, OpenException)
    if command.sku is None or command.missing is None:
        return _OK
    ordered = quantity_of(step.order.lines, command.sku)
    if 0 < command.missing <= ordered:
        return _OK
    return {"sku": command.sku, "ordered": str(ordered), "missing": str(command.missing)}


SHORTAGE_FITS = Guard(
    RefusalText(
        "shortage_does_not_fit",
        "The order has {ordered} unit(s) of {sku}: {missing} cannot be missing.",
        "Name a SKU of the order and at most its quantity.",
        "EX-1",
    ),
    _shortage,
    payload=True,
)
"""The units an agent says are missing are units of the order (EX-1 out_of_stock)."""


def _in_playbook(step: Step) -> GuardResult:
    command = step.command
    assert isinstance(command, ResolveException)
    case = exception_of(step)
    allowed = PLAYBOOKS[case.type]
    if command.resolution in allowed:
        return _OK
    return {
        "resolution": command.resolution.value,
        "type": case.type.value,
        "allowed": ", ".join(item.value for item in allowed),
    }


IN_PLAYBOOK = Guard(
    RefusalText(
        "not_in_playbook",
        "A {type} case is not resolved by {resolution}.",
        "Choose one of: {allowed}.",
        "EX-3",
        _INVALID,
    ),
    _in_playbook,
    payload=True,
)
"""A case is resolved by one resolution of its type's playbook (EX-3)."""


def _judged_state(step: Step) -> OrderState:
    order = step.order
    return order.hold.from_state if order.hold is not None else order.state


def _still_wrong(step: Step, address: Address) -> str:
    """What the review would still find wrong with a corrected address ("" when nothing):
    a missing part, or a phone the configured customer-info check does not accept."""
    missing = address.missing()
    if missing:
        return f"still lacks {', '.join(missing)}"
    for detector in step.settings.classifier.detectors:
        if isinstance(detector, CustomerInfoDetector) and not detector.phone_is_valid(
            address.phone
        ):
            return "still has a phone number that is not valid"
    return ""


def _fits(step: Step) -> GuardResult:
    command = step.command
    assert isinstance(command, ResolveException)
    resolution = command.resolution
    order = step.order
    state = _judged_state(step)
    paid = order.ledger.amount_paid.is_positive()
    case = exception_of(step)
    if resolution in CLOSING and state not in _CLOSABLE:
        return {"why": f"the order is {state.value} and can no longer be closed"}
    if resolution is R.CORRECT_PRICE and state is not S.PENDING_PAYMENT:
        return {"why": "a price is corrected only before payment; refund or charge instead"}
    if resolution is R.CORRECT_PRICE and not any(line.sku == command.sku for line in order.lines):
        return {"why": "the order has no line of that SKU"}
    if resolution is R.CORRECT_PRICE and (
        command.unit_price is None or command.unit_price.currency != order.currency
    ):
        return {"why": f"the corrected price must be in {order.currency}"}
    if resolution in (R.PAY_DIFFERENCE, R.REFUND_AND_CLOSE) and not paid:
        return {"why": "nothing is paid yet: correct the price instead"}
    if resolution is R.CLOSE_DUPLICATE and state in _SHIPPED:
        return {"why": "the duplicate has shipped: return it, or keep it and pay"}
    if resolution in (R.RETURN, R.KEEP_AND_PAY) and state not in _SHIPPED:
        return {"why": "the duplicate has not shipped: close it instead"}
    if resolution is R.RESHIP and state not in _SHIPPED:
        return {"why": "nothing has shipped yet"}
    if resolution is R.REFUND and not paid:
        return {"why": "nothing is paid yet"}
    if resolution is R.REFUND and case.type is ExceptionType.OUT_OF_STOCK:
        missing = missing_units(case)
        if missing is None:
            return {"why": "the case's evidence does not say which units are missing"}
        if nothing_ships(order, case) and state not in _CLOSABLE:
            return {"why": f"the order is {state.value} and can no longer be closed"}
    if resolution is R.CORRECT_INFO and command.address is not None:
        problem = _still_wrong(step, command.address)
        if problem:
            return {"why": f"the corrected address {problem}"}
    if resolution is R.WAIT_FOR_RESTOCK and command.eta is not None and command.eta <= step.at:
        return {"why": "the restock ETA must be later than now"}
    return _OK


FITS_THE_ORDER = Guard(
    RefusalText(
        "does_not_fit",
        "That resolution does not fit this order: {why}.",
        "Choose another resolution of the playbook.",
        "EX-3",
    ),
    _fits,
    payload=True,
)
"""A resolution fits the order: a closing before shipment, a price correction before
payment, a duplicate's return after shipment (EX-3)."""


def _escalation(step: Step) -> GuardResult:
    command = step.command
    assert isinstance(command, EscalateException)
    case = exception_of(step)
    problem = escalation_problem(case.level, command.level)
    if problem is None:
        return _OK
    return {"level": case.level.value if case.level else "none", "problem": problem.value}


ESCALATION_ALLOWED = Guard(
    RefusalText(
        "cannot_escalate",
        "The case is at {level}: it cannot be escalated that way ({problem}).",
        "Name a higher level, or external for a third party.",
        "EX-4",
    ),
    _escalation,
    payload=True,
)
"""Levels rise 3 -> 2 -> 1; external stands apart (EX-4)."""


def _not_followed_up(step: Step) -> GuardResult:
    return {} if exception_of(step).followed_up else _OK


NOT_FOLLOWED_UP = Guard(
    RefusalText(
        "followed_up_already",
        "The follow-up of this case was recorded already.",
        "Open a new case if something else came up.",
        "EX-5",
    ),
    _not_followed_up,
    payload=True,
)
"""A case's follow-up is recorded once (EX-5)."""


def _waiting(step: Step) -> GuardResult:
    return _OK if exception_of(step).restock_eta is not None else {}


WAITING_FOR_RESTOCK = Guard(
    RefusalText(
        "not_waiting",
        "The case is not waiting for a restock.",
        "Nothing to check.",
        "EX-3",
    ),
    _waiting,
    payload=True,
)
"""Stock is checked again only for a case waiting for a restock (EX-3)."""


def _compensation_fits(step: Step) -> GuardResult:
    command = step.command
    assert isinstance(command, RecordCompensation)
    case = exception_of(step)
    order = step.order
    settings = step.settings.incidents
    check = settings.check_compensation(case.compensations, command.compensation, order.currency)
    if check.acceptable:
        return _OK
    limit = "none set" if check.limit is None else str(check.limit)
    return {
        "problem": check.problem.value if check.problem else "",
        "total": check.total_after,
        "limit": limit,
    }


COMPENSATION_FITS = Guard(
    RefusalText(
        "compensation_refused",
        "This compensation cannot be recorded ({problem}): the case's total would be "
        "{total}, the limit without approval is {limit}.",
        "Name the approver, or give the compensation in the order's currency.",
        "EX-7",
    ),
    _compensation_fits,
    payload=True,
)
"""Compensation above the limit needs an approver; refused, nothing is recorded (EX-7)."""


def _exception_timer_due(step: Step) -> GuardResult:
    deadline = exception_of(step).deadline
    if deadline is None:
        return {"due": "never (the case runs no timer)"}
    return None if deadline.is_due(step.at) else {"due": deadline.due_at}


EXCEPTION_TIMER_DUE = Guard(
    RefusalText(
        "not_yet_due",
        "The case's timer is due from {due}.",
        "Wait for the timer.",
        "D-15, TM-7",
    ),
    _exception_timer_due,
    payload=True,
)
"""An exception case's timer command acts only once its deadline is due (D-15)."""
