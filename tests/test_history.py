"""The history structure: append-only, shared between orders, indexed for idempotency (LC-8,
D-3), and never changed by what is made from it."""

from __future__ import annotations

import itertools
import threading
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from orderflow import Actor, ApproveReview, Money, OrderState, Pay
from orderflow.history import History
from orderflow.order import HistoryEntry

AT = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
ACTOR = Actor.system("test")


def _entry(number: int, command_id: str | None, reference: str | None) -> HistoryEntry:
    command = (
        Pay(Money("1.00", "CNY"), reference, command_id=command_id)
        if reference is not None
        else ApproveReview(command_id=command_id)
    )
    return HistoryEntry(OrderState.PAID, OrderState.PAID, command, ACTOR, AT, ())


appends = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=1_000),
        st.one_of(st.none(), st.sampled_from(["a", "b", "c", "d"])),
        st.one_of(st.none(), st.sampled_from(["p-1", "p-2"])),
    ),
    max_size=40,
)


@given(appends)
def test_histories_grown_from_any_earlier_one_keep_their_own_entries(
    steps: list[tuple[int, str | None, str | None]],
) -> None:
    """LC-8: appending to any history, the newest or an older one, gives a history equal to
    a plain list model; the ones it came from never change; look-ups answer from each
    history's own entries."""
    made: list[tuple[History, list[HistoryEntry]]] = [(History(), [])]
    for number, (pick, command_id, reference) in enumerate(steps):
        base, model = made[pick % len(made)]
        entry = _entry(number, command_id, reference)
        grown = base.append(entry)
        made.append((grown, [*model, entry]))
        for history, expected in made:
            assert list(history) == expected
            assert len(history) == len(expected)
            assert history == tuple(expected)
            if expected:
                assert history[-1] is expected[-1]
                assert history[0] is expected[0]
    for history, expected in made:
        for command_id in ("a", "b", "c", "d"):
            first = next((e for e in expected if e.command.command_id == command_id), None)
            assert history.entry_for(command_id) is first
        for reference in ("p-1", "p-2"):
            paid = next(
                (e for e in expected if getattr(e.command, "payment_reference", None) == reference),
                None,
            )
            assert history.payment_entry(reference) is paid
        assert history.command_ids() == {
            e.command.command_id for e in expected if e.command.command_id is not None
        }
    for (one, one_model), (other, other_model) in itertools.product(made, repeat=2):
        starts = other_model[: len(one_model)] == one_model
        assert other.extends(one) is (starts and len(one_model) <= len(other_model))


def test_threads_appending_to_one_history_each_get_their_own() -> None:
    """Concurrent appends to one shared history never mix: each result is the base plus its
    own entry (the losers of the race copy once)."""
    base = History([_entry(0, None, None)])
    results: list[History] = []
    lock = threading.Lock()
    barrier = threading.Barrier(8)

    def grow(number: int) -> None:
        barrier.wait()
        grown = base.append(_entry(number, f"id-{number}", None))
        with lock:
            results.append(grown)

    workers = [threading.Thread(target=grow, args=(n,)) for n in range(1, 9)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=30)
    assert len(results) == 8
    for grown in results:
        assert len(grown) == 2
        assert grown[0] is base[0]
        own = grown[1].command.command_id
        assert own is not None
        assert grown.entry_for(own) is grown[1]
        assert [grown.entry_for(f"id-{n}") is not None for n in range(1, 9)].count(True) == 1
    assert len(base) == 1


def test_a_history_reads_as_an_immutable_sequence() -> None:
    """Slices are tuples, bad positions raise IndexError, and equality ignores the type."""
    entries = [_entry(n, None, None) for n in range(3)]
    history = History(entries)
    assert history[1:] == tuple(entries[1:])
    assert list(reversed(history)) == entries[::-1]
    assert history == History(entries)
    assert hash(history) == hash(tuple(entries))
    assert history != History(entries[:2])
    assert history.__eq__(object()) is NotImplemented
    for bad in (3, -4):
        try:
            history[bad]
        except IndexError:
            continue
        raise AssertionError(f"history[{bad}] did not raise")
    assert "History(" in repr(history)
