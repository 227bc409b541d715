"""Where a lifecycle command's time goes: the six commands after placing, under cProfile.

    python benchmarks/profile_command.py          # 2000 orders, the 15 costliest functions
    python benchmarks/profile_command.py 500 25

It places ``orders`` orders, times each of the six commands on them without the profiler
(best of 5), then runs pay, review, start fulfilment, ship,
deliver and confirm receipt on each through ``Lifecycle.handle`` under :mod:`cProfile`, and
prints the functions by their own time (``tottime``) as a share of the whole, with the calls
per command. The garbage collector is off while it runs (a collection is charged to whatever
function happens to allocate when it starts, which scatters it over the table). cProfile adds
a fixed cost to every Python call, so small functions called often weigh more here than they
do unprofiled; read the shares as where the calls go, and the unprofiled microseconds per
command from ``benchmarks/lifecycle.py``. ``benchmarks/instructions.py`` counts instructions
per command under valgrind, which the machine's load does not move.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import pstats
import time
from collections.abc import Callable
from typing import Any

from lifecycle import (
    APPROVE,
    AT,
    CUSTOMER,
    DELIVER,
    LIFECYCLE,
    PAY,
    RECEIPT,
    STAFF,
    START,
    SYSTEM,
    orderflow_setup,
)
from orderflow import Actor, Command, Order, Ship


def placed(orders: int) -> list[Order]:
    """``orders`` freshly placed orders, as ``benchmarks/lifecycle.py`` places them."""
    return [orderflow_setup(i) for i in range(orders)]


def lifecycle(starts: list[Order]) -> None:
    """The six commands after placing, on each order."""
    handle = LIFECYCLE.handle
    for i, start in enumerate(starts):
        order = handle(start, PAY, SYSTEM, AT).order
        order = handle(order, APPROVE, STAFF, AT).order
        order = handle(order, START, STAFF, AT).order
        order = handle(order, Ship("DHL", f"TRK{i:08d}"), STAFF, AT).order
        order = handle(order, DELIVER, SYSTEM, AT).order
        handle(order, RECEIPT, CUSTOMER, AT)


def per_command(starts: list[Order]) -> dict[str, float]:
    """Microseconds of each of the six commands (not profiled): best of 5 over the orders."""
    steps: list[tuple[str, Callable[[int], Command], Actor]] = [
        ("pay", lambda i: PAY, SYSTEM),
        ("approve review (runs the classifier)", lambda i: APPROVE, STAFF),
        ("start fulfilment", lambda i: START, STAFF),
        ("ship", lambda i: Ship("DHL", f"TRK{i:08d}"), STAFF),
        ("confirm delivery", lambda i: DELIVER, SYSTEM),
        ("confirm receipt", lambda i: RECEIPT, CUSTOMER),
    ]
    handle = LIFECYCLE.handle
    orders = list(starts)
    found: dict[str, float] = {}
    for name, make, actor in steps:
        commands = [make(i) for i in range(len(orders))]
        best = float("inf")
        for _ in range(5):
            gc.collect()
            started = time.perf_counter()
            after = [
                handle(order, command, actor, AT).order
                for order, command in zip(orders, commands, strict=True)
            ]
            best = min(best, time.perf_counter() - started)
        found[name] = best / len(orders) * 1e6
        orders = after
    return found


def main(orders: int = 2000, top: int = 15) -> list[tuple[str, float, float]]:
    """Profile and print the ``top`` functions: name, share of the time, calls per command."""
    starts = placed(orders)
    print(f"us per command, not profiled (best of 5 over {orders} orders):")
    for name, micros in per_command(starts).items():
        print(f"  {name:<40}{micros:>7.2f}")
    print()
    lifecycle(starts[: min(orders, 100)])  # warm up
    profile = cProfile.Profile()
    gc.collect()
    gc.disable()  # a collection would be charged to whichever function happened to run
    try:
        profile.enable()
        lifecycle(starts)
        profile.disable()
    finally:
        gc.enable()
    stats: Any = pstats.Stats(profile)
    commands = orders * 6
    rows = sorted(stats.stats.items(), key=lambda item: item[1][2], reverse=True)
    total = sum(row[1][2] for row in rows)
    found: list[tuple[str, float, float]] = []
    print(f"{orders} orders x 6 commands under cProfile; functions by their own time")
    print(f"{'share':>7} {'calls/cmd':>10}  function")
    for (path, line, name), (_, calls, own, *_rest) in rows[:top]:
        where = f"{'/'.join(path.rsplit('/', 2)[-2:])}:{line}" if path != "~" else ""
        label = f"{name} {where}".strip()
        found.append((label, own / total, calls / commands))
        print(f"{own / total:>7.1%} {calls / commands:>10.2f}  {label}")
    return found


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("orders", nargs="?", type=int, default=2000)
    parser.add_argument("top", nargs="?", type=int, default=15, help="functions to list")
    options = parser.parse_args()
    main(options.orders, options.top)
