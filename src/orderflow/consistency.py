"""The checks an order makes when it is built whole: its cases, money, history and records
agree with one another and with its state.

``Order(...)`` runs them (loading an order from a document goes through it); the
lifecycle's own copies skip them and are verified by the cheaper step invariants of
:mod:`orderflow.invariants`. Each raises :class:`~orderflow.errors.InvalidInput` naming
the field and the problem.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from orderflow.aftersales.case import AfterSalesCase
from orderflow.commands import Command, PlaceOrder
from orderflow.effects import Effect
from orderflow.errors import InvalidInput
from orderflow.history import History
from orderflow.incidents.case import ExceptionCase
from orderflow.inputs import unique_items
from orderflow.ledger import Ledger, RefundStatus
from orderflow.model import Actor, ActorKind, OrderLine, OrderState
from orderflow.money import Money
from orderflow.records import Closure, HistoryEntry, HoldRecord, Shipment

__all__: list[str] = []


def _aware(field: str, value: object) -> datetime:
    if not isinstance(value, datetime):
        raise InvalidInput(field, value, "must be a datetime")
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidInput(field, value, "must be timezone-aware")
    return value


def _check_cases(cases: Iterable[AfterSalesCase]) -> tuple[AfterSalesCase, ...]:
    return unique_items(
        "cases",
        cases,
        AfterSalesCase,
        _case_id,
        what="after-sales cases",
        must="must be an AfterSalesCase",
        key_name="case_id",
        repeated="case ids are unique",
    )


def _check_exceptions(cases: Iterable[ExceptionCase]) -> tuple[ExceptionCase, ...]:
    return unique_items(
        "exceptions",
        cases,
        ExceptionCase,
        _case_id,
        what="exception cases",
        must="must be an ExceptionCase",
        key_name="case_id",
        repeated="ids are unique",
    )


def _case_id(case: AfterSalesCase | ExceptionCase) -> str:
    return case.case_id


def _check_ledger(ledger: object, lines: tuple[OrderLine, ...]) -> None:
    if not isinstance(ledger, Ledger):
        raise InvalidInput("ledger", ledger, "must be a Ledger")
    currency = lines[0].unit_price.currency
    for name in ("amount_due", "amount_paid", "amount_refunded", "amount_refund_pending"):
        value = getattr(ledger, name)
        if not isinstance(value, Money) or value.currency != currency:
            raise InvalidInput(f"ledger.{name}", value, f"must be Money in {currency}")
    due = Money.sum((line.paid_total for line in lines), currency)
    if ledger.amount_due != due:
        raise InvalidInput("ledger.amount_due", ledger.amount_due, f"lines add up to {due}")
    applied = Money.sum((p.amount for p in ledger.payments if p.applied), currency)
    if ledger.amount_paid != applied:
        raise InvalidInput(
            "ledger.amount_paid", ledger.amount_paid, f"payments add up to {applied}"
        )
    for index, refund in enumerate(ledger.refunds):
        if not isinstance(refund.amount, Money) or refund.amount.currency != currency:
            raise InvalidInput(f"ledger.refunds[{index}].amount", refund.amount, f"not {currency}")
        attempts = refund.attempts
        if isinstance(attempts, bool) or not isinstance(attempts, int) or attempts < 1:
            raise InvalidInput(f"ledger.refunds[{index}].attempts", attempts, "must be at least 1")
    counting = [refund for refund in ledger.refunds if refund.counts_against_paid]
    refunded = Money.sum(
        (r.amount for r in counting if r.status is RefundStatus.REFUNDED), currency
    )
    if ledger.amount_refunded != refunded:
        raise InvalidInput("ledger.amount_refunded", ledger.amount_refunded, f"is {refunded}")
    pending = Money.sum((r.amount for r in counting if r.in_flight), currency)
    if ledger.amount_refund_pending != pending:
        raise InvalidInput(
            "ledger.amount_refund_pending", ledger.amount_refund_pending, f"is {pending}"
        )
    if ledger.amount_refunded + ledger.amount_refund_pending > ledger.amount_paid:
        raise InvalidInput("ledger.refunds", ledger.refunds, "refunds exceed what was paid")
    if ledger.amount_paid - ledger.overpayment > ledger.amount_due:
        raise InvalidInput("ledger.amount_paid", ledger.amount_paid, "more than due")


def _check_history(history: History, state: OrderState, order_id: str, customer_id: str) -> None:
    """The checks a loaded history must pass, each O(1) per entry (LC-8).

    It is a chain of states from the entry that placed this order (of this customer) to the
    order's state, in time order; every effect belongs to this order, at its entry's version
    and position; a customer acting on the order is its customer.
    """
    if not history:
        raise InvalidInput("history", history, "an order has at least the entry that placed it")
    previous: HistoryEntry | None = None
    for index, entry in enumerate(history):
        if not isinstance(entry, HistoryEntry):
            raise InvalidInput(f"history[{index}]", entry, "must be a HistoryEntry")
        _check_entry(index, entry, order_id, customer_id)
        if previous is not None:
            if entry.at < previous.at:
                raise InvalidInput(
                    f"history[{index}].at", entry.at, "is earlier than the entry before it"
                )
            if entry.from_state != previous.to_state:
                raise InvalidInput(
                    f"history[{index}].from_state",
                    entry.from_state,
                    f"expected {previous.to_state}, where the entry before it ended",
                )
        previous = entry
    if history[-1].to_state != state:
        raise InvalidInput("state", state, f"history ends in {history[-1].to_state}")


def _check_entry(index: int, entry: HistoryEntry, order_id: str, customer_id: str) -> None:
    where = f"history[{index}]"
    command, actor = entry.command, entry.actor
    if not isinstance(command, Command):
        raise InvalidInput(f"{where}.command", command, "must be a Command")
    if not isinstance(actor, Actor):
        raise InvalidInput(f"{where}.actor", actor, "must be an Actor")
    _aware(f"{where}.at", entry.at)
    if not isinstance(entry.to_state, OrderState):
        raise InvalidInput(f"{where}.to_state", entry.to_state, "must be an OrderState")
    if index == 0:
        if entry.from_state is not None:
            raise InvalidInput(f"{where}.from_state", entry.from_state, "the first entry has none")
        if not isinstance(command, PlaceOrder):
            raise InvalidInput(f"{where}.command", command.event, "the first entry places it")
        if command.order_id != order_id or command.customer_id != customer_id:
            raise InvalidInput(
                f"{where}.command", command.event, "places another order or customer's order"
            )
    elif isinstance(command, PlaceOrder):
        raise InvalidInput(f"{where}.command", command.event, "only the first entry places it")
    if actor.kind is ActorKind.CUSTOMER and actor.id != customer_id:
        raise InvalidInput(f"{where}.actor", actor.kind, "a customer other than the order's")
    effects = entry.effects
    if not isinstance(effects, tuple):
        raise InvalidInput(f"{where}.effects", effects, "must be a tuple of effects")
    for seq, effect in enumerate(effects):
        if not isinstance(effect, Effect):
            raise InvalidInput(f"{where}.effects[{seq}]", effect, "must be an Effect")
        if (effect.order_id, effect.version, effect.seq) != (order_id, index + 1, seq):
            raise InvalidInput(
                f"{where}.effects[{seq}]",
                effect.id,
                f"an effect of this entry has the id {order_id}/{index + 1}/{seq}",
            )


_SHIPPED_STATES = frozenset({OrderState.SHIPPED, OrderState.DELIVERED, OrderState.COMPLETED})


def _check_records(
    state: OrderState,
    shipment: Shipment | None,
    closure: Closure | None,
    hold: HoldRecord | None,
) -> None:
    if (state is OrderState.ON_HOLD) != (hold is not None):
        raise InvalidInput("hold", hold, f"a hold record goes with on_hold, state is {state}")
    if (state is OrderState.CLOSED) != (closure is not None):
        raise InvalidInput("closure", closure, f"a closure goes with closed, state is {state}")
    # D-12: an order refunded in full after it shipped closes and keeps its shipment.
    refunded_after_shipping = (
        state is OrderState.CLOSED
        and closure is not None
        and closure.reason.code == "refunded_in_full"
    )
    if not refunded_after_shipping and (state in _SHIPPED_STATES) != (shipment is not None):
        raise InvalidInput("shipment", shipment, f"state {state} disagrees with the shipment")
    if hold is not None and (
        not isinstance(hold, HoldRecord)
        or hold.from_state in (OrderState.ON_HOLD, *_SHIPPED_STATES, OrderState.CLOSED)
    ):
        raise InvalidInput("hold", hold, "an order is held only from a state before shipment")
