"""Benchmark: classifying an order (EX-2) beside a lifecycle command, in one process.

    python benchmarks/classifier.py            # 3000 orders, best of 5
    python benchmarks/classifier.py 500        # fewer orders

On paid two-line orders it measures, in microseconds per order:

* the default classifier with a context that knows everything: stock and list prices of
  every SKU, four recent orders of the customer and two of the address (the customer check
  counts them, the duplicate check compares their lines);
* the default classifier with an empty context (no data: the order's own checks only);
* building that context (validating the snapshot, as :func:`gather_context` does after the
  host answered);
* a lifecycle command, measured alike (the six commands after placing, per command).

It prints them and the classifier's cost in lifecycle commands.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from orderflow import (
    Actor,
    Address,
    ApproveReview,
    ConfirmDelivery,
    ConfirmReceipt,
    Lifecycle,
    Money,
    Order,
    OrderLine,
    Pay,
    Permission,
    PlaceOrder,
    Ship,
    StartFulfilment,
)
from orderflow.incidents import Classifier, Context, RecentLine, RecentOrder

AT = datetime(2024, 1, 1, 12, 0, tzinfo=UTC)
LIFECYCLE = Lifecycle()
CLASSIFIER = Classifier.default()
CUSTOMER = Actor.customer("customer-1")
STAFF = Actor.staff("staff-1", *Permission.all())
SYSTEM = Actor.system("gateway")
LINES = (OrderLine("SKU-1", 2, Money("49.90", "CNY")), OrderLine("SKU-2", 1, Money("9.90", "CNY")))
ADDRESS = Address("Li Lei", "13800138000", "1 Wensan Road", "Hangzhou")
DUE = Money("109.70", "CNY")
OTHER_LINES = (RecentLine("SKU-1", 1, Money("49.90", "CNY")),)


def paid(i: int) -> Order:
    """Order ``i``, placed and paid (the state review classifies)."""
    command = PlaceOrder(f"order-{i:06d}", CUSTOMER.id, LINES, ADDRESS)
    order = LIFECYCLE.place(command, CUSTOMER, AT).order
    return LIFECYCLE.handle(order, Pay(DUE, "pay-1"), SYSTEM, AT).order


def full_context(i: int) -> Context:
    """A context that knows everything about order ``i``, with nothing wrong in it."""
    customer = tuple(
        RecentOrder(
            f"earlier-{i}-{n}",
            CUSTOMER.id,
            AT - timedelta(minutes=7 * (n + 1)),
            Money("49.90", "CNY"),
            OTHER_LINES,
        )
        for n in range(4)
    )
    address = tuple(
        RecentOrder(
            f"neighbour-{i}-{n}",
            f"customer-{n + 2}",
            AT - timedelta(hours=n + 1),
            Money("49.90", "CNY"),
            OTHER_LINES,
        )
        for n in range(2)
    )
    return Context(
        stock={"SKU-1": 10, "SKU-2": 10},
        list_prices={"SKU-1": Money("49.90", "CNY"), "SKU-2": Money("9.90", "CNY")},
        customer_orders=customer[:3],
        address_orders=address[:1] + customer[3:],
    )


def _best(run: Callable[[], None], count: int) -> float:
    """Microseconds per item of the best of 5 runs of ``run`` over ``count`` items."""
    best = float("inf")
    for _ in range(5):
        started = time.perf_counter()
        run()
        best = min(best, (time.perf_counter() - started) / count)
    return best * 1e6


def measure(orders: int) -> dict[str, float]:
    """Microseconds per order of each case, and per lifecycle command."""
    placed = [paid(i) for i in range(orders)]
    contexts = [full_context(i) for i in range(orders)]
    empty = Context()
    classify = CLASSIFIER.classify

    def with_context() -> None:
        for order, context in zip(placed, contexts, strict=True):
            classify(order, context, AT)

    def without_context() -> None:
        for order in placed:
            classify(order, empty, AT)

    def building() -> None:
        for i in range(orders):
            full_context(i)

    handle = LIFECYCLE.handle
    starts: list[Order] = []

    def lifecycle() -> None:
        for i, start in enumerate(starts):
            order = handle(start, Pay(DUE, "pay-1"), SYSTEM, AT).order
            order = handle(order, ApproveReview(), STAFF, AT).order
            order = handle(order, StartFulfilment(), STAFF, AT).order
            order = handle(order, Ship("DHL", f"TRK{i:08d}"), STAFF, AT).order
            order = handle(order, ConfirmDelivery(), SYSTEM, AT).order
            handle(order, ConfirmReceipt(), CUSTOMER, AT)

    for i in range(orders):
        command = PlaceOrder(f"order-{i:06d}", CUSTOMER.id, LINES, ADDRESS)
        starts.append(LIFECYCLE.place(command, CUSTOMER, AT).order)
    return {
        "classify, full context": _best(with_context, orders),
        "classify, no data": _best(without_context, orders),
        "build the full context": _best(building, orders),
        "lifecycle command": _best(lifecycle, orders * 6),
    }


def main(orders: int = 3000) -> dict[str, float]:
    """Check the setup finds nothing wrong, measure, and print the table."""
    sample = paid(0)
    assert CLASSIFIER.classify(sample, full_context(0), AT) == ()
    assert CLASSIFIER.classify(sample, Context(stock={"SKU-1": 0}), AT)
    results = measure(orders)
    print(f"orders={orders}, best of 5; paid orders of 2 lines, the default classifier")
    print(f"{'':<28}{'us':>9}")
    print("-" * 37)
    for name, micros in results.items():
        print(f"{name:<28}{micros:>9.2f}")
    command = results["lifecycle command"]
    print()
    print(
        f"classify (full context) / lifecycle command: "
        f"{results['classify, full context'] / command:5.1f}x"
    )
    print(
        f"classify + build context / lifecycle command: "
        f"{(results['classify, full context'] + results['build the full context']) / command:5.1f}x"
    )
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("orders", nargs="?", type=int, default=3000)
    main(parser.parse_args().orders)
