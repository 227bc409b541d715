"""Where the lifecycle's refund commands and the after-sales cases meet (AS-6, D-12, D-13).

A case's refunds are the lifecycle's refund records (confirm, fail, retry), linked by
:attr:`~orderflow.Refund.case_id`. When one of them moves, the case follows in the same
outcome: every refund confirmed, the case is refunded; one failed, the case shows it until
retried. Closing the order ends its open cases, and confirmed refunds that reach everything
paid close an order not yet completed (D-12).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from orderflow.aftersales.case import AfterSalesCase, CaseState, CaseTransition
from orderflow.aftersales.configuration import PolicySettings
from orderflow.deadlines import Deadline
from orderflow.frozen import replace
from orderflow.ledger import Ledger, RefundStatus
from orderflow.model import OrderState
from orderflow.order import Order

__all__ = ["close_cases", "closes_in_full", "follow_refund"]

_set = object.__setattr__

DeadlineFor = Callable[[AfterSalesCase, datetime, PolicySettings], Deadline | None]


def follow_refund(
    order: Order,
    ledger: Ledger,
    refund_id: str,
    at: datetime,
    settings: PolicySettings,
    deadline_for: DeadlineFor,
) -> tuple[tuple[AfterSalesCase, ...] | None, tuple[CaseTransition, ...]]:
    """The cases after a refund of a case moved (``ledger`` is the new ledger), and what
    moved; ``(None, ())`` when the refund belongs to no open case."""
    refund = ledger.refund(refund_id)
    if refund is None or refund.case_id is None:
        return None, ()
    case = order.case(refund.case_id)
    if case is None or case.state not in (CaseState.REFUND_PENDING, CaseState.REFUND_FAILED):
        return None, ()
    statuses = [r.status for r in ledger.refunds if r.case_id == case.case_id]
    if all(status is RefundStatus.REFUNDED for status in statuses):
        state = CaseState.REFUNDED
    elif any(status is RefundStatus.FAILED for status in statuses):
        state = CaseState.REFUND_FAILED
    else:
        state = CaseState.REFUND_PENDING
    if state is case.state:
        return None, ()
    moved = replace(case, state=state)
    # The copy is new and not shared yet: it takes its state's deadline in place (one copy of
    # the case per move, not two).
    _set(moved, "deadline", deadline_for(moved, at, settings))
    cases = tuple(moved if item is case else item for item in order.cases)
    return cases, (CaseTransition(case.case_id, case.state, state),)


def close_cases(
    cases: tuple[AfterSalesCase, ...], ledger: Ledger, resolution: str
) -> tuple[tuple[AfterSalesCase, ...], tuple[CaseTransition, ...]]:
    """The cases with every open one that has no refund in flight closed (D-13): a request,
    an approval, a return on its way, a rejection, a review, a declined refund (the order's
    closing refund pays back what it held). A case with a refund pending, or failed with an
    unknown outcome (its return's shipping included), stays open: that money may still
    move, and the case follows it."""
    in_flight = {refund.case_id for refund in ledger.refunds if refund.unsettled}
    moved: list[CaseTransition] = []
    result: list[AfterSalesCase] = []
    for case in cases:
        if case.is_open and case.case_id not in in_flight:
            moved.append(CaseTransition(case.case_id, case.state, CaseState.CLOSED, resolution))
            result.append(
                replace(case, state=CaseState.CLOSED, resolution=resolution, deadline=None)
            )
        else:
            result.append(case)
    return tuple(result), tuple(moved)


def closes_in_full(order: Order, ledger: Ledger) -> bool:
    """D-12: confirmed refunds reach everything paid, on an order not yet completed (or
    closed), so the order closes with reason ``refunded_in_full``."""
    state = order.state
    if state is OrderState.COMPLETED or state is OrderState.CLOSED:
        return False
    paid = ledger.amount_paid
    return paid.is_positive() and ledger.amount_refunded >= paid
