"""Benchmark: the full order lifecycle through orderflow and three baselines, in one process.

    python benchmarks/lifecycle.py            # 3000 orders, best of 5
    python benchmarks/lifecycle.py 500        # fewer orders

The same lifecycle (place, pay, review, start fulfilment, ship, deliver, confirm receipt) runs
through:

* orderflow: ``Lifecycle.handle`` with guards, authorization, history, effects, invariants and
  a new frozen order value per command;
* ``transitions`` with one shared machine (``machine.events[name].trigger(model)``);
* a naive ``transitions.Machine`` per order;
* a hand-written dict-table machine doing the same guard and history work on a plain mutable
  object: the bare cost of a state change.

It prints microseconds per command (the lifecycle's time less the placing, over its six
commands), microseconds to set an order up, bytes per placed order, and the ratios the
targets are stated in: orderflow against the bare table (target: at most 20x) and the shared
``transitions`` trigger against orderflow (target: orderflow at least 2x faster).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import baselines
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
    OrderState,
    Pay,
    Permission,
    PlaceOrder,
    Ship,
    StartFulfilment,
)

AT = datetime(2024, 1, 1, 12, 0, tzinfo=UTC)
LIFECYCLE = Lifecycle()
CUSTOMER = Actor.customer("customer-1")
STAFF = Actor.staff("staff-1", *Permission.all())
SYSTEM = Actor.system("gateway")
LINES = (OrderLine("SKU-1", 2, Money("49.90", "CNY")),)
ADDRESS = Address("Li Lei", "13800138000", "1 Wensan Road", "Hangzhou")
PAY = Pay(Money("99.80", "CNY"), "pay-1")
APPROVE = ApproveReview()
START = StartFulfilment()
DELIVER = ConfirmDelivery()
RECEIPT = ConfirmReceipt()


def orderflow_setup(i: int) -> Order:
    """Place order ``i``: validate the command and build the order value (version 1)."""
    command = PlaceOrder(f"order-{i:06d}", CUSTOMER.id, LINES, ADDRESS)
    return LIFECYCLE.place(command, CUSTOMER, AT).order


def orderflow_run(i: int) -> Order:
    """Place order ``i`` and run the six lifecycle commands through ``Lifecycle.handle``."""
    order = orderflow_setup(i)
    handle = LIFECYCLE.handle
    order = handle(order, PAY, SYSTEM, AT).order
    order = handle(order, APPROVE, STAFF, AT).order
    order = handle(order, START, STAFF, AT).order
    order = handle(order, Ship("DHL", f"TRK{i:08d}"), STAFF, AT).order
    order = handle(order, DELIVER, SYSTEM, AT).order
    return handle(order, RECEIPT, CUSTOMER, AT).order


CASES: dict[str, tuple[Callable[[int], object], Callable[[int], object]]] = {
    "orderflow": (orderflow_run, orderflow_setup),
    "transitions, shared machine": baselines.BASELINES["shared_transitions"],
    "transitions, machine per order": baselines.BASELINES["naive_machine_per_order"],
    "bare dict table": baselines.BASELINES["bare_table"],
}


def measure(orders: int) -> dict[str, tuple[float, float, float]]:
    """For each case: (us per command, us per setup, bytes per placed order)."""
    results: dict[str, tuple[float, float, float]] = {}
    commands = baselines.COMMANDS_PER_LIFECYCLE
    for name, (run, setup) in CASES.items():
        whole = baselines.measure_lifecycle(run, orders) * commands
        per_setup = baselines.measure_setup(setup, orders)
        per_command = max(whole - per_setup, 0.0) / commands
        results[name] = (per_command, per_setup, baselines.bytes_per_order(setup, orders))
    return results


def main(orders: int = 3000) -> dict[str, tuple[float, float, float]]:
    """Check every case completes a lifecycle, measure, and print the table and ratios."""
    completed = orderflow_run(1)
    assert completed.state is OrderState.COMPLETED
    assert completed.version == 7
    baselines._self_check()
    results = measure(orders)
    print(f"orders={orders}, best of 5; a lifecycle is placing plus 6 commands")
    header = f"{'':<32}{'us/command':>12}{'us/setup':>11}{'bytes/order':>13}"
    print(header)
    print("-" * len(header))
    for name, (per_command, per_setup, per_order) in results.items():
        print(f"{name:<32}{per_command:>12.2f}{per_setup:>11.2f}{per_order:>13,.0f}")
    ours = results["orderflow"][0]
    bare = results["bare dict table"][0]
    shared = results["transitions, shared machine"][0]
    naive_setup = results["transitions, machine per order"][1]
    print()
    print(f"orderflow / bare dict table:           {ours / bare:6.1f}x   (target: at most 20x)")
    print(f"shared transitions / orderflow:        {shared / ours:6.1f}x   (target: at least 2x)")
    print(
        f"per-order machine setup, naive:        {naive_setup - results['bare dict table'][1]:6.1f}"
        " us beyond the order value; orderflow: none (one Lifecycle per process)"
    )
    return results


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3000)
