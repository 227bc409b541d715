"""The ordered index under the memory store's pages agrees with a plain sorted list."""

from __future__ import annotations

import bisect
import itertools
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from orderflow.adapters.ordered import OrderedIndex
from orderflow.errors import InvalidInput

keys = st.integers(0, 150)


def tens(key: int) -> int:
    """The part of a key ``leading`` compares: its tens (the keys are ordered by it too)."""
    return key // 10


class OrderedIndexAgainstSortedList(RuleBasedStateMachine):
    """Random adds, removes (one key, or a run of neighbours, which empties and merges
    blocks) and range queries, on a tiny block size so that blocks split and merge often."""

    def __init__(self) -> None:
        super().__init__()
        self.model: list[int] = []
        self.index: OrderedIndex[int] = OrderedIndex(load=4)

    @initialize(initial=st.lists(keys, max_size=60), load=st.sampled_from([4, 5, 8]))
    def start(self, initial: list[int], load: int) -> None:
        """Start from a bulk of keys in any order, duplicates included."""
        self.model = sorted(set(initial))
        self.index = OrderedIndex(initial, load=load)

    @rule(key=keys)
    def add(self, key: int) -> None:
        """Adding says whether the key is new; a key is held once."""
        assert self.index.add(key) is (key not in self.model)
        if key not in self.model:
            bisect.insort(self.model, key)

    @rule(key=keys)
    def discard(self, key: int) -> None:
        """Removing says whether the key was held."""
        assert self.index.discard(key) is (key in self.model)
        if key in self.model:
            self.model.remove(key)

    @rule(start=keys, count=st.integers(1, 30))
    def discard_run(self, start: int, count: int) -> None:
        """Remove a run of neighbouring keys (blocks empty and merge)."""
        run = [key for key in self.model if key >= start][:count]
        for key in run:
            assert self.index.discard(key)
            self.model.remove(key)

    @rule(start=st.none() | st.integers(-1, 151), strict=st.booleans(), limit=st.integers(0, 40))
    def ascending(self, start: int | None, strict: bool, limit: int) -> None:
        """A page upwards from a key (held or not), with or without it."""
        if start is None:
            expected = self.model
        else:
            expected = [k for k in self.model if k > start or (k == start and not strict)]
        page: list[int] = []
        for key in self.index.ascending(start, strict=strict):
            if len(page) == limit:
                break
            page.append(key)
        assert page == expected[:limit]

    @rule(end=st.none() | st.integers(-1, 151), strict=st.booleans(), limit=st.integers(0, 40))
    def descending(self, end: int | None, strict: bool, limit: int) -> None:
        """A page downwards from a key (held or not), with or without it."""
        if end is None:
            expected = self.model[::-1]
        else:
            expected = [k for k in reversed(self.model) if k < end or (k == end and not strict)]
        page: list[int] = []
        for key in self.index.descending(end, strict=strict):
            if len(page) == limit:
                break
            page.append(key)
        assert page == expected[:limit]

    @rule(bound=st.integers(-1, 16), inclusive=st.booleans(), limit=st.integers(0, 40))
    def leading(self, bound: int, inclusive: bool, limit: int) -> None:
        """The smallest keys while a part of them (here the tens) is at most, or below, a
        bound."""
        expected = [k for k in self.model if k // 10 < bound or (k // 10 == bound and inclusive)]
        page = list(itertools.islice(self.index.leading(bound, tens, inclusive=inclusive), limit))
        assert page == expected[:limit]

    @rule(key=st.integers(-1, 151))
    def contains(self, key: int) -> None:
        """Membership answers as the list does."""
        assert (key in self.index) is (key in self.model)

    @invariant()
    def agrees(self) -> None:
        """Same keys, same order, same size, same first key."""
        assert list(self.index) == self.model
        assert len(self.index) == len(self.model)
        assert self.index.first() == (self.model[0] if self.model else None)

    @invariant()
    def blocks_stay_in_shape(self) -> None:
        """Every block is sorted, non-empty, between load / 2 and 2 x load keys (a lone
        block may be smaller), and its recorded maximum is its last key."""
        blocks, maxes, load = self.index._blocks, self.index._maxes, self.index._load
        assert len(blocks) == len(maxes)
        for block, largest in zip(blocks, maxes, strict=True):
            assert block
            assert block == sorted(block)
            assert block[-1] == largest
            assert len(block) <= 2 * load
            assert len(blocks) == 1 or len(block) >= load // 2
        assert maxes == sorted(maxes)


TestOrderedIndexAgainstSortedList = OrderedIndexAgainstSortedList.TestCase


@given(st.lists(keys, max_size=3000))
def test_pages_of_a_large_index_are_slices_of_the_sorted_keys(values: list[int]) -> None:
    """PT-1: with the store's block size, every page upwards and downwards from any key is
    the slice of the sorted keys at that key."""
    index = OrderedIndex(values + [v + 1000 for v in values])
    model = sorted(set(values + [v + 1000 for v in values]))
    assert list(index) == model
    for probe in (0, 75, 1075, 2000):
        start = bisect.bisect_left(model, probe)
        assert list(index.ascending(probe))[:100] == model[start : start + 100]
        assert list(index.descending(probe))[:100] == model[:start][::-1][:100]


def test_keys_with_times_compare_as_instants() -> None:
    """D-15, D-18: a key holding a time is found and removed whatever the time zone it is
    written in, as the same instant."""
    at = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
    shanghai = timezone(timedelta(hours=8))
    index: OrderedIndex[tuple[datetime, str]] = OrderedIndex()
    assert index.add((at, "o-2"))
    assert index.add((at - timedelta(seconds=1), "o-9"))
    assert not index.add((at.astimezone(shanghai), "o-2"))
    assert [order_id for _, order_id in index] == ["o-9", "o-2"]
    assert index.discard((at.astimezone(shanghai), "o-2"))
    assert [order_id for _, order_id in index.ascending((at, ""))] == []


@pytest.mark.parametrize("load", [3, 0, True, 4.5])
def test_a_block_size_below_four_is_refused(load: object) -> None:
    """A block size that is not a whole number of 4 or more is refused, naming it."""
    with pytest.raises(InvalidInput) as info:
        OrderedIndex(load=load)  # type: ignore[arg-type]
    assert info.value.field == "load"
