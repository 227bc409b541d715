"""The Order aggregate and the records it keeps: money, shipment, closure, hold, history.

An :class:`Order` is a frozen value. Handling a command never changes an order; it returns a
new one. Building an order with ``Order(...)`` (or loading one from a document) validates it
whole; the lifecycle's own copies skip that work because they are built from values already
checked, and are verified by the cheaper invariants of :mod:`orderflow.invariants` instead.
The checks of an order built whole are in :mod:`orderflow.consistency`.

The version is the length of the history (one entry per applied command, LC-8), and the
creation and update times are the times of the first and the last entry, so they can never
disagree with the history.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, NamedTuple

from orderflow.aftersales.case import AfterSalesCase
from orderflow.aftersales.policy import PolicySnapshot
from orderflow.consistency import (
    _aware,
    _check_cases,
    _check_exceptions,
    _check_history,
    _check_ledger,
    _check_records,
)
from orderflow.deadlines import Deadline, DeadlineKind
from orderflow.errors import InvalidInput
from orderflow.history import History
from orderflow.incidents.case import ExceptionCase
from orderflow.ledger import Ledger, LineShare, Payment, Refund, RefundStatus
from orderflow.model import (
    Address,
    CloseReason,
    OrderLine,
    OrderState,
    validate_lines,
)
from orderflow.money import Money
from orderflow.records import Closure, HistoryEntry, HoldRecord, Shipment

__all__ = [
    "ORDER_FIELDS",
    "Closure",
    "Deadline",
    "DeadlineKind",
    "HistoryEntry",
    "HoldRecord",
    "Ledger",
    "LineShare",
    "Order",
    "Payment",
    "Refund",
    "RefundStatus",
    "Shipment",
]


class _OrderFields(NamedTuple):
    id: str
    customer_id: str
    lines: tuple[OrderLine, ...]
    address: Address
    state: OrderState
    ledger: Ledger
    history: History
    shipment: Shipment | None
    closure: Closure | None
    hold: HoldRecord | None
    deadlines: tuple[Deadline, ...]
    cases: tuple[AfterSalesCase, ...] = ()
    policy: PolicySnapshot | None = None
    exceptions: tuple[ExceptionCase, ...] = ()


ORDER_FIELDS: tuple[str, ...] = _OrderFields._fields
"""The names of an order's fields, in order (for loaders and store authors)."""


