"""Where the order lifecycle meets order exceptions: review runs the classifier (LC-2, EX-2),
unapplied payments open cases (D-3, D-10), tracking events are recorded (TM-4), and the
service-level timers open or escalate cases (TM-2, TM-3, TM-4).

These are appliers of lifecycle transitions: the order's state is the lifecycle's, and the
cases they open are exception cases inside the order.
"""

from __future__ import annotations

from orderflow.deadlines import Deadline, DeadlineKind
from orderflow.effects import AlertStaff, Effect, NotificationTopic, NotifyCustomer
from orderflow.engine import Guard, GuardResult, RefusalText
from orderflow.frozen import replace
from orderflow.incidents.case import ExceptionCase, ExceptionState, Origin
from orderflow.incidents.commands import RecordTracking
from orderflow.incidents.context import Context
from orderflow.incidents.model import ExceptionType, Finding, Level, Resolution
from orderflow.incidents.opening import case_deadline, from_finding, open_case
from orderflow.incidents.service_levels import SERVICE_KINDS, service_deadlines
from orderflow.incidents.tracking import TrackingKind
from orderflow.incidents.transition import ExceptionTransition
from orderflow.model import OrderState
from orderflow.order import HistoryEntry, Order
from orderflow.records import HoldRecord, Shipment
from orderflow.step import Step

__all__ = [
    "RELEASE_THROUGH_THE_CASE",
    "REVIEW_OVERDUE_DUE",
    "SHIPMENT_OVERDUE_DUE",
    "TRACKING_EVENTS_LEFT",
    "TRACKING_SILENCE_DUE",
    "TRACKING_TYPES",
    "apply_flag_review_overdue",
    "apply_flag_shipment_overdue",
    "apply_flag_tracking_silence",
    "apply_record_tracking",
    "apply_review",
    "payment_case",
]

TRACKING_TYPES = {
    TrackingKind.LOST: ExceptionType.LOGISTICS_LOST,
    TrackingKind.DAMAGED: ExceptionType.LOGISTICS_DAMAGED,
    TrackingKind.DELAYED: ExceptionType.LOGISTICS_DELAYED,
    TrackingKind.WRONG_ADDRESS: ExceptionType.WRONG_ADDRESS,
    TrackingKind.CUSTOMS_HOLD: ExceptionType.THIRD_PARTY_HOLD,
}
"""The tracking events that report trouble, and the exception each opens."""

_NO_CONTEXT = Context()
"""What review reads when the host gave no context: only what the order itself shows."""
_PAYMENT_TYPES = frozenset({ExceptionType.DUPLICATE_PAYMENT, ExceptionType.PAYMENT_AFTER_CLOSE})
_LOGISTICS = frozenset(
    {
        ExceptionType.LOGISTICS_LOST,
        ExceptionType.LOGISTICS_DAMAGED,
        ExceptionType.LOGISTICS_DELAYED,
        ExceptionType.WRONG_ADDRESS,
        ExceptionType.THIRD_PARTY_HOLD,
    }
)


def _vip(step: Step) -> bool:
    """Whether the order's customer is a VIP, as far as the step's context knows."""
    return step.context.vip if step.context is not None else False


def _moves(cases: tuple[ExceptionCase, ...]) -> tuple[ExceptionTransition, ...]:
    return tuple(
        ExceptionTransition(case.case_id, ExceptionState.NEW, case.state) for case in cases
    )


_DECIDED = frozenset(
    {Resolution.RELEASE, Resolution.SUBSTITUTE, Resolution.PAY_DIFFERENCE, Resolution.REFUND}
)
"""The resolutions that let the order go on as it is, the evidence notwithstanding: the
suspicion lifted (RK-4), a substitute agreed, the price difference paid, the missing units
refunded (EX-3). A correction (``correct_info``, ``correct_price``) or a restock claims the
cause is gone, so review checks it again."""


def _cleared(order: Order, finding: Finding) -> bool:
    """Whether this finding is already handled: an open case of its type exists, or a case
    resolved it on the same evidence by a resolution that lets the order go on as it is
    (RK-4: the same evidence never holds the order again; EX-3 likewise for a substitute, a
    price difference paid, missing units refunded). An unapplied payment opened its case
    when it arrived (D-3, D-10)."""
    if finding.type in _PAYMENT_TYPES:
        return True
    for case in order.exceptions:
        if case.type is not finding.type:
            continue
        if case.is_open:
            return True
        if case.resolution in _DECIDED and dict(case.evidence) == dict(finding.evidence):
            return True
    return False


