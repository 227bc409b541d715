"""The concurrency half of the store conformance kit: savers racing on one version, writers
racing on one order through the service, commands at an expected version, idempotent
commands, and the timer sweep's claims (D-9, D-3, D-15). :class:`ConcurrencyContract` is a
base of :class:`~orderflow.testing.contracts.OrderStoreContract`; an adapter author
subclasses that one. Needs ``pytest`` (``pip install "orderflow-commerce[testing]"``).
"""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import ClassVar

import pytest

from orderflow import commands as c
from orderflow.errors import (
    CommandRefused,
    ConcurrencyConflict,
    OrderAlreadyExists,
)
from orderflow.model import Address, CloseReason, OrderState
from orderflow.order import Order
from orderflow.ports import OrderStore
from orderflow.sweep import TimerSweep
from orderflow.testing.world import (
    ADDRESS,
    CUSTOMER,
    STAFF,
    SYSTEM,
    ContractWorld,
    contract_lines,
)

__all__ = ["ConcurrencyContract"]


class ConcurrencyContract:
    """Stores under concurrent use. It uses the ``store`` fixture of the contract it is a
    base of."""

    threads: ClassVar[int]
    race_threads: ClassVar[int]
    race_retries: ClassVar[int]

    def test_concurrent_savers_have_exactly_one_winner_per_version(self, store: OrderStore) -> None:
        """D-9: threads saving on the same version: one wins each round, history stays gapless."""
        world = ContractWorld(store)
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
        world = ContractWorld(store)
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
        world = ContractWorld(store)
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
        world = ContractWorld(store)
        placed = world.place("idem")
        again = world.service.place(
            c.PlaceOrder("idem", CUSTOMER.id, contract_lines(), ADDRESS), CUSTOMER
        )
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
            world.service.place(
                c.PlaceOrder("idem", CUSTOMER.id, contract_lines("KWD"), ADDRESS), CUSTOMER
            )

    # -- sweeper claims ---------------------------------------------------------------------

    def test_claims_hand_each_due_order_to_one_sweeper(self, store: OrderStore) -> None:
        """D-15: due orders are claimed earliest first; a claimed order is skipped until its
        lease ends; not-yet-due orders are never claimed."""
        world = ContractWorld(store)
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
        world = ContractWorld(store)
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
        world = ContractWorld(store)
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
        world = ContractWorld(store)
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
        world = ContractWorld(store)
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
