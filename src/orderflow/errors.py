"""The error family of orderflow.

Every error the library raises derives from :class:`OrderflowError`. Errors are split by
when they happen:

* definition-time errors (:class:`DefinitionError`, :class:`InvalidConfiguration`) are raised
  while a lifecycle definition or its settings are being built, before any order exists;
* input errors (:class:`InvalidInput`, :class:`DocumentError`) are raised where a value enters
  the library: constructing money, lines, orders and commands, or loading a document;
* run-time refusals (:class:`CommandRefused`) are the business saying no: the order is in the
  wrong state, the actor lacks a permission, a guard failed. They carry one or more
  :class:`Refusal` values, each with a stable code, a sentence an agent can read to a
  customer, and a hint saying what to do instead;
* :class:`InvariantViolation` means a bug in the library or in a host's extension: a command
  produced an order that breaks one of the lifecycle's invariants. It is never expected.

Errors build their message in ``__init__`` and keep their context as attributes. A message
never carries a refused value whole: it names the field and the problem, and adds at most a
short excerpt of the value (:func:`describe`), and not even that for personal data (names,
phones, addresses, free-text notes), of which it gives only the type and size. The value
itself stays available as the error's ``value`` attribute, for code that needs it.
"""

from __future__ import annotations

import enum
import re
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from enum import Enum
from typing import Any, Final

import attrs

__all__ = [
    "CommandRefused",
    "ConcurrencyConflict",
    "ContextUnavailable",
    "DefinitionError",
    "DocumentError",
    "EntryNotFound",
    "InvalidConfiguration",
    "InvalidInput",
    "InvariantViolation",
    "OrderAlreadyExists",
    "OrderNotFound",
    "OrderflowError",
    "Refusal",
    "RefusalCategory",
    "StoreError",
]


class OrderflowError(Exception):
    """The root of every error raised by orderflow.

    Errors pickle with their attributes (for process pools and task queues), whatever their
    constructor takes.
    """

    def __reduce__(self) -> tuple[Any, ...]:
        """Rebuild the error from its message and attributes, not from its constructor."""
        return (_rebuild, (type(self), self.args, dict(self.__dict__)))


def _rebuild(
    kind: type[OrderflowError], args: tuple[Any, ...], state: dict[str, Any]
) -> OrderflowError:
    error = kind.__new__(kind)
    Exception.__init__(error, *args)
    error.__dict__.update(state)
    return error


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


class DefinitionError(OrderflowError):
    """A lifecycle definition is inconsistent (raised when it is built, never per order)."""


class InvalidConfiguration(DefinitionError, ValueError):
    """A setting has a value the library cannot work with (for example a zero timeout).

    Attributes:
        setting: the name of the setting.
        value: the value that was refused.
    """

    def __init__(self, setting: str, value: object, problem: str) -> None:
        self.setting = setting
        self.value = value
        self.problem = problem
        super().__init__(f"invalid setting {setting}: {problem} (got {describe(value)})")


class InvalidInput(OrderflowError, ValueError):
    """A value given to the library is malformed; nothing was changed.

    The message names the field and the problem and shows a bounded excerpt of the value
    (:func:`describe`); for a personal field (an address part, a name, a note: see
    :func:`is_personal`) it shows only the value's type and size.

    Args:
        field: which input was wrong.
        value: the value that was refused.
        problem: what is wrong with it.
        personal: whether the value may be personal data; by default decided from the field
            name.

    Attributes:
        field: which input was wrong (for example ``"amount"`` or ``"lines[0].quantity"``).
        value: the value that was refused, whole (never put in the message whole).
        problem: what is wrong with it.
    """

    def __init__(
        self, field: str, value: object, problem: str, *, personal: bool | None = None
    ) -> None:
        self.field = field
        self.value = value
        self.problem = problem
        hidden = is_personal(field) if personal is None else personal
        super().__init__(f"{field}: {problem} (got {describe(value, personal=hidden)})")


class DocumentError(InvalidInput):
    """A serialized document cannot be loaded: malformed, or of an unknown schema version.

    Nothing is half-loaded: the document is either loaded whole or refused whole.
    """


class InvariantViolation(OrderflowError, AssertionError):
    """A command produced an order that breaks a lifecycle invariant. This is a bug.

    Attributes:
        order_id: the order concerned.
        invariant: which invariant failed.
        detail: the values that show it.
    """

    def __init__(self, order_id: str, invariant: str, detail: str) -> None:
        self.order_id = order_id
        self.invariant = invariant
        self.detail = detail
        super().__init__(
            f"order {_plain_id(order_id)}: invariant {invariant!r} broken: {detail[:500]}"
        )


class RefusalCategory(enum.StrEnum):
    """What kind of "no" a refusal is: the actor, the order's state, or the payload.

    Reasons are listed in this order (a refusal's first reason is its most fundamental), and
    :attr:`http_status` gives the status a web host usually answers with.
    """

    FORBIDDEN = "forbidden"
    """This actor may not do this (another customer's order, a missing permission)."""
    CONFLICT = "conflict"
    """Not possible in the order's state, or conflicting with what was already applied."""
    INVALID = "invalid"
    """The command's payload does not fit this order (an unknown SKU, another currency)."""

    @property
    def http_status(self) -> int:
        """403, 409 or 422."""
        return _HTTP_STATUS[self]

    @property
    def rank(self) -> int:
        """The position of the category in the order reasons are listed in."""
        return _RANK[self]


