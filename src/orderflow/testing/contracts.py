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
commands through the service; for a store offering ``cached_order``, that a stale cached
order is never saved over. The differential test runs the store beside the in-memory
reference under random commands, waits, claims and delivery records, and requires them to
agree after every step.

Needs ``pytest`` and ``hypothesis`` (``pip install "orderflow-commerce[testing]"``).
"""

from __future__ import annotations

from datetime import timedelta
from typing import ClassVar

import pytest

from orderflow import commands as c
from orderflow.adapters.memory import InMemoryStore
from orderflow.errors import (
    ConcurrencyConflict,
    InvalidInput,
    OrderAlreadyExists,
    OrderNotFound,
)
from orderflow.model import CloseReason, OrderState
from orderflow.money import Money
from orderflow.order import Order
from orderflow.ports import OrderStore, OutboxStatus
from orderflow.service import OrderService
from orderflow.testing.cache_contract import CachedOrderContract
from orderflow.testing.concurrency_contract import ConcurrencyContract
from orderflow.testing.differential import StoreDifferential, differential_test
from orderflow.testing.outbox_contract import OutboxContract
from orderflow.testing.query_contract import QueryContract
from orderflow.testing.world import (
    ADDRESS,
    CUSTOMER,
    STAFF,
    START,
    SYSTEM,
    ContractWorld,
    contract_lines,
)

__all__ = ["OrderStoreContract", "StoreDifferential", "differential_test"]


class OrderStoreContract(OutboxContract, QueryContract, ConcurrencyContract, CachedOrderContract):
    """The behaviour every order store must have. Subclass it with a ``Test`` name and
    implement :meth:`make_store`; override :meth:`dispose_store` to clean up.

    The outbox half of the contract comes from
    :class:`~orderflow.testing.outbox_contract.OutboxContract`, the queries from
    :class:`~orderflow.testing.query_contract.QueryContract`, the concurrent use from
    :class:`~orderflow.testing.concurrency_contract.ConcurrencyContract`, a store's optional
    ``cached_order`` from :class:`~orderflow.testing.cache_contract.CachedOrderContract`
    (override :meth:`make_peer` to run its stale-cache test).
    """

    race_threads: ClassVar[int] = 24
    """How many threads race on one order through the service."""
    race_retries: ClassVar[int] = 10
    """The retries each of them is given."""

    # -- round trips ---------------------------------------------------------------------

    @pytest.mark.parametrize("state", list(OrderState))
    def test_round_trip_of_every_field(self, store: OrderStore, state: OrderState) -> None:
        """PT-1: an order in any state loads back equal, history and amounts included."""
        world = ContractWorld(store)
        order = world.to_state(f"rt-{state.value}", state)
        loaded = store.get(order.id)
        assert loaded == order
        assert loaded.history == order.history
        assert loaded.deadlines == order.deadlines
        assert loaded.ledger == order.ledger

    def test_round_trip_of_refunds_holds_and_duplicates(self, store: OrderStore) -> None:
        """PT-1: refund records, failed refunds, duplicate payments and holds survive storage."""
        world = ContractWorld(store)
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
        world = ContractWorld(store)
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
        world = ContractWorld(store)
        order = world.place("known")
        other = OrderService(InMemoryStore(), world.lifecycle, world.clock)
        stray = other.place(
            c.PlaceOrder("stray", CUSTOMER.id, contract_lines(), ADDRESS), CUSTOMER
        ).order
        paid = world.lifecycle.handle(
            stray, c.Pay(stray.amount_due, "p"), SYSTEM, world.clock.now()
        )
        with pytest.raises(OrderNotFound):
            store.save(paid.order, 1)
        assert store.get("known") == order

    def test_adding_an_existing_id_is_refused_and_writes_nothing(self, store: OrderStore) -> None:
        """PT-1: a second add with the same id raises OrderAlreadyExists and changes nothing."""
        world = ContractWorld(store)
        first = world.place("dup")
        entries = store.entries("dup")
        twin = world.lifecycle.place(
            c.PlaceOrder("dup", "someone-else", contract_lines(), ADDRESS), STAFF, world.clock.now()
        )
        with pytest.raises(OrderAlreadyExists):
            store.add(twin.order)
        assert store.get("dup") == first
        assert store.entries("dup") == entries

    # -- concurrency and atomicity ---------------------------------------------------------

    def test_a_stale_version_is_refused_and_nothing_is_written(self, store: OrderStore) -> None:
        """D-9: saving on a version that is no longer current raises and writes nothing."""
        world = ContractWorld(store)
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
        world = ContractWorld(store)
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
        world = ContractWorld(store)
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
        world = ContractWorld(store)

        def build(order_id: str) -> tuple[Order, Order]:
            placed = world.lifecycle.place(
                c.PlaceOrder(order_id, CUSTOMER.id, contract_lines(), ADDRESS), CUSTOMER, START
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
