"""The outbox half of the store conformance kit: claims, leases, retries, dead entries.

:class:`OutboxContract` is a base of :class:`~orderflow.testing.contracts.OrderStoreContract`;
an adapter author subclasses that one. It checks what a relay relies on (NT-2, D-14): a claim
takes due entries oldest first and holds them until its lease ends; concurrent claimers never
share an entry; a failure ends the claim and makes the entry wait for its retry time without
blocking the others; any error text is recorded, cleaned and bounded; dead entries are listed
by id and requeued; delivered entries are purged after a cut-off; and relays running in
threads over one store hand over every entry exactly once.

Needs ``pytest`` (``pip install "orderflow-commerce[testing]"``).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import pytest

from orderflow import commands as c
from orderflow.effects import (
    EFFECT_TYPES,
    AlertStaff,
    OpenCase,
    ReleaseStock,
    RequestRefund,
    ReserveStock,
)
from orderflow.errors import InvalidInput
from orderflow.machine import Lifecycle
from orderflow.model import Actor, Address, OrderLine, OrderState
from orderflow.money import Money
from orderflow.order import Order
from orderflow.ports import ERROR_LIMIT, ManualClock, OrderStore, OutboxStatus, clean_error
from orderflow.relay import OutboxRelay, Routes
from orderflow.service import OrderService
from orderflow.testing import strategies as ofs
from orderflow.testing.fakes import RecordingHandler, RecordingNotifier

__all__ = ["OutboxContract"]

START = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
CUSTOMER = Actor.customer("outbox-customer")
ADDRESS = Address("Wang Fang", "13911112222", "9 Binjiang Road", "Hangzhou")
LINES = (OrderLine("TEA-1", 3, Money("88.80", "CNY")), OrderLine("CUP-2", 1, Money("0.01", "CNY")))


class _World:
    """A clock and a service over one store, for placing orders whose effects fill the
    outbox."""

    def __init__(self, store: OrderStore) -> None:
        self.clock = ManualClock(START)
        self.service = OrderService(store, Lifecycle(), self.clock)

    def place(self, order_id: str) -> Order:
        return self.service.place(
            c.PlaceOrder(order_id, CUSTOMER.id, LINES, ADDRESS), CUSTOMER
        ).order

    def to_state(self, order_id: str, state: OrderState) -> Order:
        order = self.place(order_id)
        for command, actor in ofs.path_to(order, state):
            self.clock.advance(timedelta(minutes=7))
            order = self.service.handle(order_id, command, actor).order
        return order


class OutboxContract:
    """The outbox behaviour every order store must have (see the module's docstring)."""

    threads: ClassVar[int] = 8
    """How many threads the concurrency tests use."""

    def make_store(self) -> OrderStore:
        """A new, empty store. Every test gets its own."""
        raise NotImplementedError("subclasses return the store under test")

    def dispose_store(self, store: OrderStore) -> None:
        """Release what :meth:`make_store` acquired (close connections, drop tables)."""

    @pytest.fixture
    def store(self) -> Iterator[OrderStore]:
        """The store under test, disposed of afterwards."""
        store = self.make_store()
        try:
            yield store
        finally:
            self.dispose_store(store)

    def _outbox_world(self, store: OrderStore, orders: int) -> tuple[_World, list[str]]:
        """Orders placed a minute apart: two entries each, their ids in written order."""
        world = _World(store)
        ids: list[str] = []
        for number in range(orders):
            world.place(f"box-{number:02d}")
            ids += [e.id for e in store.entries(f"box-{number:02d}")]
            world.clock.advance(timedelta(minutes=1))
        return world, ids

    def test_claims_hold_entries_until_their_lease_ends(self, store: OrderStore) -> None:
        """NT-2/D-14: a claim takes due entries oldest first; no other claim gets them until
        the lease ends, then one does."""
        world, ids = self._outbox_world(store, 3)
        now, lease = world.clock.now(), timedelta(minutes=5)
        first = store.claim("relay-a", now, limit=4, lease=lease)
        assert [e.id for e in first] == ids[:4]
        assert {(e.claimed_by, e.claimed_until) for e in first} == {("relay-a", now + lease)}
        assert [e.id for e in store.claim("relay-b", now, limit=10, lease=lease)] == ids[4:]
        assert store.claim("relay-c", now + lease - timedelta(microseconds=1), lease=lease) == []
        later = store.claim("relay-c", now + lease, limit=10, lease=lease)
        assert [e.id for e in later] == ids
        assert store.claim("relay-d", now + lease, lease=lease) == []
        assert store.claim("relay-d", now + 2 * lease, limit=0, lease=lease) == []
        assert [e.id for e in store.pending()] == ids  # a claim changes no status
        for bad in (
            {"worker": ""},
            {"worker": "w" * 101},
            {"now": now.replace(tzinfo=None)},
            {"limit": -1},
            {"lease": timedelta(0)},
        ):
            arguments: dict[str, Any] = {"worker": "w", "now": now, "limit": 1, "lease": lease}
            arguments.update(bad)
            worker, at = arguments.pop("worker"), arguments.pop("now")
            with pytest.raises(InvalidInput):
                store.claim(worker, at, **arguments)

    def test_failed_entries_wait_for_their_retry_and_do_not_block(self, store: OrderStore) -> None:
        """NT-2: a failure ends the claim and makes the entry due at its retry time; until
        then the entries behind it are claimed instead."""
        world, ids = self._outbox_world(store, 2)
        now, lease = world.clock.now(), timedelta(hours=1)
        head = store.claim("relay-a", now, limit=1, lease=lease)[0]
        store.mark_failed(head.id, "smtp down", now, retry_at=now + timedelta(minutes=10))
        failed = store.entries(head.order_id)[0]
        assert (failed.status, failed.attempts, failed.last_error) == (
            OutboxStatus.PENDING,
            1,
            "smtp down",
        )
        assert (failed.claimed_by, failed.claimed_until) == (None, None)
        assert failed.next_attempt_at == now + timedelta(minutes=10)
        assert [e.id for e in store.pending()] == [*ids[1:], ids[0]]
        assert [e.id for e in store.claim("relay-b", now, limit=10, lease=lease)] == ids[1:]
        due = now + timedelta(minutes=10)
        assert [e.id for e in store.claim("relay-c", due, lease=lease)] == [ids[0]]

    def test_delivery_is_recorded_once_and_ends_the_claim(self, store: OrderStore) -> None:
        """NT-2: marking delivered ends the claim, is idempotent, and later failures of a
        delivered entry change nothing; unknown ids raise LookupError."""
        world, ids = self._outbox_world(store, 1)
        now = world.clock.now()
        store.claim("relay-a", now, lease=timedelta(minutes=1))
        store.mark_delivered(ids[0], now)
        store.mark_delivered(ids[0], now + timedelta(hours=1))
        store.mark_failed(ids[0], "late failure", now, retry_at=now)
        store.mark_delivered(ids[1], now, note="dropped by configuration")
        first, second = store.entries("box-00")
        assert (first.status, first.delivered_at, first.attempts, first.last_error) == (
            OutboxStatus.DELIVERED,
            now,
            0,
            "",
        )
        assert (first.claimed_by, first.claimed_until) == (None, None)
        assert second.last_error == "dropped by configuration"
        assert store.pending() == []
        for mark in (
            lambda: store.mark_delivered("no-such-entry", now),
            lambda: store.mark_failed("no-such-entry", "x", now, retry_at=None),
            lambda: store.requeue("no-such-entry", now),
        ):
            with pytest.raises(LookupError):
                mark()
        assert store.pending(limit=0) == []

    @pytest.mark.parametrize(
        "error",
        [
            "NUL \x00 inside",
            "lone surrogate \ud800 and \udfff",
            "x" * 1_000_000,
            "\x00\ud83d" * 3000,
            "emoji 🚚 and 中文",
            "",
        ],
        ids=["nul", "surrogates", "1MB", "mixed", "unicode", "empty"],
    )
    def test_any_error_text_is_recorded(self, store: OrderStore, error: str) -> None:
        """NT-2: mark_failed never raises for the text of an error; the store keeps it
        cleaned (no NUL, no lone surrogate) and bounded."""
        world, ids = self._outbox_world(store, 1)
        now = world.clock.now()
        store.mark_failed(ids[0], error, now, retry_at=now + timedelta(minutes=1))
        store.mark_failed(ids[1], error, now, retry_at=None)
        for entry in store.entries("box-00"):
            assert entry.attempts == 1
            assert entry.last_error == clean_error(error)
            assert len(entry.last_error) <= ERROR_LIMIT
            assert "\x00" not in entry.last_error
            entry.last_error.encode("utf-8")  # no lone surrogate left
        assert [e.id for e in store.dead()] == [ids[1]]

    def test_dead_entries_are_listed_and_requeued(self, store: OrderStore) -> None:
        """NT-2: a dead entry is never claimed; operators list it (paged by id) and
        requeue it with a fresh count of attempts; requeuing twice changes nothing."""
        world, ids = self._outbox_world(store, 2)
        now, lease = world.clock.now(), timedelta(minutes=1)
        for entry_id in (ids[3], ids[0]):
            store.mark_failed(entry_id, "card declined", now, retry_at=None)
        dead = store.dead()
        assert [e.id for e in dead] == sorted([ids[0], ids[3]])
        assert {(e.status, e.attempts, e.next_attempt_at) for e in dead} == {
            (OutboxStatus.DEAD, 1, now)
        }
        assert [e.id for e in store.dead(limit=1)] == [min(ids[0], ids[3])]
        assert [e.id for e in store.dead(after_id=min(ids[0], ids[3]))] == [max(ids[0], ids[3])]
        assert [e.id for e in store.claim("relay-a", now, limit=10, lease=lease)] == ids[1:3]
        for entry_id in ids[1:3]:
            store.mark_delivered(entry_id, now)
        store.mark_failed(ids[0], "ignored", now, retry_at=now)  # dead stays dead
        later = now + timedelta(hours=1)
        assert store.requeue(ids[0], later) is True
        assert store.requeue(ids[0], later) is False
        assert store.requeue(ids[1], later) is False  # delivered: left as it is
        back = store.entries("box-00")[0]
        assert (back.status, back.attempts, back.next_attempt_at, back.last_error) == (
            OutboxStatus.PENDING,
            0,
            later,
            "card declined",
        )
        assert store.claim("relay-b", later - timedelta(seconds=1), lease=lease) == []
        assert [e.id for e in store.claim("relay-b", later, lease=lease)] == [ids[0]]
        store.mark_delivered(ids[3], later)  # a late success counts, even for a dead entry
        assert store.dead() == []

    def test_purge_deletes_only_old_delivered_entries(self, store: OrderStore) -> None:
        """D-14: delivered entries older than the cut-off are deleted, in batches; pending,
        dead and recent entries stay."""
        world, ids = self._outbox_world(store, 3)
        now = world.clock.now()
        for n, entry_id in enumerate(ids[:4]):
            store.mark_delivered(entry_id, now + timedelta(minutes=n))
        store.mark_failed(ids[4], "gone", now, retry_at=None)
        cutoff = now + timedelta(minutes=3)
        assert store.purge_delivered(cutoff, limit=2) == 2
        assert store.purge_delivered(cutoff, limit=2) == 1
        assert store.purge_delivered(cutoff) == 0
        left = [e.id for n in range(3) for e in store.entries(f"box-{n:02d}")]
        assert left == ids[3:]
        with pytest.raises(InvalidInput):
            store.purge_delivered(cutoff.replace(tzinfo=None))

    def test_concurrent_claims_never_share_an_entry(self, store: OrderStore) -> None:
        """D-14: threads claiming at the same instant get disjoint sets covering every due
        entry."""
        world, ids = self._outbox_world(store, 12)
        now = world.clock.now()
        barrier = threading.Barrier(self.threads)
        claimed: list[list[str]] = []
        errors: list[BaseException] = []
        lock = threading.Lock()

        def claim(worker: int) -> None:
            try:
                barrier.wait(timeout=30)
                mine: list[str] = []
                while batch := store.claim(f"w{worker}", now, limit=2, lease=timedelta(hours=1)):
                    mine += [e.id for e in batch]
                with lock:
                    claimed.append(mine)
            except BaseException as error:
                errors.append(error)

        workers = [threading.Thread(target=claim, args=(n,)) for n in range(self.threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=120)
        assert errors == []
        every = [entry_id for mine in claimed for entry_id in mine]
        assert sorted(every) == sorted(ids)

    def test_relays_in_threads_deliver_each_entry_once(self, store: OrderStore) -> None:
        """D-14: two relays draining one store in threads hand over every entry exactly
        once (no lease expires)."""
        world, ids = self._outbox_world(store, 30)
        handler = RecordingHandler()
        relays = [
            OutboxRelay(store, handlers=dict.fromkeys(EFFECT_TYPES, handler), clock=world.clock)
            for _ in range(2)
        ]
        errors: list[BaseException] = []

        def drain(relay: OutboxRelay) -> None:
            try:
                relay.drain(batch=4)
            except BaseException as error:
                errors.append(error)

        workers = [threading.Thread(target=drain, args=(relay,)) for relay in relays]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=120)
        assert errors == []
        assert sorted(effect.id for effect in handler.handled) == sorted(ids)
        assert store.pending() == []

    def test_relay_after_a_crash_delivers_what_was_saved(self, store: OrderStore) -> None:
        """NT-2: entries a relay claimed before crashing are delivered by another relay once
        the lease ends; a failure is retried after its pause."""
        world = _World(store)
        world.to_state("crash", OrderState.SHIPPED)
        lease = timedelta(minutes=5)
        crashed = store.claim("crashed-relay", world.clock.now(), limit=2, lease=lease)
        assert len(crashed) == 2
        notifier = RecordingNotifier(fail_times=1)
        others = RecordingHandler()
        relay = OutboxRelay(
            store,
            handlers=Routes().on(ReserveStock, others).on(ReleaseStock, others)
            .on(RequestRefund, others).on(OpenCase, others).on(AlertStaff, others),
            notifier=notifier,
            clock=world.clock,
            lease=lease,
        )  # fmt: skip
        first = relay.drain()
        assert first.failed == 1
        assert {e.id for e in crashed}.isdisjoint(r.entry_id for r in first.results)
        world.clock.advance(timedelta(hours=2))
        second = relay.drain()
        assert second.failed == 0
        delivered = [e.id for e in notifier.delivered] + [e.id for e in others.handled]
        assert sorted(delivered) == sorted(e.id for e in store.entries("crash"))
        assert store.pending() == []

    def test_relay_records_failures_whatever_the_error(self, store: OrderStore) -> None:
        """NT-2: errors with NUL characters, lone surrogates, a huge message or a __str__
        that raises are recorded; the entries wait and the relay carries on."""

        class Unprintable(Exception):
            def __str__(self) -> str:
                raise RuntimeError("no message for you")

        world, ids = self._outbox_world(store, 2)
        errors: list[BaseException] = [
            ConnectionError("NUL \x00 here"),
            ValueError("surrogate \ud800"),
            RuntimeError("x" * 1_000_000),
            Unprintable(),
        ]
        raised = iter(errors)

        def fail(effect: Any) -> None:
            raise next(raised)

        relay = OutboxRelay(store, handlers=dict.fromkeys(EFFECT_TYPES, fail), clock=world.clock)
        report = relay.run_once()
        assert report.failed == 4
        recorded = {e.id: e.last_error for n in range(2) for e in store.entries(f"box-{n:02d}")}
        assert recorded == {r.entry_id: r.error for r in report.results}
        texts = [recorded[entry_id] for entry_id in ids]
        assert texts[0] == "ConnectionError: NUL  here"
        assert texts[1] == "ValueError: surrogate \\ud800"
        assert texts[2].startswith("RuntimeError: xxx")
        assert len(texts[2]) == ERROR_LIMIT
        assert texts[3] == "Unprintable: (the error's message could not be read)"
        assert all(e.status is OutboxStatus.PENDING for e in store.pending())
