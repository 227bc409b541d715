"""The lifecycle engine: handle a command, dry-run it, list what is allowed, draw the diagram.

This is the only module that imports ``transitions``. The definition in
:mod:`orderflow.lifecycle` is loaded into one shared ``transitions.Machine`` per
:class:`Lifecycle`: ``transitions`` validates it, is the source of the Mermaid diagram, and
serves as a reference interpreter (:meth:`Lifecycle.handle_reference`). Commands are handled
through a table compiled from the same definition, ``(state, command class) -> transitions``,
which costs a dictionary look-up instead of a ``transitions`` trigger. A property test checks
that both interpreters agree on random command sequences.

Handling is a pure function of (order, command, actor, time): no I/O, no clock, no threads.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, NamedTuple, cast

import attrs
from transitions import Machine, MachineError
from transitions.core import EventData

from orderflow import commands as c
from orderflow.effects import Effect, NotificationTopic, NotifyCustomer, ReserveStock
from orderflow.errors import (
    CommandRefused,
    DefinitionError,
    InvalidInput,
    InvariantViolation,
    Refusal,
)
from orderflow.inputs import LATEST, check_time
from orderflow.lifecycle import LIFECYCLE, Definition, Settings, Step, Transition
from orderflow.model import Actor, ActorKind, OrderState
from orderflow.money import _EXACT
from orderflow.order import HistoryEntry, Ledger, Order

__all__ = ["Availability", "Lifecycle", "Outcome", "check_invariants"]


class Outcome(NamedTuple):
    """What handling a command produced (an immutable named tuple).

    Attributes:
        order: the order after the command (the same order when ``replayed``).
        effects: what the outside world must do, in order; each has a stable id.
        entry: the history entry the command produced (for a replay, the original entry).
        replayed: ``True`` when the command had already been applied (same command id, or
            the same payment reference and amount): nothing changed and the effects are the
            original ones, with their original ids, not new ones (D-3).
    """

    order: Order
    effects: tuple[Effect, ...]
    entry: HistoryEntry
    replayed: bool = False


@attrs.frozen
class Availability:
    """For an order and an actor: which commands are allowed now, and why the others are not.

    Commands that carry a payload are judged on state and actor only; their payload checks
    (a blank tracking number, say) run when the command itself is checked or handled.

    Attributes:
        allowed: the command classes the actor may send now.
        refused: for every other command class, the reasons it would be refused.
    """

    allowed: tuple[type[c.Command], ...]
    refused: dict[type[c.Command], tuple[Refusal, ...]]

    @property
    def allowed_events(self) -> tuple[str, ...]:
        """The event names of the allowed commands."""
        return tuple(command.event for command in self.allowed)

    def why_not(self, command: type[c.Command]) -> tuple[Refusal, ...]:
        """The reasons a command class is refused (empty when it is allowed)."""
        return self.refused.get(command, ())


_GENERIC_FINAL = {
    OrderState.CLOSED: "The order is closed; its lifecycle has ended.",
    OrderState.COMPLETED: "The order is completed; its lifecycle has ended.",
}


_SYSTEM = ActorKind.SYSTEM
_LATEST = LATEST
_PAY = c.Pay
_COMMAND = c.Command
_STAFF = ActorKind.STAFF
_CUSTOMER = ActorKind.CUSTOMER


_NOT_OWNER = Refusal(
    "actor.not_owner",
    "This order belongs to another customer.",
    "Customers act only on their own orders.",
    "CL-6",
)


class _Probe:
    """The model ``transitions`` moves when it interprets a command for reference."""

    __slots__ = ("chosen", "order", "state")

    def __init__(self, order: Order) -> None:
        self.order = order
        self.state = order.state.value
        self.chosen: Transition | None = None


class Lifecycle:
    """The order lifecycle engine, defined once per process and shared by all orders.

    Args:
        settings: timeouts and other defaults; :class:`~orderflow.lifecycle.Settings` by
            default.
        definition: the lifecycle definition; :data:`~orderflow.lifecycle.LIFECYCLE` by
            default.

    Raises:
        DefinitionError: the definition is inconsistent (see :meth:`validate`).
    """

    def __init__(
        self, settings: Settings | None = None, definition: Definition = LIFECYCLE
    ) -> None:
        if settings is not None and not isinstance(settings, Settings):
            raise InvalidInput("settings", settings, "must be orderflow.Settings")
        if not isinstance(definition, Definition):
            raise InvalidInput("definition", definition, "must be a lifecycle Definition")
        self.settings = settings or Settings()
        self.definition = definition
        self._machine = self._build_machine(definition)
        self.validate()
        self._table = self._compile(definition)
        self._commands = definition.commands

    # -- building ------------------------------------------------------------------------

    @staticmethod
    def _build_machine(definition: Definition) -> Machine:
        machine = Machine(
            model=None,
            states=[state.value for state in definition.states],
            initial=definition.initial.value,
            auto_transitions=False,
            send_event=True,
            ignore_invalid_triggers=False,
        )
        known = set(definition.states)
        for transition in definition.transitions:
            for state in (*transition.sources, *([transition.dest] if transition.dest else [])):
                if state not in known:
                    raise DefinitionError(
                        f"{transition.command.__name__}: state {state!r} is not in the definition"
                    )
            conditions: list[str | Callable[..., bool | None]] = []
            if transition.when is not None:
                condition = transition.when[1]

                def check(event: EventData, condition: Any = condition) -> bool:
                    probe = cast(_Probe, event.model)
                    return bool(condition(probe.order))

                conditions.append(check)

            def choose(event: EventData, transition: Transition = transition) -> None:
                probe = cast(_Probe, event.model)
                probe.chosen = transition

            for source in transition.sources:
                machine.add_transition(
                    trigger=transition.command.event,
                    source=source.value,
                    dest=transition.dest.value if transition.dest else None,
                    conditions=conditions,
                    before=[choose],
                )
        return machine

    @staticmethod
    def _compile(
        definition: Definition,
    ) -> dict[tuple[OrderState, type[c.Command]], tuple[Transition, ...]]:
        table: dict[tuple[OrderState, type[c.Command]], list[Transition]] = {}
        for transition in definition.transitions:
            for source in transition.sources:
                table.setdefault((source, transition.command), []).append(transition)
        return {key: tuple(value) for key, value in table.items()}

    def validate(self) -> None:
        """Check the definition: branches, final states and reachability.

        Raises:
            DefinitionError: a command has two unconditional transitions from one state (or an
                unconditional one before a conditional one, which would hide it), a final
                state has a way out, or a state cannot be reached from the initial state.
        """
        definition = self.definition
        for (source, event), candidates in self._compile(definition).items():
            for transition in candidates[:-1]:
                if transition.when is None:
                    raise DefinitionError(
                        f"{event.__name__} from {source}: an unconditional transition must be "
                        "the last of its branches"
                    )
            if source in definition.final:
                for transition in candidates:
                    if transition.dest is not None and transition.dest is not source:
                        raise DefinitionError(
                            f"final state {source} has a way out: {event.__name__}"
                        )
        reachable = {definition.initial}
        frontier = [definition.initial]
        while frontier:
            state = frontier.pop()
            for transition in definition.transitions:
                dests = [transition.dest] if transition.dest else []
                if state in transition.sources:
                    for dest in dests:
                        if dest not in reachable:
                            reachable.add(dest)
                            frontier.append(dest)
        unreachable = set(definition.states) - reachable
        if unreachable:
            names = ", ".join(sorted(state.value for state in unreachable))
            raise DefinitionError(f"states not reachable from {definition.initial}: {names}")

    # -- placing -------------------------------------------------------------------------

    def place(self, command: c.PlaceOrder, actor: Actor, at: datetime) -> Outcome:
        """Place a new order: version 1, ``pending_payment``, stock reserved, customer told.

        Args:
            command: the order to place.
            actor: the customer placing it (their id must be the order's customer id), or
                staff placing it on their behalf.
            at: when (timezone-aware, from 1970 up to 9000).

        Raises:
            InvalidInput: malformed arguments, or lines beyond the settings' limits (more
                lines per order or units per line than ``settings.limits`` allow).
            CommandRefused: ``place.not_owner`` when a customer places an order for another
                customer; ``place.not_allowed`` for the system.
        """
        if not isinstance(command, c.PlaceOrder):
            raise InvalidInput("command", command, "must be a PlaceOrder")
        _check_actor_and_time(actor, at)
        self.settings.limits.check_lines(command.lines)
        at = at.astimezone(UTC)  # times are kept as UTC instants (D-18)
        if actor.kind is ActorKind.SYSTEM:
            refusal = Refusal("place.not_allowed", "Orders are placed by customers or staff.")
            raise CommandRefused(command.order_id, "new", command.event, (refusal,))
        if actor.kind is ActorKind.CUSTOMER and actor.id != command.customer_id:
            refusal = Refusal(
                "place.not_owner", "A customer can only place orders for themselves.", "", "CL-6"
            )
            raise CommandRefused(command.order_id, "new", command.event, (refusal,))
        initial = self.definition.initial
        effects: tuple[Effect, ...] = (
            ReserveStock(command.order_id, 1, 0, command.lines),
            NotifyCustomer(
                command.order_id,
                1,
                1,
                command.customer_id,
                NotificationTopic.ORDER_PLACED,
                "Your order has been placed.",
                {},
            ),
        )
        entry = HistoryEntry(None, initial, command, actor, at, effects)
        ledger = Ledger.for_lines(command.lines)
        # PlaceOrder validated its lines and address when it was built; the rest is made here.
        order = object.__new__(Order)
        order.__attrs_init__(
            command.order_id,
            command.customer_id,
            command.lines,
            command.address,
            initial,
            ledger,
            (entry,),
            None,
            None,
            None,
            self.settings.deadlines_for(initial, at, ledger, None),
        )
        return Outcome(order, effects, entry)

    # -- handling ------------------------------------------------------------------------

    def handle(self, order: Order, command: c.Command, actor: Actor, at: datetime) -> Outcome:
        """Apply a command to an order.

        Args:
            order: the order as it is now.
            command: what to do.
            actor: who does it.
            at: when (timezone-aware, not earlier than the order's last change).

        Returns:
            The new order and the effects, or the original outcome for a replay (D-3).

        Raises:
            InvalidInput: malformed arguments; nothing is changed.
            CommandRefused: with every reason the command is refused; nothing is changed.
            InvariantViolation: the command produced an inconsistent order (a bug).
        """
        # The hot path: cheap exact-type checks first, the full checks only on a miss.
        if (
            type(order) is not Order
            or type(actor) is not Actor
            or at.__class__ is not datetime
            or at.tzinfo is None
            or not isinstance(command, _COMMAND)
        ):
            _check_arguments(order, command, actor, at)
        try:
            earlier = at < order.history[-1].at
        except TypeError:
            _check_arguments(order, command, actor, at)
            raise  # pragma: no cover - _check_arguments raises first
        if earlier or at >= _LATEST:
            _check_arguments(order, command, actor, at)
        if at.tzinfo is not UTC:
            at = at.astimezone(UTC)  # times are kept as UTC instants (D-18)
        command_class = type(command)
        if command.command_id is not None or (command_class is _PAY and order.ledger.payments):
            replay = _replayed(order, command)
            if replay is not None:
                return replay
        state = order.state
        for transition in self._table.get((state, command_class), ()):
            when = transition.when
            if when is None or when[1](order):
                break
        else:
            if command_class is c.PlaceOrder:
                _check_arguments(order, command, actor, at)
            raise CommandRefused(
                order.id,
                state.value,
                command.event,
                (self._refusal_for(order, type(command), actor),),
            )
        return self._run(transition, order, command, actor, at)

    def handle_reference(
        self, order: Order, command: c.Command, actor: Actor, at: datetime
    ) -> Outcome:
        """Apply a command like :meth:`handle`, but pick the transition with ``transitions``.

        This is the reference interpreter: slower, and meant for tests that check the
        compiled table against ``transitions``' own semantics.
        """
        _check_arguments(order, command, actor, at)
        at = at.astimezone(UTC)
        replay = _replayed(order, command)
        if replay is not None:
            return replay
        probe = _Probe(order)
        event = self._machine.events.get(command.event)
        try:
            fired = event is not None and bool(event.trigger(probe))
        except MachineError:
            fired = False
        if not fired or probe.chosen is None:
            raise CommandRefused(
                order.id,
                order.state.value,
                command.event,
                (self._refusal_for(order, type(command), actor),),
            )
        return self._run(probe.chosen, order, command, actor, at)

    def _run(
        self,
        transition: Transition,
        order: Order,
        command: c.Command,
        actor: Actor,
        at: datetime,
    ) -> Outcome:
        kind = actor.kind
        if kind in transition.actors and (
            kind is _SYSTEM
            or (
                kind is _STAFF
                and (transition.permission is None or transition.permission in actor.permissions)
            )
            or (kind is _CUSTOMER and actor.id == order.customer_id)
        ):
            reasons = None
        else:
            refusal = _authorize(transition, order, actor, command)
            reasons = None if refusal is None else [refusal]
        step = Step(order, command, actor, at, transition.dest or order.state, self.settings)
        for guard in transition.guards:
            reason = guard(step)
            if reason is not None:
                if reasons is None:
                    reasons = [reason]
                else:
                    reasons.append(reason)
        if reasons is not None:
            raise CommandRefused(order.id, order.state.value, command.event, tuple(reasons))
        new, entry = transition.apply(step)
        # The invariants of every step (a failure is a bug): history grows by exactly one
        # entry on top of the old one, and money refunded never exceeds money paid.
        history = new.history
        if len(history) != step.version or history[-2] is not order.history[-1]:
            _check_step_invariants(order, new)
        if new.ledger is not order.ledger:
            _check_ledger_invariants(new)
        return Outcome(new, entry.effects, entry)

    # -- asking --------------------------------------------------------------------------

    def check(
        self, order: Order, command: c.Command, actor: Actor, at: datetime
    ) -> tuple[Refusal, ...]:
        """Dry run: every reason the command would be refused now; empty if it would apply.

        Never raises for a business reason and never changes anything. A replay of a command
        already applied is not refused (it would return the original outcome).

        Raises:
            InvalidInput: malformed arguments.
        """
        _check_arguments(order, command, actor, at)
        at = at.astimezone(UTC)
        try:
            if _replayed(order, command) is not None:
                return ()
        except CommandRefused as refused:
            return refused.reasons
        transition = self._select(order, type(command))
        if transition is None:
            return (self._refusal_for(order, type(command), actor),)
        reasons: list[Refusal] = []
        refusal = _authorize(transition, order, actor, command)
        if refusal is not None:
            reasons.append(refusal)
        step = Step(order, command, actor, at, transition.dest or order.state, self.settings)
        reasons.extend(r for guard in transition.guards if (r := guard(step)) is not None)
        return tuple(reasons)

    def available(self, order: Order, actor: Actor, at: datetime) -> Availability:
        """Which commands ``actor`` may send to ``order`` now, and why not the others.

        Raises:
            InvalidInput: malformed arguments.
        """
        if not isinstance(order, Order):
            raise InvalidInput("order", order, "must be an Order")
        _check_actor_and_time(actor, at)
        allowed: list[type[c.Command]] = []
        refused: dict[type[c.Command], tuple[Refusal, ...]] = {}
        for command_class in self._commands:
            if _has_required_fields(command_class):
                reasons = self._check_without_payload(order, command_class, actor)
            else:
                reasons = self.check(order, command_class(), actor, at)
            if reasons:
                refused[command_class] = reasons
            else:
                allowed.append(command_class)
        return Availability(tuple(allowed), refused)

    def _check_without_payload(
        self, order: Order, command_class: type[c.Command], actor: Actor
    ) -> tuple[Refusal, ...]:
        chosen = self._select(order, command_class)
        if chosen is None:
            return (self._refusal_for(order, command_class, actor),)
        refusal = _authorize(chosen, order, actor, None)
        return () if refusal is None else (refusal,)

    def _select(self, order: Order, command_class: type[c.Command]) -> Transition | None:
        """The transition a command of this class takes from the order's state, if any."""
        for candidate in self._table.get((order.state, command_class), ()):
            if candidate.when is None or candidate.when[1](order):
                return candidate
        return None

    def _refusal_for(self, order: Order, command_class: type[c.Command], actor: Actor) -> Refusal:
        """Why a command has no transition from the order's state, for this actor.

        A customer acting on another customer's order is told so before anything is said
        about the order's state (CL-6).
        """
        if actor.kind is _CUSTOMER and actor.id != order.customer_id:
            return _NOT_OWNER
        refusals = self.definition.refusals
        state = order.state
        by_actor = self.definition.actor_refusals
        if by_actor:
            judged = order.hold.from_state if order.hold is not None else state
            special = by_actor.get((command_class, judged, actor.kind))
            if special is not None:
                return special
        if state is OrderState.ON_HOLD and order.hold is not None:
            # D-13: a held order is judged as if it were in the state it was held from.
            held = refusals.get((command_class, order.hold.from_state))
            if held is not None:
                return held
        specific = refusals.get((command_class, state))
        if specific is not None:
            return specific
        event = command_class.event
        if state in _GENERIC_FINAL:
            return Refusal(
                "order.final",
                _GENERIC_FINAL[state],
                "Completed orders take after-sales cases; closed orders take nothing more.",
                "LC-9",
            )
        if state is OrderState.ON_HOLD:
            return Refusal(
                f"{event}.on_hold",
                f"The order is on hold, so '{event.replace('_', ' ')}' is not possible now.",
                "Resolve the exception case and release the hold first.",
                "LC-6",
            )
        return Refusal(
            f"{event}.not_allowed",
            f"'{event.replace('_', ' ')}' is not possible while the order is "
            f"{state.value.replace('_', ' ')}.",
            "Check the order's state and the allowed actions.",
        )

    # -- drawing -------------------------------------------------------------------------

    def mermaid(self) -> str:
        """A Mermaid state diagram drawn from the ``transitions`` machine (stays excluded)."""
        edges: dict[tuple[str, str], list[str]] = {}
        for name, event in self._machine.events.items():
            for source, transitions in event.transitions.items():
                for transition in transitions:
                    if transition.dest is None:
                        continue
                    label = name
                    conditions = [cond.func for cond in transition.conditions]
                    if conditions:
                        chosen = self._condition_name(name, source, transition.dest)
                        label = f"{name} [{chosen}]" if chosen else name
                    edges.setdefault((source, transition.dest), [])
                    if label not in edges[(source, transition.dest)]:
                        edges[(source, transition.dest)].append(label)
        lines = ["stateDiagram-v2", f"    [*] --> {self.definition.initial.value}"]
        order = [state.value for state in self.definition.states]
        for (source, dest), labels in sorted(
            edges.items(), key=lambda item: (order.index(item[0][0]), order.index(item[0][1]))
        ):
            lines.append(f"    {source} --> {dest}: {', '.join(labels)}")
        lines.extend(
            f"    {state.value} --> [*]"
            for state in self.definition.states
            if state in self.definition.final
        )
        return "\n".join(lines) + "\n"

    def _condition_name(self, event: str, source: str, dest: str) -> str:
        for transition in self.definition.transitions:
            if (
                transition.command.event == event
                and transition.dest is not None
                and transition.dest.value == dest
                and any(state.value == source for state in transition.sources)
                and transition.when is not None
            ):
                return transition.when[0]
        return ""  # pragma: no cover - every conditional transition has a named condition


def _has_required_fields(command_class: type[c.Command]) -> bool:
    return any(
        field.default is attrs.NOTHING and field.init for field in attrs.fields(command_class)
    )


def _check_actor_and_time(actor: object, at: object) -> None:
    if not isinstance(actor, Actor):
        raise InvalidInput("actor", actor, "must be an orderflow.Actor")
    check_time("at", at)


def _check_arguments(order: object, command: object, actor: object, at: object) -> None:
    if type(order) is not Order:
        raise InvalidInput("order", order, "must be an Order")
    if not isinstance(command, c.Command) or isinstance(command, c.PlaceOrder):
        raise InvalidInput("command", command, "must be a command for an existing order")
    _check_actor_and_time(actor, at)
    assert isinstance(at, datetime)
    last = order.history[-1].at
    try:
        earlier = at < last
    except TypeError:
        raise InvalidInput("at", at, "cannot be compared with the order's times") from None
    if earlier:
        raise InvalidInput("at", at, f"is earlier than the order's last change ({last})")


def _replayed(order: Order, command: c.Command) -> Outcome | None:
    """The original outcome when ``command`` was already applied (D-3); ``None`` if not.

    Raises:
        CommandRefused: the same command id with a different payload, or a payment reference
            already applied with a different amount.
    """
    command_id = command.command_id
    if command_id is not None:
        entry = order.entry_for(command_id)
        if entry is not None:
            if entry.command != command:
                raise CommandRefused(
                    order.id,
                    order.state.value,
                    command.event,
                    (
                        Refusal(
                            "command.id_conflict",
                            f"A different command was already applied under the id {command_id}.",
                            "Use a new command id for a new command.",
                            "D-3",
                        ),
                    ),
                )
            return Outcome(order, entry.effects, entry, replayed=True)
    if type(command) is c.Pay:
        payment = order.ledger.payment(command.payment_reference)
        if payment is not None:
            if payment.amount != command.amount:
                raise CommandRefused(
                    order.id,
                    order.state.value,
                    command.event,
                    (
                        Refusal(
                            "pay.reference_conflict",
                            f"Payment {command.payment_reference} was already recorded for "
                            f"{payment.amount}, not {command.amount}.",
                            "Check the payment provider's callback.",
                            "D-3",
                        ),
                    ),
                )
            for entry in order.history:
                recorded = entry.command
                if (
                    type(recorded) is c.Pay
                    and recorded.payment_reference == command.payment_reference
                ):
                    return Outcome(order, entry.effects, entry, replayed=True)
    return None


def _authorize(
    transition: Transition, order: Order, actor: Actor, command: c.Command | None
) -> Refusal | None:
    kind = actor.kind
    if kind not in transition.actors:
        special = transition.actor_refusals.get(kind)
        if special is not None:
            return special
        event = transition.command.event.replace("_", " ")
        return Refusal(
            "actor.not_allowed",
            f"A {kind.value} cannot '{event}' this order now.",
            "Ask someone who may, or use the command meant for you.",
            "CL-6",
        )
    if kind is ActorKind.CUSTOMER and actor.id != order.customer_id:
        return _NOT_OWNER
    permission = transition.permission
    if kind is ActorKind.STAFF and permission is not None and permission not in actor.permissions:
        return Refusal(
            "actor.missing_permission",
            f"This needs the permission {permission}.",
            f"Ask a colleague who holds {permission}.",
            "CL-6",
        )
    return None


def _check_step_invariants(old: Order, new: Order) -> None:
    """History grows by exactly one entry per applied command (LC-8)."""
    history = new.history
    if len(history) != len(old.history) + 1 or history[-2] is not old.history[-1]:
        raise InvariantViolation(
            new.id,
            "history grows by one entry per command",
            f"{len(old.history)} -> {len(history)}",
        )


def _check_ledger_invariants(new: Order) -> None:
    """Refunded and pending refunds never exceed what was paid; paid never exceeds due
    beyond a recorded overpayment (AS-5, D-6)."""
    # In the library's own decimal context: the host's never changes a comparison.
    ledger = new.ledger
    paid = ledger.amount_paid.amount
    refunded = _EXACT.add(ledger.amount_refunded.amount, ledger.amount_refund_pending.amount)
    if refunded > paid:
        raise InvariantViolation(
            new.id,
            "refunded <= paid",
            f"refunded {ledger.amount_refunded} + pending {ledger.amount_refund_pending} > "
            f"paid {ledger.amount_paid}",
        )
    if _EXACT.subtract(paid, ledger.overpayment.amount) > ledger.amount_due.amount:
        raise InvariantViolation(
            new.id, "paid <= due", f"paid {ledger.amount_paid} > due {ledger.amount_due}"
        )


def check_invariants(order: Order) -> None:
    """Check every invariant of an order, the expensive ones included.

    Meant for tests and for checking orders loaded from a store: history is a chain of
    states from placement (LC-8), the version is the number of entries, the money records
    add up and refunds never exceed payments (AS-5), and the records match the state.

    Raises:
        InvariantViolation: naming the first invariant broken.
    """
    try:
        Order(
            id=order.id,
            customer_id=order.customer_id,
            lines=order.lines,
            address=order.address,
            state=order.state,
            ledger=order.ledger,
            history=order.history,
            shipment=order.shipment,
            closure=order.closure,
            hold=order.hold,
            deadlines=order.deadlines,
        )
    except InvalidInput as error:
        raise InvariantViolation(order.id, error.field, error.problem) from error
    if order.history[0].from_state is not None:
        raise InvariantViolation(
            order.id, "history starts at placement", "first entry has a source"
        )
