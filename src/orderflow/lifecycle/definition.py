"""The order lifecycle as a table: every transition, who may fire it, its guards (DOMAIN
sections 1 and 2).

The engine (:mod:`orderflow.engine`) validates and draws :data:`LIFECYCLE` with
``transitions`` and compiles it into the table that handles commands. Guards are in
:mod:`orderflow.lifecycle.guards`, appliers in :mod:`orderflow.lifecycle.appliers`, the
refusals of states without a transition in :mod:`orderflow.lifecycle.refusals`.
"""

from __future__ import annotations

from datetime import datetime

from orderflow import commands as c
from orderflow.aftersales.followups import CloseReturnWindow, RefundMoneyOnly
from orderflow.aftersales.order_commands import (
    MONEY_ONLY_GUARDS,
    ROOM_FOR_RETRY,
    WINDOW_ENDED,
    WINDOW_RUNNING,
    apply_close_return_window,
    apply_refund_money_only,
)
from orderflow.engine import Condition, Definition, Transition
from orderflow.incidents.commands import (
    FlagReviewOverdue,
    FlagShipmentOverdue,
    FlagTrackingSilence,
    RecordTracking,
)
from orderflow.incidents.hooks import (
    RELEASE_THROUGH_THE_CASE,
    REVIEW_OVERDUE_DUE,
    SHIPMENT_OVERDUE_DUE,
    TRACKING_EVENTS_LEFT,
    TRACKING_SILENCE_DUE,
    apply_flag_review_overdue,
    apply_flag_shipment_overdue,
    apply_flag_tracking_silence,
    apply_record_tracking,
    apply_review,
)
from orderflow.lifecycle.appliers import (
    apply_auto_close,
    apply_begin_payment,
    apply_change_address,
    apply_change_lines,
    apply_change_price,
    apply_close,
    apply_deliver,
    apply_fail_payment,
    apply_hold,
    apply_pay,
    apply_pay_while_held,
    apply_release,
    apply_ship,
    apply_unapplied_payment,
)
from orderflow.lifecycle.guards import (
    AUTO_CLOSE_DUE,
    AUTO_CLOSE_ENABLED,
    AUTO_CLOSE_NO_PAYMENT_RUNNING,
    AUTO_CONFIRM_DUE,
    AUTO_CONFIRM_ENABLED,
    CLOSE_REASON_FOR_ACTOR,
    CORRECTIONS_LEFT,
    LINES_CURRENCY,
    LINES_WITHIN_LIMITS,
    PAY_CURRENCY,
    PAYMENT_ATTEMPTS_LEFT,
    PAYMENT_IN_PROGRESS,
    PAYMENT_WINDOW_OPEN,
    PRICE_CURRENCY,
    PRICE_LINE,
    PRICE_TOTAL_FITS,
    QUANTITY_WITHIN_LIMITS,
    REFUND_FAILED,
    REFUND_PENDING,
    REVIEW_AMOUNT,
)
from orderflow.lifecycle.refunds import (
    apply_confirm_refund,
    apply_fail_refund,
    apply_retry_refund,
)
from orderflow.lifecycle.refusals import ACTOR_REFUSALS, STATE_REFUSALS
from orderflow.model import ActorKind, OrderState, Permission
from orderflow.order import Order
from orderflow.step import Step

__all__ = ["LIFECYCLE", "TRANSITIONS"]

S = OrderState
CUSTOMER = ActorKind.CUSTOMER
STAFF = ActorKind.STAFF
SYSTEM = ActorKind.SYSTEM

_BEFORE_SHIPMENT = (S.PENDING_PAYMENT, S.PAID, S.AWAITING_SHIPMENT, S.IN_FULFILMENT)
_ALL = tuple(OrderState)
_PAID_ONWARDS = (
    S.PAID,
    S.AWAITING_SHIPMENT,
    S.IN_FULFILMENT,
    S.SHIPPED,
    S.DELIVERED,
    S.COMPLETED,
)
_CLOSABLE_HELD = (S.PENDING_PAYMENT, S.PAID, S.AWAITING_SHIPMENT)
_UNSHIPPED = (S.PAID, S.AWAITING_SHIPMENT, S.IN_FULFILMENT)


def _held_from(*states: OrderState) -> tuple[str, Condition]:
    wanted = frozenset(states)
    name = "held from " + " or ".join(state.value for state in states)

    def held(order: Order, command: c.Command | None, at: datetime) -> bool:
        return order.hold is not None and order.hold.from_state in wanted

    return name, held


def _held_from_not(*states: OrderState) -> tuple[str, Condition]:
    unwanted = frozenset(states)
    name = "held from other than " + " or ".join(state.value for state in states)

    def held(order: Order, command: c.Command | None, at: datetime) -> bool:
        return order.hold is not None and order.hold.from_state not in unwanted

    return name, held


