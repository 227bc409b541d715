"""Benchmark: the in-memory store's writes and pages as it grows from 1,000 to 100,000 orders.

    python benchmarks/memory_store.py                     # 1,000 / 10,000 / 100,000 orders
    python benchmarks/memory_store.py 500 5000            # other sizes
    python benchmarks/memory_store.py --rounds 3 --per-round 50 200 2000

The orders are built once with ``Lifecycle.place`` / ``Lifecycle.handle`` (not timed) and the
first ``n`` of them fill a fresh ``InMemoryStore`` for each size: a mix of states (unpaid, some
past their unpaid deadline; paid; awaiting shipment; in fulfilment; shipped; delivered, with
the receipt deadline, some of them past it; completed; closed), five orders per customer,
random ids. Then, timed in rounds (each round draws its own random inputs, untimed):

* ``get``: one order by id;
* ``find_by_state first`` / ``middle``: a page of 100 of the most common state, the first and
  one from the middle (``after_id``);
* ``find_due``: the first page of 100 due orders;
* ``find_by_customer``: a customer's first page;
* ``claim_due+release``: one sweeper claim of 100 due orders and the release of each;
* ``outbox pending``: the first page of 100 pending outbox entries;
* ``outbox claim``: one relay claim of 100 entries among ``n`` pending ones (each batch is
  then put back by ``mark_failed`` with a retry at once, untimed, so ``n`` stay pending);
* ``save``: a version-checked save of the next version (the next happy-path step, built
  untimed) of a random order that is not final.

It prints, per size, the mean and the best round in microseconds per call, and the ratio
100k / 1k (the last size over the first) of each (target: at most 1.5x).
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from orderflow import (
    Actor,
    Address,
    ApproveReview,
    Close,
    CloseReason,
    Command,
    ConfirmDelivery,
    ConfirmReceipt,
    Lifecycle,
    Money,
    Order,
    OrderLine,
    OrderState,
    Pay,
    Permission,
    PlaceOrder,
    Ship,
    StartFulfilment,
)
from orderflow.adapters.memory import InMemoryStore

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
LIFECYCLE = Lifecycle()
STAFF = Actor.staff("agent-bench", *sorted(Permission.all()))
SYSTEM = Actor.system("bench")
ADDRESS = Address("Li Lei", "13800138000", "1 Wensan Road", "Hangzhou", "Zhejiang", "310000")
LINES = (OrderLine("SKU-1", 2, Money("49.90", "CNY")), OrderLine("SKU-2", 1, Money("5.00", "CNY")))
PAY = Pay(Money("104.80", "CNY"), "pay-bench")
LEASE = timedelta(minutes=5)
PAGE = 100
ORDERS_PER_CUSTOMER = 5

# The states the orders end in, with their weights (out of 100).
MIX: tuple[tuple[OrderState, int], ...] = (
    (OrderState.PENDING_PAYMENT, 20),
    (OrderState.PAID, 10),
    (OrderState.AWAITING_SHIPMENT, 10),
    (OrderState.IN_FULFILMENT, 5),
    (OrderState.SHIPPED, 15),
    (OrderState.DELIVERED, 10),
    (OrderState.COMPLETED, 20),
    (OrderState.CLOSED, 10),
)
HAPPY_PATH = (
    OrderState.PENDING_PAYMENT,
    OrderState.PAID,
    OrderState.AWAITING_SHIPMENT,
    OrderState.IN_FULFILMENT,
    OrderState.SHIPPED,
    OrderState.DELIVERED,
    OrderState.COMPLETED,
)


def next_step(order: Order) -> tuple[Command, Actor] | None:
    """The next happy-path command for an order, with who sends it (``None`` when final)."""
    steps: dict[OrderState, tuple[Command, Actor]] = {
        OrderState.PENDING_PAYMENT: (PAY, SYSTEM),
        OrderState.PAID: (ApproveReview(), STAFF),
        OrderState.AWAITING_SHIPMENT: (StartFulfilment(), STAFF),
        OrderState.IN_FULFILMENT: (Ship("SF Express", f"SF-{order.id[-12:]}"), STAFF),
        OrderState.SHIPPED: (ConfirmDelivery(), SYSTEM),
        OrderState.DELIVERED: (ConfirmReceipt(), Actor.customer(order.customer_id)),
    }
    return steps.get(order.state)


def build_orders(total: int, seed: int = 7) -> list[Order]:
    """``total`` orders in the benchmark's mix of states, random ids, five per customer.

    Unpaid orders were placed up to two hours ago (their 30-minute deadline has passed for
    about three in four); the others up to 30 days ago, each step some hours after the last
    (a delivered order's receipt deadline has passed for some).
    """
    rng = random.Random(seed)
    states = [state for state, weight in MIX for _ in range(weight)]
    built: list[Order] = []
    for n in range(total):
        state = rng.choice(states)
        order_id = f"SO-{rng.getrandbits(64):016x}"
        customer = f"c-{n // ORDERS_PER_CUSTOMER:06d}"
        if state is OrderState.PENDING_PAYMENT:
            at = NOW - timedelta(seconds=rng.randrange(2 * 3600))
        else:
            at = NOW - timedelta(seconds=rng.randrange(30 * 86400))
        order = LIFECYCLE.place(
            PlaceOrder(order_id, customer, LINES, ADDRESS), Actor.customer(customer), at
        ).order
        target = OrderState.PAID if state is OrderState.CLOSED else state
        while order.state is not target and order.state in HAPPY_PATH:
            step = next_step(order)
            assert step is not None
            at += timedelta(seconds=rng.randrange(3600, 3 * 86400))
            order = LIFECYCLE.handle(order, step[0], step[1], min(at, NOW)).order
        if state is OrderState.CLOSED:
            close = Close(CloseReason.OUT_OF_STOCK)
            order = LIFECYCLE.handle(order, close, STAFF, min(at + timedelta(hours=1), NOW)).order
        built.append(order)
    return built


def fill(orders: Sequence[Order]) -> InMemoryStore:
    """A new store holding ``orders``, with exactly ``len(orders)`` pending outbox entries
    (the surplus, the oldest written, is marked delivered)."""
    store = InMemoryStore()
    for order in orders:
        store.add(order)
    pending = store.pending(limit=1_000_000)
    for entry in pending[: max(len(pending) - len(orders), 0)]:
        store.mark_delivered(entry.id, NOW)
    return store


Round = tuple[Callable[[Any], object], list[Any]]


def timed(prepare: Callable[[random.Random], Round], rounds: int, seed: int) -> tuple[float, float]:
    """Mean and best round, in microseconds per call, of ``rounds`` rounds each prepared
    (untimed) by ``prepare``: a function to call and the arguments of each call."""
    rng = random.Random(seed)
    total = 0.0
    calls = 0
    best = float("inf")
    for _ in range(rounds):
        call, arguments = prepare(rng)
        started = time.perf_counter()
        for argument in arguments:
            call(argument)
        elapsed = time.perf_counter() - started
        total += elapsed
        calls += len(arguments)
        best = min(best, elapsed / len(arguments))
    return total / calls * 1e6, best * 1e6


def measure(
    orders: Sequence[Order], rounds: int, per_round: int
) -> tuple[dict[str, tuple[float, float]], int]:
    """Fill a store with ``orders`` and time each operation; the figures and the pending
    outbox entries."""
    store = fill(orders)
    ids = [order.id for order in orders]
    customers = sorted({order.customer_id for order in orders})
    counts = {state: len(store.find_by_state(state, limit=1_000_000)) for state in OrderState}
    common = max(counts, key=lambda state: counts[state])
    in_common = [order.id for order in store.find_by_state(common, limit=1_000_000)]
    middle = in_common[len(in_common) // 2]
    pending = len(store.pending(limit=1_000_000))
    figures: dict[str, tuple[float, float]] = {}

    def same(call: Callable[[], object]) -> Callable[[random.Random], Round]:
        return lambda rng: ((lambda _: call()), [None] * per_round)

    def by_id(rng: random.Random) -> Round:
        return store.get, rng.choices(ids, k=per_round)

    def by_customer(rng: random.Random) -> Round:
        return store.find_by_customer, rng.choices(customers, k=per_round)

    figures["get"] = timed(by_id, rounds, 1)
    figures["find_by_state first"] = timed(
        same(lambda: store.find_by_state(common, limit=PAGE)), rounds, 2
    )
    figures["find_by_state middle"] = timed(
        same(lambda: store.find_by_state(common, limit=PAGE, after_id=middle)), rounds, 3
    )
    figures["find_due"] = timed(same(lambda: store.find_due(NOW, limit=PAGE)), rounds, 4)
    figures["find_by_customer"] = timed(by_customer, rounds, 5)

    def claim_and_release() -> None:
        for order_id in store.claim_due("sweeper", NOW, limit=PAGE, lease=LEASE):
            store.release_due(order_id, "sweeper")

    figures["claim_due+release"] = timed(same(claim_and_release), rounds, 6)
    figures["outbox pending"] = timed(same(lambda: store.pending(PAGE)), rounds, 7)

    returned: list[str] = []

    def claim_batch() -> None:
        for entry in store.claim("relay", NOW, limit=PAGE, lease=LEASE):
            returned.append(entry.id)

    def put_back() -> None:
        for entry_id in returned:
            store.mark_failed(entry_id, "bench", NOW, retry_at=NOW)
        returned.clear()

    figures["outbox claim"] = claim_timed(claim_batch, put_back, rounds, per_round)

    open_orders = sum(1 for order in orders if next_step(order) is not None)
    per_save_round = max(min(per_round, open_orders // (rounds + 1)), 1)

    def saves(rng: random.Random) -> Round:
        candidates = [i for i in ids if next_step(store.get(i)) is not None]
        chosen = [store.get(i) for i in rng.sample(candidates, per_save_round)]
        nexts = []
        for order in chosen:
            step = next_step(order)
            assert step is not None
            nexts.append((LIFECYCLE.handle(order, step[0], step[1], NOW).order, order.version))
        return (lambda pair: store.save(*pair)), nexts

    figures["save"] = timed(saves, rounds, 8)
    return figures, pending


def claim_timed(
    claim: Callable[[], None], put_back: Callable[[], None], rounds: int, per_round: int
) -> tuple[float, float]:
    """Mean and best round of ``claim``, each call's batch put back untimed after it."""
    total = 0.0
    best = float("inf")
    batches = max(per_round // 10, 1)
    for _ in range(rounds):
        spent = 0.0
        for _ in range(batches):
            started = time.perf_counter()
            claim()
            spent += time.perf_counter() - started
            put_back()
        total += spent
        best = min(best, spent / batches)
    return total / (rounds * batches) * 1e6, best * 1e6


def main(sizes: Sequence[int], rounds: int = 5, per_round: int = 200) -> dict[int, Any]:
    """Measure every size and print the table and the growth ratios."""
    started = time.perf_counter()
    orders = build_orders(max(sizes))
    built = time.perf_counter() - started
    print(
        f"{max(sizes):,} orders built in {built:.1f} s; {rounds} rounds of {per_round} calls "
        f"({max(per_round // 10, 1)} batches for the outbox claim), us per call: mean / best"
    )
    results: dict[int, Any] = {}
    for size in sizes:
        figures, pending = measure(orders[:size], rounds, per_round)
        results[size] = figures
        print(f"  {size:,} orders: {pending:,} pending outbox entries")
    names = list(results[sizes[0]])
    header = f"{'operation':<22}" + "".join(f"{f'{size:,}':>18}" for size in sizes)
    header += f"{'growth mean/best':>18}"
    print(header)
    print("-" * len(header))
    worst = 0.0
    for name in names:
        row = f"{name:<22}"
        for size in sizes:
            mean, best = results[size][name]
            row += f"{mean:>10.2f} /{best:>6.2f}"
        first, last = results[sizes[0]][name], results[sizes[-1]][name]
        ratios = (last[0] / first[0], last[1] / first[1])
        worst = max(worst, ratios[1])
        print(row + f"{ratios[0]:>11.2f} /{ratios[1]:>5.2f}")
    print(
        f"growth {sizes[0]:,} -> {sizes[-1]:,}: at most {worst:.2f}x (best rounds)   "
        "(target: at most 1.5x)"
    )
    return results


def _arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", nargs="*", type=int, default=[1_000, 10_000, 100_000])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--per-round", type=int, default=200)
    return parser.parse_args(argv)


if __name__ == "__main__":
    options = _arguments(sys.argv[1:])
    main(options.sizes, options.rounds, options.per_round)