class Order(_OrderFields):
    """An order: its lines, address, state, money, shipment, history and deadlines.

    Build a new order with :meth:`orderflow.Lifecycle.place`; ``Order(...)`` is for loading
    one, takes every field by keyword, and validates everything it is given. An order is an
    immutable value (a named tuple of its fields): handling a command returns a new one,
    built by the engine from values already validated, so that a command costs the same
    whatever the order holds.

    Attributes:
        id: the order id.
        customer_id: the buyer.
        lines: what was ordered.
        address: where it goes, with the recipient's contact.
        state: where it is in the lifecycle.
        ledger: what is due, paid and refunded.
        history: one entry per applied command, oldest first (a :class:`History`: an
            append-only sequence shared with the orders it was made from).
        shipment: the parcel, once shipped.
        closure: why and when it was closed, once closed.
        hold: why it is held and the state to return to, while on hold.
        deadlines: the timers running: the lifecycle's in the current state, and those of
            the open after-sales cases (D-15).
        cases: the after-sales cases, oldest first (AS-1); they live inside the order, so
            one version and one save cover the order, its cases and its money.
        policy: the after-sales policy the order was placed under (its settings and rule
            ids), so that a later policy change never reaches it; ``None`` for an order
            placed before policies were snapshotted.
        exceptions: the exception cases, oldest first (EX-6); like after-sales cases they
            live inside the order.
    """

    __slots__ = ()

    def __new__(
        cls,
        *,
        id: str,
        customer_id: str,
        lines: Iterable[OrderLine],
        address: Address,
        state: OrderState,
        ledger: Ledger,
        history: Iterable[HistoryEntry],
        shipment: Shipment | None = None,
        closure: Closure | None = None,
        hold: HoldRecord | None = None,
        deadlines: Iterable[Deadline] = (),
        cases: Iterable[AfterSalesCase] = (),
        policy: PolicySnapshot | None = None,
        exceptions: Iterable[ExceptionCase] = (),
    ) -> Order:
        """Validate and build an order.

        Raises:
            InvalidInput: naming the first field that is missing, malformed or inconsistent
                with the others.
        """
        for name, value in (("id", id), ("customer_id", customer_id)):
            if not isinstance(value, str) or not value.strip():
                raise InvalidInput(name, value, "must be a non-empty string")
        checked_lines = validate_lines(lines)
        if not isinstance(address, Address):
            raise InvalidInput("address", address, "must be an Address")
        if not isinstance(state, OrderState):
            raise InvalidInput("state", state, "must be an OrderState")
        _check_ledger(ledger, checked_lines)
        if not isinstance(history, History):
            if isinstance(history, str | bytes) or not isinstance(history, Iterable):
                raise InvalidInput("history", history, "must be a sequence of history entries")
            history = History(history)
        _check_history(history, state, id, customer_id)
        _check_records(state, shipment, closure, hold)
        if isinstance(deadlines, str | bytes) or not isinstance(deadlines, Iterable):
            raise InvalidInput("deadlines", deadlines, "must be a sequence of deadlines")
        checked_deadlines = tuple(deadlines)
        for index, deadline in enumerate(checked_deadlines):
            if not isinstance(deadline, Deadline):
                raise InvalidInput(f"deadlines[{index}]", deadline, "must be a Deadline")
            _aware(f"deadlines[{index}].due_at", deadline.due_at)
        if policy is not None and not isinstance(policy, PolicySnapshot):
            raise InvalidInput("policy", policy, "must be a PolicySnapshot or None")
        return _tuple_new(
            cls,
            (
                id,
                customer_id,
                checked_lines,
                address,
                state,
                ledger,
                history,
                shipment,
                closure,
                hold,
                checked_deadlines,
                _check_cases(cases),
                policy,
                _check_exceptions(exceptions),
            ),
        )

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle the fields; unpickling rebuilds the order without validating it again."""
        return (_rebuild, (tuple(self),))

    @property
    def version(self) -> int:
        """How many commands have been applied, the placing one included (1, 2, ...)."""
        return len(self.history)

    @property
    def created_at(self) -> datetime:
        """When the order was placed."""
        return self.history.first.at

    @property
    def updated_at(self) -> datetime:
        """When the last command was applied."""
        return self.history.last.at

    @property
    def currency(self) -> str:
        """The order's currency."""
        return self.ledger.amount_due.currency

    @property
    def amount_due(self) -> Money:
        """What the order costs."""
        return self.ledger.amount_due

    @property
    def amount_paid(self) -> Money:
        """What has been paid (applied payments only)."""
        return self.ledger.amount_paid

    @property
    def amount_refunded(self) -> Money:
        """What has been refunded and confirmed."""
        return self.ledger.amount_refunded

    @property
    def carrier(self) -> str | None:
        """The carrier, once shipped."""
        return self.shipment.carrier if self.shipment else None

    @property
    def tracking_number(self) -> str | None:
        """The tracking number, once shipped."""
        return self.shipment.tracking_number if self.shipment else None

    @property
    def close_reason(self) -> CloseReason | None:
        """Why the order was closed, once closed."""
        return self.closure.reason if self.closure else None

    @property
    def held_from(self) -> OrderState | None:
        """The state a held order returns to on release."""
        return self.hold.from_state if self.hold else None

    @property
    def is_final(self) -> bool:
        """Whether the lifecycle has ended (LC-9)."""
        return self.state.is_final

    @property
    def command_ids(self) -> frozenset[str]:
        """The ids of every command already applied."""
        return self.history.command_ids()

    def entry_for(self, command_id: str) -> HistoryEntry | None:
        """The history entry of the command with this id, if it was applied (constant time,
        whatever the history's length)."""
        return self.history.entry_for(command_id)

    @property
    def next_deadline(self) -> Deadline | None:
        """The earliest deadline, if any timer is running."""
        return min(self.deadlines, key=lambda deadline: deadline.due_at, default=None)

    def case(self, case_id: str) -> AfterSalesCase | None:
        """The after-sales case with this id, if the order has it."""
        for case in self.cases:
            if case.case_id == case_id:
                return case
        return None

    @property
    def open_cases(self) -> tuple[AfterSalesCase, ...]:
        """The after-sales cases that have not ended, oldest first."""
        return tuple(case for case in self.cases if case.is_open)

    def exception(self, case_id: str) -> ExceptionCase | None:
        """The exception case with this id, if the order has it."""
        for case in self.exceptions:
            if case.case_id == case_id:
                return case
        return None

    @property
    def open_exceptions(self) -> tuple[ExceptionCase, ...]:
        """The exception cases not resolved yet, oldest first."""
        return tuple(case for case in self.exceptions if case.is_open)

    def case_history(self, case_id: str) -> tuple[HistoryEntry, ...]:
        """A case's own history (an after-sales or an exception case): the order's entries
        that moved it, oldest first."""
        return tuple(
            entry
            for entry in self.history
            if any(moved.case_id == case_id for moved in entry.cases)
            or any(moved.case_id == case_id for moved in entry.exceptions)
        )


_tuple_new = tuple.__new__


def _rebuild(fields: tuple[Any, ...]) -> Order:
    return _tuple_new(Order, fields)