def _alert(step: Step, seq: int, case: ExceptionCase) -> AlertStaff:
    return AlertStaff(step.order.id, step.version, seq, case.case_id, "exception_opened",
                      case.summary)  # fmt: skip


def _own_deadlines(
    step: Step,
    state: OrderState,
    exceptions: tuple[ExceptionCase, ...],
    shipment: Shipment | None = None,
) -> tuple[Deadline, ...]:
    """The order's own deadlines with its service levels computed again (the others kept)."""
    order = step.order
    kept = tuple(d for d in order.deadlines if d.case_id is None and d.kind not in SERVICE_KINDS)
    if shipment is None:
        shipment = order.shipment
    levels = service_deadlines(state, order.ledger, shipment, order.hold, exceptions, step.settings)
    return (*kept, *levels)


def apply_review(step: Step) -> tuple[Order, HistoryEntry]:
    """LC-2, EX-2: the review runs the classifier on the order and the context the service
    gathered. A blocking finding is an outcome, not a refusal: the order goes on hold with
    one case per blocking finding (suspected fraud freezes it, RK-4); otherwise it is
    confirmed; findings that do not block open cases without holding it."""
    order = step.order
    context = step.context if step.context is not None else _NO_CONTEXT
    findings = step.settings.classifier.run(order, context, step.at)
    if not findings and not order.exceptions:  # the common case: nothing to hold, no cases
        return step.commit((_confirmed(step, 0),))
    fresh = [finding for finding in findings if not _cleared(order, finding)]
    incidents = step.settings.incidents
    blocking = any(finding.blocks_review for finding in fresh)
    opened: list[ExceptionCase] = []
    for finding in fresh:
        case = from_finding(
            order, finding, step.at, incidents, holds=blocking, taken=opened, vip=context.vip
        )
        opened.append(case)
    # TM-2: the review is done now: a case that reported it overdue is resolved with it.
    reviewed = tuple(
        replace(case, state=ExceptionState.RESOLVED, resolution=Resolution.REVIEWED,
                resolved_at=step.at, note="reviewed")
        if case.type is ExceptionType.REVIEW_OVERDUE and case.is_open
        else case
        for case in order.exceptions
    )  # fmt: skip
    moves = tuple(
        ExceptionTransition(old.case_id, old.state, ExceptionState.RESOLVED, "review")
        for old, new in zip(order.exceptions, reviewed, strict=True)
        if old is not new
    )
    reviewed = tuple(
        case if case.deadline is None or case.state is not ExceptionState.RESOLVED
        else replace(case, deadline=case_deadline(case, step.at, incidents))
        for case in reviewed
    )  # fmt: skip
    cases = (*reviewed, *opened)
    effects: list[Effect] = [_alert(step, seq, case) for seq, case in enumerate(opened)]
    if blocking:
        first = next(case for case in opened if case.holds)
        note = "; ".join(case.summary for case in opened if case.holds)[:2000]
        effects.append(
            NotifyCustomer(order.id, step.version, len(effects), order.customer_id,
                           NotificationTopic.EXCEPTION,
                           "Your order needs a check before it can be prepared; we will be in "
                           "touch.", {"case_id": first.case_id})
        )  # fmt: skip
        return step.commit(
            tuple(effects),
            exceptions=cases,
            raised=(*moves, *_moves(tuple(opened))),
            state=OrderState.ON_HOLD,
            hold=HoldRecord(order.state, note, step.at, first.case_id),
        )
    effects.append(_confirmed(step, len(effects)))
    return step.commit(tuple(effects), exceptions=cases, raised=(*moves, *_moves(tuple(opened))))


def _confirmed(step: Step, seq: int) -> NotifyCustomer:
    """The customer's notice that the review confirmed the order."""
    order = step.order
    return NotifyCustomer(order.id, step.version, seq, order.customer_id,
                          NotificationTopic.ORDER_CONFIRMED,
                          "Your order is confirmed and being prepared.", {})  # fmt: skip


