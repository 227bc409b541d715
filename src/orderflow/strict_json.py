"""How JSON's own values are read without coercion, and how a refused value is shown.

Each hook refuses a value of the wrong JSON type (a number for a string, a float or a
boolean for a whole number, a string for a list) with the expected type, never the value;
a value of the right type that is still wrong (an unknown enum value, a malformed datetime)
is shown as a short excerpt. :mod:`orderflow.converter` registers them.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Final, get_args, get_origin

import cattrs
from cattrs.cols import homogenous_tuple_structure_factory, mapping_structure_factory

from orderflow.errors import DocumentError
from orderflow.excerpts import Shown, describe

__all__: list[str] = []

# -- problems and how they are shown -------------------------------------------------------

_EXCERPT: Final = 32


_Shown = Shown


def _shown(value: object) -> Shown:
    """A short, safe description of a refused value (see :func:`orderflow.errors.describe`)."""
    if isinstance(value, Shown):
        return value
    return Shown(describe(value))


def _type_name(value: object) -> _Shown:
    """Only the JSON type of a value: what a type error shows, whatever the value holds."""
    names = {bool: "a boolean", int: "a whole number", float: "a fraction", str: "a string"}
    for kind, name in names.items():
        if isinstance(value, kind):
            return _Shown(name)
    if value is None:
        return _Shown("null")
    if isinstance(value, Mapping):
        return _Shown("a mapping")
    if isinstance(value, list | tuple):
        return _Shown("a list")
    return _Shown(f"a {type(value).__name__}")


def _fail(path: str, value: object, problem: str) -> DocumentError:
    """A problem at ``path`` (relative to the value being structured), showing ``value``."""
    return DocumentError(path, _shown(value), problem)


def _wrong_type(value: object, expected: str, path: str = "") -> DocumentError:
    return DocumentError(path, _type_name(value), f"must be {expected}")


# -- strict primitives ---------------------------------------------------------------------


def _structure_str(value: object, _: type) -> str:
    if not isinstance(value, str):
        raise _wrong_type(value, "a string")
    return value


def _structure_int(value: object, _: type) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _wrong_type(value, "a whole number")
    return value


def _structure_bool(value: object, _: type) -> bool:
    if not isinstance(value, bool):
        raise _wrong_type(value, "true or false")
    return value


def _structure_decimal(value: object, _: type) -> Decimal:
    if not isinstance(value, str):
        raise _wrong_type(value, "a decimal number written as a string")
    try:
        return Decimal(value)
    except InvalidOperation:
        raise _fail("", value, "not a decimal number") from None


def _structure_datetime(value: object, _: type) -> datetime:
    if not isinstance(value, str):
        raise _wrong_type(value, "an ISO 8601 datetime string")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise _fail("", value, "not an ISO 8601 datetime") from None
    if parsed.tzinfo is None:
        raise _fail("", value, "a datetime needs its UTC offset")
    return parsed


def _structure_enum(value: object, cls: type[enum.Enum]) -> enum.Enum:
    if not isinstance(value, str):
        raise _wrong_type(value, f"a {cls.__name__} value (a string)")
    try:
        return cls(value)
    except ValueError:
        raise _fail("", value, f"not a known {cls.__name__}") from None


def _is_homogeneous_tuple(type_: Any) -> bool:
    args = get_args(type_)
    return get_origin(type_) is tuple and len(args) == 2 and args[1] is Ellipsis


def _tuple_hook(type_: Any, conv: cattrs.BaseConverter) -> Callable[[object, type], Any]:
    """Tuples are read from lists only (never from a string, a mapping or a set)."""
    inner = homogenous_tuple_structure_factory(type_, conv)

    def structure(value: object, target: type) -> Any:
        if not isinstance(value, list | tuple):
            raise _wrong_type(value, "a list")
        return inner(value, target)

    return structure


def _is_dict(type_: Any) -> bool:
    return get_origin(type_) is dict


def _mapping_hook(type_: Any, conv: cattrs.BaseConverter) -> Callable[[object, type], Any]:
    inner = mapping_structure_factory(type_, conv)

    def structure(value: object, target: type) -> Any:
        if not isinstance(value, Mapping):
            raise _wrong_type(value, "a mapping")
        return inner(value, target)

    return structure


def _keys(
    value: object, keys: frozenset[str], optional: frozenset[str], what: str
) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _wrong_type(value, f"{what}, a mapping")
    present = set(value)
    missing = keys - present
    extra = present - keys - optional
    if missing or extra:
        names = sorted(str(name)[:_EXCERPT] for name in (missing or extra))[:5]
        problem = "missing keys" if missing else "extra keys"
        raise DocumentError("", _Shown(", ".join(names)), f"{what}: {problem}")
    return value
