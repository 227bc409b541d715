"""The facade of the engine: place an order, handle a command, dry-run it, list what is
allowed, draw the diagram, list every refusal.

:class:`Lifecycle` runs the order lifecycle (:data:`orderflow.lifecycle.LIFECYCLE`) on the
engine (:mod:`orderflow.engine`), which validated and compiled it. Handling is a pure
function of (order, command, actor, time): no I/O, no clock, no threads.

Refusals come in a fixed order: the actor first (another customer's order, an actor who may
never send this command, a missing permission), then the order's state, then the payload
against the order. Each carries a :class:`~orderflow.errors.RefusalCategory` a host maps to
a protocol status (403, 409, 422).

Here are placing, handling and describing; the rest is in modules of its own, and its
public names are importable from here too: the questions that change nothing (check,
available, preview) in :mod:`orderflow.asking`, the values the lifecycle answers with in
:mod:`orderflow.outcomes`, replays in :mod:`orderflow.replay`, the checks of the arguments
in :mod:`orderflow.arguments` and the invariants in :mod:`orderflow.invariants`.
"""

from __future__ import annotations

from datetime import UTC, datetime

from orderflow import commands as c
from orderflow.aftersales.deciding import Decider
from orderflow.aftersales.definition import case_definition
from orderflow.arguments import _check_actor_and_time, _check_arguments
from orderflow.asking import _Asking
from orderflow.definition import State
from orderflow.effects import Effect, NotificationTopic, NotifyCustomer, ReserveStock
from orderflow.engine import FORBIDDEN, CatalogueEntry, Definition, Machine, RefusalText, Transition
from orderflow.errors import CommandRefused, InvalidInput, RefusalCategory
from orderflow.history import History
from orderflow.incidents.context import Context
from orderflow.incidents.definition import exception_definition
from orderflow.inputs import LATEST
from orderflow.invariants import _check_ledger_invariants, _check_step_invariants, check_invariants
from orderflow.lifecycle import LIFECYCLE
from orderflow.model import Actor, ActorKind, OrderState
from orderflow.order import HistoryEntry, Ledger, Order
from orderflow.outcomes import Availability, Outcome, Preview
from orderflow.replay import _REFERENCE_CONFLICT, _replayed
from orderflow.settings import Settings
from orderflow.step import Step

__all__ = ["Availability", "Lifecycle", "Outcome", "Preview", "check_invariants"]


_tuple_new = tuple.__new__
_SYSTEM = ActorKind.SYSTEM
_LATEST = LATEST
_PAY = c.Pay
_COMMAND = c.Command
_STAFF = ActorKind.STAFF
_CUSTOMER = ActorKind.CUSTOMER
_NOT_OWNER_PLACING = RefusalText(
    "not_owner",
    "A customer can only place orders for themselves.",
    "Place the order as the customer it is for, or as staff on their behalf.",
    "CL-6",
    RefusalCategory.FORBIDDEN,
)


def _entry(command: type[c.Command], text: RefusalText) -> CatalogueEntry:
    return CatalogueEntry(
        f"{command.event}.{text.reason}",
        text.category,
        text.rule,
        text.message,
        text.hint,
        command.__name__,
    )


