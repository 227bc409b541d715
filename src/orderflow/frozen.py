"""Immutable values the orders carry: a read-only mapping that can be pickled and copied
(the standard ``MappingProxyType`` cannot), for a decision's facts and a policy's category
overrides; and :func:`replace`, the cheap copy-with-changes of the library's own records."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Generic, TypeVar, cast

import attrs

__all__ = ["FrozenMap", "replace"]

K = TypeVar("K")
V = TypeVar("V")


class FrozenMap(Mapping[K, V], Generic[K, V]):
    """A mapping that cannot change once built; equal to any mapping with the same items.

    Args:
        items: a mapping, or pairs of keys and values; copied.
    """

    __slots__ = ("_items",)

    def __init__(self, items: Mapping[K, V] | Iterable[tuple[K, V]] = ()) -> None:
        self._items: dict[K, V] = dict(items)

    def __getitem__(self, key: K) -> V:
        return self._items[key]

    def __iter__(self) -> Iterator[K]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"FrozenMap({self._items!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (FrozenMap, (self._items,))


_NAMES: dict[type, tuple[str, ...]] = {}
_new = object.__new__
_set = object.__setattr__
T = TypeVar("T")


def replace(instance: T, **changes: Any) -> T:
    """A copy of a frozen attrs record with some fields changed, without running its
    validators or converters again: for the library's own records, whose values are
    already checked (``attrs.evolve`` does the same work several times slower).

    Raises:
        TypeError: a change names a field the record does not have (a bug).
    """
    cls = instance.__class__
    names = _NAMES.get(cls)
    if names is None:
        names = _NAMES[cls] = tuple(field.name for field in attrs.fields(cast(Any, cls)))
    if not changes.keys() <= set(names):
        raise TypeError(f"{cls.__name__} has no field {sorted(changes.keys() - set(names))}")
    made = _new(cls)
    for name in names:
        _set(made, name, changes[name] if name in changes else getattr(instance, name))
    return made
