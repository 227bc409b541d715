"""Benchmark: several relay processes draining one outbox; how many entries are delivered twice.

    python benchmarks/relay.py                       # 2,000 entries, 2 and 4 relays, 3 runs
    python benchmarks/relay.py 500 --relays 2 --runs 1 --backends sqlite
    python benchmarks/relay.py 2000 postgresql+psycopg://app@db/shop

For each backend (PostgreSQL at the URL given, or ``ORDERFLOW_TEST_POSTGRES_URL``, or its local
default; MariaDB likewise with ``ORDERFLOW_TEST_MYSQL_URL``; an SQLite file in WAL mode), each
number of relays and each run, it fills a fresh outbox with N entries (N/2 orders placed, two
effects each), starts that many relay processes at the same moment, and lets each drain the
outbox with its own :class:`~orderflow.relay.OutboxRelay` (default lease, batches of 100) and a
handler that records the id of every effect it is handed. When all have stopped it counts
deliveries, duplicates (deliveries beyond the first of an entry) and missing entries, and the
entries per second from the first claim to the last delivery. No process crashes and no lease
expires here, so the target is 0 duplicates.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from orderflow import Actor, Address, Lifecycle, Money, OrderLine, PlaceOrder
from orderflow.adapters.sql import SqlStore
from orderflow.effects import EFFECT_TYPES, Effect
from orderflow.relay import OutboxRelay

CUSTOMER = Actor.customer("c-relay-bench")
ADDRESS = Address("Li Lei", "13800138000", "1 Wensan Road", "Hangzhou", "Zhejiang", "310000")
LINES = (OrderLine("SKU-1", 2, Money("49.90", "CNY")), OrderLine("SKU-2", 1, Money("5.00", "CNY")))
START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
DEFAULT_URLS = {
    "postgresql": "postgresql+psycopg://postgres@127.0.0.1:5432/test",
    "mariadb": "mysql+pymysql://root@127.0.0.1:3306/test",
}
VARIABLES = {"postgresql": "ORDERFLOW_TEST_POSTGRES_URL", "mariadb": "ORDERFLOW_TEST_MYSQL_URL"}
BACKENDS = ("postgresql", "mariadb", "sqlite")


# -- one relay process ---------------------------------------------------------------------


def worker(url: str, prefix: str, name: str, out: str, go: str, batch: int) -> None:
    """Drain the outbox at ``url`` once ``go`` exists; write what was delivered to ``out``."""
    store = SqlStore.from_url(url, table_prefix=prefix, create=False)
    delivered: list[str] = []

    def record(effect: Effect) -> None:
        delivered.append(effect.id)

    relay = OutboxRelay(store, handlers=dict.fromkeys(EFFECT_TYPES, record), worker=name)
    Path(out + ".ready").touch()
    while not os.path.exists(go):
        time.sleep(0.001)
    started = time.time()
    while True:
        if relay.run_once(batch).claimed == 0:
            if not store.pending(1):
                break
            time.sleep(0.005)  # others still hold claims; they may yet fail them back
    finished = time.time()
    store.close()
    with open(out, "w", encoding="utf-8") as report:
        json.dump({"delivered": delivered, "started": started, "finished": finished}, report)


# -- the driver ----------------------------------------------------------------------------


def fill(store: SqlStore, entries: int) -> None:
    """Place ``entries / 2`` orders: two outbox entries each."""
    lifecycle = Lifecycle()
    for n in range((entries + 1) // 2):
        command = PlaceOrder(f"relay-bench-{n:06d}", CUSTOMER.id, LINES, ADDRESS)
        outcome = lifecycle.place(command, CUSTOMER, START)
        store.add(outcome.order)


def run(url: str, entries: int, relays: int, batch: int, folder: Path) -> dict[str, float]:
    """One run: a fresh outbox drained by ``relays`` processes; the counts and the rate."""
    prefix = f"of_relay_{uuid.uuid4().hex[:8]}_"
    store = SqlStore.from_url(url, table_prefix=prefix)
    try:
        fill(store, entries)
        total = len(store.pending(entries + 10))
        go = folder / f"{prefix}go"
        outs = [folder / f"{prefix}{n}.json" for n in range(relays)]
        arguments = [
            [url, prefix, f"relay-{n}", str(out), str(go), str(batch)] for n, out in enumerate(outs)
        ]
        processes = [
            subprocess.Popen([sys.executable, __file__, "worker", *args], stderr=subprocess.PIPE)
            for args in arguments
        ]
        deadline = time.monotonic() + 120
        while not all(Path(str(out) + ".ready").exists() for out in outs):
            if time.monotonic() > deadline or any(p.poll() is not None for p in processes):
                break
            time.sleep(0.01)
        go.touch()
        for process in processes:
            _, errors = process.communicate(timeout=600)
            if process.returncode:
                raise RuntimeError(f"a relay process failed: {errors.decode()[-2000:]}")
        reports = [json.loads(out.read_text()) for out in outs]
    finally:
        store.drop_tables()
        store.close()
    counts = Counter(entry_id for report in reports for entry_id in report["delivered"])
    seconds = max(r["finished"] for r in reports) - min(r["started"] for r in reports)
    return {
        "entries": total,
        "deliveries": sum(counts.values()),
        "duplicates": sum(n - 1 for n in counts.values()),
        "missing": total - len(counts),
        "per_second": total / seconds,
        "busiest_share": max(len(r["delivered"]) for r in reports) / max(1, total),
    }


def server_url(name: str, given: str | None) -> str | None:
    """The URL of a server to use, or ``None`` when it does not answer."""
    url = given or os.environ.get(VARIABLES[name]) or DEFAULT_URLS[name]
    try:
        SqlStore.from_url(url, table_prefix="of_relay_probe_", create=False).close()
    except Exception as error:
        if "no orderflow tables" not in str(error):
            return None
    return url


@contextmanager
def backend_urls(names: list[str], postgres_url: str | None) -> Iterator[dict[str, str]]:
    """The URL of each reachable backend (an SQLite file in a temporary folder)."""
    with tempfile.TemporaryDirectory() as folder:
        urls: dict[str, str] = {}
        for name in names:
            if name == "sqlite":
                urls[name] = f"sqlite:///{Path(folder) / 'relay.sqlite3'}"
            elif (url := server_url(name, postgres_url if name == "postgresql" else None)) is None:
                print(f"{name}: not reachable, skipped")
            else:
                urls[name] = url
        yield urls


def main(
    entries: int = 2000,
    relay_counts: tuple[int, ...] = (2, 4),
    runs: int = 3,
    backends: tuple[str, ...] = BACKENDS,
    postgres_url: str | None = None,
    batch: int = 100,
) -> dict[tuple[str, int], list[dict[str, float]]]:
    """Measure every configuration and print one line per run."""
    results: dict[tuple[str, int], list[dict[str, float]]] = {}
    header = (
        f"{'backend':<12}{'relays':>7}{'run':>5}{'entries':>9}{'deliveries':>12}"
        f"{'duplicates':>12}{'missing':>9}{'entries/s':>11}{'busiest':>9}"
    )
    print(f"{entries} entries per run, relay processes draining one outbox (batches of {batch})")
    print(header)
    print("-" * len(header))
    urls = backend_urls(list(backends), postgres_url)
    with tempfile.TemporaryDirectory() as scratch, urls as reachable:
        for name, url in reachable.items():
            for relays in relay_counts:
                for number in range(1, runs + 1):
                    result = run(url, entries, relays, batch, Path(scratch))
                    results.setdefault((name, relays), []).append(result)
                    print(
                        f"{name:<12}{relays:>7}{number:>5}{result['entries']:>9.0f}"
                        f"{result['deliveries']:>12.0f}{result['duplicates']:>12.0f}"
                        f"{result['missing']:>9.0f}{result['per_second']:>11,.0f}"
                        f"{result['busiest_share']:>9.0%}"
                    )
    print("busiest: the share of the entries the busiest relay delivered")
    print("target: 0 duplicates and 0 missing (no crash, no lease expiry)")
    return results


def _arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("entries", nargs="?", type=int, default=2000)
    parser.add_argument("postgres_url", nargs="?", default=None)
    parser.add_argument("--relays", default="2,4", help="relay counts, comma separated")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--backends", default=",".join(BACKENDS), help="comma separated")
    return parser.parse_args(argv)


if __name__ == "__main__":
    if sys.argv[1:2] == ["worker"]:
        url, prefix, name, out, go, batch = sys.argv[2:8]
        worker(url, prefix, name, out, go, int(batch))
    else:
        options = _arguments(sys.argv[1:])
        main(
            options.entries,
            tuple(int(n) for n in options.relays.split(",")),
            options.runs,
            tuple(options.backends.split(",")),
            options.postgres_url,
            options.batch,
        )
