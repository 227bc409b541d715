"""The differential stateful test: any order store beside the in-memory reference.

:func:`differential_test` makes a ``unittest.TestCase`` that runs your store beside
:class:`~orderflow.adapters.memory.InMemoryStore` under random steps, through two
:class:`~orderflow.service.OrderService` objects sharing one clock and one lifecycle, and
requires them to agree after every step. The steps: placing orders (some taken at once along
the happy path to a later state), random lifecycle commands, after-sales case commands and
order-exception commands (with tracking events) drawn against the stored order
(:mod:`orderflow.testing.case_strategies`), timer sweeps, waits, saves on a stale version,
outbox claims and delivery records, requeues and purges. Both services gather the order's
context through the same fixed context port, so review runs the classifier on the recent
orders each store finds. An adapter author writes::

    from orderflow.testing.differential import differential_test

    TestMyStoreAgainstReference = differential_test(lambda: MyStore(...))

(``from orderflow.testing.contracts import differential_test`` works too.)

Needs ``pytest`` and ``hypothesis`` (``pip install "orderflow-commerce[testing]"``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, rule

from orderflow import commands as c
from orderflow.adapters.memory import InMemoryStore
from orderflow.errors import CommandRefused, ConcurrencyConflict, OrderAlreadyExists
from orderflow.machine import Lifecycle
from orderflow.model import Actor, Address, CloseReason, OrderState, Permission
from orderflow.money import Money
from orderflow.ports import ManualClock, OrderStore
from orderflow.service import OrderService
from orderflow.sweep import TimerSweep
from orderflow.testing import case_strategies as cases
from orderflow.testing import strategies as ofs
from orderflow.testing.fakes import FixedContext

__all__ = ["StoreDifferential", "differential_test"]

START = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
STAFF = Actor.staff("differential-staff", *sorted(Permission.all()))
SYSTEM = Actor.system("differential-system")
LEASE = timedelta(minutes=5)
CONTEXT = FixedContext(
    stock={"SKU-3": 0},
    list_prices={"SKU-2": Money("9000", "CNY")},
    vips=["buyer-a"],
)
"""What the host knows, for both services: the fourth line of an order is out of stock
(EX-1), the third is priced far below its list price, and ``buyer-a`` is a VIP (EX-4)."""
ALONG = (OrderState.PAID, OrderState.SHIPPED, OrderState.DELIVERED, OrderState.COMPLETED)
"""The states :meth:`StoreDifferential.place_along` takes a new order to."""


class StoreDifferential(RuleBasedStateMachine):
    """Runs a store beside the in-memory reference under random commands: the lifecycle's,
    after-sales cases' and order exceptions' (tracking events included), and timer sweeps.

    After every step both must agree: the same outcome or the same refusal, the same stored
    orders (their cases, exception cases, refunds and deadlines included), the same outbox
    entries, the same sweep results and the same answers to the state, deadline and
    customer queries (a customer's first page, and the page after its first order).
    Use :func:`differential_test` to make a test case for your store.
    """

    make_store: ClassVar[Callable[[], OrderStore]]
    dispose_store: ClassVar[Callable[[OrderStore], None] | None] = None

    orders = Bundle("orders")

    def __init__(self) -> None:
        super().__init__()
        self.clock = ManualClock(START)
        self.lifecycle = Lifecycle()
        self.subject = type(self).make_store()
        self.reference = InMemoryStore()
        self.subject_service = OrderService(
            self.subject, self.lifecycle, self.clock, context=CONTEXT
        )
        self.reference_service = OrderService(
            self.reference, self.lifecycle, self.clock, context=CONTEXT
        )
        self.ids: list[str] = []

    def teardown(self) -> None:
        """Release the store under test."""
        dispose = type(self).dispose_store
        if dispose is not None:
            dispose(self.subject)

    def _both(self, action: Callable[[OrderService], Any]) -> bool:
        """Run the action through both services; they must give the same outcome or the
        same refusal. Whether it succeeded."""
        results: list[tuple[Any, ...]] = []
        for service in (self.reference_service, self.subject_service):
            try:
                outcome = action(service)
                results.append(("ok", outcome.order, outcome.effects, outcome.replayed))
            except (CommandRefused, ConcurrencyConflict, OrderAlreadyExists) as error:
                results.append(("refused", type(error).__name__, getattr(error, "codes", ())))
        assert results[0] == results[1]
        return bool(results[0][0] == "ok")

    def _send(self, order_id: str, command: c.Command, actor: Actor) -> bool:
        return self._both(lambda service: service.handle(order_id, command, actor))

    @rule(
        target=orders,
        placed=ofs.place_orders(order_id="x"),
        number=st.integers(0, 5),
        buyer=st.sampled_from([None, "buyer-a", "buyer-b"]),
        later=st.booleans(),
    )
    def place(self, placed: c.PlaceOrder, number: int, buyer: str | None, later: bool) -> str:
        """Place an order (sometimes an id again; often for a customer with other orders;
        at the instant of the last step, or a second after it)."""
        return self._place(placed, number, buyer, later)

    def _place(self, placed: c.PlaceOrder, number: int, buyer: str | None, later: bool) -> str:
        if later:
            self.clock.advance(timedelta(seconds=1))
        order_id = f"diff-{number}"
        customer_id = buyer or placed.customer_id
        command = c.PlaceOrder(order_id, customer_id, placed.lines, placed.address)
        actor = Actor.customer(customer_id)
        self._both(lambda service: service.place(command, actor))
        if order_id not in self.ids:
            self.ids.append(order_id)
        return order_id

    @rule(
        target=orders,
        placed=ofs.place_orders(order_id="x"),
        number=st.integers(0, 5),
        buyer=st.sampled_from([None, "buyer-a", "buyer-b"]),
        state=st.sampled_from(ALONG),
    )
    def place_along(
        self, placed: c.PlaceOrder, number: int, buyer: str | None, state: OrderState
    ) -> str:
        """Place an order and take it along the happy path towards ``state`` (paid, shipped,
        delivered or completed), as far as it goes: review may hold it (EX-2), and an order
        already under that id goes no further than its state allows."""
        order_id = self._place(placed, number, buyer, later=True)
        order = self.reference.get(order_id)
        for command, actor in ofs.path_to(order, state):
            if not self._send(order_id, command, actor):
                break
        return order_id

    @rule(order_id=orders, data=st.data())
    def command(self, order_id: str, data: st.DataObject) -> None:
        """Send a random command from a random actor."""
        order = self.reference.get(order_id)
        command = data.draw(ofs.any_commands(order), label="command")
        actor = data.draw(ofs.actors(order.customer_id), label="actor")
        self._both(lambda service: service.handle(order_id, command, actor))

    @rule(order_id=orders, data=st.data())
    def case_command(self, order_id: str, data: st.DataObject) -> None:
        """Send an after-sales command drawn against the stored order (a request, a decision,
        a return's next step, a money-only refund, an answer on a refund), usually from the
        actor it is meant for."""
        order = self.reference.get(order_id)
        command = data.draw(cases.case_commands(order), label="case command")
        actor = data.draw(cases.senders(order, command), label="actor")
        self._send(order_id, command, actor)

    @rule(order_id=orders, data=st.data())
    def exception_command(self, order_id: str, data: st.DataObject) -> None:
        """Send an order-exception command drawn against the stored order (a tracking event,
        an opening by hand, an acknowledgement, an escalation, a playbook resolution, a
        compensation, a close, a follow-up), usually from the actor it is meant for."""
        order = self.reference.get(order_id)
        command = data.draw(cases.exception_commands(order), label="exception command")
        actor = data.draw(cases.senders(order, command), label="actor")
        self._send(order_id, command, actor)

    @rule()
    def sweep(self) -> None:
        """Fire every due deadline through a timer sweep on each store: the same results."""
        reports = [
            TimerSweep(service, worker="differential", batch=2).run()
            for service in (self.reference_service, self.subject_service)
        ]
        assert reports[1].results == reports[0].results

    @rule(order_id=orders)
    def advance(self, order_id: str) -> None:
        """Take the order one step along the happy path (these steps produce effects)."""
        order = self.reference.get(order_id)
        steps: dict[OrderState, tuple[c.Command, Actor]] = {
            OrderState.PENDING_PAYMENT: (c.Pay(order.amount_due, f"pay-{order_id}"), SYSTEM),
            OrderState.PAID: (c.ApproveReview(), STAFF),
            OrderState.AWAITING_SHIPMENT: (c.StartFulfilment(), STAFF),
            OrderState.IN_FULFILMENT: (c.Ship("SF Express", f"SF-{order_id}"), STAFF),
            OrderState.SHIPPED: (c.ConfirmDelivery(), SYSTEM),
            OrderState.DELIVERED: (c.ConfirmReceipt(), Actor.customer(order.customer_id)),
        }
        if order.state in steps:
            command, actor = steps[order.state]
            self._both(lambda service: service.handle(order_id, command, actor))

    @rule(order_id=orders, reason=st.sampled_from(CloseReason.known()))
    def close(self, order_id: str, reason: CloseReason) -> None:
        """Close the order (refused once it has shipped)."""
        command = c.Close(reason, note="closed by the differential test")
        self._both(lambda service: service.handle(order_id, command, STAFF))

    @rule(minutes=st.sampled_from([1, 29, 31, 60 * 24 * 11]))
    def wait(self, minutes: int) -> None:
        """Let time pass."""
        self.clock.advance(timedelta(minutes=minutes))

    @rule(order_id=orders)
    def stale_save(self, order_id: str) -> None:
        """Save on the version before the current one (0, one it never had, for a new
        order): both must refuse."""
        order = self.reference.get(order_id)
        address = Address("stale", "13800000000", "1 Road", "Hangzhou")
        try:
            outcome = self.lifecycle.handle(
                order, c.ChangeAddress(address), STAFF, order.updated_at
            )
        except CommandRefused:
            return
        for store in (self.reference, self.subject):
            try:
                store.save(outcome.order, order.version - 1)
            except ConcurrencyConflict:
                continue
            raise AssertionError(f"{type(store).__name__} accepted a save on a stale version")

    def _claim_both(self, limit: int) -> list[str]:
        now = self.clock.now()
        reference = self.reference.claim("differential", now, limit=limit, lease=LEASE)
        subject = self.subject.claim("differential", now, limit=limit, lease=LEASE)
        assert subject == reference
        return [entry.id for entry in reference]

    @rule(outcome=st.sampled_from(["delivered", "retry", "dead"]), limit=st.integers(1, 4))
    def relay(self, outcome: str, limit: int) -> None:
        """Claim the first due entries in both stores and record one result for them all."""
        now = self.clock.now()
        for entry_id in self._claim_both(limit):
            for store in (self.reference, self.subject):
                if outcome == "delivered":
                    store.mark_delivered(entry_id, now)
                else:
                    retry_at = now + timedelta(minutes=2) if outcome == "retry" else None
                    store.mark_failed(entry_id, "channel \x00 down", now, retry_at=retry_at)

    @rule(limit=st.integers(1, 3))
    def crashed_relay(self, limit: int) -> None:
        """Claim entries and never record a result (a relay that crashed)."""
        self._claim_both(limit)

    @rule()
    def requeue(self) -> None:
        """Put the first dead entry back."""
        dead = self.reference.dead(limit=1)
        if dead:
            for store in (self.reference, self.subject):
                assert store.requeue(dead[0].id, self.clock.now()) is True

    @rule(hours=st.sampled_from([0, 1]))
    def purge(self, hours: int) -> None:
        """Delete the entries delivered more than ``hours`` ago."""
        before = self.clock.now() - timedelta(hours=hours)
        purged = [store.purge_delivered(before) for store in (self.reference, self.subject)]
        assert purged[0] == purged[1]

    @invariant()
    def stores_agree(self) -> None:
        """Both stores hold the same orders, outbox and query answers."""
        for order_id in self.ids:
            assert self.subject.get(order_id) == self.reference.get(order_id)
            assert self.subject.entries(order_id) == self.reference.entries(order_id)
        assert [e.id for e in self.subject.pending(1000)] == [
            e.id for e in self.reference.pending(1000)
        ]
        assert self.subject.dead(1000) == self.reference.dead(1000)
        for state in (OrderState.PENDING_PAYMENT, OrderState.PAID, OrderState.CLOSED):
            assert [o.id for o in self.subject.find_by_state(state)] == [
                o.id for o in self.reference.find_by_state(state)
            ]
        now = self.clock.now()
        assert [o.id for o in self.subject.find_due(now)] == [
            o.id for o in self.reference.find_due(now)
        ]
        customers = {self.reference.get(order_id).customer_id for order_id in self.ids}
        for customer_id in sorted(customers):
            expected = self.reference.find_by_customer(customer_id)
            assert self.subject.find_by_customer(customer_id) == expected
            if len(expected) > 1:  # the page after the first order
                cursor = (expected[0].created_at, expected[0].id)
                assert [
                    o.id for o in self.subject.find_by_customer(customer_id, limit=2, before=cursor)
                ] == [o.id for o in expected[1:3]]


def differential_test(
    make_store: Callable[[], OrderStore],
    dispose_store: Callable[[OrderStore], None] | None = None,
    *,
    max_examples: int | None = None,
    steps: int = 25,
    shrink: bool = True,
    derandomize: bool = False,
) -> Any:
    """A ``unittest.TestCase`` running :class:`StoreDifferential` for a store.

    Args:
        make_store: builds a new, empty store under test (called once per example).
        dispose_store: releases it afterwards.
        max_examples: examples to run; the active Hypothesis profile's when ``None``.
        steps: steps per example.
        shrink: whether to shrink a failure to a minimal example (turn it off to check
            quickly that a deliberately broken store fails).
        derandomize: run the same examples every time (for checks that must fail).
    """
    machine: type[StoreDifferential] = type(
        "StoreDifferentialFor",
        (StoreDifferential,),
        {
            "make_store": staticmethod(make_store),
            "dispose_store": staticmethod(dispose_store) if dispose_store else None,
        },
    )
    options: dict[str, Any] = {
        "stateful_step_count": steps,
        "deadline": None,
        "suppress_health_check": [HealthCheck.too_slow, HealthCheck.filter_too_much],
    }
    if max_examples is not None:
        options["max_examples"] = max_examples
    if not shrink:
        options["phases"] = [Phase.explicit, Phase.reuse, Phase.generate]
    if derandomize:
        options["derandomize"] = True
        options["database"] = None
    machine.TestCase.settings = settings(settings(), **options)
    return machine.TestCase
