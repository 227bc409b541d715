"""Instructions per lifecycle command, counted by valgrind: figures the machine's load cannot move.

    python benchmarks/instructions.py            # 300 lifecycles per case
    python benchmarks/instructions.py 100 --cases orderflow,bare
    python benchmarks/instructions.py 100 --cases orderflow,cases

For each case of ``benchmarks/lifecycle.py`` (orderflow, the shared ``transitions`` machine,
the bare dict table) it runs this script twice under ``valgrind --tool=callgrind``: once
setting up ``n`` orders only, once setting them up and running the six lifecycle commands on
each. The difference of the instructions counted, over ``6 n``, is the instructions of one
command (the interpreter's start and the imports cancel out). It prints them and the ratios
that ``benchmarks/lifecycle.py`` prints in microseconds. Without valgrind it says so and stops.

The case ``cases`` counts an after-sales case command the way ``benchmarks/lifecycle.py``
times one: ``n`` orders taken to delivered, then (in the second run) the five commands of a
return on each (request, approve, ship back, receive, the refund's confirmation), over ``5 n``;
with ``orderflow`` it prints the ratio of the two (target: at most 2x).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
CASES = {
    "orderflow": "orderflow",
    "transitions": "transitions, shared machine",
    "bare": "bare dict table",
    "cases": "after-sales case command",
}
COMMANDS = {"cases": 5}
"""The commands each order runs, where not the lifecycle's six."""


def _return(i: int) -> object:
    """Order ``i`` delivered, then a return through to its refund's confirmation."""
    import lifecycle
    from orderflow import ConfirmRefund
    from orderflow.aftersales import ApproveCase, ReceiveReturn, ShipBack, Units

    handle, at = lifecycle.LIFECYCLE.handle, lifecycle.AT
    order = handle(lifecycle._delivered(i), lifecycle.RETURN, lifecycle.CUSTOMER, at).order
    case_id = order.cases[-1].case_id
    order = handle(order, ApproveCase(case_id), lifecycle.STAFF, at).order
    order = handle(order, ShipBack(case_id, "SF", "SF1"), lifecycle.CUSTOMER, at).order
    order = handle(order, ReceiveReturn(case_id, (Units("SKU-1", 1),)), lifecycle.STAFF, at).order
    confirm = ConfirmRefund(order.ledger.refunds[-1].refund_id)
    return handle(order, confirm, lifecycle.SYSTEM, at).order


def inner(case: str, mode: str, orders: int) -> None:
    """Set up ``orders`` orders of ``case`` (and, with mode ``run``, run their lifecycles)."""
    sys.path.insert(0, str(HERE))
    import lifecycle

    if case == "cases":
        run, setup = _return, lifecycle._delivered
    else:
        run, setup = lifecycle.CASES[CASES[case]]
    for i in range(orders):
        if mode == "run":
            run(i)
        else:
            setup(i)


def counted(case: str, mode: str, orders: int) -> int:
    """Instructions valgrind counts for one run of :func:`inner`."""
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "callgrind.out"
        done = subprocess.run(
            [
                "valgrind",
                "--tool=callgrind",
                f"--callgrind-out-file={out}",
                sys.executable,
                str(Path(__file__).resolve()),
                "--inner",
                case,
                mode,
                str(orders),
            ],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": "0"},
        )
    found = re.search(r"Collected\s*:\s*(\d+)", done.stderr)
    if found is None:
        raise SystemExit(f"valgrind printed no count:\n{done.stderr[-2000:]}")
    return int(found.group(1))


def main(orders: int = 300, cases: tuple[str, ...] = tuple(CASES)) -> dict[str, float]:
    """Count and print instructions per command for each case."""
    if shutil.which("valgrind") is None:
        print("valgrind is not installed: nothing counted")
        return {}
    per_command: dict[str, float] = {}
    print(f"{orders} lifecycles per case, under valgrind --tool=callgrind")
    print(f"{'case':<32}{'instructions/command':>22}")
    for case in cases:
        whole = counted(case, "run", orders)
        setup = counted(case, "setup", orders)
        per_command[case] = (whole - setup) / (COMMANDS.get(case, 6) * orders)
        print(f"{CASES[case]:<32}{per_command[case]:>22,.0f}", flush=True)
    if "orderflow" in per_command:
        ours = per_command["orderflow"]
        if "transitions" in per_command:
            print(f"shared transitions / orderflow: {per_command['transitions'] / ours:.2f}x")
        if "bare" in per_command:
            print(f"orderflow / bare dict table:    {ours / per_command['bare']:.1f}x")
        if "cases" in per_command:
            ratio = per_command["cases"] / ours
            print(f"case command / lifecycle command: {ratio:.2f}x   (target: at most 2x)")
    return per_command


if __name__ == "__main__":
    if sys.argv[1:2] == ["--inner"]:
        inner(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    else:
        parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
        parser.add_argument("orders", nargs="?", type=int, default=300)
        parser.add_argument("--cases", default="orderflow,transitions,bare")
        options = parser.parse_args()
        main(options.orders, tuple(options.cases.split(",")))
