"""The four kinds of after-sales case, end to end through :class:`OrderService` on every store:
in memory, SQLite, PostgreSQL and MariaDB, with the timer sweep firing a case's deadline and
the outbox relayed to the host's handlers (AS-1, AS-6, D-12, D-14, D-15, PT-1).

PostgreSQL and MariaDB run when ``ORDERFLOW_TEST_POSTGRES_URL`` / ``ORDERFLOW_TEST_MYSQL_URL``
are set, and are skipped with a message otherwise.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest

from orderflow import (
    Actor,
    AlertStaff,
    ApproveReview,
    Command,
    CommandRefused,
    ConfirmDelivery,
    ConfirmRefund,
    NotifyCustomer,
    OpenCase,
    Order,
    Pay,
    PlaceOrder,
    ReleaseStock,
    RequestRefund,
    ReserveStock,
    Ship,
    StartFulfilment,
)
from orderflow.adapters.memory import InMemoryStore
from orderflow.adapters.sql import SqlStore
from orderflow.aftersales import (
    ApproveCase,
    CaseKind,
    CaseReason,
    CaseState,
    ReceiveReturn,
    RequestAfterSales,
    ShipBack,
    ShipReplacement,
    Units,
)
from orderflow.machine import check_invariants
from orderflow.model import OrderState
from orderflow.ports import ManualClock, OrderStore
from orderflow.relay import OutboxRelay, Routes
from orderflow.service import OrderService
from orderflow.sweep import TimerSweep
from orderflow.testing.fakes import RecordingHandler, RecordingNotifier
from tests.case_support import (
    ADDRESS,
    AGENT,
    BUYER,
    LC,
    LINES,
    PAID,
    PLACED_AT,
    STAFF,
    SYSTEM,
    cny,
)

POSTGRES_URL = os.environ.get("ORDERFLOW_TEST_POSTGRES_URL")
MYSQL_URL = os.environ.get("ORDERFLOW_TEST_MYSQL_URL")
BACKENDS = [
    pytest.param("memory"),
    pytest.param("sqlite"),
    pytest.param(
        "postgresql",
        marks=pytest.mark.skipif(
            not POSTGRES_URL,
            reason="set ORDERFLOW_TEST_POSTGRES_URL to run after-sales on PostgreSQL",
        ),
    ),
    pytest.param(
        "mysql",
        marks=pytest.mark.skipif(
            not MYSQL_URL, reason="set ORDERFLOW_TEST_MYSQL_URL to run after-sales on MariaDB"
        ),
    ),
]


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest) -> Iterator[OrderStore]:
    """A fresh store of each kind; server tables under a random prefix, dropped after."""
    backend = request.param
    if backend == "memory":
        yield InMemoryStore()
        return
    if backend == "sqlite":
        sql = SqlStore.sqlite(":memory:")
    else:
        url = POSTGRES_URL if backend == "postgresql" else MYSQL_URL
        assert url is not None
        sql = SqlStore.from_url(url, table_prefix=f"of_{uuid.uuid4().hex[:10]}_")
    try:
        yield sql
    finally:
        if sql.engine.dialect.name != "sqlite":
            sql.drop_tables()
        sql.close()


class Shop:
    """A service over a store with a clock the test moves, and a relay to the host's
    handlers (every effect class routed, none dropped but OpenCase)."""

    def __init__(self, store: OrderStore) -> None:
        self.clock = ManualClock(PLACED_AT)
        self.service = OrderService(store, LC, self.clock)
        self.notifier = RecordingNotifier()
        self.refunds = RecordingHandler()
        self.alerts = RecordingHandler()
        self.stock = RecordingHandler()
        routes = (
            Routes()
            .on(RequestRefund, self.refunds)
            .on(AlertStaff, self.alerts)
            .on(ReserveStock, self.stock)
            .on(ReleaseStock, self.stock)
        )
        self.relay = OutboxRelay(
            store, handlers=routes, notifier=self.notifier, drop=[OpenCase], clock=self.clock
        )
        self.sweep = TimerSweep(self.service, worker="sweep-1")

    def send(self, order_id: str, command: Command, actor: Actor) -> Order:
        """Handle a command a minute from now and return the saved order."""
        self.clock.advance(timedelta(minutes=1))
        return self.service.handle(order_id, command, actor).order

    def delivered(self, order_id: str) -> Order:
        """A new order walked to delivery."""
        self.service.place(PlaceOrder(order_id, BUYER.id, LINES, ADDRESS), BUYER)
        self.send(order_id, Pay(PAID, f"pay-{order_id}"), SYSTEM)
        self.send(order_id, ApproveReview(), STAFF)
        self.send(order_id, StartFulfilment(), STAFF)
        self.send(order_id, Ship("SF Express", "SF1"), STAFF)
        return self.send(order_id, ConfirmDelivery(), SYSTEM)


def test_as1_the_four_kinds_run_end_to_end_through_the_service(store: OrderStore) -> None:
    """AS-1, AS-6, D-12, D-14, D-15, PT-1: on every store, a refund of goods not received
    before shipment (closing the order in full), a refund only, a return and an exchange
    (its seller response answered by the timer sweep) run to their end; the stored orders
    equal the service's, pass the invariants, and every refund, alert and notification is
    relayed exactly once."""
    shop = Shop(store)
    service = shop.service

    # (1) goods not received, before shipment
    service.place(PlaceOrder("o-nr", BUYER.id, LINES, ADDRESS), BUYER)
    shop.send("o-nr", Pay(PAID, "pay-nr"), SYSTEM)
    order = shop.send(
        "o-nr", RequestAfterSales(CaseKind.NOT_RECEIVED, CaseReason.NOTHING_SHIPPED), BUYER
    )
    not_received = order.cases[0].case_id
    order = shop.send("o-nr", ApproveCase(not_received), AGENT)
    order = shop.send("o-nr", ConfirmRefund(order.ledger.refunds[0].refund_id), SYSTEM)
    assert order.cases[0].state is CaseState.REFUNDED
    assert order.state is OrderState.CLOSED

    # (2..4) a refund only, a return and an exchange on a delivered order
    shop.delivered("o-as")
    order = shop.send(
        "o-as",
        RequestAfterSales(CaseKind.REFUND_ONLY, CaseReason.AGREED_AMOUNT, (), cny("2.00")),
        BUYER,
    )
    refund_only = order.cases[-1].case_id
    order = shop.send(
        "o-as",
        RequestAfterSales(CaseKind.RETURN, CaseReason.NO_REASON, (Units("BOWL", 2),)),
        BUYER,
    )
    returned = order.cases[-1].case_id
    order = shop.send(
        "o-as",
        RequestAfterSales(CaseKind.EXCHANGE, CaseReason.QUALITY_PROBLEM, (Units("CUP", 1),)),
        BUYER,
    )
    exchange = order.cases[-1].case_id
    order = shop.send(
        "o-as",
        RequestAfterSales(CaseKind.NOT_RECEIVED, CaseReason.EMPTY_PARCEL, (Units("TEA", 1),)),
        BUYER,
    )
    disputed = order.cases[-1].case_id
    shop.send("o-as", ApproveCase(refund_only), AGENT)
    shop.send("o-as", ApproveCase(returned), AGENT)
    shop.send("o-as", ApproveCase(disputed), AGENT)

    # the seller never answers the exchange: the sweep approves it when it is due
    seller_response = [d for d in service.get("o-as").deadlines if d.case_id == exchange]
    assert [d.kind.value for d in seller_response] == ["seller_response"]
    shop.clock.advance(seller_response[0].due_at - shop.clock.now())
    report = shop.sweep.run()
    # meanwhile the two refunds in flight reminded staff once each (24 hours)
    assert sorted((result.event, result.status.value) for result in report.results) == [
        ("remind_staff", "applied"),
        ("remind_staff", "applied"),
        ("respond_for_seller", "applied"),
    ]
    swept = service.get("o-as")
    assert [case.reminders for case in swept.cases] == [1, 0, 0, 1]
    assert order_case_state(service.get("o-as"), exchange) is CaseState.APPROVED

    shop.send("o-as", ShipBack(returned, "YTO", "YT1"), BUYER)
    shop.send("o-as", ShipBack(exchange, "YTO", "YT2", cny("8.00")), BUYER)
    shop.send("o-as", ReceiveReturn(returned, (Units("BOWL", 1),)), AGENT)
    shop.send("o-as", ReceiveReturn(exchange, (Units("CUP", 1),)), AGENT)
    order = shop.send("o-as", ShipReplacement(exchange, "SF Express", "SF9"), AGENT)
    for refund in order.ledger.refunds:
        order = shop.send("o-as", ConfirmRefund(refund.refund_id), SYSTEM)

    assert {case.case_id: case.state for case in order.cases} == {
        refund_only: CaseState.REFUNDED,
        returned: CaseState.REFUNDED,
        exchange: CaseState.EXCHANGED,
        disputed: CaseState.REFUNDED,
    }
    assert order.state is OrderState.DELIVERED
    # 2.00 agreed, 1 bowl of the 2 approved (D-7), the first tea unit (D-11); the exchange's
    # seller-paid shipping (AS-3) is refunded outside what was paid
    assert order.ledger.amount_refunded == cny("25.34")
    shipping = [refund for refund in order.ledger.refunds if not refund.counts_against_paid]
    assert [(refund.amount, refund.case_id) for refund in shipping] == [(cny("8.00"), exchange)]

    for order_id in ("o-nr", "o-as"):
        stored = service.get(order_id)
        check_invariants(stored)
        assert stored.open_cases == ()

    # the outbox: everything relayed once
    relayed = shop.relay.drain()
    assert (relayed.failed, relayed.dead, relayed.dropped) == (0, 0, 0)
    assert store.pending() == []
    requested = [effect for effect in shop.refunds.handled if isinstance(effect, RequestRefund)]
    all_refunds = [
        refund.refund_id
        for order_id in ("o-nr", "o-as")
        for refund in service.get(order_id).ledger.refunds
    ]
    assert sorted(effect.refund_id for effect in requested) == sorted(all_refunds)
    assert len({effect.id for effect in requested}) == len(requested)
    alerts = [effect for effect in shop.alerts.handled if isinstance(effect, AlertStaff)]
    assert sorted((alert.case_id, alert.topic) for alert in alerts) == sorted(
        [(disputed, "manual_review"), (refund_only, "reminder"), (disputed, "reminder")]
    )
    topics = [notice.topic.value for notice in shop.notifier.delivered]
    assert topics.count("after_sales") >= 8
    assert len(set(shop.notifier.ids)) == len(shop.notifier.ids)
    assert all(isinstance(notice, NotifyCustomer) for notice in shop.notifier.delivered)


def order_case_state(order: Order, case_id: str) -> CaseState:
    """The state of one case of an order."""
    found = order.case(case_id)
    assert found is not None
    return found.state


def test_d3_a_case_command_repeated_through_the_service_is_saved_once(
    store: OrderStore,
) -> None:
    """D-3, D-14: a request sent twice with its command id (a retried HTTP call) opens one
    case and writes its effects to the outbox once."""
    shop = Shop(store)
    shop.delivered("o-1")
    before = len(store.entries("o-1"))
    command = RequestAfterSales(
        CaseKind.RETURN, CaseReason.NO_REASON, (Units("CUP", 1),), command_id="req-1"
    )
    first = shop.service.handle("o-1", command, BUYER)
    again = shop.service.handle("o-1", command, BUYER)
    assert again.replayed
    assert again.order == first.order
    assert len(shop.service.get("o-1").cases) == 1
    assert len(store.entries("o-1")) == before + len(first.effects)


def test_d6_a_refused_case_command_through_the_service_stores_nothing(store: OrderStore) -> None:
    """D-6, PT-1: a request refused for its units leaves the stored order at its version
    and adds nothing to the outbox."""
    shop = Shop(store)
    order = shop.delivered("o-1")
    before = len(store.entries("o-1"))
    command = RequestAfterSales(CaseKind.RETURN, CaseReason.NO_REASON, (Units("CUP", 2),))
    with pytest.raises(CommandRefused) as refused:
        shop.service.handle("o-1", command, BUYER)
    assert refused.value.code == "request_after_sales.units_left"
    assert shop.service.get("o-1").version == order.version
    assert len(store.entries("o-1")) == before
