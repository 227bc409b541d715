"""Where a lifecycle command's time goes: the six commands after placing, under cProfile.

    python benchmarks/profile_command.py          # 2000 orders, the 15 costliest functions
    python benchmarks/profile_command.py 500 25

It places ``orders`` orders (not profiled), then runs pay, review, start fulfilment, ship,
deliver and confirm receipt on each through ``Lifecycle.handle`` under :mod:`cProfile`, and
prints the functions by their own time (``tottime``) as a share of the whole, with the calls
per command. cProfile adds a fixed cost to every Python call, so small functions called often
weigh more here than they do unprofiled; read the shares as where the calls go, and the
unprofiled microseconds per command from ``benchmarks/lifecycle.py``. For counts that do not
move with the machine's load, run the same under ``valgrind --tool=callgrind`` (see
``docs/performance.md``).
"""

from __future__ import annotations

import cProfile
import pstats
import sys
from datetime import UTC, datetime
from typing import Any

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

AT = datetime(2024, 1, 1, 12, 0, tzinfo=UTC)
LIFECYCLE = Lifecycle()
CUSTOMER = Actor.customer("customer-1")
STAFF = Actor.staff("staff-1", *Permission.all())
SYSTEM = Actor.system("gateway")
LINES = (OrderLine("SKU-1", 2, Money("49.90", "CNY")), OrderLine("SKU-2", 1, Money("9.90", "CNY")))
ADDRESS = Address("Li Lei", "13800138000", "1 Wensan Road", "Hangzhou")
DUE = Money("109.70", "CNY")


def placed(orders: int) -> list[Order]:
    """``orders`` freshly placed orders."""
    return [
        LIFECYCLE.place(
            PlaceOrder(f"order-{i:06d}", CUSTOMER.id, LINES, ADDRESS), CUSTOMER, AT
        ).order
        for i in range(orders)
    ]


def lifecycle(starts: list[Order]) -> None:
    """The six commands after placing, on each order."""
    handle = LIFECYCLE.handle
    for i, start in enumerate(starts):
        order = handle(start, Pay(DUE, "pay-1"), SYSTEM, AT).order
        order = handle(order, ApproveReview(), STAFF, AT).order
        order = handle(order, StartFulfilment(), STAFF, AT).order
        order = handle(order, Ship("DHL", f"TRK{i:08d}"), STAFF, AT).order
        order = handle(order, ConfirmDelivery(), SYSTEM, AT).order
        handle(order, ConfirmReceipt(), CUSTOMER, AT)


def main(orders: int = 2000, top: int = 15) -> list[tuple[str, float, float]]:
    """Profile and print the ``top`` functions: name, share of the time, calls per command."""
    starts = placed(orders)
    lifecycle(starts[: min(orders, 100)])  # warm up
    profile = cProfile.Profile()
    profile.enable()
    lifecycle(starts)
    profile.disable()
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
    main(*(int(argument) for argument in sys.argv[1:3]))