def payment_case(
    step: Step, type: ExceptionType, summary: str
) -> tuple[tuple[ExceptionCase, ...], tuple[ExceptionTransition, ...]]:
    """The case an unapplied payment opens (D-3, D-10): not holding the order."""
    order = step.order
    case = open_case(order, type, step.at, step.settings.incidents, origin=Origin.PAYMENT,
                     summary=summary, vip=_vip(step))  # fmt: skip
    return (*order.exceptions, case), _moves((case,))


def apply_record_tracking(step: Step) -> tuple[Order, HistoryEntry]:
    """EX-2, TM-4: a carrier's tracking event is recorded on the shipment; the wait for the
    next one starts again; an event reporting trouble opens its case (unless one of its type
    is open), and a delay is told to the customer."""
    command = step.command
    assert isinstance(command, RecordTracking)
    order = step.order
    shipment = order.shipment
    assert shipment is not None
    event = command.tracking
    updated = replace(shipment, events=(*shipment.events, event))
    opened: tuple[ExceptionCase, ...] = ()
    effects: list[Effect] = []
    type = TRACKING_TYPES.get(event.kind)
    if type is not None and not any(c.type is type and c.is_open for c in order.exceptions):
        case = open_case(order, type, step.at, step.settings.incidents,
                         origin=Origin.TRACKING, summary=f"The carrier reports: {event.kind}.",
                         evidence={"event": event.kind.value, "event_at": event.at,
                                   "note": event.note}, vip=_vip(step))  # fmt: skip
        opened = (case,)
        effects.append(_alert(step, 0, case))
        if type is ExceptionType.LOGISTICS_DELAYED:
            effects.append(
                NotifyCustomer(order.id, step.version, 1, order.customer_id,
                               NotificationTopic.EXCEPTION, "Your parcel is delayed.",
                               {"case_id": case.case_id})
            )  # fmt: skip
    cases = (*order.exceptions, *opened)
    deadlines = _own_deadlines(step, order.state, cases, updated)
    return step.commit(tuple(effects), shipment=updated, exceptions=cases,
                       raised=_moves(opened), deadlines=deadlines)  # fmt: skip


def apply_flag_review_overdue(step: Step) -> tuple[Order, HistoryEntry]:
    """TM-2: the review is overdue: staff are alerted and a staff-only case is opened."""
    order = step.order
    case = open_case(
        order,
        ExceptionType.REVIEW_OVERDUE,
        step.at,
        step.settings.incidents,
        origin=Origin.TIMER,
        summary="The order was not reviewed in time.",
        vip=_vip(step),
    )
    cases = (*order.exceptions, case)
    return step.commit((_alert(step, 0, case),), exceptions=cases, raised=_moves((case,)),
                       deadlines=_own_deadlines(step, order.state, cases))  # fmt: skip


def apply_flag_shipment_overdue(step: Step) -> tuple[Order, HistoryEntry]:
    """TM-3: not shipped in time after payment: a logistics-delay case, and the customer
    is told."""
    order = step.order
    case = open_case(order, ExceptionType.LOGISTICS_DELAYED, step.at, step.settings.incidents,
                     origin=Origin.TIMER, summary="The order was not shipped in time.",
                     vip=_vip(step))  # fmt: skip
    cases = (*order.exceptions, case)
    notice = NotifyCustomer(order.id, step.version, 1, order.customer_id,
                            NotificationTopic.EXCEPTION,
                            "Your order is taking longer than expected to ship.",
                            {"case_id": case.case_id})  # fmt: skip
    return step.commit((_alert(step, 0, case), notice), exceptions=cases,
                       raised=_moves((case,)),
                       deadlines=_own_deadlines(step, order.state, cases))  # fmt: skip


