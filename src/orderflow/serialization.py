"""Turning orders, commands, effects and refusals into JSON-safe documents and back.

``dump(value)`` gives a ``dict`` of JSON-safe values (strings, numbers, booleans, lists,
dicts, ``None``): decimals as strings, datetimes as ISO 8601 with their offset, enums by
value, commands tagged by ``"type"`` (their event name) and effects by ``"kind"``. Every
top-level document carries ``"schema_version"``.

``load(document, kind)`` reads one back. Loading is strict and whole: an unknown schema
version, a missing or extra key, a float where an amount belongs, a datetime without an
offset, or any value the library's own validation refuses raises :class:`DocumentError`,
naming where in the document the problem is; nothing is ever half-loaded. A loaded order is
validated like any order built by hand (see :class:`orderflow.Order`).

Example::

    document = dump(order)            # json.dumps(document) works
    assert load(document, Order) == order
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Final, TypeVar, cast

import attrs
import cattrs
from cattrs.cols import (
    is_namedtuple,
    namedtuple_dict_structure_factory,
    namedtuple_dict_unstructure_factory,
)
from cattrs.errors import BaseValidationError
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn
from cattrs.v import format_exception

from orderflow import commands as c
from orderflow import effects as e
from orderflow.errors import CommandRefused, DocumentError, InvalidInput, Refusal
from orderflow.model import Actor, ActorKind, CloseReason
from orderflow.money import Money
from orderflow.order import HistoryEntry, Order

__all__ = ["SCHEMA_VERSION", "converter", "dump", "dump_order_parts", "load"]

SCHEMA_VERSION: Final = 1
"""The version of the document layout written by :func:`dump`."""

T = TypeVar("T")

converter = cattrs.Converter(forbid_extra_keys=True)
"""The cattrs converter behind :func:`dump` and :func:`load`, for hosts embedding orderflow
values in their own attrs classes."""


def _subclasses(base: type[T]) -> list[type[T]]:
    found: list[type[T]] = []
    pending = list(base.__subclasses__())
    while pending:
        cls = pending.pop()
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return found


_COMMANDS: dict[str, type[c.Command]] = {cls.event: cls for cls in _subclasses(c.Command)}
_EFFECTS: dict[str, type[e.Effect]] = {cls.kind: cls for cls in _subclasses(e.Effect)}


def _fail(path: str, value: object, problem: str) -> DocumentError:
    return DocumentError(path, value, problem)


def _structure_decimal(value: object, _: type) -> Decimal:
    if not isinstance(value, str):
        raise _fail("amount", value, "amounts are written as strings")
    try:
        return Decimal(value)
    except InvalidOperation:
        raise _fail("amount", value, "not a decimal number") from None


def _structure_datetime(value: object, _: type) -> datetime:
    if not isinstance(value, str):
        raise _fail("datetime", value, "datetimes are ISO 8601 strings")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise _fail("datetime", value, "not an ISO 8601 datetime") from None
    if parsed.tzinfo is None:
        raise _fail("datetime", value, "a datetime needs its UTC offset")
    return parsed


def _structure_money(value: object, _: type) -> Money:
    if not isinstance(value, Mapping) or set(value) != {"amount", "currency"}:
        raise _fail("money", value, "money is {'amount': str, 'currency': str}")
    if not isinstance(value["amount"], str):
        raise _fail("money.amount", value["amount"], "amounts are written as strings")
    return Money(value["amount"], value["currency"])


def _structure_actor(value: object, _: type) -> Actor:
    if not isinstance(value, Mapping) or set(value) != {"kind", "id", "permissions"}:
        raise _fail("actor", value, "an actor is {'kind', 'id', 'permissions'}")
    permissions = value["permissions"]
    if not isinstance(permissions, list):
        raise _fail("actor.permissions", permissions, "must be a list")
    return Actor(value["kind"], value["id"], permissions)


def _structure_close_reason(value: object, _: type) -> CloseReason:
    if not isinstance(value, str):
        raise _fail("close_reason", value, "a close reason is written as its code")
    return CloseReason.of(value)


def _structure_tagged(
    registry: Mapping[str, type[T]], tag: str, what: str
) -> Callable[[object, type], T]:
    def structure(value: object, _: type) -> T:
        if not isinstance(value, Mapping):
            raise _fail(what, value, f"a {what} is a mapping")
        name = value.get(tag)
        cls = registry.get(name) if isinstance(name, str) else None
        if cls is None:
            raise _fail(f"{what}.{tag}", name, f"not a known {what} {tag}")
        fields = {key: item for key, item in value.items() if key != tag}
        return _structure_exact(cls)(fields, cls)

    return structure


def _unstructure_tagged(tag: str) -> Callable[[Any], dict[str, Any]]:
    def unstructure(value: Any) -> dict[str, Any]:
        return {tag: getattr(value, "event" if tag == "type" else "kind"),
                **_unstructure_exact(type(value))(value)}  # fmt: skip

    return unstructure


_STRUCTURE_FNS: dict[type[Any], Callable[[Any, type], Any]] = {}
_UNSTRUCTURE_FNS: dict[type[Any], Callable[[Any], dict[str, Any]]] = {}


def _structure_exact(cls: type[T]) -> Callable[[Any, type], T]:
    """The structure function of exactly ``cls`` (not its base's tagged hook)."""
    if cls not in _STRUCTURE_FNS:
        attrs.resolve_types(cast(type[Any], cls))
        _STRUCTURE_FNS[cls] = make_dict_structure_fn(cls, converter, _cattrs_forbid_extra_keys=True)
    return _STRUCTURE_FNS[cls]


def _unstructure_exact(cls: type[Any]) -> Callable[[Any], dict[str, Any]]:
    """The unstructure function of exactly ``cls``."""
    if cls not in _UNSTRUCTURE_FNS:
        attrs.resolve_types(cls)
        _UNSTRUCTURE_FNS[cls] = make_dict_unstructure_fn(cls, converter)
    return _UNSTRUCTURE_FNS[cls]


converter.register_unstructure_hook_factory(is_namedtuple, namedtuple_dict_unstructure_factory)


def _namedtuple_structure(cl: Any, conv: cattrs.BaseConverter) -> Callable[[Any, type], Any]:
    """Named tuples (history entries) are read from dicts, extra keys refused."""
    return namedtuple_dict_structure_factory(cl, conv, "from_converter", True)


converter.register_structure_hook_factory(is_namedtuple, _namedtuple_structure)
converter.register_unstructure_hook(Decimal, str)
converter.register_structure_hook(Decimal, _structure_decimal)
converter.register_unstructure_hook(datetime, datetime.isoformat)
converter.register_structure_hook(datetime, _structure_datetime)
converter.register_unstructure_hook(
    Money, lambda money: {"amount": str(money.amount), "currency": money.currency}
)
converter.register_structure_hook(Money, _structure_money)
converter.register_unstructure_hook(
    Actor,
    lambda actor: {
        "kind": actor.kind.value,
        "id": actor.id,
        "permissions": sorted(actor.permissions),
    },
)
converter.register_structure_hook(Actor, _structure_actor)
converter.register_unstructure_hook(CloseReason, lambda reason: reason.code)
converter.register_structure_hook(CloseReason, _structure_close_reason)
converter.register_unstructure_hook(c.Command, _unstructure_tagged("type"))
converter.register_structure_hook(c.Command, _structure_tagged(_COMMANDS, "type", "command"))
converter.register_unstructure_hook(e.Effect, _unstructure_tagged("kind"))
converter.register_structure_hook(e.Effect, _structure_tagged(_EFFECTS, "kind", "effect"))


_DOCUMENT_KINDS: dict[str, type[Any]] = {
    "order": Order,
    "command": c.Command,
    "effect": e.Effect,
    "refusal": Refusal,
    "command_refused": CommandRefused,
}


def _kind_of(value: object) -> str:
    if isinstance(value, Order):
        return "order"
    if isinstance(value, c.Command):
        return "command"
    if isinstance(value, e.Effect):
        return "effect"
    if isinstance(value, Refusal):
        return "refusal"
    if isinstance(value, CommandRefused):
        return "command_refused"
    raise InvalidInput("value", value, "dump takes an Order, Command, Effect or Refusal")


def dump(value: Order | c.Command | e.Effect | Refusal | CommandRefused) -> dict[str, Any]:
    """A JSON-safe document for an order, a command, an effect or a refusal.

    Raises:
        InvalidInput: the value is of none of these kinds.
    """
    kind = _kind_of(value)
    if isinstance(value, CommandRefused):
        body: dict[str, Any] = {
            "order_id": value.order_id,
            "state": value.state,
            "command": value.command,
            "reasons": [converter.unstructure(reason) for reason in value.reasons],
        }
    elif isinstance(value, c.Command | e.Effect):
        body = converter.unstructure(value, c.Command if kind == "command" else e.Effect)
    else:
        body = converter.unstructure(value)
    return {"schema_version": SCHEMA_VERSION, "document": kind, **body}


def dump_order_parts(
    order: Order, from_version: int = 1
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """An order's document without its history, and the documents of its history entries
    from ``from_version`` on: what a store writes when it keeps history in rows of its own.

    ``load`` reads them back once the entries are put under ``"history"`` again. Only the
    entries asked for are converted, so saving a change costs the same whatever the length of
    the order's history.
    """
    body: dict[str, Any] = {"schema_version": SCHEMA_VERSION, "document": "order"}
    for name, unstructure in _ORDER_FIELDS:
        body[name] = unstructure(getattr(order, name))
    entries = [_unstructure_entry(entry) for entry in order.history[from_version - 1 :]]
    return body, entries


def load(document: object, kind: type[T]) -> T:
    """Read a document written by :func:`dump` back into a value of ``kind``.

    Args:
        document: the document (a mapping, as ``json.loads`` gives it).
        kind: :class:`~orderflow.Order`, :class:`~orderflow.Command` (or a command class),
            :class:`~orderflow.Effect` (or an effect class), :class:`~orderflow.Refusal` or
            :class:`~orderflow.CommandRefused`.

    Raises:
        DocumentError: the document is malformed, of another kind, or of an unknown schema
            version. Nothing is half-loaded.
    """
    if not isinstance(document, Mapping):
        raise DocumentError("document", document, "a document is a mapping")
    version = document.get("schema_version")
    if version != SCHEMA_VERSION:
        raise DocumentError(
            "schema_version", version, f"this orderflow reads schema version {SCHEMA_VERSION}"
        )
    expected = _expected_kind(kind)
    if document.get("document") != expected:
        raise DocumentError("document", document.get("document"), f"expected a {expected}")
    body = {k: v for k, v in document.items() if k not in ("schema_version", "document")}
    try:
        if kind is CommandRefused:
            return cast(T, _load_refused(body))
        target: type[Any] = kind
        if expected in ("command", "effect"):
            target = c.Command if expected == "command" else e.Effect
        value = converter.structure(body, target)
    except DocumentError:
        raise
    except (BaseValidationError, InvalidInput, KeyError, TypeError, ValueError) as error:
        raise _document_error(error) from error
    if not isinstance(value, kind):
        raise DocumentError(
            "document", body, f"holds a {type(value).__name__}, not {kind.__name__}"
        )
    return value


def _expected_kind(kind: type[Any]) -> str:
    for name, base in _DOCUMENT_KINDS.items():
        if isinstance(kind, type) and issubclass(kind, base):
            return name
    raise InvalidInput("kind", kind, "load reads an Order, Command, Effect or Refusal")


def _load_refused(body: Mapping[str, Any]) -> CommandRefused:
    if set(body) != {"order_id", "state", "command", "reasons"}:
        raise DocumentError("command_refused", dict(body), "unexpected or missing keys")
    reasons = converter.structure(body["reasons"], tuple[Refusal, ...])
    for name in ("order_id", "state", "command"):
        if not isinstance(body[name], str):
            raise DocumentError(name, body[name], "must be a string")
    if not reasons:
        raise DocumentError("reasons", body["reasons"], "a refusal has at least one reason")
    return CommandRefused(body["order_id"], body["state"], body["command"], reasons)


def _format_exception(error: BaseException, type_: type | None) -> str:
    if isinstance(error, InvalidInput):
        return f"{error.field}: {error.problem} (got {error.value!r})"
    return format_exception(error, type_)


def _document_error(error: Exception) -> DocumentError:
    if isinstance(error, BaseValidationError):
        messages = cattrs.transform_error(error, format_exception=_format_exception)
        return DocumentError("document", None, "; ".join(messages))
    if isinstance(error, InvalidInput):
        return DocumentError(error.field, error.value, error.problem)
    return DocumentError("document", None, f"{type(error).__name__}: {error}")


# Enums are written by value; make sure every enum the model uses round-trips that way.
for _enum in (ActorKind, e.NotificationTopic, e.RefundReason):
    converter.register_unstructure_hook(_enum, lambda member: member.value)


def _order_field_hooks() -> list[tuple[str, Callable[[Any], Any]]]:
    """The unstructure function of every order field but the history, resolved once."""
    attrs.resolve_types(Order)
    return [
        (field.name, converter.get_unstructure_hook(field.type))
        for field in attrs.fields(Order)
        if field.name != "history"
    ]


# Resolved after every hook above is registered; dump_order_parts reads them at call time.
_ORDER_FIELDS = _order_field_hooks()
_unstructure_entry = converter.get_unstructure_hook(HistoryEntry)
