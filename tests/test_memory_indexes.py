"""The memory store's indexes answer exactly as scanning every order and entry would.

The store keeps ordered indexes (by state, deadline, customer, address; outbox entries by due
time, claim end, death and delivery) so that no call reads everything. This pins that they
never change an answer: a stateful test runs the store beside :class:`ScanningStore`, the
same semantics written the obvious way (every query scans and sorts), under random saves that
move orders between states, deadlines and addresses, sweeper and relay claims at times that go
forwards and backwards, releases, delivery records, requeues and purges, in more than one time zone.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta, timezone

import attrs
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from orderflow import commands as c
from orderflow.adapters.memory import InMemoryStore
from orderflow.addresses import address_key
from orderflow.errors import CommandRefused
from orderflow.machine import Lifecycle
from orderflow.model import Actor, Address, CloseReason, OrderLine, OrderState, Permission
from orderflow.money import Money
from orderflow.order import Order
from orderflow.ports import OutboxEntry, OutboxStatus, outbox_entries

START = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
SHANGHAI = timezone(timedelta(hours=8))
LIFECYCLE = Lifecycle()
STAFF = Actor.staff("index-staff", *sorted(Permission.all()))
SYSTEM = Actor.system("index-system")
ADDRESS = Address("Wang Fang", "13911112222", "9 Binjiang Road", "Hangzhou")
ADDRESSES = (
    ADDRESS,
    Address("Li Lei", "13800138000", "9  BINJIANG road", "hangzhou"),  # the same place
    Address("Wang Fang", "13911112222", "19 Binjiang Road", "Hangzhou"),
    Address("Wang Fang", "13911112222", "", "Hangzhou"),  # incomplete: no key
)
LINES = (OrderLine("TEA-1", 3, Money("88.80", "CNY")),)
CUSTOMERS = ("buyer-a", "buyer-b", "buyer-c")
WORKERS = ("w-1", "w-2")

# Offsets from the test's clock, in minutes: before and after it, near the 30-minute unpaid
# deadline, the 60-minute payment deadline and the 10-day receipt deadline.
offsets = st.sampled_from([-24 * 60, -45, -31, -30, -5, 0, 1, 5, 30, 61, 11 * 24 * 60])
leases = st.sampled_from([timedelta(minutes=m) for m in (1, 5, 60)])
limits = st.integers(0, 4)


class ScanningStore:
    """The order store's semantics, every query answered by scanning and sorting."""

    def __init__(self) -> None:
        self.orders: dict[str, Order] = {}
        self.claims: dict[str, tuple[str, datetime]] = {}
        self.outbox: dict[str, OutboxEntry] = {}
        self.written: dict[str, int] = {}
        self.counter = itertools.count()

    def write(self, order: Order, expected_version: int | None) -> None:
        """Add (no expected version) or save an order, with its new entries."""
        self.orders[order.id] = order
        for entry in outbox_entries(order, 1 if expected_version is None else expected_version + 1):
            if entry.id not in self.outbox:
                self.outbox[entry.id] = entry
                self.written[entry.id] = next(self.counter)

    def find_by_state(self, state: OrderState, limit: int, after_id: str | None) -> list[Order]:
        """Orders in a state by id, after ``after_id``."""
        ids = sorted(
            o.id
            for o in self.orders.values()
            if o.state is state and (after_id is None or o.id > after_id)
        )
        return [self.orders[i] for i in ids[:limit]]

    def _due(self, now: datetime) -> list[tuple[datetime, str]]:
        return sorted(
            (o.next_deadline.due_at, o.id)
            for o in self.orders.values()
            if o.next_deadline is not None and o.next_deadline.due_at <= now
        )

    def find_due(self, before: datetime, limit: int) -> list[Order]:
        """Due orders, earliest deadline first, then by id."""
        return [self.orders[i] for _, i in self._due(before)[:limit]]

    def find_by_customer(
        self, customer: str, limit: int, before: tuple[datetime, str] | None
    ) -> list[Order]:
        """A customer's orders newest first, below the cursor."""
        keys = sorted(
            (
                (o.created_at, o.id)
                for o in self.orders.values()
                if o.customer_id == customer and (before is None or (o.created_at, o.id) < before)
            ),
            reverse=True,
        )
        return [self.orders[i] for _, i in keys[:limit]]

    def find_by_address(
        self, address: Address, since: datetime, limit: int, before: tuple[datetime, str] | None
    ) -> list[Order]:
        """Orders to the same place placed since ``since``, newest first, below the cursor."""
        key = address_key(address)
        keys = sorted(
            (
                (o.created_at, o.id)
                for o in self.orders.values()
                if key is not None
                and address_key(o.address) == key
                and o.created_at >= since
                and (before is None or (o.created_at, o.id) < before)
            ),
            reverse=True,
        )
        return [self.orders[i] for _, i in keys[:limit]]

    def claim_due(self, worker: str, now: datetime, limit: int, lease: timedelta) -> list[str]:
        """Due orders without a claim lasting beyond ``now``."""
        free = [i for _, i in self._due(now) if i not in self.claims or self.claims[i][1] <= now][
            :limit
        ]
        for order_id in free:
            self.claims[order_id] = (worker, now + lease)
        return free

    def release_due(self, order_id: str, worker: str, until: datetime | None) -> None:
        """End or extend the worker's own claim."""
        held = self.claims.get(order_id)
        if held is None or held[0] != worker:
            return
        if until is None:
            del self.claims[order_id]
        else:
            self.claims[order_id] = (worker, until)

    def _in_due_order(self, entries: list[OutboxEntry]) -> list[OutboxEntry]:
        return sorted(entries, key=lambda e: (e.next_attempt_at, e.created_at, self.written[e.id]))

    def claim(self, worker: str, now: datetime, limit: int, lease: timedelta) -> list[OutboxEntry]:
        """Due, unclaimed pending entries, first due first; returned oldest first."""
        due = self._in_due_order(
            [
                e
                for e in self.outbox.values()
                if e.status is OutboxStatus.PENDING
                and e.next_attempt_at <= now
                and (e.claimed_until is None or e.claimed_until <= now)
            ]
        )[:limit]
        taken = [attrs.evolve(e, claimed_by=worker, claimed_until=now + lease) for e in due]
        for entry in taken:
            self.outbox[entry.id] = entry
        return sorted(taken, key=lambda e: (e.created_at, self.written[e.id]))

    def mark_delivered(self, entry_id: str, at: datetime) -> None:
        """Delivered, claim ended."""
        entry = self.outbox[entry_id]
        if entry.status is not OutboxStatus.DELIVERED:
            self.outbox[entry_id] = attrs.evolve(
                entry,
                status=OutboxStatus.DELIVERED,
                delivered_at=at,
                last_error="",
                claimed_by=None,
                claimed_until=None,
            )

    def mark_failed(self, entry_id: str, at: datetime, retry_at: datetime | None) -> None:
        """Pending again at ``retry_at``, or dead."""
        entry = self.outbox[entry_id]
        if entry.status is OutboxStatus.PENDING:
            self.outbox[entry_id] = attrs.evolve(
                entry,
                status=OutboxStatus.DEAD if retry_at is None else OutboxStatus.PENDING,
                next_attempt_at=at if retry_at is None else retry_at,
                attempts=entry.attempts + 1,
                last_error="failed",
                claimed_by=None,
                claimed_until=None,
            )

    def requeue(self, entry_id: str, at: datetime) -> bool:
        """A dead entry pending again."""
        entry = self.outbox[entry_id]
        if entry.status is not OutboxStatus.DEAD:
            return False
        self.outbox[entry_id] = attrs.evolve(
            entry, status=OutboxStatus.PENDING, next_attempt_at=at, attempts=0
        )
        return True

    def pending(self) -> list[OutboxEntry]:
        """Every pending entry, first due first."""
        return self._in_due_order(
            [e for e in self.outbox.values() if e.status is OutboxStatus.PENDING]
        )

    def dead(self, limit: int, after_id: str | None) -> list[OutboxEntry]:
        """Dead entries by id."""
        return sorted(
            (
                e
                for e in self.outbox.values()
                if e.status is OutboxStatus.DEAD and (after_id is None or e.id > after_id)
            ),
            key=lambda e: e.id,
        )[:limit]

    def purge_delivered(self, before: datetime, limit: int) -> int:
        """Forget up to ``limit`` entries delivered before ``before``, earliest first."""
        old = sorted(
            (e.delivered_at, self.written[e.id], e.id)
            for e in self.outbox.values()
            if e.status is OutboxStatus.DELIVERED
            and e.delivered_at is not None
            and e.delivered_at < before
        )[:limit]
        for _, _, entry_id in old:
            del self.outbox[entry_id]
            del self.written[entry_id]
        return len(old)

    def entries(self, order_id: str) -> list[OutboxEntry]:
        """An order's entries in written order."""
        return sorted(
            (e for e in self.outbox.values() if e.order_id == order_id),
            key=lambda e: self.written[e.id],
        )


