"""The lifecycle's appliers: how each transition builds the new order and its effects.

Every applier takes the :class:`~orderflow.step.Step` of a transition whose guards passed and
returns the new order and its history entry, through :meth:`Step.commit`. Effects get stable
ids from the order, the version the command produces and their position (NT-2, D-14).
"""

from __future__ import annotations

import attrs

from orderflow import commands as c
from orderflow.aftersales.links import close_cases
from orderflow.effects import (
    Effect,
    NotificationTopic,
    NotifyCustomer,
    OpenCase,
    RefundReason,
    ReleaseStock,
    ReserveStock,
)
from orderflow.incidents.case import ExceptionCase
from orderflow.incidents.hooks import payment_case
from orderflow.incidents.model import ExceptionType
from orderflow.incidents.opening import close_exceptions
from orderflow.incidents.transition import ExceptionTransition
from orderflow.model import CloseReason, OrderState
from orderflow.money import _EXACT, Money, _money
from orderflow.order import (
    Closure,
    Deadline,
    HistoryEntry,
    HoldRecord,
    Ledger,
    Order,
    Payment,
    Shipment,
)
from orderflow.refunding import paying_reference, request_refund
from orderflow.step import Step

__all__ = [
    "apply_auto_close",
    "apply_begin_payment",
    "apply_change_address",
    "apply_change_lines",
    "apply_change_price",
    "apply_close",
    "apply_deliver",
    "apply_fail_payment",
    "apply_hold",
    "apply_pay",
    "apply_pay_while_held",
    "apply_release",
    "apply_ship",
    "apply_unapplied_payment",
]


def _notify(
    step: Step, seq: int, topic: NotificationTopic, message: str, **details: str
) -> NotifyCustomer:
    order = step.order
    return NotifyCustomer(order.id, step.version, seq, order.customer_id, topic, message, details)


def _payment_deadlines(step: Step, ledger: Ledger) -> tuple[Deadline, ...]:
    return step.settings.deadlines_for(
        OrderState.PENDING_PAYMENT, step.order.created_at, ledger, None
    )


def apply_begin_payment(step: Step) -> tuple[Order, HistoryEntry]:
    """D-16: the payment's confirmation deadline replaces the unpaid one while it runs."""
    assert isinstance(step.command, c.BeginPayment)
    ledger = attrs.evolve(
        step.order.ledger,
        payment_in_progress=step.command.payment_reference,
        payment_started_at=step.at,
    )
    return step.commit(ledger=ledger, deadlines=_payment_deadlines(step, ledger))


def apply_fail_payment(step: Step) -> tuple[Order, HistoryEntry]:
    """D-16: the unpaid deadline returns at its original instant (due at once if past)."""
    ledger = attrs.evolve(step.order.ledger, payment_in_progress=None, payment_started_at=None)
    return step.commit(ledger=ledger, deadlines=_payment_deadlines(step, ledger))


def _paid_ledger(step: Step, command: c.Pay) -> tuple[Ledger, tuple[Effect, ...]]:
    ledger = step.order.ledger
    amount = command.amount
    payment = Payment(command.payment_reference, amount, step.at)
    over = _EXACT.subtract(amount.amount, ledger.amount_due.amount)
    overpayment = _money(over, amount.currency) if over > 0 else ledger.overpayment
    ledger = Ledger(
        ledger.amount_due,
        ledger.amount_paid + amount,
        ledger.amount_refunded,
        ledger.amount_refund_pending,
        overpayment,
        (*ledger.payments, payment),
        ledger.refunds,
        None,
    )
    if over <= 0:
        return ledger, ()
    effect, ledger = request_refund(
        step,
        0,
        overpayment,
        RefundReason.OVERPAYMENT,
        command.payment_reference,
        counts=True,
        ledger=ledger,
    )
    return ledger, (effect,)


def apply_pay(step: Step) -> tuple[Order, HistoryEntry]:
    """LC-1: record the payment; an overpayment is refunded at once."""
    command = step.command
    assert isinstance(command, c.Pay)
    ledger, effects = _paid_ledger(step, command)
    return step.commit(effects, ledger=ledger)


def apply_pay_while_held(step: Step) -> tuple[Order, HistoryEntry]:
    """LC-6: a payment reaching an order held unpaid is recorded; it is released to paid."""
    command = step.command
    assert isinstance(command, c.Pay)
    assert step.order.hold is not None
    ledger, effects = _paid_ledger(step, command)
    return step.commit(
        effects, ledger=ledger, hold=attrs.evolve(step.order.hold, from_state=OrderState.PAID)
    )


def apply_unapplied_payment(step: Step) -> tuple[Order, HistoryEntry]:
    """A payment that must not count: a duplicate (RK-3) or one for a closed order (D-10).
    It is refunded, and an exception case records it (without holding the order)."""
    command = step.command
    assert isinstance(command, c.Pay)
    order = step.order
    late = order.state is OrderState.CLOSED
    reason = RefundReason.LATE_PAYMENT if late else RefundReason.DUPLICATE_PAYMENT
    ledger = attrs.evolve(
        order.ledger,
        payments=(
            *order.ledger.payments,
            Payment(command.payment_reference, command.amount, step.at, False),
        ),
    )
    refund, ledger = request_refund(
        step, 0, command.amount, reason, command.payment_reference, counts=False, ledger=ledger
    )
    summary = (
        f"payment {command.payment_reference} of {command.amount} reached an order that is "
        f"{order.state.value}; it was not applied and is being refunded"
    )
    type = ExceptionType.PAYMENT_AFTER_CLOSE if late else ExceptionType.DUPLICATE_PAYMENT
    case = OpenCase(order.id, step.version, 1, type.value, summary)
    exceptions, raised = payment_case(step, type, summary)
    return step.commit((refund, case), ledger=ledger, exceptions=exceptions, raised=raised)


