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
history or tuple with the same entries, and never change once made. A store may make one
whose entries are decoded from their documents when first read (:meth:`History._of_documents`):
a command reads few of an order's entries, and loading a long history then costs little more
than reading its documents.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
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

    __slots__ = ("_decode", "_entries", "_index", "_length", "first", "last")

    _decode: Callable[[Any], HistoryEntry] | None
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
        self._decode = None
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
        cls,
        entries: list[HistoryEntry],
        length: int,
        index: dict[object, int],
        decode: Callable[[Any], HistoryEntry] | None = None,
    ) -> History:
        history = _new(cls)
        history._entries = entries
        history._length = length
        history._index = index
        history._decode = decode
        history.first = history._entry(0)
        history.last = history._entry(length - 1)
        return history

    @classmethod
    def _of_documents(
        cls,
        documents: Sequence[dict[str, Any]],
        decode: Callable[[dict[str, Any]], HistoryEntry],
        keys: Callable[[dict[str, Any]], tuple[str | None, str, str | None]],
    ) -> History:
        """For stores: a history of the entries these documents hold, each decoded by
        ``decode`` when first read (the first and the last at once).

        ``keys`` gives, from a document and without decoding it, what the history indexes:
        the command's id, its event, and its payment reference (for a payment). ``decode``
        must build the same entry each time it is given a document, and must not fail: the
        store has checked that it wrote these documents.
        """
        entries: list[Any] = list(documents)
        index: dict[object, int] = {}
        for position, document in enumerate(entries):
            command_id, event, reference = keys(document)
            if command_id is not None and command_id not in index:
                index[command_id] = position
            if event == _PAY_EVENT and (_PAY_EVENT, reference) not in index:
                index[(_PAY_EVENT, reference)] = position
        return cls._sharing(entries, len(entries), index, decode)

    def _entry(self, position: int) -> HistoryEntry:
        """The entry at ``position`` (from 0, below the length), decoded if it was not."""
        found: Any = self._entries[position]  # or its document, not yet decoded
        decode = self._decode
        if decode is None or type(found) is not dict:
            entry: HistoryEntry = found
            return entry
        entry = decode(found)
        self._entries[position] = entry  # histories sharing the list see it decoded too
        return entry

    def _decoded(self) -> list[HistoryEntry]:
        """The list of entries, every one up to the length decoded."""
        if self._decode is not None:
            for position in range(self._length):
                self._entry(position)
            self._decode = None
        return self._entries

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
                grown._decode = self._decode
                grown.first = entries[0]  # decoded: a history of documents decodes its first
                grown.last = entry
                return grown
        forked = entries[:length]
        forked.append(entry)
        index = {key: position for key, position in self._index.items() if position < length}
        _index_entry(index, entry, length)
        return History._sharing(forked, length + 1, index, self._decode)

    def position_of(self, command_id: str) -> int | None:
        """The position of the entry of the command with this id, if it was applied."""
        position = self._index.get(command_id)
        return position if position is not None and position < self._length else None

    def entry_for(self, command_id: str) -> HistoryEntry | None:
        """The entry of the command with this id, if it was applied (D-3)."""
        position = self.position_of(command_id)
        return None if position is None else self._entry(position)

    def payment_entry(self, reference: str) -> HistoryEntry | None:
        """The entry of the first payment recorded with this reference, if any (D-3)."""
        position = self._index.get((_PAY_EVENT, reference))
        if position is None or position >= self._length:
            return None
        return self._entry(position)

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
        entries = self._decoded()
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
            if self._decode is None:
                return tuple(self._entries[:length][index])
            return tuple([self._entry(position) for position in range(*index.indices(length))])
        if index < 0:
            index += length
        if not 0 <= index < length:
            raise IndexError("history index out of range")
        return self._entry(index)

    def __iter__(self) -> Iterator[HistoryEntry]:
        return islice(self._decoded(), self._length)

    def __reversed__(self) -> Iterator[HistoryEntry]:
        entry = self._entry
        return (entry(position) for position in range(self._length - 1, -1, -1))

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
