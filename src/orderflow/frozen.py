"""Immutable values the orders carry: a read-only mapping that can be pickled and copied
(the standard ``MappingProxyType`` cannot), for a decision's facts and a policy's category
overrides; and :func:`replace`, the cheap copy-with-changes of the library's own records."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from types import MemberDescriptorType
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

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def get(self, key: K, default: Any = None) -> Any:
        """The value of ``key``, or ``default`` when the map lacks it."""
        return self._items.get(key, default)

    def __repr__(self) -> str:
        return f"FrozenMap({self._items!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (FrozenMap, (self._items,))


_COPIERS: dict[type, Callable[..., Any]] = {}
_new = object.__new__
_set = object.__setattr__
_KEEP: Any = object()
T = TypeVar("T")


def _copier(cls: type) -> Callable[..., Any]:
    """A function ``(instance, **changes)`` that builds a copy of ``cls`` field by field,
    written once per class (a keyword per field, so an unknown one is a ``TypeError``).

    A field kept in a slot is set through its slot's own setter, which skips the attribute
    lookup that ``object.__setattr__`` makes for every field of every copy."""
    names = tuple(field.name for field in attrs.fields(cast(Any, cls)))
    for name in names:
        if not name.isidentifier():  # pragma: no cover - attrs only makes identifiers
            raise TypeError(f"{cls.__name__} has a field that is not an identifier")
    scope: dict[str, Any] = {"_new": _new, "_set": _set, "_KEEP": _KEEP, "cls": cls}
    lines = []
    for index, name in enumerate(names):
        value = f"instance.{name} if {name} is _KEEP else {name}"
        slot = cls.__dict__.get(name)
        if isinstance(slot, MemberDescriptorType):
            scope[f"_set_{index}"] = slot.__set__
            lines.append(f"    _set_{index}(made, {value})\n")
        else:
            lines.append(f"    _set(made, {name!r}, {value})\n")
    parameters = "".join(f", {name}=_KEEP" for name in names)
    body = "".join(lines)
    source = f"def copy(instance, *{parameters}):\n    made = _new(cls)\n{body}    return made\n"
    exec(compile(source, f"<orderflow.frozen copier of {cls.__qualname__}>", "exec"), scope)
    copier: Callable[..., Any] = scope["copy"]
    return copier


def replace(instance: T, **changes: Any) -> T:
    """A copy of a frozen attrs record with some fields changed, without running its
    validators or converters again: for the library's own records, whose values are
    already checked (``attrs.evolve`` does the same work several times slower).

    Raises:
        TypeError: a change names a field the record does not have (a bug).
    """
    cls = instance.__class__
    copier = _COPIERS.get(cls)
    if copier is None:
        copier = _COPIERS[cls] = _copier(cls)
    try:
        made: T = copier(instance, **changes)
    except TypeError:
        names = {field.name for field in attrs.fields(cast(Any, cls))}
        unknown = sorted(changes.keys() - names)
        raise TypeError(f"{cls.__name__} has no field {unknown}") from None
    return made
