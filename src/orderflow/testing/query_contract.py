"""The queries of the store conformance kit: by state, by deadline, by customer, by address.

:class:`QueryContract` is a base of :class:`~orderflow.testing.contracts.OrderStoreContract`;
an adapter author subclasses that one. It checks the pages a host and the timer sweep read
(PT-1, D-15): orders in a state by id; due orders earliest first, a deadline due at its own
instant; a customer's orders newest first, ties on the creation time broken by id, paged by
the ``(created_at, id)`` of the last order of a page, other customers' orders never among
them; the orders to one place since an instant (RK-1), whoever placed them, the instant
itself inside, found by the address each order has now; and malformed arguments refused.

Needs ``pytest`` (``pip install "orderflow-commerce[testing]"``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from orderflow import DeadlineKind
from orderflow import commands as c
from orderflow.errors import InvalidInput
from orderflow.machine import Lifecycle
from orderflow.model import Actor, Address, OrderLine, OrderState, Permission
from orderflow.money import Money
from orderflow.order import Order
from orderflow.ports import ManualClock, OrderStore
from orderflow.service import OrderService
from orderflow.testing import strategies as ofs

__all__ = ["QueryContract"]

START = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
SYSTEM = Actor.system("query-system")
STAFF = Actor.staff("query-staff", *sorted(Permission.all()))
ADDRESS = Address("Wang Fang", "13911112222", "9 Binjiang Road", "Hangzhou")
SAME_PLACE = Address("Li Lei", "+8613800138000", " ９  BINJIANG road", "hangzhou ", country="cn")
"""The place of ``ADDRESS``, written otherwise, for another recipient."""
ELSEWHERE = Address("Wang Fang", "13911112222", "19 Binjiang Road", "Hangzhou")
NEXT_DOOR = Address("Wang Fang", "13911112222", "9 Binjiang Road", "Hangzhou", line2="Flat 2")
NOWHERE = Address("Wang Fang", "13911112222", "9 Binjiang Road", "Ningbo")
INCOMPLETE = Address("Wang Fang", "13911112222", "", "Hangzhou")
LINES = (OrderLine("TEA-1", 3, Money("88.80", "CNY")), OrderLine("CUP-2", 1, Money("0.01", "CNY")))


class _World:
    """A clock and a service over one store, for placing orders of several customers."""

    def __init__(self, store: OrderStore) -> None:
        self.clock = ManualClock(START)
        self.service = OrderService(store, Lifecycle(), self.clock)

    def place(
        self, order_id: str, customer: str = "query-customer", address: Address = ADDRESS
    ) -> Order:
        return self.service.place(
            c.PlaceOrder(order_id, customer, LINES, address), Actor.customer(customer)
        ).order

    def run(self, order_id: str, *commands: tuple[c.Command, Actor]) -> Order:
        order = self.service.get(order_id)
        for command, actor in commands:
            self.clock.advance(timedelta(minutes=7))
            order = self.service.handle(order_id, command, actor).order
        return order

    def to_state(self, order_id: str, state: OrderState) -> Order:
        order = self.place(order_id)
        return self.run(order_id, *ofs.path_to(order, state))


def _ids(orders: list[Order]) -> list[str]:
    return [order.id for order in orders]


def _cursor(order: Order) -> tuple[datetime, str]:
    return (order.created_at, order.id)


class QueryContract:
    """The query behaviour every order store must have (see the module's docstring).

    It uses the ``store`` fixture of the contract it is a base of.
    """

    # -- by state and by deadline --------------------------------------------------------

    def test_find_by_state_pages_by_id(self, store: OrderStore) -> None:
        """PT-1: orders are found by state, ordered by id, in pages."""
        world = _World(store)
        for n in range(5):
            world.place(f"state-{n}")
        world.to_state("state-paid", OrderState.PAID)
        found = store.find_by_state(OrderState.PENDING_PAYMENT, limit=3)
        assert [o.id for o in found] == ["state-0", "state-1", "state-2"]
        rest = store.find_by_state(OrderState.PENDING_PAYMENT, limit=10, after_id="state-2")
        assert [o.id for o in rest] == ["state-3", "state-4"]
        assert [o.id for o in store.find_by_state(OrderState.PAID)] == ["state-paid"]
        assert store.find_by_state(OrderState.SHIPPED) == []
        assert found[0] == store.get("state-0")

    def test_find_due_uses_the_deadline_at_its_own_instant(self, store: OrderStore) -> None:
        """D-15: an order is due when its deadline is at or before the time asked about."""
        world = _World(store)
        first = world.place("due-1")
        world.clock.advance(timedelta(minutes=10))
        second = world.place("due-2")
        world.to_state("due-paid", OrderState.PAID)
        deadline = first.deadlines[0].due_at
        assert store.find_due(deadline - timedelta(microseconds=1)) == []
        assert [o.id for o in store.find_due(deadline)] == ["due-1"]
        later = second.deadlines[0].due_at
        # (not a day later: by then the paid order's review is overdue too, TM-2)
        assert [o.id for o in store.find_due(later + timedelta(minutes=1))] == ["due-1", "due-2"]
        assert [o.id for o in store.find_due(later, limit=1)] == ["due-1"]
        assert store.find_due(later)[1] == store.get("due-2")

    def test_deadlines_follow_the_order(self, store: OrderStore) -> None:
        """D-15, TM-2, TM-3: paying replaces the unpaid deadline with the review's and the
        shipment's; delivery starts the receipt deadline and the return windows."""
        world = _World(store)
        world.place("timer")
        far = START + timedelta(days=365)
        assert [o.id for o in store.find_due(far)] == ["timer"]
        world.run("timer", (c.Pay(Money("266.41", "CNY"), "p"), SYSTEM))
        (paid,) = store.find_due(far)
        assert {d.kind for d in paid.deadlines} == {
            DeadlineKind.REVIEW_OVERDUE,
            DeadlineKind.SHIPMENT_OVERDUE,
        }
        world.to_state("timer-2", OrderState.DELIVERED)
        assert sorted(o.id for o in store.find_due(far)) == ["timer", "timer-2"]
        delivered = store.get("timer-2")
        assert DeadlineKind.AUTO_CONFIRM_RECEIPT in {d.kind for d in delivered.deadlines}

    # -- by customer ---------------------------------------------------------------------

    def _customer_world(self, store: OrderStore) -> tuple[_World, list[str]]:
        """Orders of ``buyer`` placed over three instants (three of them at the same one,
        placed out of id order), with other customers' orders between them; returns the
        buyer's ids newest first."""
        world = _World(store)
        world.place("b-early", "buyer")
        world.place("z-other-early", "someone-else")
        world.clock.advance(timedelta(minutes=5))
        for order_id in ("b-tie-2", "b-tie-9", "b-tie-1"):
            world.place(order_id, "buyer")
        world.place("b-tie-5", "buyer-2")  # another customer at the same instant
        world.clock.advance(timedelta(seconds=1))
        world.place("a-late", "buyer")
        world.place("c-late", "buyer")
        return world, ["c-late", "a-late", "b-tie-9", "b-tie-2", "b-tie-1", "b-early"]

    def test_find_by_customer_is_newest_first_ties_by_id(self, store: OrderStore) -> None:
        """PT-1: a customer's orders come newest first; orders placed at the same instant
        by id, descending; no other customer's order is among them."""
        _, newest_first = self._customer_world(store)
        found = store.find_by_customer("buyer")
        assert _ids(found) == newest_first
        assert found == [store.get(order_id) for order_id in newest_first]
        assert _ids(store.find_by_customer("someone-else")) == ["z-other-early"]
        assert _ids(store.find_by_customer("buyer-2")) == ["b-tie-5"]
        assert store.find_by_customer("nobody") == []

    @pytest.mark.parametrize("size", [1, 2, 4, 6, 100])
    def test_find_by_customer_pages_by_the_last_order_of_a_page(
        self, store: OrderStore, size: int
    ) -> None:
        """PT-1: paging with the (created_at, id) of each page's last order walks the
        customer's orders once each, in order, through ties on the creation time."""
        _, newest_first = self._customer_world(store)
        walked: list[str] = []
        page = store.find_by_customer("buyer", limit=size)
        while page:
            assert len(page) <= size
            assert len(walked) < len(newest_first), "a page repeats orders of an earlier one"
            walked += _ids(page)
            page = store.find_by_customer("buyer", limit=size, before=_cursor(page[-1]))
        assert walked == newest_first

    def test_find_by_customer_reads_the_cursor_as_an_instant(self, store: OrderStore) -> None:
        """PT-1, D-18: the cursor's time is an instant (any offset), its id need not be one
        stored; limit 0 gives an empty page."""
        world, newest_first = self._customer_world(store)
        tie = store.get("b-tie-2").created_at
        shanghai = timezone(timedelta(hours=8))
        cursor = (tie.astimezone(shanghai), "b-tie-5")
        assert _ids(store.find_by_customer("buyer", before=cursor)) == [
            "b-tie-2",
            "b-tie-1",
            "b-early",
        ]
        assert _ids(store.find_by_customer("buyer", before=(tie, ""))) == ["b-early"]
        after_all = (world.clock.now() + timedelta(days=1), "")
        assert _ids(store.find_by_customer("buyer", before=after_all)) == newest_first
        assert store.find_by_customer("buyer", limit=0) == []
        assert store.find_by_customer("buyer", before=(START, "a")) == []

    def test_find_by_customer_finds_orders_as_last_saved(self, store: OrderStore) -> None:
        """PT-1: a customer's orders are found in their current state after saves; the
        order keeps its place (its creation time never changes)."""
        world, newest_first = self._customer_world(store)
        paid = world.run("b-tie-9", (c.Pay(Money("266.41", "CNY"), "p"), SYSTEM))
        found = store.find_by_customer("buyer")
        assert _ids(found) == newest_first
        assert found[2] == paid
        assert found[2].state is OrderState.PAID

    @pytest.mark.parametrize(
        ("customer_id", "limit", "before", "field"),
        [
            ("", 10, None, "customer_id"),
            ("x" * 101, 10, None, "customer_id"),
            (7, 10, None, "customer_id"),
            ("buyer", -1, None, "limit"),
            ("buyer", True, None, "limit"),
            ("buyer", 1_000_001, None, "limit"),
            ("buyer", 10, START, "before"),
            ("buyer", 10, [START, "a"], "before"),
            ("buyer", 10, (START,), "before"),
            ("buyer", 10, (START.replace(tzinfo=None), "a"), "before[0]"),
            ("buyer", 10, (datetime(9000, 1, 1, tzinfo=UTC), "a"), "before[0]"),
            ("buyer", 10, (START, "a\x00"), "before[1]"),
            ("buyer", 10, (START, "x" * 101), "before[1]"),
            ("buyer", 10, (START, 5), "before[1]"),
        ],
    )
    def test_find_by_customer_refuses_malformed_arguments(
        self, store: OrderStore, customer_id: object, limit: object, before: object, field: str
    ) -> None:
        """PT-1: a malformed customer id, limit or cursor is refused with InvalidInput
        naming it."""
        with pytest.raises(InvalidInput) as info:
            store.find_by_customer(customer_id, limit=limit, before=before)  # type: ignore[arg-type]
        assert info.value.field == field

    # -- by address ----------------------------------------------------------------------

    def _address_world(self, store: OrderStore) -> tuple[_World, list[str]]:
        """Orders of several customers to one place, written several ways, placed over
        three instants (two at the same one), with orders to other places between them;
        returns the ids of the orders to that place, newest first."""
        world = _World(store)
        world.place("p-early", "buyer-1")
        world.place("x-elsewhere", "buyer-1", ELSEWHERE)
        world.clock.advance(timedelta(minutes=5))
        world.place("p-tie-2", "buyer-2", SAME_PLACE)
        world.place("p-tie-7", "buyer-3")
        world.place("x-next-door", "buyer-2", NEXT_DOOR)
        world.place("x-incomplete", "buyer-4", INCOMPLETE)
        world.clock.advance(timedelta(seconds=1))
        world.place("p-late", "buyer-1", SAME_PLACE)
        return world, ["p-late", "p-tie-7", "p-tie-2", "p-early"]

    def test_find_by_address_finds_every_account_shipping_to_one_place(
        self, store: OrderStore
    ) -> None:
        """RK-1, PT-4: the orders to one place, whoever placed them and however the
        address is written (case, full-width digits, spaces, recipient, phone), newest
        first, ties by id descending; orders to other places never among them."""
        _, newest_first = self._address_world(store)
        found = store.find_by_address(ADDRESS, since=START)
        assert _ids(found) == newest_first
        assert found == [store.get(order_id) for order_id in newest_first]
        assert _ids(store.find_by_address(SAME_PLACE, since=START)) == newest_first
        assert _ids(store.find_by_address(ELSEWHERE, since=START)) == ["x-elsewhere"]
        assert _ids(store.find_by_address(NEXT_DOOR, since=START)) == ["x-next-door"]
        assert store.find_by_address(NOWHERE, since=START) == []
        assert store.find_by_address(INCOMPLETE, since=START) == []

    def test_find_by_address_counts_since_inclusive_and_pages(self, store: OrderStore) -> None:
        """RK-1, D-15: an order placed at exactly ``since`` is found, one a microsecond
        before it is not (``since`` is an instant, in any offset); ``limit`` bounds a page
        and the ``(created_at, id)`` of a page's last order starts the next one."""
        world, newest_first = self._address_world(store)
        tie = store.get("p-tie-2").created_at
        shanghai = timezone(timedelta(hours=8))
        assert _ids(store.find_by_address(ADDRESS, since=tie)) == newest_first[:3]
        assert (
            _ids(store.find_by_address(ADDRESS, since=tie.astimezone(shanghai)))
            == (newest_first[:3])
        )
        later = tie + timedelta(microseconds=1)
        assert _ids(store.find_by_address(ADDRESS, since=later)) == ["p-late"]
        assert store.find_by_address(ADDRESS, since=world.clock.now() + timedelta(days=1)) == []
        assert store.find_by_address(ADDRESS, since=START, limit=0) == []
        assert _ids(store.find_by_address(ADDRESS, since=START, limit=2)) == newest_first[:2]
        walked: list[str] = []
        page = store.find_by_address(ADDRESS, since=START, limit=1)
        while page:
            assert len(walked) < len(newest_first), "a page repeats orders of an earlier one"
            walked += _ids(page)
            page = store.find_by_address(ADDRESS, since=START, limit=1, before=_cursor(page[-1]))
        assert walked == newest_first
        cursor = (tie, "p-tie-5")
        assert _ids(store.find_by_address(ADDRESS, since=tie, before=cursor)) == ["p-tie-2"]

    def test_a_corrected_address_moves_the_order(self, store: OrderStore) -> None:
        """LC-7, RK-1: an order is found by the address it has now: correcting it moves the
        order to the new place at once (keeping its place in time), and back again."""
        world, newest_first = self._address_world(store)
        moved = world.run("p-tie-7", (c.ChangeAddress(ELSEWHERE), Actor.customer("buyer-3")))
        assert _ids(store.find_by_address(ADDRESS, since=START)) == [
            order_id for order_id in newest_first if order_id != "p-tie-7"
        ]
        assert store.find_by_address(ELSEWHERE, since=START) == [moved, store.get("x-elsewhere")]
        world.run("p-tie-7", (c.ChangeAddress(SAME_PLACE), Actor.customer("buyer-3")))
        assert _ids(store.find_by_address(ADDRESS, since=START)) == newest_first
        assert _ids(store.find_by_address(ELSEWHERE, since=START)) == ["x-elsewhere"]
        world.run("x-next-door", (c.ChangeAddress(INCOMPLETE), Actor.customer("buyer-2")))
        assert store.find_by_address(NEXT_DOOR, since=START) == []
        paid = world.run("p-early", (c.Pay(Money("266.41", "CNY"), "p"), SYSTEM))
        assert store.find_by_address(ADDRESS, since=START)[-1] == paid

    @pytest.mark.parametrize(
        ("address", "since", "limit", "before", "field"),
        [
            ("9 Binjiang Road", START, 10, None, "address"),
            (None, START, 10, None, "address"),
            (ADDRESS, START.replace(tzinfo=None), 10, None, "since"),
            (ADDRESS, datetime(9000, 1, 1, tzinfo=UTC), 10, None, "since"),
            (ADDRESS, "2026-05-01", 10, None, "since"),
            (ADDRESS, START, -1, None, "limit"),
            (ADDRESS, START, True, None, "limit"),
            (ADDRESS, START, 1_000_001, None, "limit"),
            (ADDRESS, START, 10, START, "before"),
            (ADDRESS, START, 10, (START.replace(tzinfo=None), "a"), "before[0]"),
            (ADDRESS, START, 10, (START, "a\x00"), "before[1]"),
        ],
    )
    def test_find_by_address_refuses_malformed_arguments(
        self,
        store: OrderStore,
        address: object,
        since: object,
        limit: object,
        before: object,
        field: str,
    ) -> None:
        """RK-1: a malformed address, instant, limit or cursor is refused with InvalidInput
        naming it."""
        with pytest.raises(InvalidInput) as info:
            store.find_by_address(address, since=since, limit=limit, before=before)  # type: ignore[arg-type]
        assert info.value.field == field
