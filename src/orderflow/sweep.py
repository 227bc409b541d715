"""The timer sweep: fire every due deadline through the service, and never stall (D-15, TM).

The library never sleeps and starts no threads: the host calls :meth:`TimerSweep.run` from its
own scheduler (cron, a periodic job, a loop with a sleep). Each run finds the orders whose
next deadline is due through the store's deadline index, claims them for a while so that
other sweepers running at the same time leave them alone, and fires each due deadline's
command (:mod:`orderflow.timers`) through :class:`~orderflow.service.OrderService`, as the
system, with a command id derived from the deadline. So:

* a rerun for the same instant, or two sweepers racing, apply each deadline once (the second
  is a replay, D-3);
* an order whose deadline is refused or fails is reported and set aside until
  ``retry_after`` has passed; it never blocks the others, and the run goes on, batch after
  batch, until nothing due is left unclaimed;
* a sweeper that dies holding a claim delays its orders by at most ``lease``.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Final

import attrs

from orderflow.errors import CommandRefused, InvalidInput, OrderflowError, StoreError
from orderflow.incidents.case import ExceptionState
from orderflow.machine import Outcome
from orderflow.model import Actor, OrderState
from orderflow.order import Deadline, DeadlineKind
from orderflow.service import OrderService
from orderflow.timers import TIMERS, TimerCommand, due_deadlines

__all__ = ["SweepReport", "SweepResult", "SweepStatus", "TimerSweep"]


class SweepStatus(enum.StrEnum):
    """What firing one deadline came to."""

    APPLIED = "applied"
    """The deadline's command was applied and saved."""
    REPLAYED = "replayed"
    """It had been applied already (another sweeper, or an earlier run): nothing changed."""
    REFUSED = "refused"
    """The lifecycle refused it; the order is set aside until ``retry_after``."""
    FAILED = "failed"
    """An error (the store, a conflict that outlasted the retries); set aside likewise."""
    SKIPPED = "skipped"
    """The deadline had nothing to fire (no timer for its kind, or nothing left to do)."""


@attrs.frozen
class SweepResult:
    """What the sweep did about one due deadline of one order.

    Attributes:
        order_id: the order.
        kind: the deadline's kind (``None`` when the order could not even be loaded).
        due_at: the deadline's instant (``None`` likewise).
        status: applied, replayed, refused, failed or skipped.
        event: the event name of the command fired (``""`` when none was).
        state: the order's state afterwards (its value), when the command was applied.
        refusal: the refusal, when refused.
        error: the error's type and message, when failed or skipped.
        did: what the command did, in words (``"closed"``, ``"opened a case"``,
            ``"escalated a case"``, ``"completed"``, ``"failed a payment attempt"``,
            ``"released"``, ...), when applied.
    """

    order_id: str
    kind: DeadlineKind | None
    due_at: datetime | None
    status: SweepStatus
    event: str = ""
    state: str = ""
    refusal: CommandRefused | None = attrs.field(default=None, eq=False)
    error: str = ""
    did: str = ""


@attrs.frozen
class SweepReport:
    """Everything one run did.

    Attributes:
        results: one result per deadline handled, in the order they were handled.
        batches: how many batches were claimed.
    """

    results: tuple[SweepResult, ...] = ()
    batches: int = 0

    def count(self, status: SweepStatus) -> int:
        """How many results have this status."""
        return sum(1 for result in self.results if result.status is status)

    @property
    def applied(self) -> int:
        """Deadlines whose command was applied."""
        return self.count(SweepStatus.APPLIED)

    @property
    def set_aside(self) -> tuple[SweepResult, ...]:
        """The refused and failed results: orders set aside until ``retry_after``."""
        return tuple(
            result
            for result in self.results
            if result.status in (SweepStatus.REFUSED, SweepStatus.FAILED)
        )


_MAX_FIRINGS_PER_ORDER = 16
"""A bound on the deadlines one order may fire in one run (each firing may make another one
due at once, as a failed payment brings back a passed unpaid deadline)."""