def apply_flag_tracking_silence(step: Step) -> tuple[Order, HistoryEntry]:
    """TM-4: no tracking update for too long: the open logistics case escalates to level 3
    (one already higher stays), or one is opened there."""
    order = step.order
    shipment = order.shipment
    assert shipment is not None
    reported = replace(shipment, silence_reported_at=step.at)
    incidents = step.settings.incidents
    open_case_ = next(
        (case for case in order.exceptions if case.type in _LOGISTICS and case.is_open), None
    )
    if open_case_ is not None:
        level = open_case_.level or Level.LEVEL_3
        escalated = replace(open_case_, state=ExceptionState.ESCALATED, level=level,
                            role=incidents.matrix.role_for(level),
                            escalations=open_case_.escalations + 1,
                            note="no tracking update in time")  # fmt: skip
        escalated = replace(escalated, deadline=case_deadline(escalated, step.at, incidents))
        cases = tuple(escalated if c is open_case_ else c for c in order.exceptions)
        moved = (ExceptionTransition(open_case_.case_id, open_case_.state,
                                     ExceptionState.ESCALATED, "TM-4"),)  # fmt: skip
        alert = _alert(step, 0, escalated)
    else:
        fresh = open_case(order, ExceptionType.LOGISTICS_DELAYED, step.at, incidents,
                          origin=Origin.TIMER, summary="No tracking update in time.")  # fmt: skip
        fresh = replace(fresh, state=ExceptionState.ESCALATED, level=Level.LEVEL_3,
                        role=incidents.matrix.role_for(Level.LEVEL_3), escalations=1)  # fmt: skip
        fresh = replace(fresh, deadline=case_deadline(fresh, step.at, incidents))
        cases = (*order.exceptions, fresh)
        moved = (ExceptionTransition(fresh.case_id, ExceptionState.NEW, ExceptionState.ESCALATED,
                                     "TM-4"),)  # fmt: skip
        alert = _alert(step, 0, fresh)
    deadlines = _own_deadlines(step, order.state, cases, reported)
    return step.commit((alert,), shipment=reported, exceptions=cases, raised=moved,
                       deadlines=deadlines)  # fmt: skip


# -- guards -------------------------------------------------------------------------------------


def _due(kind: DeadlineKind, rule: str, what: str) -> Guard:
    """A timer command fires only when its deadline is on the order and due (D-15)."""

    def check(step: Step) -> GuardResult:
        for deadline in step.order.deadlines:
            if deadline.kind is kind and deadline.case_id is None:
                return None if deadline.is_due(step.at) else {"due": deadline.due_at}
        return {"due": "never (the timer is not running)"}

    return Guard(
        RefusalText("not_yet_due", f"{what} is due from {{due}}.", "Wait for the timer.", rule),
        check,
    )


REVIEW_OVERDUE_DUE = _due(DeadlineKind.REVIEW_OVERDUE, "TM-2", "The review's deadline")
"""TM-2 fires only once the review is overdue."""
SHIPMENT_OVERDUE_DUE = _due(DeadlineKind.SHIPMENT_OVERDUE, "TM-3", "The shipment's deadline")
"""TM-3 fires only once the shipment is overdue."""
TRACKING_SILENCE_DUE = _due(DeadlineKind.TRACKING_SILENCE, "TM-4", "The next tracking update")
"""TM-4 fires only once the parcel has been silent too long."""


def _not_held_by_a_case(step: Step) -> GuardResult:
    # Any open case that holds the order keeps it held, whoever put the hold on: a staff
    # hold that a holding case joined is lifted only once that case is resolved too.
    order = step.order
    if order.hold is None or not order.exceptions:
        return None
    holding = next((case for case in order.exceptions if case.holds_order), None)
    return None if holding is None else {"case_id": holding.case_id}


def _events_left(step: Step) -> GuardResult:
    shipment = step.order.shipment
    most = step.settings.limits.tracking_events_per_order
    if shipment is not None and len(shipment.events) >= most:
        return {"most": most}
    return None


TRACKING_EVENTS_LEFT = Guard(
    RefusalText(
        "too_many_events",
        "This order's parcel has {most} tracking events, the most this shop keeps.",
        "Record only the carrier's new events, each under its own command id.",
        "TM-4",
    ),
    _events_left,
)
"""A shipment records at most ``Limits.tracking_events_per_order`` tracking events."""


RELEASE_THROUGH_THE_CASE = Guard(
    RefusalText(
        "held_by_case",
        "Exception case {case_id} holds this order; it is released by resolving the case.",
        "Resolve the case; the order is released with it.",
        "EX-6, D-13",
    ),
    _not_held_by_a_case,
)
"""An order an open exception case holds is released only through the case (EX-6, D-13),
even when the hold was staff's before the case joined it."""
