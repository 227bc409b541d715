"""Timers: what each deadline an order carries does when it is due (D-15, TM-1, TM-5, D-16).

The core computes an order's deadlines and the order carries them, so a store can index them
(D-15). When one is due (``now >= due_at``), the timer sweep (:mod:`orderflow.sweep`) fires the
command this module names for its kind, as the system, with a command id made of the
deadline's kind and instant: a rerun of the sweep, or two sweepers, apply it once (D-3).

=============================  ===================================  =========
deadline kind                  command fired                        rules
=============================  ===================================  =========
``auto_close_unpaid``          :class:`~orderflow.AutoCloseUnpaid`  TM-1, CL-7
``confirm_payment``            :class:`~orderflow.FailPayment`      D-16
``auto_confirm_receipt``       :class:`~orderflow.AutoConfirmReceipt`  TM-5, LC-4
``no_reason_window``           ``CloseReturnWindow("no_reason")``   TM-6, AS-2
``quality_window``             ``CloseReturnWindow("quality")``     TM-6, AS-3
``seller_response``            ``RespondForSeller``                 AS-4
``ship_back``                  ``ExpireCase``                       AS-1
``seller_receipt``             ``ReceiveOverdueReturn``             D-7
``review_window``              ``ExpireCase``                       D-8
``staff_reminder``             ``RemindStaff``                      D-15
``review_overdue``             ``FlagReviewOverdue``                TM-2
``shipment_overdue``           ``FlagShipmentOverdue``              TM-3
``tracking_silence``           ``FlagTrackingSilence``              TM-4
``exception_target``           ``MissExceptionTarget``              TM-7, EX-5
``restock_due``                ``CheckRestock``                     EX-3
=============================  ===================================  =========

The after-sales commands are in :mod:`orderflow.aftersales`; a case's deadline names its case,
and the command fired names it too.

Hosts that add deadline kinds of their own give the sweep a mapping that extends
:data:`TIMERS`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from types import MappingProxyType

from orderflow import commands as c
from orderflow.aftersales.commands import CaseCommand
from orderflow.aftersales.followups import (
    CloseReturnWindow,
    ExpireCase,
    ReceiveOverdueReturn,
    RemindStaff,
    RespondForSeller,
)
from orderflow.incidents.commands import (
    CheckRestock,
    ExceptionCommand,
    FlagReviewOverdue,
    FlagShipmentOverdue,
    FlagTrackingSilence,
    MissExceptionTarget,
)
from orderflow.order import Deadline, DeadlineKind, Order

__all__ = ["TIMERS", "TimerCommand", "due_deadlines", "timer_command_id"]

TimerCommand = Callable[[Order, Deadline], c.Command | None]
"""Builds the command a due deadline fires, or ``None`` when there is nothing to do."""


def timer_command_id(deadline: Deadline) -> str:
    """The command id a deadline fires under: its kind, its case (if any) and its instant in
    UTC.

    The same deadline always gives the same id, so firing it twice applies it once (D-3);
    two cases' deadlines of one kind at one instant fire under different ids.
    """
    instant = deadline.due_at.astimezone(UTC).isoformat()
    if deadline.case_id is not None:
        return f"timer:{deadline.kind.value}:{deadline.case_id}@{instant}"
    return f"timer:{deadline.kind.value}@{instant}"


def _auto_close_unpaid(order: Order, deadline: Deadline) -> c.Command:
    return c.AutoCloseUnpaid(command_id=timer_command_id(deadline))


def _auto_confirm_receipt(order: Order, deadline: Deadline) -> c.Command:
    return c.AutoConfirmReceipt(command_id=timer_command_id(deadline))


def _confirm_payment(order: Order, deadline: Deadline) -> c.Command | None:
    reference = order.ledger.payment_in_progress
    if reference is None:
        return None
    return c.FailPayment(
        reference,
        "the payment was not confirmed in time",
        command_id=timer_command_id(deadline),
    )


def _window(window: str) -> TimerCommand:
    def close(order: Order, deadline: Deadline) -> c.Command:
        return CloseReturnWindow(window, command_id=timer_command_id(deadline))

    return close


def _for_case(command: type[CaseCommand]) -> TimerCommand:
    def fire(order: Order, deadline: Deadline) -> c.Command | None:
        if deadline.case_id is None or order.case(deadline.case_id) is None:
            return None
        return command(deadline.case_id, command_id=timer_command_id(deadline))

    return fire


def _order_timer(command: type[c.Command]) -> TimerCommand:
    def fire(order: Order, deadline: Deadline) -> c.Command:
        return command(command_id=timer_command_id(deadline))

    return fire


def _for_exception(command: type[ExceptionCommand]) -> TimerCommand:
    def fire(order: Order, deadline: Deadline) -> c.Command | None:
        if deadline.case_id is None or order.exception(deadline.case_id) is None:
            return None
        return command(deadline.case_id, command_id=timer_command_id(deadline))

    return fire


TIMERS: Mapping[DeadlineKind, TimerCommand] = MappingProxyType(
    {
        DeadlineKind.AUTO_CLOSE_UNPAID: _auto_close_unpaid,
        DeadlineKind.CONFIRM_PAYMENT: _confirm_payment,
        DeadlineKind.AUTO_CONFIRM_RECEIPT: _auto_confirm_receipt,
        DeadlineKind.NO_REASON_WINDOW: _window("no_reason"),
        DeadlineKind.QUALITY_WINDOW: _window("quality"),
        DeadlineKind.SELLER_RESPONSE: _for_case(RespondForSeller),
        DeadlineKind.SHIP_BACK: _for_case(ExpireCase),
        DeadlineKind.SELLER_RECEIPT: _for_case(ReceiveOverdueReturn),
        DeadlineKind.REVIEW_WINDOW: _for_case(ExpireCase),
        DeadlineKind.STAFF_REMINDER: _for_case(RemindStaff),
        DeadlineKind.REVIEW_OVERDUE: _order_timer(FlagReviewOverdue),
        DeadlineKind.SHIPMENT_OVERDUE: _order_timer(FlagShipmentOverdue),
        DeadlineKind.TRACKING_SILENCE: _order_timer(FlagTrackingSilence),
        DeadlineKind.EXCEPTION_TARGET: _for_exception(MissExceptionTarget),
        DeadlineKind.RESTOCK_DUE: _for_exception(CheckRestock),
    }
)
"""The command each deadline kind fires when it is due."""


def due_deadlines(order: Order, now: datetime) -> list[Deadline]:
    """The order's deadlines that are due at ``now`` (D-15: at their own instant), earliest
    first."""
    return sorted(
        (deadline for deadline in order.deadlines if deadline.is_due(now)),
        key=lambda deadline: deadline.due_at,
    )