class Lifecycle(_Asking):
    """The order lifecycle, defined once per process and shared by all orders.

    Args:
        settings: timeouts, limits and other defaults (:class:`~orderflow.Settings`).
        definition: the lifecycle definition; :data:`~orderflow.lifecycle.LIFECYCLE` by
            default.

    Raises:
        InvalidInput: settings or a definition of the wrong type.
        DefinitionError: the definition is inconsistent (see :class:`~orderflow.engine.Machine`).
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
        self._machine = Machine(definition)
        self._policy_snapshot = self.settings.policy.snapshot()
        self._table = self._machine.table
        self._commands = definition.commands
        self.decider = Decider(self.settings.policy)
        self.case_definition = case_definition(self.settings, self.decider)
        self._cases = Machine(self.case_definition)
        self.exception_definition = exception_definition(self.settings.incidents)
        self._exceptions = Machine(self.exception_definition)
        self._routes: dict[type[c.Command], Machine] = {
            **dict.fromkeys(self.case_definition.commands, self._cases),
            **dict.fromkeys(self.exception_definition.commands, self._exceptions),
        }

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
            CommandRefused: ``place_order.not_owner`` when a customer places an order for
                another customer; ``place_order.forbidden`` for the system.
        """
        if not isinstance(command, c.PlaceOrder):
            raise InvalidInput("command", command, "must be a PlaceOrder")
        _check_actor_and_time(actor, at)
        self.settings.limits.check_lines(command.lines)
        if at.tzinfo is not UTC:
            at = at.astimezone(UTC)  # times are kept as UTC instants (D-18)
        event = command.event
        if actor.kind is ActorKind.SYSTEM:
            refusal = FORBIDDEN.refusal(event, {"kind": "system", "action": "place order"})
            raise CommandRefused(command.order_id, "new", event, (refusal,))
        if actor.kind is ActorKind.CUSTOMER and actor.id != command.customer_id:
            refusal = _NOT_OWNER_PLACING.refusal(event)
            raise CommandRefused(command.order_id, "new", event, (refusal,))
        initial = OrderState(self.definition.initial)
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
        entry = _tuple_new(HistoryEntry, (None, initial, command, actor, at, effects, (), ()))
        ledger = Ledger.for_lines(command.lines)
        # PlaceOrder validated its lines and address when it was built; the rest is made here.
        order = _tuple_new(
            Order,
            (
                command.order_id,
                command.customer_id,
                command.lines,
                command.address,
                initial,
                ledger,
                History.of_placing(entry),
                None,
                None,
                None,
                self.settings.deadlines_for(initial, at, ledger, None),
                (),
                self._policy_snapshot,
                (),
            ),
        )
        return _tuple_new(Outcome, (order, effects, entry, False))

    # -- handling ------------------------------------------------------------------------

    def handle(
        self,
        order: Order,
        command: c.Command,
        actor: Actor,
        at: datetime,
        *,
        context: Context | None = None,
    ) -> Outcome:
        """Apply a command to an order.

        Args:
            order: the order as it is now.
            command: what to do.
            actor: who does it.
            at: when (timezone-aware, not earlier than the order's last change).
            context: what the host knows around the order (PT-4), for the commands that
                read it: review runs the classifier on it, a restock check reads its stock.
                :class:`~orderflow.service.OrderService` gathers it through its context
                port; without one, only what the order itself shows is checked.

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
            earlier = at < order.history.last.at
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
            if when is None or when[1](order, command, at):
                break
        else:
            sub = self._routes.get(command_class)
            if sub is not None:
                return self._handle_sub(sub, order, command, actor, at, context)
            if command_class is c.PlaceOrder:
                _check_arguments(order, command, actor, at)
            refusal = self._machine.refusal_for(order, command_class, actor)
            raise CommandRefused(order.id, state.value, command.event, (refusal,))
        # From here on as in _run, inlined: this is the path every command takes.
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
            denied = self._machine.authorize(transition, order, actor)
            reasons = None if denied is None else [denied]
        step = _tuple_new(
            Step, (order, command, actor, at, transition.dest or state, self.settings, context)
        )
        if transition.guards:
            found = self._machine.judge(transition, step)
            if found:
                reasons = found if reasons is None else [*reasons, *found]
        if reasons is not None:
            raise CommandRefused(order.id, state.value, command.event, tuple(reasons))
        new, entry = transition.apply(step)
        history = new.history
        if (
            history.last is not entry
            or history._length != order.history._length + 1
            or history._entries is not order.history._entries
        ):
            _check_step_invariants(order, new)
        if new.ledger is not order.ledger:
            _check_ledger_invariants(new)
        return _tuple_new(Outcome, (new, entry.effects, entry, False))

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
        machine = self._machine_for(type(command))
        chosen = machine.select_reference(order, command, at)
        if chosen is None:
            refusal = machine.refusal_for(order, type(command), actor, command)
            raise CommandRefused(order.id, order.state.value, command.event, (refusal,))
        return self._run(machine, chosen, order, command, actor, at)

    def _handle_sub(
        self,
        cases: Machine,
        order: Order,
        command: c.Command,
        actor: Actor,
        at: datetime,
        context: Context | None,
    ) -> Outcome:
        """A command of an after-sales or exception case: the state it meets is its case's."""
        command_class = type(command)
        state = cases.state_of(order, command)
        transition = None
        if state is not None:
            transition = cases.select(order, command_class, command, at, state)
        if transition is None:
            refusal = cases.refusal_for(order, command_class, actor, command, state)
            raise CommandRefused(order.id, order.state.value, command.event, (refusal,))
        return self._run(cases, transition, order, command, actor, at, context, state)

    def _run(
        self,
        machine: Machine,
        transition: Transition,
        order: Order,
        command: c.Command,
        actor: Actor,
        at: datetime,
        context: Context | None = None,
        state: State | None = None,
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
            refusal = machine.authorize(transition, order, actor, command)
            reasons = None if refusal is None else [refusal]
        if state is None:
            state = machine.state_of(order, command) or order.state
        step = _tuple_new(
            Step, (order, command, actor, at, transition.dest or state, self.settings, context)
        )
        if transition.guards:
            found = machine.judge(transition, step)
            if found:
                reasons = found if reasons is None else [*reasons, *found]
        if reasons is not None:
            raise CommandRefused(order.id, order.state.value, command.event, tuple(reasons))
        new, entry = transition.apply(step)
        # The invariants of every step (a failure is a bug): history grows by exactly one
        # entry on top of the old one, and money refunded never exceeds money paid.
        history = new.history
        if (
            history.last is not entry
            or history._length != step.version
            or history._entries is not order.history._entries  # it was copied: check it all
        ):
            _check_step_invariants(order, new)
        if new.ledger is not order.ledger:
            _check_ledger_invariants(new)
        return _tuple_new(Outcome, (new, entry.effects, entry, False))

    # -- describing ----------------------------------------------------------------------

    def mermaid(self) -> str:
        """A Mermaid state diagram drawn from the ``transitions`` machine (stays excluded)."""
        return self._machine.mermaid()

    def case_mermaid(self) -> str:
        """The after-sales case machine's Mermaid state diagram."""
        return self._cases.mermaid()

    def exception_mermaid(self) -> str:
        """The exception case machine's Mermaid state diagram (EX-6)."""
        return self._exceptions.mermaid()

    def catalogue(self) -> tuple[CatalogueEntry, ...]:
        """Every refusal the lifecycle and the after-sales cases can give: code, category,
        rule, sentence and hint.

        The sentences show the values they name in braces (``until {due}``).
        """
        return (
            _entry(c.PlaceOrder, FORBIDDEN),
            _entry(c.PlaceOrder, _NOT_OWNER_PLACING),
            *self._machine.catalogue(),
            _entry(c.Pay, _REFERENCE_CONFLICT),
            *self._cases.catalogue(),
            *self._exceptions.catalogue(),
        )