_HTTP_STATUS: Final = {
    RefusalCategory.FORBIDDEN: 403,
    RefusalCategory.CONFLICT: 409,
    RefusalCategory.INVALID: 422,
}
_RANK: Final = {category: rank for rank, category in enumerate(RefusalCategory)}


@attrs.frozen
class Refusal:
    """One reason why a command is not allowed.

    Attributes:
        code: a stable, machine-readable code, ``<command>.<reason>``: the refused command's
            event name (its class name in snake case) and the reason, as in
            ``"close.already_shipped"`` (see ``docs/refusals.md`` for every code).
        message: a sentence an agent can read to a customer.
        hint: what to do instead.
        rule: the business rule that decided (for example ``"CL-1"``), or ``""``.
        category: what kind of "no" it is, which a host maps to a protocol status.
    """

    code: str
    message: str
    hint: str = ""
    rule: str = ""
    category: RefusalCategory = attrs.field(default=RefusalCategory.CONFLICT)

    def __str__(self) -> str:
        text = f"[{self.code}] {self.message}"
        return f"{text} {self.hint}" if self.hint else text


class CommandRefused(OrderflowError):
    """A command was refused; the order is exactly as it was.

    Attributes:
        order_id: the order the command was aimed at.
        state: the order's state when it was refused (its value, e.g. ``"shipped"``).
        command: the command's event name (e.g. ``"close"``).
        reasons: every reason it was refused, most important first.
        code: the first reason's code.
        message: the first reason's sentence.
        hint: the first reason's hint.
        category: the first reason's category (map it to a protocol status with
            :attr:`RefusalCategory.http_status`).
    """

    def __init__(
        self, order_id: str, state: str, command: str, reasons: tuple[Refusal, ...]
    ) -> None:
        if not reasons:
            raise ValueError("a refusal needs at least one reason")
        self.order_id = order_id
        self.state = state
        self.command = command
        self.reasons = reasons
        first = reasons[0]
        self.code = first.code
        self.message = first.message
        self.hint = first.hint
        self.category = first.category
        extra = f" (+{len(reasons) - 1} more)" if len(reasons) > 1 else ""
        super().__init__(
            f"{command} refused for order {_plain_id(order_id)} in state {state}: {first}{extra}"
        )

    @property
    def codes(self) -> tuple[str, ...]:
        """The codes of every reason, in order."""
        return tuple(reason.code for reason in self.reasons)

    def to_dict(self) -> dict[str, Any]:
        """The refusal as JSON-safe data (for an HTTP body or a log line)."""
        return {
            "order_id": self.order_id,
            "state": self.state,
            "command": self.command,
            "code": self.code,
            "category": self.category.value,
            "message": self.message,
            "hint": self.hint,
            "reasons": [
                {**attrs.asdict(reason), "category": reason.category.value}
                for reason in self.reasons
            ],
        }


class ConcurrencyConflict(OrderflowError):
    """A save was refused because the stored order changed since it was loaded (D-9).

    Nothing of the refused save was written. Reload the order and decide again.

    Attributes:
        order_id: the order.
        expected_version: the version the writer loaded.
        actual_version: the version stored now, when the store knows it.
    """

    def __init__(self, order_id: str, expected_version: int, actual_version: int | None) -> None:
        self.order_id = order_id
        self.expected_version = expected_version
        self.actual_version = actual_version
        now = f", it is now at {describe(actual_version)}" if actual_version is not None else ""
        super().__init__(
            f"order {_plain_id(order_id)} changed since version {describe(expected_version)} "
            f"was loaded{now}; nothing was saved"
        )


class OrderNotFound(OrderflowError, LookupError):
    """No order has this id.

    Attributes:
        order_id: the id looked for.
    """

    def __init__(self, order_id: str) -> None:
        self.order_id = order_id
        super().__init__(f"no order {describe(order_id)}")


class EntryNotFound(OrderflowError, LookupError):
    """No outbox entry has this id.

    Attributes:
        entry_id: the id looked for.
    """

    def __init__(self, entry_id: str) -> None:
        self.entry_id = entry_id
        super().__init__(f"no outbox entry {describe(entry_id)}")


class OrderAlreadyExists(OrderflowError):
    """An order with this id is stored already; nothing was written.

    Attributes:
        order_id: the id.
    """

    def __init__(self, order_id: str) -> None:
        self.order_id = order_id
        super().__init__(f"order {describe(order_id)} exists already")


class ContextUnavailable(OrderflowError):
    """The host's context port failed while an order's context was gathered (PT-4): the
    command was not decided, nothing changed. The port's own error is chained as
    ``__cause__``.

    Attributes:
        order_id: the order.
        kind: the class name of the port's error.
    """

    def __init__(self, order_id: str, kind: str) -> None:
        self.order_id = order_id
        self.kind = kind
        super().__init__(f"order {_plain_id(order_id)}: the context port failed ({kind})")


class StoreError(OrderflowError):
    """The storage backend failed (connection lost, disk full, ...); nothing is assumed
    written. The backend's own error is chained as ``__cause__``."""


_ID_SHOWN_PLAIN: Final = re.compile(r"[^\x00-\x1f\x7f-\x9f]{1,100}")


def _plain_id(order_id: object) -> str:
    """An order id as messages show it: as it is when it is a short printable string, else
    described like any refused value."""
    if isinstance(order_id, str) and _ID_SHOWN_PLAIN.fullmatch(order_id):
        return order_id
    return describe(order_id)
