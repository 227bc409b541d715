"""What an actor may ask the lifecycle without changing anything: a dry run of a command,
the commands available now and why not the rest, a preview of an after-sales request.

:class:`~orderflow.Lifecycle` takes these questions from :class:`_Asking`; the machines and
definitions they read are the ones the lifecycle builds.
"""

from __future__ import annotations

from datetime import UTC, datetime

from orderflow import commands as c
from orderflow.aftersales.case import CaseState
from orderflow.aftersales.commands import RequestAfterSales
from orderflow.aftersales.deciding import Decider
from orderflow.arguments import _check_actor_and_time, _check_arguments, _has_required_fields
from orderflow.engine import Definition, Machine, State
from orderflow.errors import CommandRefused, InvalidInput, Refusal
from orderflow.incidents.case import ExceptionState
from orderflow.incidents.commands import OpenException
from orderflow.model import Actor
from orderflow.order import Order
from orderflow.outcomes import Availability, Preview
from orderflow.replay import _replayed
from orderflow.settings import Settings
from orderflow.step import Step

__all__: list[str] = []


class _Asking:
    """The questions of :class:`~orderflow.Lifecycle`, which sets the attributes below."""

    settings: Settings
    decider: Decider
    case_definition: Definition
    exception_definition: Definition
    _machine: Machine
    _cases: Machine
    _exceptions: Machine
    _commands: tuple[type[c.Command], ...]
    _routes: dict[type[c.Command], Machine]

    def _machine_for(self, command_class: type[c.Command]) -> Machine:
        """The machine a command class belongs to: the case machine's, or the lifecycle."""
        return self._routes.get(command_class, self._machine)

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
