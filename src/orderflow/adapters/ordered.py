"""An ordered set of keys for the in-memory store's indexes: a sorted list of sorted blocks.

The keys live in blocks of at most ``2 * load`` keys each, every block sorted and every key of
a block below every key of the next; beside them, each block's largest key. A key is found
with two binary searches (which block, then where in it), so a search costs O(log n); adding
or removing one moves at most ``2 * load`` pointers within its block (a ``memmove``), plus, when
a block splits, merges or empties, one entry of the short list of blocks (n / load of them).
With the default load of 256 and 100,000 keys that is about 400 blocks: each change stays
within a few block-sized moves whatever the size, which a plain sorted list (one ``memmove``
of up to n pointers per change) does not.

Iterating walks the blocks from a starting key in either direction, lazily, so a page of
``limit`` keys costs O(log n + limit). Nothing here locks: the store that owns an index holds
its lock around every use, and an index must not be changed while one of its iterators is in
use.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Iterator
from itertools import chain
from typing import Any, Generic, Protocol, TypeVar, cast

from orderflow.errors import InvalidInput

__all__ = ["DEFAULT_LOAD", "OrderedIndex"]

DEFAULT_LOAD = 256
"""Blocks hold from ``load // 2`` (unless there is only one) to ``2 * load`` keys."""


class _Comparable(Protocol):
    def __lt__(self, other: Any, /) -> bool: ...


K = TypeVar("K", bound=_Comparable)
C = TypeVar("C", bound=_Comparable)