def apply_ship(step: Step) -> tuple[Order, HistoryEntry]:
    """LC-3: the parcel is with the carrier; the customer gets the tracking number."""
    command = step.command
    assert isinstance(command, c.Ship)
    carrier = command.carrier.strip()
    tracking = command.tracking_number.strip()
    notice = _notify(
        step,
        0,
        NotificationTopic.SHIPPED,
        f"Your order has shipped with {carrier}, tracking number {tracking}.",
        carrier=carrier,
        tracking_number=tracking,
    )
    return step.commit((notice,), shipment=Shipment(carrier, tracking, step.at))


def apply_deliver(step: Step) -> tuple[Order, HistoryEntry]:
    """The carrier reports delivery; the customer is told."""
    shipment = step.order.shipment
    assert shipment is not None
    notice = _notify(step, 0, NotificationTopic.DELIVERED, "Your order has been delivered.")
    delivered = Shipment(shipment.carrier, shipment.tracking_number, shipment.shipped_at, step.at)
    return step.commit((notice,), shipment=delivered)


def close_order(
    step: Step,
    reason: CloseReason,
    note: str,
    *,
    exceptions: tuple[ExceptionCase, ...] | None = None,
    raised: tuple[ExceptionTransition, ...] = (),
) -> tuple[Order, HistoryEntry]:
    """Close the order (CL-3, CL-4, CL-5, D-1): refund what is owed, release stock, tell;
    its open after-sales cases end with it, but for refunds still in flight, and its open
    exception cases are resolved ``order_closed`` (D-13). ``exceptions`` and ``raised`` are
    the exception cases as a resolution that closes the order left them, and its move."""
    order = step.order
    ledger = order.ledger
    effects: list[Effect] = []
    refundable = ledger.refundable
    if refundable.is_positive():
        refund, ledger = request_refund(
            step,
            0,
            refundable,
            RefundReason.ORDER_CLOSED,
            paying_reference(ledger),
            counts=True,
            ledger=ledger,
        )
        effects.append(refund)
    effects.append(ReleaseStock(order.id, step.version, len(effects), order.lines))
    details = {"reason": reason.code}
    message = f"Your order was closed: {reason.description}."
    if note:
        details["note"] = note
    if refundable.is_positive():
        details["refund"] = str(refundable)
        message += f" A refund of {refundable} is on its way."
    effects.append(_notify(step, len(effects), NotificationTopic.CLOSED, message, **details))
    closure = Closure(reason, note, step.at, step.actor)
    cases, moved = close_cases(order.cases, ledger, "order_closed")
    incidents = step.settings.incidents
    closed, ended = close_exceptions(
        order.exceptions if exceptions is None else exceptions, step.at, incidents
    )
    return step.commit(
        tuple(effects),
        ledger=ledger,
        closure=closure,
        hold=None,
        cases=cases,
        moved=moved,
        state=OrderState.CLOSED,
        exceptions=closed,
        raised=(*raised, *ended),
    )


def apply_close(step: Step) -> tuple[Order, HistoryEntry]:
    """CL-2..CL-5, D-1: close with the command's reason."""
    command = step.command
    assert isinstance(command, c.Close)
    return close_order(step, command.reason, command.note.strip())


def apply_auto_close(step: Step) -> tuple[Order, HistoryEntry]:
    """CL-7: close an unpaid order whose timeout has passed."""
    return close_order(step, CloseReason.PAYMENT_TIMEOUT, "")


def apply_hold(step: Step) -> tuple[Order, HistoryEntry]:
    """LC-6: hold the order, remembering the state to return to."""
    command = step.command
    assert isinstance(command, c.Hold)
    record = HoldRecord(step.order.state, command.note.strip(), step.at, command.case_id)
    return step.commit(hold=record)


def apply_release(step: Step) -> tuple[Order, HistoryEntry]:
    """LC-6: release a held order to the state it was held from."""
    return step.commit(hold=None)


def apply_change_price(step: Step) -> tuple[Order, HistoryEntry]:
    """LC-5: change one line's unit price and what is due. The new price is what the buyer
    pays for the line: a discount recorded in the line's ``paid`` gives way to it."""
    command = step.command
    assert isinstance(command, c.ChangePrice)
    lines = tuple(
        attrs.evolve(line, unit_price=command.unit_price, paid=None)
        if line.sku == command.sku
        else line
        for line in step.order.lines
    )
    ledger = attrs.evolve(
        step.order.ledger,
        amount_due=Money.sum((line.paid_total for line in lines), step.order.currency),
    )
    return step.commit(lines=lines, ledger=ledger)


def apply_change_lines(step: Step) -> tuple[Order, HistoryEntry]:
    """LC-5: replace the lines; stock is released and reserved again."""
    command = step.command
    assert isinstance(command, c.ChangeLines)
    order = step.order
    ledger = attrs.evolve(
        order.ledger,
        amount_due=Money.sum((line.paid_total for line in command.lines), order.currency),
    )
    effects = (
        ReleaseStock(order.id, step.version, 0, order.lines),
        ReserveStock(order.id, step.version, 1, command.lines),
    )
    return step.commit(effects, lines=command.lines, ledger=ledger)


def apply_change_address(step: Step) -> tuple[Order, HistoryEntry]:
    """LC-7: correct the shipping address and contact."""
    command = step.command
    assert isinstance(command, c.ChangeAddress)
    return step.commit(address=command.address)
