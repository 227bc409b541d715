"""A step: the working data of one command being applied, and the builder of the new order.

The engine (:mod:`orderflow.engine`) makes a :class:`Step` for the transition a command takes;
its guards read it, and its applier calls :meth:`Step.commit` to build the new order with one
more history entry. The new order is built from values already validated, without going
through ``Order.__init__``'s checks; the engine's invariants check the result.
"""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple, cast

from orderflow import commands as c
from orderflow.effects import Effect
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
    dest: OrderState
    settings: Settings


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
    ) -> tuple[Order, HistoryEntry]:
        """Build the new order: the changes given, the new state, one more history entry.

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
        ) = self.order
        dest = self.dest
        command = self.command
        assert command is not None
        entry = _tuple_new(HistoryEntry, (source, dest, command, self.actor, self.at, effects))
        if ledger is None:
            ledger = old_ledger
        new_shipment = cast(Shipment | None, old_shipment if shipment is _KEEP else shipment)
        if deadlines is None:
            if dest is source:
                deadlines = old_deadlines
            elif dest in _TIMED_STATES:
                deadlines = self.settings.deadlines_for(
                    dest, history.first.at, ledger, new_shipment
                )
            else:
                deadlines = ()
        new = _tuple_new(
            Order,
            (
                order_id,
                customer_id,
                old_lines if lines is None else lines,
                old_address if address is None else address,
                dest,
                ledger,
                history.append(entry),
                new_shipment,
                old_closure if closure is _KEEP else closure,
                old_hold if hold is _KEEP else hold,
                deadlines,
            ),
        )
        return new, entry


_tuple_new = tuple.__new__
_TIMED_STATES = frozenset({OrderState.PENDING_PAYMENT, OrderState.DELIVERED})
