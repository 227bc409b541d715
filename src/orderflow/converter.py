"""The strict cattrs converter behind :mod:`orderflow.serialization`: how every orderflow value
is written to JSON-safe data and read back.

Reading never coerces: a hook refuses a value of the wrong JSON type (a number for a string,
a float or a boolean for a whole number, a string for a list) with the path and the expected
type, never the value; a value of the right type that is still wrong (an unknown enum value,
a malformed datetime) is shown as a short excerpt. Commands and effects are read through the
explicit registries :data:`orderflow.commands.COMMAND_TYPES` (with
:data:`orderflow.aftersales.CASE_COMMAND_TYPES`) and
:data:`orderflow.effects.EFFECT_TYPES`, tagged by ``"type"`` and ``"kind"``.

The hooks of JSON's own values are in :mod:`orderflow.strict_json`, those of orderflow's
values (money, actors, close reasons, durations, facts) in :mod:`orderflow.value_hooks`;
this module registers them, in the order cattrs needs, with the tagged command and effect
hooks and the order's.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Final, TypeVar, cast, get_args, get_origin, get_type_hints

import attrs
import cattrs
from cattrs.cols import (
    is_namedtuple,
    namedtuple_dict_structure_factory,
    namedtuple_dict_unstructure_factory,
)
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn

from orderflow import commands as c
from orderflow import effects as e
from orderflow.aftersales.followups import CASE_COMMAND_TYPES
from orderflow.errors import DocumentError
from orderflow.history import History
from orderflow.incidents.commands import EXCEPTION_COMMAND_TYPES
from orderflow.incidents.model import EvidenceValue
from orderflow.model import Actor, ActorKind, CloseReason
from orderflow.money import Money
from orderflow.order import ORDER_FIELDS, HistoryEntry, Order, Refund
from orderflow.strict_json import (
    _fail,
    _is_dict,
    _is_homogeneous_tuple,
    _mapping_hook,
    _shown,
    _structure_bool,
    _structure_datetime,
    _structure_decimal,
    _structure_enum,
    _structure_int,
    _structure_str,
    _tuple_hook,
    _wrong_type,
)
from orderflow.value_hooks import (
    _FACT_TYPE,
    _is_frozenset_of_strings,
    _structure_actor,
    _structure_close_reason,
    _structure_fact,
    _structure_money,
    _structure_names,
    _structure_timedelta,
    _unstructure_close_reason,
    _unstructure_fact,
    _unstructure_money,
    _unstructure_timedelta,
)

__all__ = ["converter"]

T = TypeVar("T")

converter = cattrs.Converter(forbid_extra_keys=True)
"""The cattrs converter behind :mod:`orderflow.serialization`, for hosts embedding orderflow
values in their own attrs classes. It reads as strictly as
:func:`~orderflow.serialization.load`."""


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
        if tag in attrs.fields_dict(cast(Any, cls)):  # the document's tag would hide it
            raise AssertionError(f"{cls.__name__} has a field named {tag!r}, its document's tag")
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
