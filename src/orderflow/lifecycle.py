"""The order lifecycle as data: states, transitions, who may fire them, guards and refusals.

This module holds the definition only (DOMAIN sections 1 and 2). :mod:`orderflow.machine`
validates it with ``transitions``, draws it, and compiles it into the dispatch table that
handles commands.

Each :class:`Transition` names a command, the states it may start from, the state it leads to
(``None``: it stays where it is), who may fire it (CL-6), the branch condition that picks it
when several transitions share a command and a source (a held order's release, for example),
its guards, and the function that applies it. A command that has no transition from the
order's state is refused with the :class:`~orderflow.errors.Refusal` that
:data:`STATE_REFUSALS` gives for that state, or a generic one.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import cast

import attrs

from orderflow import commands as c
from orderflow.effects import (
    Effect,
    NotificationTopic,
    NotifyCustomer,
    OpenCase,
    RefundReason,
    ReleaseStock,
    RequestRefund,
    ReserveStock,
)
from orderflow.errors import InvalidConfiguration, Refusal
from orderflow.limits import (
    Limits,
    guard_corrections,
    guard_lines_limits,
    guard_price_total,
    limits_setting,
)
from orderflow.model import (
    Actor,
    ActorKind,
    Address,
    CloseReason,
    OrderLine,
    OrderState,
    Permission,
)
from orderflow.money import _EXACT, Money, _money
from orderflow.order import (
    Closure,
    Deadline,
    DeadlineKind,
    HistoryEntry,
    HoldRecord,
    Ledger,
    Order,
    Payment,
    Refund,
    RefundStatus,
    Shipment,
)

__all__ = [
    "LIFECYCLE",
    "STATE_REFUSALS",
    "Definition",
    "Limits",
    "Settings",
    "Step",
    "Transition",
]

S = OrderState
CUSTOMER = ActorKind.CUSTOMER
STAFF = ActorKind.STAFF
SYSTEM = ActorKind.SYSTEM


_LONGEST_TIMEOUT = timedelta(days=3650)


def _positive_or_none(name: str) -> Callable[[object, object, timedelta | None], None]:
    def check(instance: object, attribute: object, value: timedelta | None) -> None:
        if value is None:
            return
        if not isinstance(value, timedelta):
            raise InvalidConfiguration(name, value, "must be a timedelta or None")
        if value <= timedelta(0):
            raise InvalidConfiguration(name, value, "must be above zero; use None to turn it off")
        if value > _LONGEST_TIMEOUT:
            raise InvalidConfiguration(name, value, "must be at most 3650 days")

    return check


def _positive(name: str) -> Callable[[object, object, timedelta], None]:
    def check(instance: object, attribute: object, value: timedelta) -> None:
        if not isinstance(value, timedelta):
            raise InvalidConfiguration(name, value, "must be a timedelta")
        if value <= timedelta(0):
            raise InvalidConfiguration(name, value, "must be above zero")
        if value > _LONGEST_TIMEOUT:
            raise InvalidConfiguration(name, value, "must be at most 3650 days")

    return check


def _whole_at_least_one(name: str) -> Callable[[object, object, int], None]:
    def check(instance: object, attribute: object, value: int) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise InvalidConfiguration(name, value, "must be a whole number of at least 1")

    return check


@attrs.frozen
class Settings:
    """The lifecycle's configurable defaults.

    Every duration is added on UTC instants (D-18): "30 minutes" is 1,800 real seconds,
    whatever the shop's time zone and its daylight-saving changes.

    Attributes:
        unpaid_timeout: how long an order may stay unpaid before the system closes it (CL-7,
            TM-1; default 30 minutes, at most 3650 days). ``None`` turns the timer off (D-10).
        auto_confirm_after: how long after delivery receipt is confirmed automatically (LC-4,
            TM-5; default 10 days, at most 3650 days). ``None`` turns it off.
        payment_confirmation_timeout: how long a payment the buyer has started may stay
            unconfirmed before the system fails it (D-16; default 1 hour). It cannot be
            turned off: a payment in progress must never hold an order forever.
        max_payment_attempts: how many payments the buyer may start on one order (default
            20); further ones are refused, so that starting and abandoning payments cannot
            grow an order's history without end.
        limits: how large an order may grow (:class:`Limits`).

    Raises:
        InvalidConfiguration: a timeout of zero or below or above 3650 days, not a
            ``timedelta``; a number of attempts below 1; limits that are not
            :class:`Limits`.
    """

    unpaid_timeout: timedelta | None = attrs.field(
        default=timedelta(minutes=30), validator=_positive_or_none("unpaid_timeout")
    )
    auto_confirm_after: timedelta | None = attrs.field(
        default=timedelta(days=10), validator=_positive_or_none("auto_confirm_after")
    )
    payment_confirmation_timeout: timedelta = attrs.field(
        default=timedelta(hours=1), validator=_positive("payment_confirmation_timeout")
    )
    max_payment_attempts: int = attrs.field(
        default=20, validator=_whole_at_least_one("max_payment_attempts")
    )
    limits: Limits = attrs.field(factory=Limits, validator=limits_setting)

    def unpaid_due(self, created_at: datetime) -> datetime | None:
        """When an order placed at ``created_at`` closes unpaid (TM-1); ``None`` if never."""
        if self.unpaid_timeout is None:
            return None
        return _utc(created_at) + self.unpaid_timeout

    def deadlines_for(
        self,
        state: OrderState,
        created_at: datetime,
        ledger: Ledger,
        shipment: Shipment | None,
    ) -> tuple[Deadline, ...]:
        """The timers an order runs in ``state`` with this ledger and shipment (D-15, D-16).

        A deadline is only ever on an order when firing it is valid: an unpaid order with a
        payment in progress waits for the payment's confirmation deadline instead of the
        unpaid one, which returns, at its original instant, when the payment fails.
        """
        if state is S.PENDING_PAYMENT:
            if ledger.payment_in_progress is not None:
                started = ledger.payment_started_at or created_at
                return (
                    Deadline(
                        DeadlineKind.CONFIRM_PAYMENT,
                        _utc(started) + self.payment_confirmation_timeout,
                    ),
                )
            due = self.unpaid_due(created_at)
            return () if due is None else (Deadline(DeadlineKind.AUTO_CLOSE_UNPAID, due),)
        if state is S.DELIVERED and self.auto_confirm_after is not None:
            assert shipment is not None
            assert shipment.delivered_at is not None
            return (
                Deadline(
                    DeadlineKind.AUTO_CONFIRM_RECEIPT,
                    _utc(shipment.delivered_at) + self.auto_confirm_after,
                ),
            )
        return ()


def _utc(at: datetime) -> datetime:
    """The same instant in UTC (durations are added on UTC instants, D-18)."""
    return at if at.tzinfo is UTC else at.astimezone(UTC)


_KEEP: object = object()


class Step:
    """The working data of one command being applied: what the guards and appliers read.

    Attributes:
        order: the order before the command.
        command: the command.
        actor: who fires it.
        at: when.
        dest: the state the transition leads to.
        version: the version the command will produce.
        settings: the lifecycle settings.
    """

    __slots__ = ("actor", "at", "command", "dest", "order", "settings", "version")

    def __init__(
        self,
        order: Order,
        command: c.Command,
        actor: Actor,
        at: datetime,
        dest: OrderState,
        settings: Settings,
    ) -> None:
        self.order = order
        self.command = command
        self.actor = actor
        self.at = at
        self.dest = dest
        self.settings = settings
        self.version = len(order.history) + 1

    def commit(
        self,
        effects: tuple[Effect, ...] = (),
        *,
        ledger: Ledger | None = None,
        lines: tuple[OrderLine, ...] | None = None,
        address: Address | None = None,
        shipment: Shipment | object | None = _KEEP,
        closure: Closure | object | None = _KEEP,
        hold: HoldRecord | object | None = _KEEP,
        deadlines: tuple[Deadline, ...] | None = None,
    ) -> tuple[Order, HistoryEntry]:
        """Build the new order: the changes given, the new state, one more history entry.

        This is the hot path of every command: the new order is built from values already
        validated, without going through ``Order.__init__``'s checks; the machine's
        invariants check the result.
        """
        order = self.order
        dest = self.dest
        source = order.state
        history = order.history
        entry = HistoryEntry(source, dest, self.command, self.actor, self.at, effects)
        new_ledger = order.ledger if ledger is None else ledger
        new_shipment = cast(Shipment | None, order.shipment if shipment is _KEEP else shipment)
        if deadlines is not None:
            pass
        elif dest is source:
            deadlines = order.deadlines
        elif dest in _TIMED_STATES:
            deadlines = self.settings.deadlines_for(
                dest,
                history[0].at,
                new_ledger,
                new_shipment,
            )
        else:
            deadlines = ()
        new = _new(Order)
        _init_order(
            new,
            order.id,
            order.customer_id,
            order.lines if lines is None else lines,
            order.address if address is None else address,
            dest,
            new_ledger,
            (*history, entry),
            new_shipment,
            order.closure if closure is _KEEP else closure,  # type: ignore[arg-type]
            order.hold if hold is _KEEP else hold,  # type: ignore[arg-type]
            deadlines,
        )
        return new, entry


_new = object.__new__
_init_order = Order.__attrs_init__
_TIMED_STATES = frozenset({S.PENDING_PAYMENT, S.DELIVERED})


Guard = Callable[[Step], Refusal | None]
Condition = Callable[[Order], bool]
Apply = Callable[[Step], tuple[Order, HistoryEntry]]


@attrs.frozen
class Transition:
    """One transition of the lifecycle.

    Attributes:
        command: the command class that fires it.
        sources: the states it may start from.
        dest: the state it leads to; ``None`` means it stays in the state it started from.
        apply: builds the new order and the effects.
        actors: who may fire it (CL-6).
        permission: the permission a staff actor needs.
        when: a condition on the order that picks this transition among several with the
            same command and source, with a name (for the diagram).
        guards: checks that refuse the command with a reason.
        rule: the business rules it implements.
        actor_refusals: refusals for actor kinds not allowed, when the generic one would not
            say enough.
    """

    command: type[c.Command]
    sources: tuple[OrderState, ...]
    dest: OrderState | None
    apply: Apply
    actors: frozenset[ActorKind]
    permission: str | None = None
    when: tuple[str, Condition] | None = None
    guards: tuple[Guard, ...] = ()
    rule: str = ""
    actor_refusals: dict[ActorKind, Refusal] = attrs.field(factory=dict, hash=False)


@attrs.frozen
class Definition:
    """A whole lifecycle: its states, initial state, transitions and state refusals."""

    states: tuple[OrderState, ...]
    initial: OrderState
    final: frozenset[OrderState]
    transitions: tuple[Transition, ...]
    refusals: dict[tuple[type[c.Command], OrderState], Refusal] = attrs.field(hash=False)
    actor_refusals: dict[tuple[type[c.Command], OrderState, ActorKind], Refusal] = attrs.field(
        factory=dict, hash=False
    )
    """Refusals for one kind of actor in a state with no transition for the command (a
    held order is judged by the state it was held from); they come before ``refusals``."""

    @property
    def commands(self) -> tuple[type[c.Command], ...]:
        """Every command class the definition knows, in definition order."""
        seen: dict[type[c.Command], None] = {}
        for transition in self.transitions:
            seen.setdefault(transition.command)
        return tuple(seen)


# ---------------------------------------------------------------------------------------------
# Effects helpers


def _notify(
    step: Step, seq: int, topic: NotificationTopic, message: str, **details: str
) -> NotifyCustomer:
    order = step.order
    return NotifyCustomer(order.id, step.version, seq, order.customer_id, topic, message, details)


def _request_refund(
    step: Step,
    seq: int,
    amount: Money,
    reason: RefundReason,
    payment_reference: str,
    *,
    counts: bool,
    ledger: Ledger,
) -> tuple[RequestRefund, Ledger]:
    """A refund request effect and the ledger that records it as pending."""
    refund_id = f"{step.order.id}/refund/{len(ledger.refunds) + 1}"
    effect = RequestRefund(
        step.order.id, step.version, seq, refund_id, amount, reason, payment_reference
    )
    record = Refund(
        refund_id,
        amount,
        reason,
        payment_reference,
        RefundStatus.PENDING,
        step.at,
        1,
        counts,
    )
    pending = ledger.amount_refund_pending + amount if counts else ledger.amount_refund_pending
    return effect, attrs.evolve(
        ledger, refunds=(*ledger.refunds, record), amount_refund_pending=pending
    )


def _last_payment_reference(ledger: Ledger) -> str:
    for payment in reversed(ledger.payments):
        if payment.applied:
            return payment.reference
    return ""


# ---------------------------------------------------------------------------------------------
# Guards


def _is_blank(text: str) -> bool:
    return not text.strip()


def _guard_ship_carrier(step: Step) -> Refusal | None:
    assert isinstance(step.command, c.Ship)
    if _is_blank(step.command.carrier):
        return Refusal(
            "ship.carrier_missing",
            "The order cannot ship without a carrier.",
            "Give the carrier's name.",
            "LC-3",
        )
    return None


def _guard_ship_tracking(step: Step) -> Refusal | None:
    assert isinstance(step.command, c.Ship)
    if _is_blank(step.command.tracking_number):
        return Refusal(
            "ship.tracking_missing",
            "The order cannot ship without a tracking number.",
            "Give the carrier's tracking number so the customer can follow the parcel.",
            "LC-3",
        )
    return None


def _guard_review_address(step: Step) -> Refusal | None:
    address = step.order.address
    if address.is_complete():
        return None
    missing = address.missing()
    if missing:
        return Refusal(
            "review.address_incomplete",
            f"The shipping address is incomplete: {', '.join(missing)} missing.",
            "Contact the customer and correct the address, then review again.",
            "LC-2",
        )
    return None


def _guard_review_amount(step: Step) -> Refusal | None:
    ledger = step.order.ledger
    if _EXACT.subtract(ledger.amount_paid.amount, ledger.overpayment.amount) != (
        ledger.amount_due.amount
    ):
        net = ledger.amount_paid - ledger.overpayment
        return Refusal(
            "review.amount_mismatch",
            f"The amount paid ({net}) does not equal the amount due ({ledger.amount_due}).",
            "Hold the order and open a payment exception case.",
            "LC-2",
        )
    return None


def _guard_pay_currency(step: Step) -> Refusal | None:
    assert isinstance(step.command, c.Pay)
    if step.command.amount.currency != step.order.currency:
        return Refusal(
            "pay.currency_mismatch",
            f"The payment is in {step.command.amount.currency}, "
            f"the order in {step.order.currency}.",
            "Refund the payment and ask the customer to pay in the order's currency.",
            "AS-5",
        )
    return None


def _guard_pay_positive(step: Step) -> Refusal | None:
    assert isinstance(step.command, c.Pay)
    if not step.command.amount.is_positive():
        return Refusal(
            "pay.amount_not_positive",
            "A payment must be for more than zero.",
            "Check the payment provider's callback.",
        )
    return None


def _guard_payment_in_progress_matches(step: Step) -> Refusal | None:
    assert isinstance(step.command, c.FailPayment)
    if step.order.ledger.payment_in_progress != step.command.payment_reference:
        return Refusal(
            "payment.not_in_progress",
            "No payment with that reference is in progress for this order.",
            "Check the payment reference.",
            "D-10",
        )
    return None


def _guard_close_reason_for_actor(step: Step) -> Refusal | None:
    assert isinstance(step.command, c.Close)
    if step.actor.kind is CUSTOMER and step.command.reason is not CloseReason.CUSTOMER_CANCELLED:
        return Refusal(
            "close.reason_not_allowed",
            "A customer closes an order only by cancelling it.",
            "Use the reason customer_cancelled.",
            "CL-6",
        )
    return None


def _guard_close_note(step: Step) -> Refusal | None:
    assert isinstance(step.command, c.Close)
    if step.command.reason.needs_note and _is_blank(step.command.note):
        return Refusal(
            "close.note_required",
            f"Closing for the reason '{step.command.reason.code}' needs a note saying why.",
            "Add a note describing the reason.",
            "CL-2",
        )
    return None


def _guard_unpaid_timer(step: Step) -> Refusal | None:
    due = step.settings.unpaid_due(step.order.created_at)
    if due is None:
        return Refusal(
            "close.auto_close_disabled",
            "Unpaid orders are not closed automatically in this shop.",
            "Close the order by hand if it should be closed.",
            "D-10",
        )
    if step.at < due:
        return Refusal(
            "close.not_yet_due",
            f"The order may stay unpaid until {due.isoformat()}.",
            "Wait until the payment timeout has passed.",
            "CL-7",
        )
    return None


def _guard_payment_window(step: Step) -> Refusal | None:
    due = step.settings.unpaid_due(step.order.created_at)
    if due is not None and step.at >= due:
        return Refusal(
            "payment.window_closed",
            "The time to pay for this order has run out.",
            "Place the order again.",
            "CL-7, D-16",
        )
    return None


def _guard_payment_attempts(step: Step) -> Refusal | None:
    limit = step.settings.max_payment_attempts
    started = sum(1 for entry in step.order.history if type(entry.command) is c.BeginPayment)
    if started >= limit:
        return Refusal(
            "payment.too_many_attempts",
            f"Payment was started {started} times for this order, the most allowed.",
            "Contact customer service to pay for this order.",
            "D-16",
        )
    return None


def _guard_no_payment_in_progress(step: Step) -> Refusal | None:
    if step.order.ledger.payment_in_progress is not None:
        return Refusal(
            "close.payment_in_progress",
            "The customer is paying for this order right now.",
            "Wait for the payment to succeed or fail.",
            "D-10",
        )
    return None


def _guard_auto_confirm(step: Step) -> Refusal | None:
    period = step.settings.auto_confirm_after
    if period is None:
        return Refusal(
            "receipt.auto_confirm_disabled",
            "Receipt is not confirmed automatically in this shop.",
            "Wait for the customer to confirm receipt.",
            "LC-4",
        )
    shipment = step.order.shipment
    assert shipment is not None
    assert shipment.delivered_at is not None
    due = shipment.delivered_at + period
    if step.at < due:
        return Refusal(
            "receipt.not_yet_due",
            f"Receipt is confirmed automatically from {due.isoformat()}.",
            "Wait for the customer, or until the automatic confirmation is due.",
            "LC-4",
        )
    return None


def _guard_price_line(step: Step) -> Refusal | None:
    command = step.command
    assert isinstance(command, c.ChangePrice)
    if not any(line.sku == command.sku for line in step.order.lines):
        return Refusal(
            "price.unknown_sku",
            f"The order has no line with SKU {command.sku}.",
            "Check the SKU.",
            "LC-5",
        )
    return None


def _guard_price_money(step: Step) -> Refusal | None:
    command = step.command
    assert isinstance(command, c.ChangePrice)
    if command.unit_price.currency != step.order.currency:
        return Refusal(
            "price.currency_mismatch",
            f"The order is priced in {step.order.currency}.",
            "Give the price in the order's currency.",
            "LC-5",
        )
    if command.unit_price.amount < 0:
        return Refusal("price.negative", "A price cannot be negative.", "", "LC-5")
    return None


def _guard_lines_currency(step: Step) -> Refusal | None:
    command = step.command
    assert isinstance(command, c.ChangeLines)
    currency = command.lines[0].unit_price.currency
    if currency != step.order.currency:
        return Refusal(
            "lines.currency_mismatch",
            f"The order is priced in {step.order.currency}, the new lines in {currency}.",
            "Price the new lines in the order's currency, or place a new order.",
            "LC-5",
        )
    return None


def _refund_guard(*statuses: RefundStatus) -> Guard:
    wanted = frozenset(statuses)

    def guard(step: Step) -> Refusal | None:
        command = step.command
        assert isinstance(command, c.ConfirmRefund | c.FailRefund | c.RetryRefund)
        refund = step.order.ledger.refund(command.refund_id)
        if refund is None:
            return Refusal(
                "refund.unknown",
                f"The order has no refund {command.refund_id}.",
                "Check the refund id.",
                "AS-6",
            )
        if refund.status not in wanted:
            expected = " or ".join(sorted(status.value for status in wanted))
            return Refusal(
                f"refund.not_{'_or_'.join(sorted(s.value for s in wanted))}",
                f"Refund {command.refund_id} is {refund.status.value}, not {expected}.",
                "Check the refund's status before acting on it.",
                "AS-6",
            )
        return None

    return guard


# ---------------------------------------------------------------------------------------------
# Appliers


def _payment_deadlines(step: Step, ledger: Ledger) -> tuple[Deadline, ...]:
    return step.settings.deadlines_for(S.PENDING_PAYMENT, step.order.created_at, ledger, None)


def _apply_begin_payment(step: Step) -> tuple[Order, HistoryEntry]:
    """D-16: the payment's confirmation deadline replaces the unpaid one while it runs."""
    assert isinstance(step.command, c.BeginPayment)
    ledger = attrs.evolve(
        step.order.ledger,
        payment_in_progress=step.command.payment_reference,
        payment_started_at=step.at,
    )
    return step.commit(ledger=ledger, deadlines=_payment_deadlines(step, ledger))


