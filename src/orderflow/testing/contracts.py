"""Conformance tests for storage adapters: subclass, give a factory, run with pytest.

Every :class:`~orderflow.ports.OrderStore` must pass :class:`OrderStoreContract` and the
differential stateful test made by :func:`differential_test`. An adapter author writes::

    from orderflow.testing.contracts import OrderStoreContract, differential_test

    class TestMyStore(OrderStoreContract):
        def make_store(self):
            return MyStore(...)

    TestMyStoreAgainstReference = differential_test(lambda: MyStore(...))

The differential test lives in :mod:`orderflow.testing.differential`; it is imported here
too. The contract covers: the round trip of every field, a stale version refused with nothing
written, the order and the outbox entries of its new history entries' effects written
together, concurrent savers (threads) with exactly one winner per version, many writers
racing on one order through the service with retries, commands at an expected version,
queries by state, by deadline and by customer (newest first, in pages), exact decimals, and
the outbox: claims held until their lease ends and never shared by concurrent claimers,
retries that wait without blocking, delivery records, any error text recorded, dead entries
listed and requeued, purges, relays in threads delivering each entry once; and idempotent
commands through the service. The differential test runs the store beside the in-memory
reference under random commands, waits, claims and delivery records, and requires them to
agree after every step.

Needs ``pytest`` and ``hypothesis`` (``pip install "orderflow-commerce[testing]"``).
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import ClassVar

import pytest

from orderflow import commands as c
from orderflow.adapters.memory import InMemoryStore
from orderflow.errors import (
    CommandRefused,
    ConcurrencyConflict,
    InvalidInput,
    OrderAlreadyExists,
    OrderNotFound,
)
from orderflow.machine import Lifecycle
from orderflow.model import Actor, Address, CloseReason, OrderLine, OrderState, Permission
from orderflow.money import Money
from orderflow.order import Order
from orderflow.ports import ManualClock, OrderStore, OutboxStatus
from orderflow.service import OrderService
from orderflow.sweep import TimerSweep
from orderflow.testing import strategies as ofs
from orderflow.testing.differential import StoreDifferential, differential_test
from orderflow.testing.outbox_contract import OutboxContract
from orderflow.testing.query_contract import QueryContract

__all__ = ["OrderStoreContract", "StoreDifferential", "differential_test"]

START = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
CUSTOMER = Actor.customer("contract-customer")
STAFF = Actor.staff("contract-staff", *sorted(Permission.all()))
SYSTEM = Actor.system("contract-system")
ADDRESS = Address("Wang Fang", "13911112222", "9 Binjiang Road", "Hangzhou")


def _lines(currency: str = "CNY") -> tuple[OrderLine, ...]:
    prices = {"CNY": ("88.80", "0.01"), "KWD": ("12.345", "0.005"), "JPY": ("1200", "1")}
    first, second = prices[currency]
    return (
        OrderLine("TEA-1", 3, Money(first, currency), name="tea"),
        OrderLine("CUP-2", 1, Money(second, currency), name="cup"),
    )


class _World:
    """A lifecycle, a clock and a service over one store, for building test orders."""

    def __init__(self, store: OrderStore) -> None:
        self.clock = ManualClock(START)
        self.lifecycle = Lifecycle()
        self.service = OrderService(store, self.lifecycle, self.clock)

    def place(self, order_id: str, currency: str = "CNY") -> Order:
        command = c.PlaceOrder(order_id, CUSTOMER.id, _lines(currency), ADDRESS)
        return self.service.place(command, CUSTOMER).order

    def run(self, order_id: str, *commands: tuple[c.Command, Actor]) -> Order:
        order = self.service.get(order_id)
        for command, actor in commands:
            self.clock.advance(timedelta(minutes=7))
            order = self.service.handle(order_id, command, actor).order
        return order

    def to_state(self, order_id: str, state: OrderState, currency: str = "CNY") -> Order:
        order = self.place(order_id, currency)
        return self.run(order_id, *ofs.path_to(order, state))


class OrderStoreContract(OutboxContract, QueryContract):
    """The behaviour every order store must have. Subclass it with a ``Test`` name and
    implement :meth:`make_store`; override :meth:`dispose_store` to clean up.

    The outbox half of the contract comes from
    :class:`~orderflow.testing.outbox_contract.OutboxContract`, the queries from
    :class:`~orderflow.testing.query_contract.QueryContract`.
    """

    race_threads: ClassVar[int] = 24
    """How many threads race on one order through the service."""
    race_retries: ClassVar[int] = 10
    """The retries each of them is given."""

    # -- round trips ---------------------------------------------------------------------

    @pytest.mark.parametrize("state", list(OrderState))
    def test_round_trip_of_every_field(self, store: OrderStore, state: OrderState) -> None:
        """PT-1: an order in any state loads back equal, history and amounts included."""
        world = _World(store)
        order = world.to_state(f"rt-{state.value}", state)
        loaded = store.get(order.id)
        assert loaded == order
        assert loaded.history == order.history
        assert loaded.deadlines == order.deadlines
        assert loaded.ledger == order.ledger

    def test_round_trip_of_refunds_holds_and_duplicates(self, store: OrderStore) -> None:
        """PT-1: refund records, failed refunds, duplicate payments and holds survive storage."""
        world = _World(store)
        order = world.to_state("rt-money", OrderState.CLOSED)
        refund_id = order.ledger.refunds[0].refund_id
        order = world.run(
            "rt-money",
            (c.FailRefund(refund_id, "card expired"), SYSTEM),
            (c.RetryRefund(refund_id), STAFF),
            (c.Pay(Money("1.00", "CNY"), "late-payment"), SYSTEM),
        )
        assert store.get("rt-money") == order
        held = world.to_state("rt-hold", OrderState.ON_HOLD)
        assert store.get("rt-hold").hold == held.hold

    @pytest.mark.parametrize("currency", ["KWD", "JPY", "CNY"])
    def test_decimal_amounts_are_exact(self, store: OrderStore, currency: str) -> None:
        """AS-5: amounts come back as exact decimals at the currency's places."""
        world = _World(store)
        order = world.to_state(f"dec-{currency}", OrderState.PAID, currency)
        loaded = store.get(order.id)
        assert loaded.amount_due == order.amount_due
        assert loaded.amount_due.amount.as_tuple() == order.amount_due.amount.as_tuple()
        assert [line.unit_price for line in loaded.lines] == [
            line.unit_price for line in order.lines
        ]

    def test_unknown_orders_are_not_found(self, store: OrderStore) -> None:
        """PT-1: get and save of an unknown id raise OrderNotFound."""
        with pytest.raises(OrderNotFound):
            store.get("no-such-order")
        world = _World(store)
        order = world.place("known")
        other = OrderService(InMemoryStore(), world.lifecycle, world.clock)
        stray = other.place(c.PlaceOrder("stray", CUSTOMER.id, _lines(), ADDRESS), CUSTOMER).order
        paid = world.lifecycle.handle(
            stray, c.Pay(stray.amount_due, "p"), SYSTEM, world.clock.now()
        )
        with pytest.raises(OrderNotFound):
            store.save(paid.order, 1)
        assert store.get("known") == order

    def test_adding_an_existing_id_is_refused_and_writes_nothing(self, store: OrderStore) -> None:
        """PT-1: a second add with the same id raises OrderAlreadyExists and changes nothing."""
        world = _World(store)
        first = world.place("dup")
        entries = store.entries("dup")
        twin = world.lifecycle.place(
            c.PlaceOrder("dup", "someone-else", _lines(), ADDRESS), STAFF, world.clock.now()
        )
        with pytest.raises(OrderAlreadyExists):
            store.add(twin.order)
        assert store.get("dup") == first
        assert store.entries("dup") == entries

    # -- concurrency and atomicity ---------------------------------------------------------

    def test_a_stale_version_is_refused_and_nothing_is_written(self, store: OrderStore) -> None:
        """D-9: saving on a version that is no longer current raises and writes nothing."""
        world = _World(store)
        placed = world.place("stale")
        now = world.clock.now()
        first = world.lifecycle.handle(placed, c.Pay(placed.amount_due, "p-1"), SYSTEM, now)
        second = world.lifecycle.handle(placed, c.Close(CloseReason.OUT_OF_STOCK), STAFF, now)
        store.save(first.order, placed.version)
        entries = store.entries("stale")
        with pytest.raises(ConcurrencyConflict) as info:
            store.save(second.order, placed.version)
        assert info.value.expected_version == placed.version
        assert store.get("stale") == first.order
        assert store.entries("stale") == entries

    def test_a_save_that_rewrites_history_is_refused_and_nothing_changes(
        self, store: OrderStore
    ) -> None:
        """LC-8: a save whose order does not begin with the stored history (an entry
        rewritten, here the payment's time and actor) is refused, and nothing is written."""
        world = _World(store)
        stored = world.to_state("rewrite", OrderState.PAID)
        entries = store.entries("rewrite")
        paying = stored.history[-1]
        forged_entry = paying._replace(at=paying.at - timedelta(minutes=1), actor=STAFF)
        forged = Order(
            id=stored.id,
            customer_id=stored.customer_id,
            lines=stored.lines,
            address=stored.address,
            state=stored.state,
            ledger=stored.ledger,
            history=(*stored.history[:-1], forged_entry),
            deadlines=stored.deadlines,
        )
        after = world.lifecycle.handle(forged, c.ApproveReview(), STAFF, world.clock.now())
        with pytest.raises(InvalidInput, match=rf"history\[{stored.version - 1}\]"):
            store.save(after.order, stored.version)
        assert store.get("rewrite") == stored
        assert store.get("rewrite").history[-1] == paying
        assert store.entries("rewrite") == entries
        honest = world.run("rewrite", (c.ApproveReview(), STAFF))
        assert store.get("rewrite") == honest
        assert honest.history[: stored.version] == stored.history

    def test_order_and_outbox_are_written_together(self, store: OrderStore) -> None:
        """D-14: every effect of a saved change is in the outbox, under the effect's id."""
        world = _World(store)
        placed = world.place("atomic")
        assert [e.id for e in store.entries("atomic")] == [e.id for e in placed.history[0].effects]
        closed = world.run("atomic", (c.Pay(placed.amount_due, "p"), SYSTEM),
                           (c.Close(CloseReason.OUT_OF_STOCK), STAFF))  # fmt: skip
        written = store.entries("atomic")
        expected = [effect for entry in closed.history for effect in entry.effects]
        assert [e.id for e in written] == [effect.id for effect in expected]
        assert [e.effect for e in written] == expected
        assert all(e.status is OutboxStatus.PENDING for e in written)
        assert all(e.version == e.effect.version for e in written)

    def test_a_save_writes_the_effects_of_every_new_entry(self, store: OrderStore) -> None:
        """D-14: the outbox entries come from the order: ``add`` writes those of its whole
        history, ``save`` those of every entry after the expected version (several at once
        too), each at its entry's version."""
        world = _World(store)

        def build(order_id: str) -> tuple[Order, Order]:
            placed = world.lifecycle.place(
                c.PlaceOrder(order_id, CUSTOMER.id, _lines(), ADDRESS), CUSTOMER, START
            ).order
            at = START + timedelta(minutes=3)
            paid = world.lifecycle.handle(placed, c.Pay(placed.amount_due, "p"), SYSTEM, at)
            close = c.Close(CloseReason.OUT_OF_STOCK)
            return placed, world.lifecycle.handle(paid.order, close, STAFF, at).order

        placed, closed = build("from-order")
        every = [effect for entry in closed.history for effect in entry.effects]
        store.add(placed)
        assert [e.effect for e in store.entries("from-order")] == list(placed.history[0].effects)
        store.save(closed, 1)
        written = store.entries("from-order")
        assert [e.effect for e in written] == every
        assert [e.version for e in written] == [effect.version for effect in every]
        assert {e.created_at for e in written[len(placed.history[0].effects) :]} == {
            closed.updated_at
        }
        _, imported = build("imported")
        store.add(imported)
        assert [e.id for e in store.entries("imported")] == [
            effect.id for entry in imported.history for effect in entry.effects
        ]

    def test_concurrent_savers_have_exactly_one_winner_per_version(self, store: OrderStore) -> None:
        """D-9: threads saving on the same version: one wins each round, history stays gapless."""
        world = _World(store)
        world.place("race")
        rounds = 4
        lock = threading.Lock()

        def attempt(
            worker: int, loaded: Order, barrier: threading.Barrier, results: list[str]
        ) -> None:
            address = Address(f"worker {worker}", "13800000000", "1 Road", "Hangzhou")
            outcome = world.lifecycle.handle(
                loaded, c.ChangeAddress(address), STAFF, loaded.updated_at
            )
            barrier.wait()
            try:
                store.save(outcome.order, loaded.version)
                result = "won"
            except ConcurrencyConflict:
                result = "conflict"
            with lock:
                results.append(result)

        for round_number in range(rounds):
            loaded = store.get("race")
            barrier = threading.Barrier(self.threads)
            results: list[str] = []
            workers = [
                threading.Thread(target=attempt, args=(n, loaded, barrier, results))
                for n in range(self.threads)
            ]
            for worker in workers:
                worker.start()
            for worker in workers:
                worker.join(timeout=60)
            assert sorted(results) == ["conflict"] * (self.threads - 1) + ["won"], round_number
        final = store.get("race")
        assert final.version == 1 + rounds
        assert [entry.from_state for entry in final.history][1:] == [
            OrderState.PENDING_PAYMENT
        ] * rounds

    def test_a_race_of_many_writers_on_one_order_lands_every_command(
        self, store: OrderStore
    ) -> None:
        """D-9: threads paying and changing one order at once, each through the service
        with retries (which pause, randomized, before deciding again on fresh state): every
        command lands exactly once and no conflict escapes."""
        world = _World(store)
        placed = world.place("race-all")
        barrier = threading.Barrier(self.race_threads)
        errors: list[BaseException] = []

        def command(worker: int) -> c.Command:
            if worker % 2:
                return c.Pay(placed.amount_due, f"race-pay-{worker}", command_id=f"w-{worker}")
            address = Address(f"worker {worker}", "13800000000", "1 Road", "Hangzhou")
            return c.ChangeAddress(address, command_id=f"w-{worker}")

        def run(worker: int) -> None:
            actor = SYSTEM if worker % 2 else STAFF
            barrier.wait()
            try:
                world.service.handle("race-all", command(worker), actor, retries=self.race_retries)
            except BaseException as error:
                errors.append(error)

        workers = [threading.Thread(target=run, args=(n,)) for n in range(self.race_threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=120)
        assert errors == []
        final = store.get("race-all")
        assert final.version == 1 + self.race_threads
        assert sorted(entry.command.command_id or "" for entry in final.history[1:]) == sorted(
            f"w-{n}" for n in range(self.race_threads)
        )
        assert final.state is OrderState.PAID
        assert final.amount_paid == placed.amount_due  # RK-3: one applied, the rest refunded
        assert len(final.ledger.refunds) == self.race_threads // 2 - 1
        written = [entry.id for entry in store.entries("race-all")]
        assert written == [effect.id for entry in final.history for effect in entry.effects]

    def test_a_command_at_an_expected_version_is_applied_only_there(
        self, store: OrderStore
    ) -> None:
        """D-9: with ``expected_version`` (an HTTP If-Match) a command is applied at that
        version; at another it is a conflict and nothing is written, unless its command id
        was applied already (a retried request gets the original outcome)."""
        world = _World(store)
        placed = world.place("if-match")
        pay = c.Pay(placed.amount_due, "if-match-pay", command_id="req-1")
        paid = world.service.handle("if-match", pay, SYSTEM, expected_version=1)
        assert paid.order.version == 2
        entries = store.entries("if-match")
        again = world.service.handle("if-match", pay, SYSTEM, expected_version=1)
        assert again.replayed
        assert again.entry == paid.entry
        close = c.Close(CloseReason.OUT_OF_STOCK, command_id="req-2")
        with pytest.raises(ConcurrencyConflict) as info:
            world.service.handle("if-match", close, STAFF, expected_version=1)
        assert (info.value.expected_version, info.value.actual_version) == (1, 2)
        assert store.get("if-match") == paid.order
        assert store.entries("if-match") == entries
        closed = world.service.handle("if-match", close, STAFF, expected_version=2)
        assert closed.order.state is OrderState.CLOSED

    # -- idempotency through the service -------------------------------------------------

    def test_idempotent_commands_through_the_service(self, store: OrderStore) -> None:
        """D-3: a webhook retried after a crash gives one payment and one set of effects."""
        world = _World(store)
        placed = world.place("idem")
        again = world.service.place(c.PlaceOrder("idem", CUSTOMER.id, _lines(), ADDRESS), CUSTOMER)
        assert again.replayed
        assert again.order == placed
        pay = c.Pay(placed.amount_due, "wx-1", command_id="webhook-77")
        first = world.service.handle("idem", pay, SYSTEM)
        entries = store.entries("idem")
        world.clock.advance(timedelta(minutes=1))
        second = world.service.handle("idem", pay, SYSTEM)
        assert second.replayed
        assert second.effects == first.effects
        stored = store.get("idem")
        assert stored.version == 2
        assert len(stored.ledger.payments) == 1
        assert store.entries("idem") == entries
        with pytest.raises(CommandRefused) as info:
            world.service.handle("idem", c.ApproveReview(command_id="webhook-77"), STAFF)
        assert info.value.code == "approve_review.id_conflict"
        assert store.get("idem") == stored
        with pytest.raises(OrderAlreadyExists):
            world.service.place(c.PlaceOrder("idem", CUSTOMER.id, _lines("KWD"), ADDRESS), CUSTOMER)

    # -- sweeper claims ---------------------------------------------------------------------

    def test_claims_hand_each_due_order_to_one_sweeper(self, store: OrderStore) -> None:
        """D-15: due orders are claimed earliest first; a claimed order is skipped until its
        lease ends; not-yet-due orders are never claimed."""
        world = _World(store)
        for n in range(5):
            world.place(f"claim-{n}")
            world.clock.advance(timedelta(minutes=1))
        world.clock.advance(timedelta(minutes=27))
        now = world.clock.now()  # claim-0..claim-2 are due, claim-3 and claim-4 not yet
        lease = timedelta(minutes=5)
        assert store.claim_due("a", now, limit=2, lease=lease) == ["claim-0", "claim-1"]
        assert store.claim_due("b", now, limit=10, lease=lease) == ["claim-2"]
        assert store.claim_due("c", now, limit=10, lease=lease) == []
        assert store.claim_due("c", now, limit=0, lease=lease) == []
        later = now + lease
        assert store.claim_due("c", later, limit=10, lease=lease) == [
            f"claim-{n}" for n in range(5)
        ]

    def test_claims_are_released_or_extended_only_by_their_holder(self, store: OrderStore) -> None:
        """A sweeper ends its own claim or sets the order aside; another's is left alone."""
        world = _World(store)
        world.place("hold-claim")
        now = world.clock.now() + timedelta(hours=1)
        lease = timedelta(minutes=5)
        assert store.claim_due("a", now, lease=lease) == ["hold-claim"]
        store.release_due("hold-claim", "b")
        assert store.claim_due("b", now, lease=lease) == []
        store.release_due("hold-claim", "a", until=now + timedelta(hours=1))
        assert store.claim_due("b", now + timedelta(minutes=59), lease=lease) == []
        store.release_due("hold-claim", "a")
        assert store.claim_due("b", now, lease=lease) == ["hold-claim"]
        store.release_due("no-such-order", "b")

    def test_a_claim_does_not_change_the_order(self, store: OrderStore) -> None:
        """Claims are beside the order: saving needs none, and the order loads unchanged."""
        world = _World(store)
        placed = world.place("claimed-save")
        now = world.clock.now() + timedelta(hours=1)
        assert store.claim_due("a", now, lease=timedelta(minutes=5)) == ["claimed-save"]
        assert store.get("claimed-save") == placed
        closed = world.run("claimed-save", (c.Close(CloseReason.OUT_OF_STOCK), STAFF))
        assert store.get("claimed-save") == closed
        assert store.find_due(now) == []
        assert store.claim_due("b", now + timedelta(hours=1), lease=timedelta(minutes=5)) == []

    def test_the_timer_sweep_fires_due_deadlines_through_the_service(
        self, store: OrderStore
    ) -> None:
        """TM-1, D-16, TM-2: a sweep closes unpaid orders, fails stale payments, flags an
        overdue review, and a rerun is a no-op, on this store."""
        world = _World(store)
        world.place("sweep-unpaid")
        world.place("sweep-paying")
        world.service.handle("sweep-paying", c.BeginPayment("p-1"), CUSTOMER)
        world.to_state("sweep-paid", OrderState.PAID)
        world.clock.advance(timedelta(hours=2))
        report = TimerSweep(world.service, worker="contract", batch=1).run()
        assert sorted((r.order_id, r.event) for r in report.results) == [
            ("sweep-paid", "flag_review_overdue"),  # TM-2: paid two hours ago, not reviewed
            ("sweep-paying", "auto_close_unpaid"),
            ("sweep-paying", "fail_payment"),
            ("sweep-unpaid", "auto_close_unpaid"),
        ]
        assert store.get("sweep-unpaid").state is OrderState.CLOSED
        assert store.get("sweep-paying").state is OrderState.CLOSED
        assert store.get("sweep-paid").state is OrderState.PAID
        assert TimerSweep(world.service, worker="again").run().results == ()

    def test_concurrent_claims_never_share_an_order(self, store: OrderStore) -> None:
        """D-15: threads claiming at once get disjoint sets that cover every due order."""
        world = _World(store)
        for n in range(24):
            world.place(f"race-claim-{n:02}")
        now = world.clock.now() + timedelta(hours=1)
        barrier = threading.Barrier(self.threads)
        claimed: list[list[str]] = []
        lock = threading.Lock()

        def claim(worker: int) -> None:
            barrier.wait()
            mine: list[str] = []
            while batch := store.claim_due(f"w{worker}", now, limit=2, lease=timedelta(hours=1)):
                mine.extend(batch)
            with lock:
                claimed.append(mine)

        workers = [threading.Thread(target=claim, args=(n,)) for n in range(self.threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=60)
        every = [order_id for mine in claimed for order_id in mine]
        assert sorted(every) == [f"race-claim-{n:02}" for n in range(24)]