def _ids(orders: list[Order]) -> list[str]:
    return [order.id for order in orders]


class IndexedAgainstScanning(RuleBasedStateMachine):
    """The memory store beside the scanning model; after every step they must agree."""

    def __init__(self) -> None:
        super().__init__()
        self.store = InMemoryStore()
        self.model = ScanningStore()
        self.now = START

    def at(self, offset: int, shanghai: bool = False) -> datetime:
        """The clock moved by ``offset`` minutes, written in UTC or in Shanghai time."""
        moment = self.now + timedelta(minutes=offset)
        return moment.astimezone(SHANGHAI) if shanghai else moment

    @rule(
        number=st.integers(0, 11),
        customer=st.sampled_from(CUSTOMERS),
        shanghai=st.booleans(),
        where=st.sampled_from(ADDRESSES),
    )
    def place(self, number: int, customer: str, shanghai: bool, where: Address) -> None:
        """Place an order (an id already used is skipped)."""
        order_id = f"o-{number:02d}"
        if order_id in self.model.orders:
            return
        command = c.PlaceOrder(order_id, customer, LINES, where)
        order = LIFECYCLE.place(command, Actor.customer(customer), self.at(0, shanghai)).order
        self.store.add(order)
        self.model.write(order, None)

    @precondition(lambda self: bool(self.model.orders))
    @rule(
        pick=st.integers(0, 100),
        move=st.sampled_from(["next", "begin_payment", "close", "address"]),
        shanghai=st.booleans(),
        where=st.sampled_from(ADDRESSES),
    )
    def step(self, pick: int, move: str, shanghai: bool, where: Address) -> None:
        """Save the next version of an order: along the happy path, a payment begun (a new
        deadline), a close, or an address change (the same deadline, maybe another place)."""
        order = self.model.orders[sorted(self.model.orders)[pick % len(self.model.orders)]]
        steps: dict[OrderState, tuple[c.Command, Actor]] = {
            OrderState.PENDING_PAYMENT: (c.Pay(order.amount_due, "p-1"), SYSTEM),
            OrderState.PAID: (c.ApproveReview(), STAFF),
            OrderState.AWAITING_SHIPMENT: (c.StartFulfilment(), STAFF),
            OrderState.IN_FULFILMENT: (c.Ship("SF Express", "SF-1"), STAFF),
            OrderState.SHIPPED: (c.ConfirmDelivery(), SYSTEM),
            OrderState.DELIVERED: (c.ConfirmReceipt(), Actor.customer(order.customer_id)),
        }
        moves: dict[str, tuple[c.Command, Actor] | None] = {
            "next": steps.get(order.state),
            "begin_payment": (c.BeginPayment("p-begun"), Actor.customer(order.customer_id)),
            "close": (c.Close(CloseReason.OUT_OF_STOCK), STAFF),
            "address": (c.ChangeAddress(where), STAFF),
        }
        chosen = moves[move]
        if chosen is None:
            return
        try:
            outcome = LIFECYCLE.handle(order, chosen[0], chosen[1], self.at(0, shanghai))
        except CommandRefused:
            return
        self.store.save(outcome.order, order.version)
        self.model.write(outcome.order, order.version)

    @rule(minutes=st.sampled_from([1, 7, 31, 61, 11 * 24 * 60]))
    def wait(self, minutes: int) -> None:
        """Let time pass."""
        self.now += timedelta(minutes=minutes)

    @rule(
        worker=st.sampled_from(WORKERS),
        offset=offsets,
        limit=limits,
        lease=leases,
        shanghai=st.booleans(),
    )
    def claim_due(
        self, worker: str, offset: int, limit: int, lease: timedelta, shanghai: bool
    ) -> None:
        """A sweeper claims due orders, at a time that may be before an earlier claim's."""
        now = self.at(offset, shanghai)
        claimed = self.store.claim_due(worker, now, limit=limit, lease=lease)
        assert claimed == self.model.claim_due(worker, now, limit, lease)

    @precondition(lambda self: bool(self.model.claims))
    @rule(
        pick=st.integers(0, 100),
        holder=st.booleans(),
        offset=st.none() | offsets,
    )
    def release_due(self, pick: int, holder: bool, offset: int | None) -> None:
        """A sweeper ends a claim or sets the order aside (``until``); or another sweeper
        tries to, and nothing changes."""
        order_id = sorted(self.model.claims)[pick % len(self.model.claims)]
        worker = self.model.claims[order_id][0]
        if not holder:
            worker = next(w for w in WORKERS if w != worker)
        until = None if offset is None else self.at(offset)
        self.store.release_due(order_id, worker, until=until)
        self.model.release_due(order_id, worker, until)

    @rule(
        worker=st.sampled_from(WORKERS),
        offset=offsets,
        limit=limits,
        lease=leases,
        shanghai=st.booleans(),
    )
    def claim(self, worker: str, offset: int, limit: int, lease: timedelta, shanghai: bool) -> None:
        """A relay claims due outbox entries, at a time that may be before an earlier
        claim's."""
        now = self.at(offset, shanghai)
        claimed = self.store.claim(worker, now, limit=limit, lease=lease)
        assert claimed == self.model.claim(worker, now, limit, lease)

    def _entry(self, pick: int) -> str:
        ids = sorted(self.model.outbox)
        return ids[pick % len(ids)]

    @precondition(lambda self: bool(self.model.outbox))
    @rule(
        pick=st.integers(0, 1000),
        outcome=st.sampled_from(["delivered", "retry", "dead", "requeue"]),
        offset=offsets,
    )
    def record(self, pick: int, outcome: str, offset: int) -> None:
        """Record a delivery, a failure (retried or dead), or requeue a dead entry."""
        entry_id, at = self._entry(pick), self.at(offset)
        if outcome == "delivered":
            self.store.mark_delivered(entry_id, at)
            self.model.mark_delivered(entry_id, at)
        elif outcome == "requeue":
            assert self.store.requeue(entry_id, at) is self.model.requeue(entry_id, at)
        else:
            retry_at = at if outcome == "retry" else None
            self.store.mark_failed(entry_id, "failed", self.now, retry_at=retry_at)
            self.model.mark_failed(entry_id, self.now, retry_at)

    @rule(offset=offsets, limit=limits)
    def purge(self, offset: int, limit: int) -> None:
        """Purge entries delivered before a time, a few at a time."""
        before = self.at(offset)
        assert self.store.purge_delivered(before, limit=limit) == self.model.purge_delivered(
            before, limit
        )

    @invariant()
    def orders_and_order_pages_agree(self) -> None:
        """The same orders, pages by state, by deadline and by customer, and claims."""
        ids = sorted(self.model.orders)
        for order_id in ids:
            assert self.store.get(order_id) == self.model.orders[order_id]
        for state in OrderState:
            for after_id in (None, *ids[::3]):
                assert _ids(self.store.find_by_state(state, limit=3, after_id=after_id)) == _ids(
                    self.model.find_by_state(state, 3, after_id)
                )
        for offset in (-31, 0, 30, 61, 11 * 24 * 60):
            assert _ids(self.store.find_due(self.at(offset), limit=4)) == _ids(
                self.model.find_due(self.at(offset), 4)
            )
        for customer in CUSTOMERS:
            cursors = [None, *((o.created_at, o.id) for o in self.model.orders.values())]
            for cursor in cursors[::2]:
                assert _ids(self.store.find_by_customer(customer, limit=3, before=cursor)) == _ids(
                    self.model.find_by_customer(customer, 3, cursor)
                )
        placed = sorted({o.created_at for o in self.model.orders.values()})
        for address in ADDRESSES[1:]:
            cursors = [None, *((o.created_at, o.id) for o in self.model.orders.values())]
            for since in (START, *placed[1::2]):
                for cursor in cursors[::3]:
                    found = self.store.find_by_address(address, since=since, limit=3, before=cursor)
                    expected = self.model.find_by_address(address, since, 3, cursor)
                    assert _ids(found) == _ids(expected)
        assert self.store._claims == self.model.claims

    @invariant()
    def outbox_agrees(self) -> None:
        """The same entries per order, pending in the same order, the same dead pages."""
        for order_id in self.model.orders:
            assert self.store.entries(order_id) == self.model.entries(order_id)
        assert self.store.pending(1000) == self.model.pending()
        assert self.store.pending(2) == self.model.pending()[:2]
        dead = self.model.dead(1000, None)
        assert self.store.dead(1000) == dead
        for after in dead[:3]:
            assert self.store.dead(2, after.id) == self.model.dead(2, after.id)


