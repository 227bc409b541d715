"""Instructions per lifecycle command, counted by valgrind: figures the machine's load cannot move.

    python benchmarks/instructions.py            # 300 lifecycles per case
    python benchmarks/instructions.py 100 --cases orderflow,bare
    python benchmarks/instructions.py 100 --cases orderflow,cases
    python benchmarks/instructions.py 200 --per-command
    python benchmarks/instructions.py 200 --per-command --without classifier,service-levels

For each case of ``benchmarks/lifecycle.py`` (orderflow, the shared ``transitions`` machine,
the bare dict table) it runs this script twice under ``valgrind --tool=callgrind``: once
setting up ``n`` orders only, once setting them up and running the six lifecycle commands on
each. The difference of the instructions counted, over ``6 n``, is the instructions of one
command (the interpreter's start and the imports cancel out). It prints them and the ratios
that ``benchmarks/lifecycle.py`` prints in microseconds. Without valgrind it says so and stops.

``--per-command`` counts orderflow's six commands one by one instead (seven runs: the set-up
and then one more command each time), and ``--without`` takes features out of the lifecycle's
settings to show what they cost: ``classifier`` (review runs a classifier with no detectors,
EX-2) and ``service-levels`` (no review, shipment or tracking-silence deadlines, TM-2/3/4).
Neither is a way to run a shop; they say where a command's instructions go.

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
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import attrs

if TYPE_CHECKING:
    from orderflow import Actor, Command, Order

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


FEATURES = ("classifier", "service-levels")
STEPS = ("pay", "approve review", "start fulfilment", "ship", "confirm delivery", "confirm receipt")


def _without(features: tuple[str, ...]) -> None:
    """Replace ``lifecycle.LIFECYCLE`` with one whose settings leave ``features`` out."""
    import lifecycle
    from orderflow import Lifecycle, Settings
    from orderflow.incidents.classify import Classifier

    settings = Settings()
    if "classifier" in features:
        settings = attrs.evolve(settings, classifier=Classifier(()))
    if "service-levels" in features:
        settings = attrs.evolve(
            settings, review_timeout=None, shipment_timeout=None, tracking_silence=None
        )
    lifecycle.LIFECYCLE = Lifecycle(settings)


def _steps() -> list[Callable[[Order, int], Order]]:
    """The six commands after placing, each as a function of the order and its number."""
    import lifecycle
    from orderflow import Ship

    def command(make: Callable[[int], Command], actor: Actor) -> Callable[[Order, int], Order]:
        return lambda order, i: (
            lifecycle.LIFECYCLE.handle(order, make(i), actor, lifecycle.AT).order
        )

    return [
        command(lambda i: lifecycle.PAY, lifecycle.SYSTEM),
        command(lambda i: lifecycle.APPROVE, lifecycle.STAFF),
        command(lambda i: lifecycle.START, lifecycle.STAFF),
        command(lambda i: Ship("DHL", f"TRK{i:08d}"), lifecycle.STAFF),
        command(lambda i: lifecycle.DELIVER, lifecycle.SYSTEM),
        command(lambda i: lifecycle.RECEIPT, lifecycle.CUSTOMER),
    ]


def inner(case: str, mode: str, orders: int, features: tuple[str, ...] = ()) -> None:
    """Set up ``orders`` orders of ``case`` (and, with mode ``run``, run their lifecycles;
    with mode ``k`` a number, run their first ``k`` commands)."""
    sys.path.insert(0, str(HERE))
    import lifecycle

    kept = lifecycle.LIFECYCLE
    if features:
        _without(features)
    try:
        if case == "cases":
            run, setup = _return, lifecycle._delivered
        else:
            run, setup = lifecycle.CASES[CASES[case]]
        if mode.isdigit():
            steps = _steps()[: int(mode)]
            for i in range(orders):
                order = lifecycle.orderflow_setup(i)
                for step in steps:
                    order = step(order, i)
            return
        for i in range(orders):
            if mode == "run":
                run(i)
            else:
                setup(i)
    finally:
        lifecycle.LIFECYCLE = kept


def counted(case: str, mode: str, orders: int, features: tuple[str, ...] = ()) -> int:
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
                ",".join(features),
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


def per_command(orders: int = 200, features: tuple[str, ...] = ()) -> dict[str, float]:
    """Count and print orderflow's instructions for each of the six commands."""
    if shutil.which("valgrind") is None:
        print("valgrind is not installed: nothing counted")
        return {}
    left_out = ", ".join(features) or "nothing"
    print(f"{orders} orders, orderflow's commands one by one; left out: {left_out}")
    print(f"{'command':<32}{'instructions':>22}")
    counts = [counted("orderflow", str(k), orders, features) for k in range(len(STEPS) + 1)]
    each = {name: (counts[k + 1] - counts[k]) / orders for k, name in enumerate(STEPS)}
    for name, instructions in each.items():
        print(f"{name:<32}{instructions:>22,.0f}")
    average = (counts[-1] - counts[0]) / (orders * len(STEPS))
    print(f"{'average':<32}{average:>22,.0f}")
    return each


if __name__ == "__main__":
    if sys.argv[1:2] == ["--inner"]:
        left = tuple(name for name in sys.argv[5].split(",") if name)
        inner(sys.argv[2], sys.argv[3], int(sys.argv[4]), left)
    else:
        parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
        parser.add_argument("orders", nargs="?", type=int, default=300)
        parser.add_argument("--cases", default="orderflow,transitions,bare")
        parser.add_argument("--per-command", action="store_true")
        parser.add_argument("--without", default="", help=",".join(FEATURES))
        options = parser.parse_args()
        without = tuple(name for name in options.without.split(",") if name)
        unknown = sorted(set(without) - set(FEATURES))
        if unknown:
            parser.error(f"--without takes {', '.join(FEATURES)}, not {', '.join(unknown)}")
        if options.per_command:
            per_command(options.orders, without)
        else:
            if without:
                parser.error("--without counts orderflow's commands: use it with --per-command")
            main(options.orders, tuple(options.cases.split(",")))
