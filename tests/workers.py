"""Worker processes for the crash and contention tests (run as ``python -m tests.workers``).

``crash DB LOG SEED``: places orders and runs random commands against the SQLite store at DB,
relaying effects by appending their ids to LOG, forever, until it is killed.

``contend URL PREFIX SECONDS SEED OUT``: fires random commands at the shared orders of the
store at URL for SECONDS, and writes what it applied and how many conflicts it retried to OUT
as JSON.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import sys
import time
from datetime import UTC, datetime, timedelta

from orderflow import (
    Actor,
    Address,
    ApproveReview,
    Close,
    CloseReason,
    Command,
    CommandRefused,
    ConfirmDelivery,
    ConfirmReceipt,
    ConfirmRefund,
    FailRefund,
    Hold,
    Money,
    OrderLine,
    OrderState,
    Pay,
    Permission,
    PlaceOrder,
    Release,
    RetryRefund,
    Ship,
    StartFulfilment,
    WithdrawFromFulfilment,
)
from orderflow.adapters.sql import SqlStore
from orderflow.effects import EFFECT_TYPES, Effect
from orderflow.errors import ConcurrencyConflict
from orderflow.order import Order
from orderflow.ports import ManualClock, SystemClock
from orderflow.relay import OutboxRelay
from orderflow.service import OrderService

CUSTOMER = Actor.customer("c-load")
STAFF = Actor.staff("agent-load", *sorted(Permission.all()))
SYSTEM = Actor.system("load")
ADDRESS = Address("Zhao Lei", "13700000000", "5 Jiefang Road", "Hangzhou")
LINES = (OrderLine("SKU-1", 2, Money("30.00", "CNY")), OrderLine("SKU-2", 1, Money("9.99", "CNY")))


def random_command(order: Order, rng: random.Random) -> tuple[Command, Actor]:
    """A likely next command for ``order``: mostly the next step, sometimes a detour."""
    state = order.state
    pay = (Pay(order.amount_due, f"pay-{order.id}-{rng.randrange(3)}"), SYSTEM)
    refunds = [r.refund_id for r in order.ledger.refunds]
    by_state: dict[OrderState, list[tuple[Command, Actor]]] = {
        OrderState.PENDING_PAYMENT: [
            pay,
            pay,
            pay,
            (Close(CloseReason.CUSTOMER_CANCELLED), CUSTOMER),
        ],
        OrderState.PAID: [(ApproveReview(), STAFF)] * 3 + [(Hold("check"), STAFF), pay],
        OrderState.AWAITING_SHIPMENT: [(StartFulfilment(), STAFF)] * 3
        + [(Close(CloseReason.OUT_OF_STOCK), STAFF)],
        OrderState.IN_FULFILMENT: [(Ship("SF Express", f"SF{rng.randrange(10**6)}"), STAFF)] * 3
        + [(WithdrawFromFulfilment(), STAFF)],
        OrderState.SHIPPED: [(ConfirmDelivery(), SYSTEM)],
        OrderState.DELIVERED: [(ConfirmReceipt(), CUSTOMER)],
        OrderState.ON_HOLD: [(Release(), STAFF), (Close(CloseReason.SUSPECTED_FRAUD), STAFF)],
        OrderState.CLOSED: [pay],
        OrderState.COMPLETED: [pay],
    }
    choices = by_state[state]
    if refunds:
        refund = rng.choice(refunds)
        choices = [
            *choices,
            (ConfirmRefund(refund), SYSTEM),
            (FailRefund(refund, "declined"), SYSTEM),
            (RetryRefund(refund), SYSTEM),
        ]
    return rng.choice(choices)


def crash(db: str, log: str, seed: int) -> None:
    """Work on the store until killed; delivered effect ids are appended to ``log``."""
    rng = random.Random(seed)
    store = SqlStore.sqlite(db)
    clock = ManualClock(datetime(2026, 1, 1, tzinfo=UTC) + timedelta(days=seed))
    service = OrderService(store, clock=clock)
    with open(log, "a", encoding="utf-8") as delivered:

        def record(effect: Effect) -> None:
            delivered.write(effect.id + "\n")
            delivered.flush()
            os.fsync(delivered.fileno())

        relay = OutboxRelay(store, handlers=dict.fromkeys(EFFECT_TYPES, record), clock=clock)
        print("working", flush=True)  # the test starts its kill timer from here
        for n in range(10**9):
            clock.advance(timedelta(seconds=1))
            if n % 5 == 0:
                service.place(PlaceOrder(f"o-{seed}-{n}", CUSTOMER.id, LINES, ADDRESS), CUSTOMER)
            ids = [o.id for o in store.find_by_state(rng.choice(_STATES), limit=20)]
            if ids:
                order = store.get(rng.choice(ids))
                command, actor = random_command(order, rng)
                with contextlib.suppress(CommandRefused):
                    service.handle(order.id, command, actor)
            relay.run_once(limit=5)


def contend(url: str, prefix: str, seconds: float, seed: int, out: str) -> None:
    """Fire random commands at the shared orders for ``seconds``; report to ``out``."""
    rng = random.Random(seed)
    store = SqlStore.from_url(url, table_prefix=prefix, create=False)
    service = OrderService(store, clock=SystemClock())
    ids = [o.id for state in _STATES for o in store.find_by_state(state, limit=1000)]
    applied: list[tuple[str, int]] = []
    conflicts = refused = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        order_id = rng.choice(ids)
        command, actor = random_command(store.get(order_id), rng)
        for _attempt in range(20):
            try:
                outcome = service.handle(order_id, command, actor)
            except ConcurrencyConflict:
                conflicts += 1
                continue
            except CommandRefused:
                refused += 1
                break
            if not outcome.replayed:
                applied.append((order_id, outcome.order.version))
            break
    store.close()
    with open(out, "w", encoding="utf-8") as report:
        json.dump({"applied": applied, "conflicts": conflicts, "refused": refused}, report)


_STATES = list(OrderState)


if __name__ == "__main__":
    name, *args = sys.argv[1:]
    if name == "crash":
        crash(args[0], args[1], int(args[2]))
    elif name == "contend":
        contend(args[0], args[1], float(args[2]), int(args[3]), args[4])
    else:
        raise SystemExit(f"unknown worker {name!r}")