TestIndexedAgainstScanning = IndexedAgainstScanning.TestCase


def _placed(store: InMemoryStore, *numbers: int) -> list[str]:
    """Orders placed at START (unpaid: due 30 minutes later); their ids."""
    ids = []
    for number in numbers:
        command = c.PlaceOrder(f"o-{number:02d}", "buyer-a", LINES, ADDRESS)
        store.add(LIFECYCLE.place(command, Actor.customer("buyer-a"), START).order)
        ids.append(f"o-{number:02d}")
    return ids


def test_a_sweeper_claim_at_an_earlier_time_skips_claims_that_last_beyond_it() -> None:
    """D-15: once a claim has been seen ended by a claim at a later time, a claim asked at a
    time before its end still leaves it alone; at or after its end, it is taken."""
    store = InMemoryStore()
    ids = _placed(store, 1, 2)
    due = START + timedelta(minutes=30)
    lease = timedelta(minutes=60)
    assert store.claim_due("w-1", due, limit=1, lease=lease) == ids[:1]
    assert store.claim_due("w-2", due + lease, limit=0, lease=lease) == []
    assert store.claim_due("w-2", due + lease - timedelta(microseconds=1), lease=lease) == ids[1:]
    assert store.claim_due("w-3", due + lease, lease=lease) == ids[:1]
    assert store._claims[ids[0]] == ("w-3", due + 2 * lease)


