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
short excerpt of the value (:func:`~orderflow.excerpts.describe`), and not even that for
personal data (names, phones, addresses, free-text notes), of which it gives only the type
and size. The value itself stays available as the error's ``value`` attribute, for code
that needs it.

How a value is shown lives in :mod:`orderflow.excerpts`, the refusals a
:class:`CommandRefused` carries in :mod:`orderflow.refusal`; their names are importable from
here too.
"""

from __future__ import annotations

from typing import Any

import attrs

from orderflow.excerpts import EXCERPT_LENGTH, Shown, _plain_id, describe, is_personal
from orderflow.refusal import Refusal, RefusalCategory

__all__ = [
    "EXCERPT_LENGTH",
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
    "Shown",
    "StoreError",
    "describe",
    "is_personal",
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
