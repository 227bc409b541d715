"""A step: the working data of one command being applied, and the builder of the new order.

The engine (:mod:`orderflow.engine`) makes a :class:`Step` for the transition a command takes;
its guards read it, and its applier calls :meth:`Step.commit` to build the new order with one
more history entry. The new order is built from values already validated, without going
through ``Order.__init__``'s checks; the engine's invariants check the result.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import NamedTuple, cast

from orderflow import commands as c
from orderflow.aftersales.case import AfterSalesCase, CaseTransition
from orderflow.aftersales.policy import PolicySnapshot
from orderflow.aftersales.windows import return_windows
from orderflow.deadlines import WINDOW_KINDS
from orderflow.effects import Effect
from orderflow.incidents.case import ExceptionCase
from orderflow.incidents.context import Context
from orderflow.incidents.service_levels import service_deadlines
from orderflow.incidents.transition import ExceptionTransition
from orderflow.model import Actor, Address, OrderLine, OrderState
from orderflow.order import (
    Closure,
    Deadline,
    HistoryEntry,
    HoldRecord,
    Ledger,
    Order,
    Shipment,
)
from orderflow.settings import Settings

__all__ = ["Step"]

_KEEP: object = object()


class _StepFields(NamedTuple):
    order: Order
    command: c.Command | None
    actor: Actor
    at: datetime
    dest: enum.StrEnum
    settings: Settings
    context: Context | None = None


class Step(_StepFields):
    """The working data of one command being applied: what the guards and appliers read.

    An immutable named tuple, made once per command.

    Attributes:
        order: the order before the command.
        command: the command; ``None`` while the engine asks which commands an actor may
            send (guards that read the payload are not run then).
        actor: who fires it.
        at: when.
        dest: the state the transition leads to.
        settings: the lifecycle settings.
        context: what the host knows around the order (stock, list prices, recent orders),
            when the service gathered it for a command that reads it (review, a restock
            check, PT-4); ``None`` otherwise.
    """

    __slots__ = ()

    @property
    def version(self) -> int:
        """The version the command will produce."""
        return self.order.history._length + 1

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
        cases: tuple[AfterSalesCase, ...] | None = None,
        moved: tuple[CaseTransition, ...] = (),
        state: OrderState | None = None,
        exceptions: tuple[ExceptionCase, ...] | None = None,
        raised: tuple[ExceptionTransition, ...] = (),
    ) -> tuple[Order, HistoryEntry]:
        """Build the new order: the changes given, the new state, one more history entry.

        The order's new state is the transition's destination for a command of the order's
        lifecycle, and the state it had for a command of an after-sales case, unless
        ``state`` says otherwise (a full refund closing the order, D-12). ``deadlines`` are
        the order's own (the lifecycle's timers and the return windows); the cases' own
        deadlines are added to them. ``moved`` records what
        the command did to cases.

        This is the hot path of every command: the new order is built from values already
        validated, without going through ``Order.__init__``'s checks; the machine's
        invariants check the result.
        """
        (
            order_id,
            customer_id,
            old_lines,
            old_address,
            source,
            old_ledger,
            history,
            old_shipment,
            old_closure,
            old_hold,
            old_deadlines,
            old_cases,
            policy,
            old_exceptions,
        ) = self.order
        dest = self.dest
        if state is None:
            state = dest if dest.__class__ is OrderState else source
        command = self.command
        assert command is not None
        assert state is not None
        entry = _tuple_new(
            HistoryEntry, (source, state, command, self.actor, self.at, effects, moved, raised)
        )
        if ledger is None:
            ledger = old_ledger
        new_shipment = cast(Shipment | None, old_shipment if shipment is _KEEP else shipment)
        new_hold = cast(HoldRecord | None, old_hold if hold is _KEEP else hold)
        keep = deadlines is None and state is source and cases is None and exceptions is None
        if cases is None:
            cases = old_cases
        if exceptions is None:
            exceptions = old_exceptions
        if keep:
            deadlines = old_deadlines  # the common case: nothing timed changed
        else:
            if deadlines is None:
                if state is source:
                    deadlines = tuple(d for d in old_deadlines if d.case_id is None)
                else:
                    deadlines = self._deadlines_for(
                        state, source, ledger, new_shipment, policy, new_hold, exceptions
                    )
            if cases:
                deadlines = (*deadlines, *_case_deadlines(cases))
            if exceptions:
                deadlines = (*deadlines, *_case_deadlines(exceptions))
        new = _tuple_new(
            Order,
            (
                order_id,
                customer_id,
                old_lines if lines is None else lines,
                old_address if address is None else address,
                state,
                ledger,
                history.append(entry),
                new_shipment,
                old_closure if closure is _KEEP else closure,
                new_hold,
                deadlines,
                cases,
                policy,
                exceptions,
            ),
        )
        return new, entry

    def _deadlines_for(
        self,
        state: OrderState,
        source: OrderState,
        ledger: Ledger,
        shipment: Shipment | None,
        policy: PolicySnapshot | None,
        hold: HoldRecord | None,
        exceptions: tuple[ExceptionCase, ...],
    ) -> tuple[Deadline, ...]:
        """The order's own deadlines in a new state: the lifecycle's timers, the service
        levels (TM-2, TM-3, TM-4), and the return windows (TM-6), set at delivery and kept
        until they close or the order closes."""
        settings = self.settings
        order = self.order
        own: tuple[Deadline, ...] = ()
        if state in _TIMED_STATES:
            own = settings.deadlines_for(state, order.history.first.at, ledger, shipment)
        if state is _CLOSED:
            return own
        if state in _SERVICE_STATES:
            own = (*own, *service_deadlines(state, ledger, shipment, hold, exceptions, settings))
        if state is _DELIVERED and source is _SHIPPED:
            assert shipment is not None
            assert shipment.delivered_at is not None
            after_sales = settings.policy.settings if policy is None else policy.settings
            return (*own, *return_windows(order.lines, shipment.delivered_at, after_sales))
        old = order.deadlines
        if not old:
            return own
        windows = tuple([d for d in old if d.kind in WINDOW_KINDS])
        return (*own, *windows) if windows else own


def _case_deadlines(
    cases: tuple[AfterSalesCase, ...] | tuple[ExceptionCase, ...],
) -> tuple[Deadline, ...]:
    return tuple(case.deadline for case in cases if case.deadline is not None)


_tuple_new = tuple.__new__
_TIMED_STATES = frozenset({OrderState.PENDING_PAYMENT, OrderState.DELIVERED})
_CLOSED = OrderState.CLOSED
_SERVICE_STATES = frozenset(
    {
        OrderState.PAID,
        OrderState.AWAITING_SHIPMENT,
        OrderState.IN_FULFILMENT,
        OrderState.ON_HOLD,
        OrderState.SHIPPED,
    }
)
_DELIVERED = OrderState.DELIVERED
_SHIPPED = OrderState.SHIPPED