def test_a_relay_claim_at_an_earlier_time_skips_claims_that_last_beyond_it() -> None:
    """D-14: the same for outbox entries: a claim seen ended at a later time still holds
    for a claim asked before its end."""
    store = InMemoryStore()
    (order_id,) = _placed(store, 1)
    first, second = (entry.id for entry in store.entries(order_id))
    lease = timedelta(minutes=5)
    assert [e.id for e in store.claim("r-1", START, limit=1, lease=lease)] == [first]
    assert store.claim("r-2", START + lease, limit=0, lease=lease) == []
    assert [e.id for e in store.claim("r-2", START, lease=2 * lease)] == [second]
    assert [e.id for e in store.claim("r-3", START + lease, lease=lease)] == [first]


def test_a_set_aside_order_waits_for_its_new_end_and_a_release_frees_it() -> None:
    """D-15: an order set aside by its sweeper (release with ``until``) is skipped until
    then, even after its first claim would have ended; released, it is claimable at once."""
    store = InMemoryStore()
    (order_id,) = _placed(store, 1)
    due = START + timedelta(minutes=30)
    lease = timedelta(minutes=5)
    assert store.claim_due("w-1", due, lease=lease) == [order_id]
    store.release_due(order_id, "w-1", until=due + timedelta(hours=2))
    assert store.claim_due("w-2", due + timedelta(hours=1), lease=lease) == []
    store.release_due(order_id, "w-2")  # another's claim: left alone
    assert store.claim_due("w-2", due + timedelta(hours=1), lease=lease) == []
    store.release_due(order_id, "w-1")
    assert store.claim_due("w-2", due, lease=lease) == [order_id]