def _apply_fail_payment(step: Step) -> tuple[Order, HistoryEntry]:
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
    effect, ledger = _request_refund(
        step,
        0,
        overpayment,
        RefundReason.OVERPAYMENT,
        command.payment_reference,
        counts=True,
        ledger=ledger,
    )
    return ledger, (effect,)


def _apply_pay(step: Step) -> tuple[Order, HistoryEntry]:
    command = step.command
    assert isinstance(command, c.Pay)
    ledger, effects = _paid_ledger(step, command)
    return step.commit(effects, ledger=ledger)


def _apply_pay_while_held(step: Step) -> tuple[Order, HistoryEntry]:
    command = step.command
    assert isinstance(command, c.Pay)
    assert step.order.hold is not None
    ledger, effects = _paid_ledger(step, command)
    return step.commit(
        effects, ledger=ledger, hold=attrs.evolve(step.order.hold, from_state=S.PAID)
    )


def _apply_unapplied_payment(step: Step) -> tuple[Order, HistoryEntry]:
    """A payment that must not count: a duplicate (RK-3) or one for a closed order (D-10)."""
    command = step.command
    assert isinstance(command, c.Pay)
    order = step.order
    late = order.state is S.CLOSED
    reason = RefundReason.LATE_PAYMENT if late else RefundReason.DUPLICATE_PAYMENT
    ledger = attrs.evolve(
        order.ledger,
        payments=(
            *order.ledger.payments,
            Payment(command.payment_reference, command.amount, step.at, False),
        ),
    )
    refund, ledger = _request_refund(
        step, 0, command.amount, reason, command.payment_reference, counts=False, ledger=ledger
    )
    case = OpenCase(
        order.id,
        step.version,
        1,
        "payment_after_close" if late else "duplicate_payment",
        f"payment {command.payment_reference} of {command.amount} reached an order that is "
        f"{order.state.value}; it was not applied and is being refunded",
    )
    return step.commit((refund, case), ledger=ledger)