class OrderedIndex(Generic[K]):
    """A set of keys kept in ascending order, for paging by key.

    Keys must be totally ordered among themselves (tuples of aware datetimes, text and whole
    numbers are), and a key equal to one already held is not added twice.

    Args:
        keys: the keys to start with, in any order.
        load: the block size it aims at (at least 4; for tests and tuning).

    Raises:
        InvalidInput: a load that is not a whole number of 4 or more.
    """

    __slots__ = ("_blocks", "_load", "_maxes", "_size")

    def __init__(self, keys: Iterable[K] = (), *, load: int = DEFAULT_LOAD) -> None:
        if isinstance(load, bool) or not isinstance(load, int) or load < 4:
            raise InvalidInput("load", load, "must be a whole number of 4 or more")
        self._load = load
        ordered: list[K] = []
        for key in sorted(keys):
            if not ordered or ordered[-1] < key:
                ordered.append(key)
        self._blocks: list[list[K]] = [
            ordered[start : start + load] for start in range(0, len(ordered), load)
        ]
        if len(self._blocks) > 1 and len(self._blocks[-1]) < load // 2:
            self._blocks[-2].extend(self._blocks.pop())
        self._maxes: list[K] = [block[-1] for block in self._blocks]
        self._size = len(ordered)

    def __len__(self) -> int:
        """How many keys it holds."""
        return self._size

    def __iter__(self) -> Iterator[K]:
        """Every key, ascending."""
        return chain.from_iterable(self._blocks)

    def __contains__(self, key: object) -> bool:
        """Whether ``key`` is held (``O(log n)``); ``key`` must compare with the keys held."""
        wanted = cast(K, key)
        maxes = self._maxes
        index = bisect_left(maxes, wanted)
        if index == len(maxes):
            return False
        block = self._blocks[index]
        return bool(block[bisect_left(block, wanted)] == wanted)

    def __repr__(self) -> str:
        """The number of keys and of blocks."""
        return f"<OrderedIndex of {self._size} keys in {len(self._blocks)} blocks>"

    def add(self, key: K) -> bool:
        """Add ``key``; whether it was not held already."""
        maxes = self._maxes
        blocks = self._blocks
        if not maxes:
            blocks.append([key])
            maxes.append(key)
            self._size = 1
            return True
        index = len(maxes) - 1
        if maxes[index] < key:  # above every key (the common case of a time index): append
            block = blocks[index]
            block.append(key)
            maxes[index] = key
        else:
            index = bisect_left(maxes, key)
            block = blocks[index]
            at = bisect_left(block, key)
            if block[at] == key:
                return False
            block.insert(at, key)
        self._size += 1
        if len(block) > 2 * self._load:
            self._split(index)
        return True

    def discard(self, key: K) -> bool:
        """Remove ``key`` if it is held; whether it was."""
        maxes = self._maxes
        index = bisect_left(maxes, key)
        if index == len(maxes):
            return False
        blocks = self._blocks
        block = blocks[index]
        at = bisect_left(block, key)
        if block[at] != key:
            return False
        del block[at]
        self._size -= 1
        if not block:
            del blocks[index]
            del maxes[index]
            return True
        if at == len(block):
            maxes[index] = block[-1]
        if len(block) < self._load // 2 and len(blocks) > 1:
            self._merge(index)
        return True

    def first(self) -> K | None:
        """The smallest key, or ``None`` when it is empty."""
        return self._blocks[0][0] if self._blocks else None

    def ascending(self, start: K | None = None, *, strict: bool = False) -> Iterator[K]:
        """The keys in ascending order, from ``start`` on (every key when ``None``).

        Args:
            start: the first key to give, if held (keys below it are skipped).
            strict: skip ``start`` itself too: only keys above it.

        Returns:
            A lazy iterator; the index must not change while it is in use.
        """
        blocks = self._blocks
        if start is None:
            return chain.from_iterable(blocks)
        search = bisect_right if strict else bisect_left
        index = search(self._maxes, start)
        if index == len(blocks):
            return iter(())
        block = blocks[index]
        head = map(block.__getitem__, range(search(block, start), len(block)))
        return chain(
            head, chain.from_iterable(map(blocks.__getitem__, range(index + 1, len(blocks))))
        )

    def leading(self, bound: C, key: Callable[[K], C], *, inclusive: bool = True) -> Iterator[K]:
        """The smallest keys, ascending, while ``key(k)`` is at most ``bound`` (below it when
        not ``inclusive``), ``key`` being a part of the key the index is ordered by first
        (such as ``operator.itemgetter(0)`` on tuples): the keys due by a time.

        The end is found by binary search, so taking a page costs O(log n + page).

        Args:
            bound: the largest ``key(k)`` to give (with ``inclusive``).
            key: the part of a key compared with ``bound``; keys must be ordered by it.
            inclusive: whether keys whose part equals ``bound`` are given.

        Returns:
            A lazy iterator; the index must not change while it is in use.
        """
        search = bisect_right if inclusive else bisect_left
        blocks = self._blocks
        index = search(self._maxes, bound, key=key)
        if index == len(blocks):
            return chain.from_iterable(blocks)
        block = blocks[index]
        tail = map(block.__getitem__, range(search(block, bound, key=key)))
        if not index:
            return tail
        return chain(chain.from_iterable(map(blocks.__getitem__, range(index))), tail)

    def descending(self, end: K | None = None, *, strict: bool = True) -> Iterator[K]:
        """The keys in descending order, from below ``end`` (every key when ``None``).

        Args:
            end: the bound: only keys below it are given.
            strict: when false, ``end`` itself is given too, if held.

        Returns:
            A lazy iterator; the index must not change while it is in use.
        """
        blocks = self._blocks
        if end is None:
            index = len(blocks) - 1
            at = len(blocks[index]) if blocks else 0
        else:
            search = bisect_left if strict else bisect_right
            index = min(search(self._maxes, end), len(blocks) - 1)
            at = search(blocks[index], end) if blocks else 0
        if index < 0:
            return iter(())
        block = blocks[index]
        head = map(block.__getitem__, range(at - 1, -1, -1))
        if not index:
            return head
        earlier = map(reversed, map(blocks.__getitem__, range(index - 1, -1, -1)))
        return chain(head, chain.from_iterable(earlier))

    def _split(self, index: int) -> None:
        block = self._blocks[index]
        half = len(block) // 2
        self._blocks.insert(index + 1, block[half:])
        del block[half:]
        self._maxes.insert(index, block[-1])

    def _merge(self, index: int) -> None:
        """Join the small block at ``index`` with a neighbour (splitting again if too big)."""
        if index == 0:
            index = 1  # join the second block into the first
        blocks, maxes = self._blocks, self._maxes
        blocks[index - 1].extend(blocks[index])
        maxes[index - 1] = maxes[index]
        del blocks[index]
        del maxes[index]
        if len(blocks[index - 1]) > 2 * self._load:
            self._split(index - 1)
