"""An order's history as an append-only sequence that costs the same at any length (LC-8).

Every command adds one :class:`~orderflow.order.HistoryEntry`. Copying the whole history
into a new tuple for every command would make the ten-thousandth command a thousand times
dearer than the tenth; a :class:`History` instead shares its entries with the histories it
was made from: appending to the newest one is a list append, and the history it came from
still sees only its own entries. Appending to an older history (deciding again on an order
loaded before another change) copies once, and from then on the two go their own ways.

A history also indexes what idempotency looks up (D-3): the entry of a command id, and the
first payment with a reference. Both answer in constant time.

Histories are immutable from the outside: they read as sequences, compare equal to any
history or tuple with the same entries, and never change once made.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from itertools import islice
from typing import TYPE_CHECKING, Any, overload

if TYPE_CHECKING:
    from orderflow.order import HistoryEntry

__all__ = ["History"]

_PAY_EVENT = "pay"


class History(Sequence["HistoryEntry"]):
    """The entries of an order's history, oldest first.

    Args:
        entries: the entries (any iterable); the history keeps its own copy of them.
    """

    __slots__ = ("_entries", "_index", "_length", "first", "last")

    _entries: list[HistoryEntry]
    _index: dict[object, int]
    _length: int
    first: HistoryEntry
    """The first entry (the placing of the order); read it without indexing."""
    last: HistoryEntry
    """The newest entry; read it without indexing."""

    def __init__(self, entries: Iterable[HistoryEntry] = ()) -> None:
        listed = list(entries)
        index: dict[object, int] = {}
        command_class = _command_class()
        for position, entry in enumerate(listed):
            # What is not an entry of a command is left for the order's checks to refuse.
            if isinstance(getattr(entry, "command", None), command_class):
                _index_entry(index, entry, position)
        self._entries = listed
        self._length = len(listed)
        self._index = index
        if listed:
            self.first = listed[0]
            self.last = listed[-1]

    @classmethod
    def of_placing(cls, entry: HistoryEntry) -> History:
        """The history of an order just placed: its one entry (not checked: the engine's)."""
        index: dict[object, int] = {}
        if entry.command.command_id is not None:
            index[entry.command.command_id] = 0
        return cls._sharing([entry], 1, index)

    @classmethod
    def _sharing(
        cls, entries: list[HistoryEntry], length: int, index: dict[object, int]
    ) -> History:
        history = _new(cls)
        history._entries = entries
        history._length = length
        history._index = index
        history.first = entries[0]
        history.last = entries[length - 1]
        return history

    def append(self, entry: HistoryEntry) -> History:
        """A new history: this one and ``entry`` after it. This one is left as it was.

        Costs the same at any length when this is the newest history made from its entries
        (the usual case); appending to an older one copies its entries once.
        """
        entries = self._entries
        length = self._length
        if len(entries) == length:
            entries.append(entry)
            if entries[length] is entry:  # no other history grew the shared list meanwhile
                index = self._index
                command = entry[2]
                if command.command_id is not None or command.event == _PAY_EVENT:
                    _index_entry(index, entry, length)
                grown = _new(History)
                grown._entries = entries
                grown._length = length + 1
                grown._index = index
                grown.first = entries[0]
                grown.last = entry
                return grown
        forked = entries[:length]
        forked.append(entry)
        index = {key: position for key, position in self._index.items() if position < length}
        _index_entry(index, entry, length)
        return History._sharing(forked, length + 1, index)

    def position_of(self, command_id: str) -> int | None:
        """The position of the entry of the command with this id, if it was applied."""
        position = self._index.get(command_id)
        return position if position is not None and position < self._length else None

    def entry_for(self, command_id: str) -> HistoryEntry | None:
        """The entry of the command with this id, if it was applied (D-3)."""
        position = self.position_of(command_id)
        return None if position is None else self._entries[position]

    def payment_entry(self, reference: str) -> HistoryEntry | None:
        """The entry of the first payment recorded with this reference, if any (D-3)."""
        position = self._index.get((_PAY_EVENT, reference))
        if position is None or position >= self._length:
            return None
        return self._entries[position]

    def command_ids(self) -> frozenset[str]:
        """The ids of every command applied."""
        return frozenset(
            key
            for key, position in self._index.items()
            if isinstance(key, str) and position < self._length
        )

    def extends(self, other: Sequence[HistoryEntry]) -> bool:
        """Whether this history begins with ``other``'s entries, the same ones.

        Costs nothing when this history was made by appending to ``other``; otherwise it
        compares entries, by identity first.
        """
        length = len(other)
        if length > self._length:
            return False
        if isinstance(other, History) and other._entries is self._entries:
            return True
        entries = self._entries
        return all(
            mine is theirs or mine == theirs
            for mine, theirs in zip(islice(entries, length), other, strict=False)
        )

    # -- the sequence ----------------------------------------------------------------------

    def __len__(self) -> int:
        return self._length

    @overload
    def __getitem__(self, index: int) -> HistoryEntry: ...

    @overload
    def __getitem__(self, index: slice) -> tuple[HistoryEntry, ...]: ...

    def __getitem__(self, index: int | slice) -> HistoryEntry | tuple[HistoryEntry, ...]:
        length = self._length
        if isinstance(index, slice):
            return tuple(self._entries[:length][index])
        if index < 0:
            index += length
        if not 0 <= index < length:
            raise IndexError("history index out of range")
        return self._entries[index]

    def __iter__(self) -> Iterator[HistoryEntry]:
        return islice(self._entries, self._length)

    def __reversed__(self) -> Iterator[HistoryEntry]:
        entries = self._entries
        return (entries[position] for position in range(self._length - 1, -1, -1))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, History):
            if other._length != self._length:
                return False
            if other._entries is self._entries:
                return True
            return all(
                mine is theirs or mine == theirs for mine, theirs in zip(self, other, strict=True)
            )
        if isinstance(other, tuple | list):
            return len(other) == self._length and all(
                mine is theirs or mine == theirs for mine, theirs in zip(self, other, strict=True)
            )
        return NotImplemented

    def __hash__(self) -> int:
        return hash(tuple(self))

    def __repr__(self) -> str:
        return f"History({list(self)!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (History, (tuple(self),))


_new = object.__new__


def _command_class() -> type:
    from orderflow.commands import Command

    return Command


def _index_entry(index: dict[object, int], entry: HistoryEntry, position: int) -> None:
    command = entry.command
    command_id = command.command_id
    if command_id is not None and command_id not in index:
        index[command_id] = position
    if command.event == _PAY_EVENT:
        key = (_PAY_EVENT, command.payment_reference)  # type: ignore[attr-defined]
        if key not in index:
            index[key] = position
