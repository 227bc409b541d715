"""How a refused value is shown in an error message: a short excerpt, or for personal data
only its type and size.

A message never carries a refused value whole: it names the field and the problem, and adds
at most a short excerpt of the value (:func:`describe`), and not even that for personal data
(names, phones, addresses, free-text notes, :func:`is_personal`). Describing never fails.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from enum import Enum
from typing import Final

__all__ = ["EXCERPT_LENGTH", "Shown", "describe", "is_personal"]

EXCERPT_LENGTH: Final = 40
"""The most characters of a refused value an error message quotes."""

_PERSONAL_PARTS: Final = frozenset(
    {
        "address",
        "recipient",
        "phone",
        "line1",
        "line2",
        "city",
        "region",
        "postal_code",
        "country",
        "name",
        "note",
        "error",
        "last_error",
        "description",
    }
)
_FIELD_PARTS: Final = re.compile(r"[.\[\]]+")
_LARGEST_QUOTED_INT: Final = 10**EXCERPT_LENGTH


def is_personal(field: str) -> bool:
    """Whether a field may hold personal data (an address part, a name, a free-text note).

    Args:
        field: a field name as errors give it (``"address.phone"``, ``"lines[0].name"``).

    Returns:
        ``True`` when any part of the name is one of the personal fields.
    """
    return any(part in _PERSONAL_PARTS for part in _FIELD_PARTS.split(field))


def _shape(value: object) -> str:
    """The type (and size) of a value, without any of its content."""
    if value is None:
        return "None"
    kind = type(value).__name__
    if isinstance(value, str):
        return f"a {kind} of {str.__len__(value)} characters"
    if type(value) in (bytes, bytearray, list, tuple, dict, set, frozenset):
        return f"a {kind} of length {len(value)}"  # type: ignore[arg-type]
    return f"a {kind}"


def _quote(text: str) -> str:
    """``text`` quoted with its control characters escaped, cut to :data:`EXCERPT_LENGTH`."""
    if len(text) <= EXCERPT_LENGTH:
        return repr(text)
    return f"{text[:EXCERPT_LENGTH]!r}... ({len(text)} characters)"


_SHOWN_AS_IS: Final = (datetime, date, time, timedelta)


class Shown(str):
    """A value already described for an error message: :func:`describe` shows it as it is."""

    __slots__ = ()

    def __repr__(self) -> str:
        return str(self)


def describe(value: object, *, personal: bool = False) -> str:
    """A short, safe rendering of a value for an error message.

    Strings are quoted with control characters escaped and cut to :data:`EXCERPT_LENGTH`
    characters; numbers, amounts of money, times and enum members are shown when short;
    anything else (and any value of a personal field) is described by its type and size
    only, never by its content. Describing never fails and never recurses into the value.

    Args:
        value: the value to describe.
        personal: give only the type and size (for names, phones, addresses, notes).

    Returns:
        A bounded description, at most a few hundred characters long.
    """
    from orderflow.money import Money

    if isinstance(value, Shown):
        return str.__str__(value)
    if personal:
        return _shape(value)
    if value is None or isinstance(value, bool):
        return repr(bool(value)) if value is not None else "None"
    if isinstance(value, Enum):
        member = value.value
        return describe(member) if isinstance(member, str | int) else _shape(value)
    if isinstance(value, str):
        return _quote(str.__str__(value))
    if isinstance(value, float):
        return float.__repr__(value)
    if isinstance(value, int):
        if -_LARGEST_QUOTED_INT < value < _LARGEST_QUOTED_INT:
            return int.__repr__(value)
        return f"an int of {value.bit_length()} bits"
    if isinstance(value, Decimal):
        digits = len(value.as_tuple().digits)
        if digits > EXCERPT_LENGTH:
            return f"a Decimal of {digits} digits"
        return f"Decimal({Decimal.__str__(value)!r})"
    if type(value) in _SHOWN_AS_IS:
        return repr(value)
    if type(value) is Money:
        return _quote(str(value))
    return _shape(value)


_ID_SHOWN_PLAIN: Final = re.compile(r"[^\x00-\x1f\x7f-\x9f]{1,100}")


def _plain_id(order_id: object) -> str:
    """An order id as messages show it: as it is when it is a short printable string, else
    described like any refused value."""
    if isinstance(order_id, str) and _ID_SHOWN_PLAIN.fullmatch(order_id):
        return order_id
    return describe(order_id)