class TimerSweep:
    """Fires due deadlines through an :class:`~orderflow.service.OrderService`.

    Args:
        service: the service (its store, lifecycle and clock are used).
        worker: this sweeper's name in claims (a random one by default); give each sweeper
            running at the same time its own.
        batch: how many due orders to claim at a time.
        lease: how long a claim keeps other sweepers away from an order.
        retry_after: how long an order whose deadline was refused or failed is set aside.
        timers: the command each deadline kind fires (:data:`orderflow.timers.TIMERS`).
        actor: who fires them (the system, ``system:timers`` by default).
        retries: conflict retries per command (see :meth:`OrderService.handle`).

    Raises:
        InvalidInput: a malformed argument.
    """

    def __init__(
        self,
        service: OrderService,
        *,
        worker: str | None = None,
        batch: int = 100,
        lease: timedelta = timedelta(minutes=5),
        retry_after: timedelta = timedelta(minutes=10),
        timers: Mapping[DeadlineKind, TimerCommand] = TIMERS,
        actor: Actor | None = None,
        retries: int = 3,
    ) -> None:
        if not isinstance(service, OrderService):
            raise InvalidInput("service", service, "must be an OrderService")
        if isinstance(batch, bool) or not isinstance(batch, int) or not 1 <= batch <= 10_000:
            raise InvalidInput("batch", batch, "must be a whole number from 1 to 10000")
        for name, value in (("lease", lease), ("retry_after", retry_after)):
            if not isinstance(value, timedelta) or value <= timedelta(0):
                raise InvalidInput(name, value, "must be a positive timedelta")
        if worker is not None and (not isinstance(worker, str) or not worker.strip()):
            raise InvalidInput("worker", worker, "must be a non-empty string")
        if actor is not None and not isinstance(actor, Actor):
            raise InvalidInput("actor", actor, "must be an Actor")
        if not isinstance(timers, Mapping):
            raise InvalidInput("timers", timers, "must map deadline kinds to timer commands")
        self.service = service
        self.worker = worker or f"sweep-{uuid.uuid4().hex[:12]}"
        self.batch = batch
        self.lease = lease
        self.retry_after = retry_after
        self.timers = timers
        self.actor = actor or Actor.system("timers")
        self.retries = retries

    def run(self, *, max_batches: int | None = None) -> SweepReport:
        """Fire every deadline due now, batch after batch, until none is left unclaimed.

        Args:
            max_batches: stop after this many batches (``None``: until nothing is due).

        Returns:
            What was done, deadline by deadline.

        Raises:
            StoreError: the store failed while claiming; what was done before is kept.
        """
        store = self.service.store
        now = self.service.clock.now()
        results: list[SweepResult] = []
        batches = 0
        seen: set[str] = set()
        while max_batches is None or batches < max_batches:
            claimed = store.claim_due(self.worker, now, limit=self.batch, lease=self.lease)
            if not claimed:
                break
            batches += 1
            stuck = seen.issuperset(claimed)  # nothing new: this run is done, whatever it says
            for order_id in claimed:
                if order_id in seen:
                    # Settled a moment ago, yet the store still finds it due (a deadline
                    # index out of step with the order): set it aside rather than loop.
                    results.append(_failed(order_id, None, _AGAIN))
                    store.release_due(order_id, self.worker, until=now + self.retry_after)
                    continue
                seen.add(order_id)
                handled, settled = self._fire(order_id, now)
                results.extend(handled)
                until = None if settled else now + self.retry_after
                store.release_due(order_id, self.worker, until=until)
            if stuck:
                break
        return SweepReport(tuple(results), batches)

    def _fire(self, order_id: str, now: datetime) -> tuple[list[SweepResult], bool]:
        """Fire the order's due deadlines; whether it is settled (nothing due left)."""
        results: list[SweepResult] = []
        try:
            order = self.service.get(order_id)
        except OrderflowError as error:
            return [_failed(order_id, None, error)], False
        for _ in range(_MAX_FIRINGS_PER_ORDER):
            due = due_deadlines(order, now)
            if not due:
                return results, True
            deadline = due[0]
            timer = self.timers.get(deadline.kind)
            command = None if timer is None else timer(order, deadline)
            if command is None:
                results.append(
                    SweepResult(
                        order_id,
                        deadline.kind,
                        deadline.due_at,
                        SweepStatus.SKIPPED,
                        error="no timer fires this deadline kind"
                        if timer is None
                        else "nothing to do",
                    )
                )
                return results, False
            try:
                outcome = self.service.handle(order_id, command, self.actor, retries=self.retries)
            except CommandRefused as refused:
                results.append(
                    SweepResult(
                        order_id,
                        deadline.kind,
                        deadline.due_at,
                        SweepStatus.REFUSED,
                        command.event,
                        refusal=refused,
                        error=str(refused),
                    )
                )
                return results, False
            except OrderflowError as error:
                results.append(_failed(order_id, deadline, error, command.event))
                return results, False
            results.append(_applied(order_id, deadline, command.event, outcome))
            order = outcome.order
        return results, not due_deadlines(order, now)


_AGAIN: Final = StoreError(
    "the store found the order due again in the same run, though its deadlines were settled"
)


def _applied(order_id: str, deadline: Deadline, event: str, outcome: Outcome) -> SweepResult:
    status = SweepStatus.REPLAYED if outcome.replayed else SweepStatus.APPLIED
    return SweepResult(
        order_id,
        deadline.kind,
        deadline.due_at,
        status,
        event,
        outcome.order.state.value,
        did="nothing (already done)" if outcome.replayed else _did(outcome),
    )


_STATE_WORDS: Final = {
    OrderState.CLOSED: "closed",
    OrderState.COMPLETED: "completed",
}


def _did(outcome: Outcome) -> str:
    """What a fired command did, in words, from its history entry."""
    entry = outcome.entry
    done: list[str] = []
    if entry.from_state is OrderState.ON_HOLD and entry.to_state is not OrderState.ON_HOLD:
        done.append("released")
    elif entry.to_state is not entry.from_state and entry.to_state in _STATE_WORDS:
        done.append(_STATE_WORDS[entry.to_state])
    if entry.event == "fail_payment":
        done.append("failed a payment attempt")
    for moved in entry.exceptions:
        if moved.from_state is ExceptionState.NEW:
            done.append("opened a case")
        elif moved.to_state is ExceptionState.ESCALATED:
            done.append("escalated a case")
        else:
            done.append(f"moved a case to {moved.to_state.value}")
    for case in entry.cases:
        done.append(f"moved an after-sales case to {case.to_state.value}")
    return ", ".join(done) or "recorded it"


def _failed(
    order_id: str, deadline: Deadline | None, error: Exception, event: str = ""
) -> SweepResult:
    return SweepResult(
        order_id,
        None if deadline is None else deadline.kind,
        None if deadline is None else deadline.due_at,
        SweepStatus.FAILED,
        event,
        error=f"{type(error).__name__}: {error}"[:500],
    )