def _apply_approve(step: Step) -> tuple[Order, HistoryEntry]:
    notice = _notify(
        step, 0, NotificationTopic.ORDER_CONFIRMED, "Your order is confirmed and being prepared."
    )
    return step.commit((notice,))


def _apply_ship(step: Step) -> tuple[Order, HistoryEntry]:
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


def _apply_deliver(step: Step) -> tuple[Order, HistoryEntry]:
    shipment = step.order.shipment
    assert shipment is not None
    notice = _notify(step, 0, NotificationTopic.DELIVERED, "Your order has been delivered.")
    delivered = Shipment(shipment.carrier, shipment.tracking_number, shipment.shipped_at, step.at)
    return step.commit((notice,), shipment=delivered)


def _close(step: Step, reason: CloseReason, note: str) -> tuple[Order, HistoryEntry]:
    """Close the order (CL-3, CL-4, CL-5, D-1): refund what is owed, release stock, tell."""
    order = step.order
    ledger = order.ledger
    effects: list[Effect] = []
    refundable = ledger.refundable
    if refundable.is_positive():
        refund, ledger = _request_refund(
            step,
            0,
            refundable,
            RefundReason.ORDER_CLOSED,
            _last_payment_reference(ledger),
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
    return step.commit(tuple(effects), ledger=ledger, closure=closure, hold=None)


def _apply_close(step: Step) -> tuple[Order, HistoryEntry]:
    command = step.command
    assert isinstance(command, c.Close)
    return _close(step, command.reason, command.note.strip())


def _apply_auto_close(step: Step) -> tuple[Order, HistoryEntry]:
    return _close(step, CloseReason.PAYMENT_TIMEOUT, "")


def _apply_hold(step: Step) -> tuple[Order, HistoryEntry]:
    command = step.command
    assert isinstance(command, c.Hold)
    record = HoldRecord(step.order.state, command.note.strip(), step.at, command.case_id)
    return step.commit(hold=record)


def _apply_release(step: Step) -> tuple[Order, HistoryEntry]:
    return step.commit(hold=None)


def _apply_change_price(step: Step) -> tuple[Order, HistoryEntry]:
    command = step.command
    assert isinstance(command, c.ChangePrice)
    lines = tuple(
        attrs.evolve(line, unit_price=command.unit_price) if line.sku == command.sku else line
        for line in step.order.lines
    )
    ledger = attrs.evolve(
        step.order.ledger,
        amount_due=Money.sum((line.total for line in lines), step.order.currency),
    )
    return step.commit(lines=lines, ledger=ledger)


def _apply_change_lines(step: Step) -> tuple[Order, HistoryEntry]:
    command = step.command
    assert isinstance(command, c.ChangeLines)
    order = step.order
    ledger = attrs.evolve(
        order.ledger, amount_due=Money.sum((line.total for line in command.lines), order.currency)
    )
    effects = (
        ReleaseStock(order.id, step.version, 0, order.lines),
        ReserveStock(order.id, step.version, 1, command.lines),
    )
    return step.commit(effects, lines=command.lines, ledger=ledger)


def _apply_change_address(step: Step) -> tuple[Order, HistoryEntry]:
    command = step.command
    assert isinstance(command, c.ChangeAddress)
    return step.commit(address=command.address)


def _replace_refund(ledger: Ledger, refund: Refund, updated: Refund) -> tuple[Refund, ...]:
    return tuple(updated if item is refund else item for item in ledger.refunds)


def _apply_confirm_refund(step: Step) -> tuple[Order, HistoryEntry]:
    command = step.command
    assert isinstance(command, c.ConfirmRefund)
    ledger = step.order.ledger
    refund = ledger.refund(command.refund_id)
    assert refund is not None
    updated = attrs.evolve(refund, status=RefundStatus.REFUNDED, last_error="")
    if refund.counts_against_paid:
        ledger = attrs.evolve(
            ledger,
            amount_refunded=ledger.amount_refunded + refund.amount,
            amount_refund_pending=ledger.amount_refund_pending - refund.amount,
        )
    ledger = attrs.evolve(ledger, refunds=_replace_refund(ledger, refund, updated))
    notice = _notify(
        step,
        0,
        NotificationTopic.REFUNDED,
        f"A refund of {refund.amount} has been paid back to you.",
        refund_id=refund.refund_id,
        amount=str(refund.amount),
    )
    return step.commit((notice,), ledger=ledger)


def _apply_fail_refund(step: Step) -> tuple[Order, HistoryEntry]:
    command = step.command
    assert isinstance(command, c.FailRefund)
    ledger = step.order.ledger
    refund = ledger.refund(command.refund_id)
    assert refund is not None
    updated = attrs.evolve(
        refund,
        status=RefundStatus.FAILED,
        last_error=command.error or ("declined" if command.declined else "outcome unknown"),
        declined=command.declined,
    )
    ledger = attrs.evolve(ledger, refunds=_replace_refund(ledger, refund, updated))
    return step.commit(ledger=ledger)


def _apply_retry_refund(step: Step) -> tuple[Order, HistoryEntry]:
    command = step.command
    assert isinstance(command, c.RetryRefund)
    ledger = step.order.ledger
    refund = ledger.refund(command.refund_id)
    assert refund is not None
    attempt = refund.attempts + 1
    # D-17: a new key only after a known decline; after an unknown outcome the provider may
    # still pay the earlier request, so the retry must carry the same key.
    key_attempt = attempt if refund.declined else refund.key_attempt
    updated = attrs.evolve(
        refund,
        status=RefundStatus.PENDING,
        attempts=attempt,
        last_error="",
        key_attempt=key_attempt,
        declined=False,
    )
    effect = RequestRefund(
        step.order.id,
        step.version,
        0,
        refund.refund_id,
        refund.amount,
        refund.reason,
        refund.payment_reference,
        attempt,
        updated.idempotency_key,
    )
    ledger = attrs.evolve(ledger, refunds=_replace_refund(ledger, refund, updated))
    return step.commit((effect,), ledger=ledger)


# ---------------------------------------------------------------------------------------------
# The definition

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


def _held_from(*states: OrderState) -> tuple[str, Condition]:
    wanted = frozenset(states)
    name = "held from " + " or ".join(state.value for state in states)
    return name, lambda order: order.hold is not None and order.hold.from_state in wanted


def _held_from_not(*states: OrderState) -> tuple[str, Condition]:
    unwanted = frozenset(states)
    name = "held from other than " + " or ".join(state.value for state in states)
    return name, lambda order: order.hold is not None and order.hold.from_state not in unwanted


_CUSTOMER_PREPARATION_STARTED = Refusal(
    "close.preparation_started",
    "The warehouse has started preparing this order, so it can no longer be cancelled online.",
    "Contact customer service, who can still stop the order before it ships.",
    "CL-6",
)

_TRANSITIONS: list[Transition] = [
    Transition(c.BeginPayment, (S.PENDING_PAYMENT,), None, _apply_begin_payment,
               frozenset({CUSTOMER, SYSTEM}),
               guards=(_guard_payment_window, _guard_payment_attempts), rule="D-10, D-16"),
    Transition(c.FailPayment, (S.PENDING_PAYMENT,), None, _apply_fail_payment,
               frozenset({CUSTOMER, SYSTEM}), guards=(_guard_payment_in_progress_matches,),
               rule="D-10, D-16"),
    Transition(c.Pay, (S.PENDING_PAYMENT,), S.PAID, _apply_pay,
               frozenset({SYSTEM, STAFF}), Permission.RECORD_PAYMENT,
               guards=(_guard_pay_currency, _guard_pay_positive), rule="LC-1"),
    Transition(c.Pay, (S.ON_HOLD,), None, _apply_pay_while_held,
               frozenset({SYSTEM, STAFF}), Permission.RECORD_PAYMENT,
               when=_held_from(S.PENDING_PAYMENT),
               guards=(_guard_pay_currency, _guard_pay_positive), rule="LC-6"),
    Transition(c.Pay, (*_PAID_ONWARDS, S.CLOSED), None, _apply_unapplied_payment,
               frozenset({SYSTEM, STAFF}), Permission.RECORD_PAYMENT, rule="RK-3, D-3, D-10"),
    Transition(c.Pay, (S.ON_HOLD,), None, _apply_unapplied_payment,
               frozenset({SYSTEM, STAFF}), Permission.RECORD_PAYMENT,
               when=_held_from_not(S.PENDING_PAYMENT), rule="RK-3, D-3"),
    Transition(c.ApproveReview, (S.PAID,), S.AWAITING_SHIPMENT, _apply_approve,
               frozenset({STAFF, SYSTEM}), Permission.REVIEW,
               guards=(_guard_review_address, _guard_review_amount), rule="LC-2"),
    Transition(c.StartFulfilment, (S.AWAITING_SHIPMENT,), S.IN_FULFILMENT, Step.commit,
               frozenset({STAFF, SYSTEM}), Permission.FULFIL, rule="LC-1"),
    Transition(c.WithdrawFromFulfilment, (S.IN_FULFILMENT,), S.AWAITING_SHIPMENT, Step.commit,
               frozenset({STAFF, SYSTEM}), Permission.FULFIL, rule="LC-6, D-2"),
    Transition(c.Ship, (S.IN_FULFILMENT,), S.SHIPPED, _apply_ship,
               frozenset({STAFF, SYSTEM}), Permission.SHIP,
               guards=(_guard_ship_carrier, _guard_ship_tracking), rule="LC-3"),
    Transition(c.ConfirmDelivery, (S.SHIPPED,), S.DELIVERED, _apply_deliver,
               frozenset({STAFF, SYSTEM}), Permission.DELIVERY, rule="LC-1"),
    Transition(c.ConfirmReceipt, (S.DELIVERED,), S.COMPLETED, Step.commit,
               frozenset({CUSTOMER, STAFF}), Permission.COMPLETE, rule="LC-4"),
    Transition(c.AutoConfirmReceipt, (S.DELIVERED,), S.COMPLETED, Step.commit,
               frozenset({SYSTEM}), guards=(_guard_auto_confirm,), rule="LC-4, TM-5"),
    Transition(c.Close, (S.PENDING_PAYMENT, S.PAID, S.AWAITING_SHIPMENT), S.CLOSED, _apply_close,
               frozenset({CUSTOMER, STAFF}), Permission.CLOSE,
               guards=(_guard_close_reason_for_actor, _guard_close_note), rule="CL-2, CL-6, D-1"),
    Transition(c.Close, (S.ON_HOLD,), S.CLOSED, _apply_close,
               frozenset({STAFF}), Permission.CLOSE, when=_held_from(*_CLOSABLE_HELD),
               guards=(_guard_close_note,), rule="D-13"),
    Transition(c.AutoCloseUnpaid, (S.PENDING_PAYMENT,), S.CLOSED, _apply_auto_close,
               frozenset({SYSTEM}),
               guards=(_guard_unpaid_timer, _guard_no_payment_in_progress), rule="CL-7, D-10"),
    Transition(c.Hold, _BEFORE_SHIPMENT, S.ON_HOLD, _apply_hold,
               frozenset({STAFF, SYSTEM}), Permission.HOLD, rule="LC-6"),
    *(
        Transition(c.Release, (S.ON_HOLD,), state, _apply_release,
                   frozenset({STAFF}), Permission.HOLD, when=_held_from(state), rule="LC-6")
        for state in _BEFORE_SHIPMENT
    ),
    Transition(c.ChangePrice, (S.PENDING_PAYMENT,), None, _apply_change_price,
               frozenset({STAFF}), Permission.CHANGE_PRICE,
               guards=(_guard_price_line, _guard_price_money, guard_price_total,
                       guard_corrections), rule="LC-5"),
    Transition(c.ChangeLines, (S.PENDING_PAYMENT,), None, _apply_change_lines,
               frozenset({STAFF}), Permission.CHANGE_PRICE,
               guards=(_guard_lines_currency, guard_lines_limits, guard_corrections),
               rule="LC-5"),
    Transition(c.ChangeAddress, (*_BEFORE_SHIPMENT, S.ON_HOLD), None, _apply_change_address,
               frozenset({CUSTOMER, STAFF}), Permission.CHANGE_ADDRESS,
               guards=(guard_corrections,), rule="LC-7"),
    Transition(c.ConfirmRefund, _ALL, None, _apply_confirm_refund,
               frozenset({SYSTEM, STAFF}), Permission.REFUND,
               guards=(_refund_guard(RefundStatus.PENDING),), rule="AS-6"),
    Transition(c.FailRefund, _ALL, None, _apply_fail_refund,
               frozenset({SYSTEM, STAFF}), Permission.REFUND,
               guards=(_refund_guard(RefundStatus.PENDING),), rule="AS-6, D-17"),
    Transition(c.RetryRefund, _ALL, None, _apply_retry_refund,
               frozenset({SYSTEM, STAFF}), Permission.REFUND,
               guards=(_refund_guard(RefundStatus.FAILED),), rule="AS-6, D-17"),
]  # fmt: skip


_AFTER_SALES = "Open an after-sales case (a return or a refund) instead."

STATE_REFUSALS: dict[tuple[type[c.Command], OrderState], Refusal] = {
    (c.Close, S.IN_FULFILMENT): Refusal(
        "close.in_fulfilment",
        "The warehouse is packing this order, so it cannot be closed now.",
        "Withdraw the order from fulfilment first, then close it.",
        "CL-1, D-2",
    ),
    (c.Close, S.SHIPPED): Refusal(
        "close.already_shipped",
        "The order has already shipped, so it cannot be closed.",
        _AFTER_SALES,
        "CL-1",
    ),
    (c.Close, S.DELIVERED): Refusal(
        "close.already_delivered",
        "The order has already been delivered, so it cannot be closed.",
        _AFTER_SALES,
        "CL-1",
    ),
    (c.Close, S.COMPLETED): Refusal(
        "close.already_completed",
        "The order is completed, so it cannot be closed.",
        _AFTER_SALES,
        "CL-1, LC-9",
    ),
    (c.Close, S.CLOSED): Refusal(
        "close.already_closed",
        "The order is already closed.",
        "Nothing to do: look at the order's closure for the reason.",
        "D-3",
    ),
    **{
        (c.Ship, state): Refusal(
            "ship.not_ready",
            "The order is not ready to ship: the warehouse has not started on it.",
            "Pass the review and start fulfilment first.",
            "LC-1",
        )
        for state in (S.PENDING_PAYMENT, S.PAID, S.AWAITING_SHIPMENT)
    },
    (c.Ship, S.ON_HOLD): Refusal(
        "ship.on_hold",
        "The order is on hold and cannot ship until the hold is released.",
        "Resolve the exception case and release the hold first.",
        "LC-6",
    ),
    **{
        (c.Ship, state): Refusal(
            "ship.already_shipped",
            "The order has already shipped.",
            "Nothing to do: the tracking number is on the order.",
            "LC-3",
        )
        for state in (S.SHIPPED, S.DELIVERED, S.COMPLETED)
    },
    **{
        (command, state): Refusal(
            "price.locked_after_payment",
            "The price can only be changed before the order is paid.",
            "After payment a price error is an exception: open a price-error case.",
            "LC-5",
        )
        for command in (c.ChangePrice, c.ChangeLines)
        for state in OrderState
        if state is not S.PENDING_PAYMENT
    },
    **{
        (c.ChangeAddress, state): Refusal(
            "address.already_shipped",
            "The parcel is already with the carrier, so the address cannot be changed here.",
            "Ask the carrier to redirect it: open a logistics exception case.",
            "LC-7",
        )
        for state in (S.SHIPPED, S.DELIVERED, S.COMPLETED)
    },
    **{
        (c.Hold, state): Refusal(
            "hold.already_shipped",
            "The order has already shipped and cannot be held.",
            "Open an exception case with the carrier instead.",
            "LC-6",
        )
        for state in (S.SHIPPED, S.DELIVERED)
    },
    (c.Hold, S.ON_HOLD): Refusal(
        "hold.already_held", "The order is already on hold.", "Nothing to do.", "LC-6"
    ),
    (c.ApproveReview, S.PENDING_PAYMENT): Refusal(
        "review.not_paid",
        "The order has not been paid yet, so it cannot pass review.",
        "Wait for the payment.",
        "LC-2",
    ),
    (c.ApproveReview, S.ON_HOLD): Refusal(
        "review.on_hold",
        "The order is on hold and cannot pass review until it is released.",
        "Resolve the exception case and release the hold first.",
        "LC-6",
    ),
    (c.ConfirmReceipt, S.SHIPPED): Refusal(
        "receipt.not_delivered",
        "The carrier has not reported the parcel delivered yet.",
        "Wait for delivery, or ask the carrier to confirm it.",
        "LC-4",
    ),
    (c.AutoConfirmReceipt, S.SHIPPED): Refusal(
        "receipt.not_delivered",
        "The carrier has not reported the parcel delivered yet.",
        "Wait for delivery.",
        "LC-4",
    ),
}

ACTOR_REFUSALS: dict[tuple[type[c.Command], OrderState, ActorKind], Refusal] = {
    (c.Close, S.IN_FULFILMENT, CUSTOMER): _CUSTOMER_PREPARATION_STARTED,
}

LIFECYCLE = Definition(
    states=tuple(OrderState),
    initial=S.PENDING_PAYMENT,
    final=frozenset({S.COMPLETED, S.CLOSED}),
    transitions=tuple(_TRANSITIONS),
    refusals=STATE_REFUSALS,
    actor_refusals=ACTOR_REFUSALS,
)
"""The order lifecycle of DOMAIN sections 1 and 2."""