def test_an_order_set_aside_follows_its_saves() -> None:
    """D-15, D-16, TM-2: an order saved while set aside is found due at its new deadline,
    not its old one (a payment's confirmation; paid, its review an hour later); when its
    set-aside ends, it is claimed by its new deadline."""
    store = InMemoryStore()
    first, second = _placed(store, 1, 2)
    due = START + timedelta(minutes=30)
    lease = timedelta(minutes=5)
    assert store.claim_due("w-1", due, lease=lease) == [first, second]
    store.release_due(first, "w-1", until=due + timedelta(hours=3))
    store.release_due(second, "w-1", until=due + timedelta(hours=3))
    paying = START + timedelta(minutes=20)  # the decisions were made before the deadline
    for order_id, command, actor in (
        (first, c.BeginPayment("p-1"), Actor.customer("buyer-a")),
        (second, c.Pay(Money("266.40", "CNY"), "p-2"), SYSTEM),
    ):
        order = store.get(order_id)
        store.save(LIFECYCLE.handle(order, command, actor, paying).order, order.version)
    assert _ids(store.find_due(paying + timedelta(minutes=59))) == []
    payment_due = paying + timedelta(hours=1)  # D-16: it replaced the unpaid deadline
    assert _ids(store.find_due(payment_due)) == [first, second]  # and TM-2, the same hour
    assert store.claim_due("w-2", payment_due, lease=lease) == []  # still set aside
    assert store.claim_due("w-2", due + timedelta(hours=3), lease=lease) == [first, second]