TRANSITIONS: tuple[Transition, ...] = (
    Transition(c.BeginPayment, (S.PENDING_PAYMENT,), None, apply_begin_payment,
               frozenset({CUSTOMER, SYSTEM}),
               guards=(PAYMENT_WINDOW_OPEN, PAYMENT_ATTEMPTS_LEFT), rule="D-10, D-16"),
    Transition(c.FailPayment, (S.PENDING_PAYMENT,), None, apply_fail_payment,
               frozenset({CUSTOMER, SYSTEM}), guards=(PAYMENT_IN_PROGRESS,),
               rule="D-10, D-16"),
    Transition(c.Pay, (S.PENDING_PAYMENT,), S.PAID, apply_pay,
               frozenset({SYSTEM, STAFF}), Permission.RECORD_PAYMENT,
               guards=(PAY_CURRENCY,), rule="LC-1"),
    Transition(c.Pay, (S.ON_HOLD,), None, apply_pay_while_held,
               frozenset({SYSTEM, STAFF}), Permission.RECORD_PAYMENT,
               when=_held_from(S.PENDING_PAYMENT),
               guards=(PAY_CURRENCY,), rule="LC-6"),
    Transition(c.Pay, (*_PAID_ONWARDS, S.CLOSED), None, apply_unapplied_payment,
               frozenset({SYSTEM, STAFF}), Permission.RECORD_PAYMENT, rule="RK-3, D-3, D-10",
               offered=False),
    Transition(c.Pay, (S.ON_HOLD,), None, apply_unapplied_payment,
               frozenset({SYSTEM, STAFF}), Permission.RECORD_PAYMENT,
               when=_held_from_not(S.PENDING_PAYMENT), rule="RK-3, D-3", offered=False),
    Transition(c.ApproveReview, (S.PAID,), S.AWAITING_SHIPMENT, apply_review,
               frozenset({STAFF, SYSTEM}), Permission.REVIEW,
               guards=(REVIEW_AMOUNT,), rule="LC-2, EX-2"),
    Transition(c.StartFulfilment, (S.AWAITING_SHIPMENT,), S.IN_FULFILMENT, Step.commit,
               frozenset({STAFF, SYSTEM}), Permission.FULFIL, rule="LC-1"),
    Transition(c.WithdrawFromFulfilment, (S.IN_FULFILMENT,), S.AWAITING_SHIPMENT, Step.commit,
               frozenset({STAFF, SYSTEM}), Permission.FULFIL, rule="LC-6, D-2"),
    Transition(c.Ship, (S.IN_FULFILMENT,), S.SHIPPED, apply_ship,
               frozenset({STAFF, SYSTEM}), Permission.SHIP,
               rule="LC-3"),
    Transition(c.ConfirmDelivery, (S.SHIPPED,), S.DELIVERED, apply_deliver,
               frozenset({STAFF, SYSTEM}), Permission.DELIVERY, rule="LC-1"),
    Transition(c.ConfirmReceipt, (S.DELIVERED,), S.COMPLETED, Step.commit,
               frozenset({CUSTOMER, STAFF}), Permission.COMPLETE, rule="LC-4"),
    Transition(c.AutoConfirmReceipt, (S.DELIVERED,), S.COMPLETED, Step.commit,
               frozenset({SYSTEM}), guards=(AUTO_CONFIRM_ENABLED, AUTO_CONFIRM_DUE),
               rule="LC-4, TM-5"),
    Transition(c.Close, (S.PENDING_PAYMENT, S.PAID, S.AWAITING_SHIPMENT), S.CLOSED, apply_close,
               frozenset({CUSTOMER, STAFF}), Permission.CLOSE,
               guards=(CLOSE_REASON_FOR_ACTOR,), rule="CL-2, CL-6, D-1"),
    Transition(c.Close, (S.ON_HOLD,), S.CLOSED, apply_close,
               frozenset({STAFF}), Permission.CLOSE, when=_held_from(*_CLOSABLE_HELD), rule="D-13"),
    Transition(c.AutoCloseUnpaid, (S.PENDING_PAYMENT,), S.CLOSED, apply_auto_close,
               frozenset({SYSTEM}),
               guards=(AUTO_CLOSE_ENABLED, AUTO_CLOSE_DUE, AUTO_CLOSE_NO_PAYMENT_RUNNING),
               rule="CL-7, D-10"),
    Transition(c.Hold, _BEFORE_SHIPMENT, S.ON_HOLD, apply_hold,
               frozenset({STAFF, SYSTEM}), Permission.HOLD, rule="LC-6"),
    *(
        Transition(c.Release, (S.ON_HOLD,), state, apply_release,
                   frozenset({STAFF}), Permission.HOLD, when=_held_from(state),
                   guards=(RELEASE_THROUGH_THE_CASE,), rule="LC-6, EX-6")
        for state in _BEFORE_SHIPMENT
    ),
    Transition(c.ChangePrice, (S.PENDING_PAYMENT,), None, apply_change_price,
               frozenset({STAFF}), Permission.CHANGE_PRICE,
               guards=(PRICE_LINE, PRICE_CURRENCY, PRICE_TOTAL_FITS, CORRECTIONS_LEFT),
               rule="LC-5"),
    Transition(c.ChangeLines, (S.PENDING_PAYMENT,), None, apply_change_lines,
               frozenset({STAFF}), Permission.CHANGE_PRICE,
               guards=(LINES_CURRENCY, LINES_WITHIN_LIMITS, QUANTITY_WITHIN_LIMITS,
                       CORRECTIONS_LEFT),
               rule="LC-5"),
    Transition(c.ChangeAddress, (*_BEFORE_SHIPMENT, S.ON_HOLD), None, apply_change_address,
               frozenset({CUSTOMER, STAFF}), Permission.CHANGE_ADDRESS,
               guards=(CORRECTIONS_LEFT,), rule="LC-7"),
    Transition(c.ConfirmRefund, _ALL, None, apply_confirm_refund,
               frozenset({SYSTEM, STAFF}), Permission.REFUND,
               guards=(REFUND_PENDING,), rule="AS-6"),
    Transition(c.FailRefund, _ALL, None, apply_fail_refund,
               frozenset({SYSTEM, STAFF}), Permission.REFUND,
               guards=(REFUND_PENDING,), rule="AS-6, D-17"),
    Transition(c.RetryRefund, _ALL, None, apply_retry_refund,
               frozenset({SYSTEM, STAFF}), Permission.REFUND,
               guards=(REFUND_FAILED, ROOM_FOR_RETRY), rule="AS-6, D-6, D-17"),
    Transition(RefundMoneyOnly, _UNSHIPPED, None, apply_refund_money_only,
               frozenset({STAFF}), Permission.REFUND, guards=MONEY_ONLY_GUARDS,
               rule="AS-7, D-6"),
    Transition(RefundMoneyOnly, (S.ON_HOLD,), None, apply_refund_money_only,
               frozenset({STAFF}), Permission.REFUND, when=_held_from(*_UNSHIPPED),
               guards=MONEY_ONLY_GUARDS, rule="AS-7, D-6, D-13"),
    Transition(CloseReturnWindow, (S.DELIVERED, S.COMPLETED), None, apply_close_return_window,
               frozenset({SYSTEM}), guards=(WINDOW_RUNNING, WINDOW_ENDED), rule="TM-6",
               offered=False),
    Transition(RecordTracking, (S.SHIPPED, S.DELIVERED), None, apply_record_tracking,
               frozenset({SYSTEM, STAFF}), Permission.DELIVERY, guards=(TRACKING_EVENTS_LEFT,),
               rule="EX-2, TM-4", offered=False),
    Transition(FlagReviewOverdue, (S.PAID,), None, apply_flag_review_overdue,
               frozenset({SYSTEM}), guards=(REVIEW_OVERDUE_DUE,), rule="TM-2", offered=False),
    Transition(FlagShipmentOverdue, (*_UNSHIPPED, S.ON_HOLD), None, apply_flag_shipment_overdue,
               frozenset({SYSTEM}), guards=(SHIPMENT_OVERDUE_DUE,), rule="TM-3", offered=False),
    Transition(FlagTrackingSilence, (S.SHIPPED,), None, apply_flag_tracking_silence,
               frozenset({SYSTEM}), guards=(TRACKING_SILENCE_DUE,), rule="TM-4", offered=False),
)  # fmt: skip


def _held_state(order: Order) -> OrderState | None:
    """D-13: a held order is judged by the state it was held from."""
    return order.hold.from_state if order.hold is not None else None


LIFECYCLE = Definition(
    name="order",
    states=tuple(OrderState),
    initial=S.PENDING_PAYMENT,
    final=frozenset({S.COMPLETED, S.CLOSED}),
    transitions=TRANSITIONS,
    refusals=STATE_REFUSALS,
    actor_refusals=ACTOR_REFUSALS,
    held=S.ON_HOLD,
    held_from=_held_state,
    followed=((S.PAID, S.ON_HOLD, "approve_review [a finding blocks]"),),
)
"""The order lifecycle of DOMAIN sections 1 and 2."""
