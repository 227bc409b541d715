"""The checks every text and time given to the library passes, at the edge.

Every entry point (value constructors, commands, the lifecycle, the stores, the service)
checks what it is given with these functions, so that the rules are the same everywhere:

* no text may hold a NUL character or a lone surrogate (a string that cannot be written as
  UTF-8): databases refuse both, each in its own way;
* identifiers (order, customer, command, actor, payment, refund and case ids, SKUs,
  permission names, close reason codes) are at most 100 characters
  (:data:`MAX_IDENTIFIER_LENGTH`) and not blank;
* short text (address parts, line names, carrier and tracking number, close reason
  descriptions) is at most 200 characters (:data:`MAX_SHORT_TEXT_LENGTH`);
* notes and error texts are at most 2,000 characters (:data:`MAX_LONG_TEXT_LENGTH`);
* times are timezone-aware, from 1970-01-01 up to (not including) 9000-01-01 UTC
  (:data:`EARLIEST`, :data:`LATEST`), so that adding any timeout the settings allow (at most
  3650 days) can never overflow.

Each check raises :class:`~orderflow.errors.InvalidInput` naming the field and the problem;
:func:`instance_of` makes an attrs validator of a value's type that does the same.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any, Final, Literal, TypeVar, overload

from orderflow.errors import InvalidInput

__all__ = [
    "EARLIEST",
    "LATEST",
    "MAX_IDENTIFIER_LENGTH",
    "MAX_LONG_TEXT_LENGTH",
    "MAX_SHORT_TEXT_LENGTH",
    "check_identifier",
    "check_text",
    "check_time",
    "in_utc",
    "instance_of",
    "unique_items",
]

_T = TypeVar("_T")

MAX_IDENTIFIER_LENGTH: Final = 100
"""The most characters of an identifier (the SQL store's id columns hold 100)."""
MAX_SHORT_TEXT_LENGTH: Final = 200
"""The most characters of an address part, a line name, a carrier or a tracking number."""
MAX_LONG_TEXT_LENGTH: Final = 2_000
"""The most characters of a note or an error text."""
EARLIEST: Final = datetime(1970, 1, 1, tzinfo=UTC)
"""The earliest time the library accepts."""
LATEST: Final = datetime(9000, 1, 1, tzinfo=UTC)
"""Times must be before this instant."""


def check_text(
    field: str, value: object, max_length: int = MAX_SHORT_TEXT_LENGTH, *, required: bool = False
) -> str:
    """Check a text given to the library and return it.

    Args:
        field: the field's name, for the error.
        value: the value given.
        max_length: the most characters allowed.
        required: whether blank text (empty or only white space) is refused.

    Returns:
        ``value``, unchanged.

    Raises:
        InvalidInput: not a string, longer than ``max_length``, holding a NUL character or a
            lone surrogate, or blank when ``required``.
    """
    if not isinstance(value, str):
        raise InvalidInput(field, value, "must be a string")
    if len(value) > max_length:
        raise InvalidInput(field, value, f"must be at most {max_length} characters long")
    if "\x00" in value:
        raise InvalidInput(field, value, "must not contain a NUL character")
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidInput(
                field, value, "must be valid Unicode text (it holds a lone surrogate)"
            ) from None
    if required and not value.strip():
        raise InvalidInput(field, value, "must not be empty")
    return value


def check_identifier(field: str, value: object) -> str:
    """Check an identifier (an id, a SKU, a reference, a permission name) and return it.

    Args:
        field: the field's name, for the error.
        value: the value given.

    Returns:
        ``value``, unchanged.

    Raises:
        InvalidInput: not a string, empty or blank, longer than 100 characters, or holding a
            NUL character or a lone surrogate.
    """
    return check_text(field, value, MAX_IDENTIFIER_LENGTH, required=True)


def in_utc(value: object) -> object:
    """``value`` as the same instant in UTC when it is an aware datetime that has one, else
    ``value`` unchanged (for a validator to refuse): the converter of the times commands
    carry, so that a command equals itself read back from a store whatever zone it was given
    in (Python never finds an ambiguous local time, such as one in a fall-back hour, equal to
    a time in another zone)."""
    if isinstance(value, datetime):
        try:
            if value.utcoffset() is not None:
                return value.astimezone(UTC)
        except (ValueError, TypeError, ArithmeticError):  # no offset, or out of range
            return value
    return value


def check_time(field: str, value: object) -> datetime:
    """Check a time given to the library and return it.

    Args:
        field: the field's name, for the error.
        value: the value given.

    Returns:
        ``value``, unchanged.

    Raises:
        InvalidInput: not a datetime, naive (or with a time zone that gives no offset), or
            outside 1970-01-01 up to (not including) 9000-01-01 UTC.
    """
    if value.__class__ is datetime and value.tzinfo is UTC and EARLIEST <= value < LATEST:
        return value  # the usual case, in one step
    if not isinstance(value, datetime):
        raise InvalidInput(field, value, "must be a datetime")
    try:
        offset = value.utcoffset()
    except (ValueError, TypeError, ArithmeticError):
        offset = None
    if offset is None:
        raise InvalidInput(field, value, "must be timezone-aware")
    if not EARLIEST <= value < LATEST:
        raise InvalidInput(
            field, value, "must be from 1970-01-01 up to (not including) 9000-01-01 UTC"
        )
    return value


@overload
def instance_of(kind: type[_T]) -> Callable[[Any, Any, _T], None]: ...


@overload
def instance_of(
    kind: type[_T], *, optional: Literal[True]
) -> Callable[[Any, Any, _T | None], None]: ...


def instance_of(kind: type[_T], *, optional: bool = False) -> Callable[[Any, Any, Any], None]:
    """An attrs validator requiring an instance of ``kind`` (or ``None`` when ``optional``),
    raising :class:`~orderflow.errors.InvalidInput` rather than attrs' ``TypeError``.

    Args:
        kind: the type required.
        optional: whether ``None`` is allowed too.
    """
    article = "an" if kind.__name__[:1] in "AEIOU" else "a"

    def validate(instance: object, attribute: Any, value: object) -> None:
        if not isinstance(value, kind) and not (optional and value is None):
            field = getattr(attribute, "alias", None) or attribute.name  # as the caller named it
            raise InvalidInput(field, value, f"must be {article} {kind.__name__}")

    return validate


def unique_items(
    field: str,
    values: object,
    kind: type[_T],
    key: Callable[[_T], str],
    *,
    what: str,
    must: str,
    key_name: str,
    repeated: str,
    most: int | None = None,
) -> tuple[_T, ...]:
    """Check a sequence of ``kind`` whose ``key`` appears at most once, and return it as a
    tuple.

    Args:
        field: the field's name, for the errors (items are named ``field[i]``).
        values: the value given.
        kind: the type every item must have.
        key: what must not repeat (a SKU, an id).
        what: how the sequence is described ("must be a sequence of ...").
        must: the problem with an item of another type.
        key_name: the key's field in an item, for the error (``field[i].key_name``).
        repeated: the problem when a key repeats.
        most: the most items allowed, if any.

    Raises:
        InvalidInput: not a sequence (a string is not one), too many items, an item of
            another type, or a key that repeats.
    """
    if isinstance(values, str | bytes) or not isinstance(values, Iterable):
        raise InvalidInput(field, values, f"must be a sequence of {what}")
    checked = tuple(values)
    if most is not None and len(checked) > most:
        raise InvalidInput(field, len(checked), f"at most {most:,} {field}")
    seen: set[str] = set()
    for index, item in enumerate(checked):
        if not isinstance(item, kind):
            raise InvalidInput(f"{field}[{index}]", item, must)
        found = key(item)
        if found in seen:
            raise InvalidInput(f"{field}[{index}].{key_name}", found, repeated)
        seen.add(found)
    return checked
