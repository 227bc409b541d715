"""The strict cattrs converter behind :mod:`orderflow.serialization`: how every orderflow value
is written to JSON-safe data and read back.

Reading never coerces: a hook refuses a value of the wrong JSON type (a number for a string,
a float or a boolean for a whole number, a string for a list) with the path and the expected
type, never the value; a value of the right type that is still wrong (an unknown enum value,
a malformed datetime) is shown as a short excerpt. Commands and effects are read through the
explicit registries :data:`orderflow.commands.COMMAND_TYPES` (with
:data:`orderflow.aftersales.CASE_COMMAND_TYPES`) and
:data:`orderflow.effects.EFFECT_TYPES`, tagged by ``"type"`` and ``"kind"``.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, Final, TypeVar, cast, get_args, get_origin, get_type_hints

import attrs
import cattrs
from cattrs.cols import (
    homogenous_tuple_structure_factory,
    is_namedtuple,
    mapping_structure_factory,
    namedtuple_dict_structure_factory,
    namedtuple_dict_unstructure_factory,
)
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn

from orderflow import commands as c
from orderflow import effects as e
from orderflow.aftersales.decisions import Fact
from orderflow.aftersales.followups import CASE_COMMAND_TYPES
from orderflow.errors import DocumentError, InvalidInput, Shown, describe
from orderflow.history import History
from orderflow.incidents.commands import EXCEPTION_COMMAND_TYPES
from orderflow.incidents.model import EvidenceValue
from orderflow.model import Actor, ActorKind, CloseReason
from orderflow.money import _BUILT_IN, Money, currency_exponent, register_currency
from orderflow.order import ORDER_FIELDS, HistoryEntry, Order, Refund

__all__ = ["converter"]

T = TypeVar("T")

converter = cattrs.Converter(forbid_extra_keys=True)
"""The cattrs converter behind :mod:`orderflow.serialization`, for hosts embedding orderflow
values in their own attrs classes. It reads as strictly as
:func:`~orderflow.serialization.load`."""


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


# -- orderflow's values --------------------------------------------------------------------

_MONEY_KEYS: Final = frozenset({"amount", "currency"})
_MINOR_UNITS: Final = frozenset({"minor_units"})


def _unstructure_money(money: Money) -> dict[str, Any]:
    if money.currency in _BUILT_IN:
        return {"amount": str(money.amount), "currency": money.currency}
    return {
        "amount": str(money.amount),
        "currency": money.currency,
        "minor_units": currency_exponent(money.currency),
    }


def _structure_money(value: object, _: type) -> Money:
    document = _keys(value, _MONEY_KEYS, _MINOR_UNITS, "money is {amount, currency}")
    amount, currency = document["amount"], document["currency"]
    if not isinstance(amount, str):
        raise _wrong_type(amount, "an amount written as a string", "amount")
    if not isinstance(currency, str):
        raise _wrong_type(currency, "a currency code", "currency")
    if "minor_units" in document:
        _know_currency(currency, document["minor_units"])
    try:
        return Money(amount, currency)
    except InvalidInput as error:
        raise _fail(error.field, error.value, error.problem) from None


def _know_currency(code: str, minor_units: object) -> None:
    """Register a currency a document carries, or check it against the known one."""
    if isinstance(minor_units, bool) or not isinstance(minor_units, int):
        raise _wrong_type(minor_units, "a whole number", "minor_units")
    try:
        known: int | None = currency_exponent(code)
    except InvalidInput:
        known = None
    if known is None:
        try:
            register_currency(code, minor_units)
        except InvalidInput as error:
            raise _fail(error.field, error.value, error.problem) from None
    elif known != minor_units:
        raise _fail("minor_units", minor_units, f"{code} is known with {known} minor units")


_ACTOR_KEYS: Final = frozenset({"kind", "id", "permissions"})


def _structure_actor(value: object, _: type) -> Actor:
    document = _keys(value, _ACTOR_KEYS, frozenset(), "an actor is {kind, id, permissions}")
    kind, id_, permissions = document["kind"], document["id"], document["permissions"]
    if not isinstance(kind, str):
        raise _wrong_type(kind, "a string", "kind")
    if not isinstance(id_, str):
        raise _wrong_type(id_, "a string", "id")
    if not isinstance(permissions, list):
        raise _wrong_type(permissions, "a list", "permissions")
    for index, permission in enumerate(permissions):
        if not isinstance(permission, str):
            raise _wrong_type(permission, "a string", f"permissions[{index}]")
    try:
        return Actor(kind, id_, permissions)
    except InvalidInput as error:
        raise _fail(error.field.removeprefix("actor."), error.value, error.problem) from None


_REASON_KEYS: Final = frozenset({"code", "description", "needs_note"})


def _unstructure_close_reason(reason: CloseReason) -> dict[str, Any]:
    return {"code": reason.code, "description": reason.description, "needs_note": reason.needs_note}


def _structure_close_reason(value: object, _: type) -> CloseReason:
    """The reason the document holds, whether or not this process registered its code."""
    document = _keys(
        value, _REASON_KEYS, frozenset(), "a close reason is {code, description, needs_note}"
    )
    for name in ("code", "description"):
        text = document[name]
        if not isinstance(text, str):
            raise _wrong_type(text, "a string", name)
        if not text.strip():
            raise _fail(name, text, "must not be empty")
    if not isinstance(document["needs_note"], bool):
        raise _wrong_type(document["needs_note"], "true or false", "needs_note")
    return CloseReason(document["code"], document["description"], document["needs_note"])


def _check_counts(value: T) -> T:
    """Versions, positions and attempts are never below their first value."""
    counts: tuple[tuple[str, int], ...] = ()
    if isinstance(value, e.Effect):
        counts = (("version", 1), ("seq", 0))
        if isinstance(value, e.RequestRefund):
            counts += (("attempt", 1),)
    elif isinstance(value, Refund):
        counts = (("attempts", 1),)
    for name, least in counts:
        number = getattr(value, name)
        if number < least:
            raise _fail(name, number, f"must be at least {least}")
    return value


# -- commands and effects: explicit registries, tagged -------------------------------------


def _registry(classes: Sequence[type[T]], tag: str) -> dict[str, type[T]]:
    found: dict[str, type[T]] = {}
    for cls in classes:
        name = getattr(cls, "event" if tag == "type" else "kind")
        if name in found:
            raise AssertionError(f"two classes are registered as {tag} {name!r}")
        found[name] = cls
    return found


_COMMANDS: Final = _registry(
    (*c.COMMAND_TYPES, *CASE_COMMAND_TYPES, *EXCEPTION_COMMAND_TYPES), "type"
)
_EFFECTS: Final = _registry(e.EFFECT_TYPES, "kind")

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


def _structure_tagged(
    registry: Mapping[str, type[T]], tag: str, what: str
) -> Callable[[object, type], T]:
    def structure(value: object, _: type) -> T:
        if not isinstance(value, Mapping):
            raise _wrong_type(value, f"a {what}, a mapping")
        name = value.get(tag)
        cls = registry.get(name) if isinstance(name, str) else None
        if cls is None:
            raise _fail(tag, name, f"not a known {what} {tag}")
        fields = {key: item for key, item in value.items() if key != tag}
        return _check_counts(_structure_exact(cls)(fields, cls))

    return structure


def _unstructure_tagged(tag: str) -> Callable[[Any], dict[str, Any]]:
    def unstructure(value: Any) -> dict[str, Any]:
        return {tag: getattr(value, "event" if tag == "type" else "kind"),
                **_unstructure_exact(type(value))(value)}  # fmt: skip

    return unstructure


def _namedtuple_structure(cl: Any, conv: cattrs.BaseConverter) -> Callable[[Any, type], Any]:
    """Named tuples (history entries) are read from dicts, extra keys refused."""
    inner = namedtuple_dict_structure_factory(cl, conv, "from_converter", True)

    def structure(value: object, target: type) -> Any:
        if not isinstance(value, Mapping):
            raise _wrong_type(value, "a mapping")
        return inner(value, target)

    return structure


def _refund_structure() -> Callable[[Any, type], Refund]:
    inner = make_dict_structure_fn(Refund, converter, _cattrs_forbid_extra_keys=True)
    return lambda value, target: _check_counts(inner(value, target))


# Class hooks are found by the class's MRO, so StrEnum is registered before str would catch it.
converter.register_structure_hook(str, _structure_str)
converter.register_structure_hook(int, _structure_int)
converter.register_structure_hook(bool, _structure_bool)
converter.register_structure_hook(enum.Enum, _structure_enum)
converter.register_structure_hook(enum.StrEnum, _structure_enum)
converter.register_structure_hook(Decimal, _structure_decimal)
converter.register_structure_hook(datetime, _structure_datetime)
converter.register_structure_hook_factory(_is_homogeneous_tuple, _tuple_hook)


def _is_frozenset_of_enums(type_: Any) -> bool:
    if get_origin(type_) is not frozenset:
        return False
    (item,) = get_args(type_)
    return isinstance(item, type) and issubclass(item, enum.Enum)


def _frozenset_structure(type_: Any, conv: cattrs.BaseConverter) -> Callable[[object, type], Any]:
    """Sets of enum members are read from lists of their values, each once."""
    (item,) = get_args(type_)
    member = conv.get_structure_hook(item)

    def structure(value: object, target: type) -> Any:
        if not isinstance(value, list):
            raise _wrong_type(value, "a list")
        members = [member(element, item) for element in value]
        if len(set(members)) != len(members):
            raise DocumentError("", _shown(value), "lists a member twice")
        return frozenset(members)

    return structure


def _frozenset_unstructure(type_: Any) -> Callable[[Any], list[Any]]:
    """Sets of enum members are written as the sorted list of their values."""
    return lambda members: sorted(member.value for member in members)


converter.register_structure_hook_factory(_is_frozenset_of_enums, _frozenset_structure)
converter.register_unstructure_hook_factory(_is_frozenset_of_enums, _frozenset_unstructure)
converter.register_structure_hook_factory(_is_dict, _mapping_hook)
converter.register_unstructure_hook_factory(is_namedtuple, namedtuple_dict_unstructure_factory)
converter.register_structure_hook_factory(is_namedtuple, _namedtuple_structure)
converter.register_unstructure_hook(Decimal, str)
converter.register_unstructure_hook(datetime, datetime.isoformat)
converter.register_unstructure_hook(Money, _unstructure_money)
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
converter.register_unstructure_hook(CloseReason, _unstructure_close_reason)
converter.register_structure_hook(CloseReason, _structure_close_reason)
converter.register_structure_hook(Refund, _refund_structure())
converter.register_unstructure_hook(c.Command, _unstructure_tagged("type"))
converter.register_structure_hook(c.Command, _structure_tagged(_COMMANDS, "type", "command"))
converter.register_unstructure_hook(e.Effect, _unstructure_tagged("kind"))
converter.register_structure_hook(e.Effect, _structure_tagged(_EFFECTS, "kind", "effect"))
# Enums are written by value; make sure every enum the model uses round-trips that way.
for _enum in (ActorKind, e.NotificationTopic, e.RefundReason):
    converter.register_unstructure_hook(_enum, lambda member: member.value)


# -- after-sales policy settings: durations, sets of names, read-only mappings -------------
# What orderflow.aftersales.PolicySettings (and the PolicySnapshot an order carries) needs.
# Registered before the order's field hooks are resolved below, so an order field holding a
# snapshot picks them up.
#
# * a timedelta is written as a whole number of seconds (``172800`` for 48 hours) and read
#   from one; a duration with a fraction of a second cannot be written (policy settings
#   refuse one when they are built);
# * a frozenset of strings is written as a sorted list and read from a list naming each
#   member once;
# * a ``Mapping`` (read-only mapping) is read from a mapping only, like a ``dict``.

_LONGEST_SECONDS: Final = timedelta.max // timedelta(seconds=1)


def _unstructure_timedelta(value: timedelta) -> int:
    if value % timedelta(seconds=1):
        raise InvalidInput("duration", value, "only whole seconds can be written")
    return value // timedelta(seconds=1)


def _structure_timedelta(value: object, _: type) -> timedelta:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _wrong_type(value, "a whole number of seconds")
    if not -_LONGEST_SECONDS <= value <= _LONGEST_SECONDS:
        raise _fail("", value, "a duration beyond what a timedelta holds")
    return timedelta(seconds=value)


def _is_frozenset_of_strings(type_: Any) -> bool:
    return get_origin(type_) is frozenset and get_args(type_) == (str,)


def _structure_names(value: object, _: type) -> frozenset[str]:
    if not isinstance(value, list):
        raise _wrong_type(value, "a list")
    for index, name in enumerate(value):
        if not isinstance(name, str):
            raise _wrong_type(name, "a string", f"[{index}]")
    names = frozenset(value)
    if len(names) != len(value):
        raise DocumentError("", _shown(value), "lists a member twice")
    return names


def _is_read_only_mapping(type_: Any) -> bool:
    return get_origin(type_) is Mapping


converter.register_unstructure_hook(timedelta, _unstructure_timedelta)
converter.register_structure_hook(timedelta, _structure_timedelta)
converter.register_structure_hook_factory(
    _is_frozenset_of_strings, lambda type_, conv: _structure_names
)
converter.register_unstructure_hook_factory(_is_frozenset_of_strings, lambda type_: sorted)
converter.register_structure_hook_factory(_is_read_only_mapping, _mapping_hook)

# -- end of the after-sales block ----------------------------------------------------------


# -- the facts of a policy decision, as an after-sales case keeps them ---------------------
# A fact is text, a whole number, a boolean, Money or an aware instant (AS-4). JSON cannot
# tell an instant from text, nor a boolean from a number in every reader, so each fact is
# written under the name of its type: {"text": ...}, {"flag": ...}, {"number": ...},
# {"money": {...}}, {"time": "..."}.

_FACT_TYPE: Final = Fact


def _unstructure_fact(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"flag": value}
    if isinstance(value, int):
        return {"number": value}
    if isinstance(value, str):
        return {"text": value}
    if isinstance(value, Money):
        return {"money": _unstructure_money(value)}
    if isinstance(value, datetime):
        return {"time": value.isoformat()}
    if isinstance(value, Decimal):
        return {"decimal": str(value)}
    raise InvalidInput("fact", value, "a fact is text, a whole number, a bool, Money or a time")


_FACT_READERS: Final[dict[str, Callable[[object], Any]]] = {
    "flag": lambda value: _structure_bool(value, bool),
    "number": lambda value: _structure_int(value, int),
    "text": lambda value: _structure_str(value, str),
    "money": lambda value: _structure_money(value, Money),
    "time": lambda value: _structure_datetime(value, datetime),
    "decimal": lambda value: _structure_decimal(value, Decimal),
}


def _structure_fact(value: object, _: type) -> Any:
    if not isinstance(value, dict) or len(value) != 1:
        raise _wrong_type(value, "one of {text}, {number}, {flag}, {money}, {time}")
    ((kind, inner),) = value.items()
    reader = _FACT_READERS.get(kind)
    if reader is None:
        raise _fail("", _shown(kind), "is not a kind of fact (text, number, flag, money, time)")
    return reader(inner)


# A finding's evidence (order exceptions) is written the same way, with exact decimals too.
_FACT_TYPES: Final = (_FACT_TYPE, EvidenceValue)
converter.register_unstructure_hook_func(lambda type_: type_ in _FACT_TYPES, _unstructure_fact)
converter.register_structure_hook_func(lambda type_: type_ in _FACT_TYPES, _structure_fact)


_ORDER_TYPES: Final = get_type_hints(Order)


def _order_field_hooks() -> list[tuple[str, Callable[[Any], Any]]]:
    """The unstructure function of every order field but the history, resolved once."""
    return [
        (name, converter.get_unstructure_hook(_ORDER_TYPES[name]))
        for name in ORDER_FIELDS
        if name != "history"
    ]


# Resolved after every hook above is registered; dump_order_parts reads them at call time.
_ORDER_FIELDS = _order_field_hooks()
_unstructure_entry = converter.get_unstructure_hook(HistoryEntry)
_structure_entries = converter.get_structure_hook(tuple[HistoryEntry, ...])


def _unstructure_history(history: History) -> list[Any]:
    return [_unstructure_entry(entry) for entry in history]


def _structure_history(value: object, _: type) -> History:
    return History(_structure_entries(value, tuple[HistoryEntry, ...]))


converter.register_unstructure_hook(History, _unstructure_history)
converter.register_structure_hook(History, _structure_history)
