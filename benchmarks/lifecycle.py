"""Benchmark: the full order lifecycle through orderflow and three baselines, in one process.

    python benchmarks/lifecycle.py            # 3000 orders, best of 5
    python benchmarks/lifecycle.py 500        # fewer orders

The same lifecycle (place, pay, review, start fulfilment, ship, deliver, confirm receipt) runs
through:

* orderflow: ``Lifecycle.handle`` with guards, authorization, history, effects, invariants and
  a new frozen order value per command;
* ``transitions`` with one shared machine (``machine.events[name].trigger(model)``);
* a naive ``transitions.Machine`` per order;
* python-statemachine, one machine instance per order bound to it as its model (the way that
  library is used), with the same guards and history (:mod:`statemachine_baseline`);
* a hand-written dict-table machine doing the same guard and history work on a plain mutable
  object: the bare cost of a state change.

Then the second machine on the same engine: an after-sales case command (a return: request,
approve, ship back, receive; and the refund's confirmation) against a lifecycle command, and
one decision of the default after-sales policy.

It prints microseconds per command (the lifecycle's time less the placing, over its six
commands), microseconds to set an order up, bytes per placed order, and the ratios the
targets are stated in: orderflow against the bare table (target: at most 6x) and the shared
``transitions`` trigger against orderflow (target: orderflow at least 2.5x faster, also with
each order's setup, placing for orderflow, amortized over its six commands).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import baselines
import statemachine_baseline
from orderflow import (
    Actor,
    Address,
    ApproveReview,
    ConfirmDelivery,
    ConfirmReceipt,
    ConfirmRefund,
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
from orderflow.aftersales import (
    ApproveCase,
    CaseKind,
    CaseReason,
    ReceiveReturn,
    RequestAfterSales,
    ShipBack,
    Units,
)
from orderflow.aftersales.quotes import request_quote

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
if statemachine_baseline.AVAILABLE:
    CASES["python-statemachine " + statemachine_baseline.VERSION] = (
        statemachine_baseline.statemachine_run,
        statemachine_baseline.statemachine_setup,
    )


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


def _long_order(entries: int) -> tuple[Order, str]:
    """A closed, paid order whose refund failed and was retried until its history holds
    ``entries`` entries (failing and retrying a refund may go on without end)."""
    from orderflow import Close, CloseReason, FailRefund, RetryRefund

    order = orderflow_setup(0)
    order = LIFECYCLE.handle(order, PAY, SYSTEM, AT).order
    order = LIFECYCLE.handle(order, Close(CloseReason.OUT_OF_STOCK), STAFF, AT).order
    refund_id = order.ledger.refunds[0].refund_id
    while order.version < entries:
        command = FailRefund(refund_id) if order.version % 2 else RetryRefund(refund_id)
        order = LIFECYCLE.handle(order, command, SYSTEM, AT).order
    return order, refund_id


def growth(
    sizes: tuple[int, ...] = (10, 100, 1_000, 10_000), commands: int = 400
) -> dict[tuple[int, bool], float]:
    """Microseconds per command on an order of each history length, with and without a
    command id (best of 5 runs of ``commands`` commands in a row, each on the order the one
    before made, as a service does)."""
    import time

    from orderflow import FailRefund, RetryRefund

    results: dict[tuple[int, bool], float] = {}
    for size in sizes:
        base, refund_id = _long_order(size)
        for with_id in (False, True):
            best = float("inf")
            for run in range(5):
                order = base
                plan = [
                    (FailRefund if (base.version + n) % 2 else RetryRefund)(
                        refund_id, command_id=f"r{run}-{n}" if with_id else None
                    )
                    for n in range(commands)
                ]
                started = time.perf_counter()
                for command in plan:
                    order = LIFECYCLE.handle(order, command, SYSTEM, AT).order
                best = min(best, (time.perf_counter() - started) / commands)
            results[size, with_id] = best * 1e6
    return results


def _delivered(i: int) -> Order:
    """Order ``i``, placed and taken to delivered (the start of every after-sales case)."""
    order = orderflow_setup(i)
    handle = LIFECYCLE.handle
    order = handle(order, PAY, SYSTEM, AT).order
    order = handle(order, APPROVE, STAFF, AT).order
    order = handle(order, START, STAFF, AT).order
    order = handle(order, Ship("DHL", f"TRK{i:08d}"), STAFF, AT).order
    return handle(order, DELIVER, SYSTEM, AT).order


RETURN = RequestAfterSales(CaseKind.RETURN, CaseReason.NO_REASON, (Units("SKU-1", 1),))


def case_commands(orders: int) -> tuple[float, float]:
    """Microseconds per after-sales command (a return: request, approve, ship back, receive,
    and the refund's confirmation, on a delivered order) and per lifecycle command measured
    the same way (the six commands after placing), best of 5."""
    import time

    handle = LIFECYCLE.handle
    delivered = [_delivered(i) for i in range(orders)]
    best_case = best_life = float("inf")
    for _ in range(5):
        started = time.perf_counter()
        for start in delivered:
            order = handle(start, RETURN, CUSTOMER, AT).order
            case_id = order.cases[-1].case_id
            order = handle(order, ApproveCase(case_id), STAFF, AT).order
            order = handle(order, ShipBack(case_id, "SF", "SF1"), CUSTOMER, AT).order
            order = handle(order, ReceiveReturn(case_id, (Units("SKU-1", 1),)), STAFF, AT).order
            handle(order, ConfirmRefund(order.ledger.refunds[-1].refund_id), SYSTEM, AT)
        best_case = min(best_case, (time.perf_counter() - started) / (orders * 5))
        placed = [orderflow_setup(i) for i in range(orders)]
        started = time.perf_counter()
        for i, start in enumerate(placed):
            order = handle(start, PAY, SYSTEM, AT).order
            order = handle(order, APPROVE, STAFF, AT).order
            order = handle(order, START, STAFF, AT).order
            order = handle(order, Ship("DHL", f"TRK{i:08d}"), STAFF, AT).order
            order = handle(order, DELIVER, SYSTEM, AT).order
            handle(order, RECEIPT, CUSTOMER, AT)
        best_life = min(best_life, (time.perf_counter() - started) / (orders * 6))
    return best_case * 1e6, best_life * 1e6


def policy_decision(decisions: int) -> float:
    """Microseconds per decision of the default policy on a one-line no-reason return."""
    import time

    order = _delivered(0)
    policy = LIFECYCLE.settings.policy
    facts = LIFECYCLE.decider.facts(order, RETURN, request_quote(order, RETURN), AT)
    best = float("inf")
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(decisions):
            policy.decide(facts)
        best = min(best, (time.perf_counter() - started) / decisions)
    return best * 1e6


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
    amortized = (shared + results["transitions, shared machine"][1] / 6) / (
        ours + results["orderflow"][1] / 6
    )
    print(f"orderflow / bare dict table:           {ours / bare:6.1f}x   (target: at most 6x)")
    print(f"shared transitions / orderflow:        {shared / ours:6.1f}x   (target: at least 2.5x)")
    print(f"the same, setup amortized over 6 cmds: {amortized:6.1f}x   (target: at least 2.5x)")
    print(
        f"per-order machine setup, naive:        {naive_setup - results['bare dict table'][1]:6.1f}"
        " us beyond the order value; orderflow: none (one Lifecycle per process)"
    )
    sizes = (10, 100, 1_000, 10_000) if orders >= 1000 else (10, 100)
    case, life = case_commands(max(orders // 3, 10))
    decision = policy_decision(max(orders, 10))
    print()
    print(f"after-sales case command:               {case:6.2f} us")
    print(f"lifecycle command, measured alike:      {life:6.2f} us")
    print(f"case command / lifecycle command:       {case / life:6.2f}x   (target: at most 2x)")
    print(f"default policy decision (1 line):       {decision:6.2f} us")
    grown = growth(sizes, 400 if orders >= 1000 else 20)
    print()
    print("one more command on an order with a long history (us/command):")
    print(f"{'history entries':<20}" + "".join(f"{size:>10,}" for size in sizes))
    for with_id in (False, True):
        label = "with a command id" if with_id else "without"
        print(f"{label:<20}" + "".join(f"{grown[size, with_id]:>10.2f}" for size in sizes))
    for with_id in (False, True):
        ratio = grown[sizes[-1], with_id] / grown[sizes[0], with_id]
        label = "with a command id" if with_id else "without"
        print(f"growth {sizes[0]} -> {sizes[-1]} {label}: {ratio:.2f}x   (target: at most 1.3x)")
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("orders", nargs="?", type=int, default=3000)
    main(parser.parse_args().orders)
