"""The facade of the engine: place an order, handle a command, dry-run it, list what is
allowed, draw the diagram, list every refusal.

:class:`Lifecycle` runs the order lifecycle (:data:`orderflow.lifecycle.LIFECYCLE`) on the
engine (:mod:`orderflow.engine`), which validated and compiled it. Handling is a pure
function of (order, command, actor, time): no I/O, no clock, no threads.

Refusals come in a fixed order: the actor first (another customer's order, an actor who may
never send this command, a missing permission), then the order's state, then the payload
against the order. Each carries a :class:`~orderflow.errors.RefusalCategory` a host maps to
a protocol status (403, 409, 422).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import NamedTuple

import attrs

from orderflow import commands as c
from orderflow.aftersales.case import CaseLine, CaseState
from orderflow.aftersales.commands import RequestAfterSales
from orderflow.aftersales.deciding import Decider
from orderflow.aftersales.decisions import Decision
from orderflow.aftersales.definition import case_definition
from orderflow.effects import Effect, NotificationTopic, NotifyCustomer, ReserveStock
from orderflow.engine import (
    FORBIDDEN,
    ID_CONFLICT,
    CatalogueEntry,
    Definition,
    Machine,
    RefusalText,
    State,
    Transition,
)
from orderflow.errors import (
    CommandRefused,
    InvalidInput,
    InvariantViolation,
    Refusal,
    RefusalCategory,
)
from orderflow.history import History
from orderflow.incidents.case import ExceptionState
from orderflow.incidents.commands import OpenException
from orderflow.incidents.context import Context
from orderflow.incidents.definition import exception_definition
from orderflow.inputs import LATEST, check_time
from orderflow.lifecycle import LIFECYCLE
from orderflow.model import Actor, ActorKind, OrderState
from orderflow.money import _EXACT, Money
from orderflow.order import HistoryEntry, Ledger, Order
from orderflow.settings import Settings
from orderflow.step import Step

__all__ = ["Availability", "Lifecycle", "Outcome", "Preview", "check_invariants"]


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
    """For an order and an actor: what the actor may do now, and why not the rest.

    Only commands this actor could ever send to this order are listed: a customer is not
    told about the system's timers, another customer is told nothing, a member of staff only
    about what their permissions allow. Commands that carry a payload are judged on
    everything but the payload (refund commands against the refunds that exist, a payment's
    failure against the payment in progress); their payload is judged when the command
    itself is checked or handled.

    Attributes:
        allowed: the command classes the actor may send now.
        refused: for every other command class the actor could send, why not now.
    """

    allowed: tuple[type[c.Command], ...]
    refused: dict[type[c.Command], tuple[Refusal, ...]]

    @property
    def allowed_events(self) -> tuple[str, ...]:
        """The event names of the allowed commands."""
        return tuple(command.event for command in self.allowed)

    def why_not(self, command: type[c.Command]) -> tuple[Refusal, ...]:
        """The reasons a command class is refused (empty when it is allowed or not listed)."""
        return self.refused.get(command, ())


@attrs.frozen
class Preview:
    """What an after-sales request would do, without doing it (AS-4).

    Attributes:
        decision: the policy's decision, with every verdict; ``None`` when the request
            cannot be judged because the order cannot take it (see ``refusals``: units not
            left, an amount over the cap, an unknown line).
        amount: what it would refund (or hold, for a return until it is received).
        lines: its lines with their amounts.
        note: why the amount is less than the units' price, when it is.
        refusals: every reason the command would be refused now; empty if it would apply.
    """

    decision: Decision | None
    amount: Money
    lines: tuple[CaseLine, ...]
    note: str
    refusals: tuple[Refusal, ...]

    @property
    def would_apply(self) -> bool:
        """Whether the request would be taken (a denied one is taken, and opens a rejected
        case)."""
        return not self.refusals


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
_REFERENCE_CONFLICT = RefusalText(
    "reference_conflict",
    "Payment {reference} was already recorded for {recorded}, not {amount}.",
    "Check the payment provider's callback.",
    "D-3",
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


class Lifecycle:
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

    def _machine_for(self, command_class: type[c.Command]) -> Machine:
        """The machine a command class belongs to: the case machine's, or the lifecycle."""
        return self._routes.get(command_class, self._machine)

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
        return self._run(cases, transition, order, command, actor, at, context)

    def _run(
        self,
        machine: Machine,
        transition: Transition,
        order: Order,
        command: c.Command,
        actor: Actor,
        at: datetime,
        context: Context | None = None,
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
        state = machine.state_of(order, command) or order.state
        step = Step(order, command, actor, at, transition.dest or state, self.settings, context)
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
        return self._judge(order, type(command), command, actor, at, asking=False)

    def _judge(
        self,
        order: Order,
        command_class: type[c.Command],
        command: c.Command | None,
        actor: Actor,
        at: datetime,
        *,
        asking: bool,
        state: State | None = None,
    ) -> tuple[Refusal, ...]:
        """Every reason to refuse. ``asking`` which commands are available: a transition not
        offered counts as none, and checks of a payload not given are skipped. ``state`` is
        the state the command meets, when the caller knows it (a case's)."""
        machine = self._machine_for(command_class)
        if state is None:
            state = machine.state_of(order, command)
        transition = None
        if state is not None:
            transition = machine.select(order, command_class, command, at, state)
        if transition is None or (asking and not transition.offered):
            return (machine.refusal_for(order, command_class, actor, command, state),)
        reasons: list[Refusal] = []
        refusal = machine.authorize(transition, order, actor, command, state)
        if refusal is not None:
            reasons.append(refusal)
        assert state is not None
        step = Step(order, command, actor, at, transition.dest or state, self.settings)
        reasons.extend(machine.judge(transition, step, probing=command is None))
        return tuple(reasons)

    def available(
        self, order: Order, actor: Actor, at: datetime, *, case_id: str | None = None
    ) -> Availability:
        """What ``actor`` may send to ``order`` now, and why not the rest it could send.

        The lifecycle's commands are listed, a new after-sales request and a new exception
        case; with ``case_id`` (an after-sales or an exception case), the commands of that
        case too (judged on the case's state).

        Raises:
            InvalidInput: malformed arguments, or a ``case_id`` the order does not have.
        """
        if type(order) is not Order:
            raise InvalidInput("order", order, "must be an Order")
        _check_actor_and_time(actor, at)
        at = at.astimezone(UTC)
        case = exception = None
        if case_id is not None:
            case = order.case(case_id) if isinstance(case_id, str) else None
            exception = order.exception(case_id) if isinstance(case_id, str) else None
            if case is None and exception is None:
                raise InvalidInput("case_id", case_id, "the order has no such case")
        allowed: list[type[c.Command]] = []
        refused: dict[type[c.Command], tuple[Refusal, ...]] = {}

        def judge(
            command_class: type[c.Command], command: c.Command | None, state: State | None
        ) -> None:
            reasons = self._judge(
                order, command_class, command, actor, at, asking=True, state=state
            )
            if reasons:
                refused[command_class] = reasons
            else:
                allowed.append(command_class)

        for command_class in self._commands:
            if not self._machine.could_send(order, command_class, actor):
                continue
            # A command without a payload is judged whole; one with a payload on the rest.
            command = None if _has_required_fields(command_class) else command_class()
            judge(command_class, command, None)
        for command_class in self.case_definition.commands:
            if not self._cases.could_send(order, command_class, actor):
                continue
            if command_class is RequestAfterSales:
                judge(command_class, None, CaseState.NEW)
            elif case is not None:
                judge(command_class, None, case.state)
        for command_class in self.exception_definition.commands:
            if not self._exceptions.could_send(order, command_class, actor):
                continue
            if command_class is OpenException:
                judge(command_class, None, ExceptionState.NEW)
            elif exception is not None:
                judge(command_class, None, exception.state)
        return Availability(tuple(allowed), refused)

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

    # -- after-sales ---------------------------------------------------------------------

    def preview(
        self, order: Order, command: RequestAfterSales, actor: Actor, at: datetime
    ) -> Preview:
        """Dry run of an after-sales request (AS-4): the policy's decision with every
        verdict, the amount and the lines, and every reason the command would be refused
        (the order's state, the caps, the units left), without changing anything.

        Raises:
            InvalidInput: malformed arguments, as the command would.
        """
        if not isinstance(command, RequestAfterSales):
            raise InvalidInput("command", command, "must be a RequestAfterSales")
        refusals = self.check(order, command, actor, at)
        quote, decision = self.decider.judge(order, command, at.astimezone(UTC))
        return Preview(decision, quote.amount, quote.lines, quote.note, refusals)


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
    last = order.history.last.at
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
                refusal = ID_CONFLICT.refusal(command.event, {"command_id": command_id})
                raise CommandRefused(order.id, order.state.value, command.event, (refusal,))
            return Outcome(order, entry.effects, entry, replayed=True)
    if type(command) is c.Pay:
        payment = order.ledger.payment(command.payment_reference)
        if payment is not None:
            if payment.amount != command.amount:
                values = {
                    "reference": command.payment_reference,
                    "recorded": payment.amount,
                    "amount": command.amount,
                }
                refusal = _REFERENCE_CONFLICT.refusal(command.event, values)
                raise CommandRefused(order.id, order.state.value, command.event, (refusal,))
            entry = order.history.payment_entry(command.payment_reference)
            if entry is not None:
                return Outcome(order, entry.effects, entry, replayed=True)
    return None


def _check_step_invariants(old: Order, new: Order) -> None:
    """History grows by exactly one entry per applied command (LC-8)."""
    history = new.history
    if len(history) != len(old.history) + 1 or not history.extends(old.history):
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
