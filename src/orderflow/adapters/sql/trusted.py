"""Reading back the documents the SQL store wrote itself, without checking them again.

:func:`orderflow.serialization.load_order_parts` checks every value of a document it reads:
its JSON type, its text limits, every actor's permissions, every amount's places, and the
order whole. A store that wrote a document itself, and can prove the stored text is still
the one it wrote (see :class:`orderflow.adapters.sql.checksums._Chain`), may skip those checks:
the values were checked when the order was built. The decoders here build the same values
directly, field by field, from the layout :data:`orderflow.serialization.SCHEMA_VERSION`
writes: no cattrs validation hooks, no attrs validators, no :class:`~orderflow.Order`
checks.

They are made from the classes' own field lists and type hints, so a field added to a class
is read without a change here. Anything they do not expect (another schema version, a key
too many or too few, a type they cannot build, a currency carrying its minor units) raises
:class:`Untrusted`, and the caller loads the document the strict way instead. What they
build equals what the strict loader builds for the same document (a property test holds
them to it).
"""

from __future__ import annotations

import enum
import functools
import types
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Final, Union, get_args, get_origin, get_type_hints

import attrs

from orderflow import commands as c
from orderflow import effects as e
from orderflow.aftersales.decisions import Fact
from orderflow.aftersales.followups import CASE_COMMAND_TYPES
from orderflow.converter import converter
from orderflow.errors import StoreError
from orderflow.frozen import FrozenMap
from orderflow.history import History
from orderflow.incidents.commands import EXCEPTION_COMMAND_TYPES
from orderflow.incidents.model import EvidenceValue
from orderflow.model import Actor, CloseReason
from orderflow.money import Money
from orderflow.order import ORDER_FIELDS, HistoryEntry, Order
from orderflow.serialization import SCHEMA_VERSION, _structure
from orderflow.upgrades import upgrade

__all__ = ["Untrusted", "decode_entry", "decode_order", "lazy_history"]

Decoder = Callable[[Any], Any]


class Untrusted(Exception):
    """The document is not in the layout these decoders read: load it the strict way."""


_new = object.__new__
_set = object.__setattr__
_tuple_new = tuple.__new__
_money_init = Money.__attrs_init__
_fromisoformat = datetime.fromisoformat


# -- leaves --------------------------------------------------------------------------------


def _money(value: Any) -> Money:
    if len(value) != 2:  # minor_units: the strict loader registers the currency
        raise Untrusted("money with its minor units")
    money = _new(Money)
    _money_init(money, Decimal(value["amount"]), value["currency"])
    return money


_ACTORS: dict[tuple[str, str, tuple[str, ...]], Actor] = {}
_MOST_ACTORS: Final = 4096
_strict_actor = converter.get_structure_hook(Actor)


def _actor(value: Any) -> Actor:
    """An actor, read strictly once per distinct document and then shared (actors are
    immutable; a shop has few of them)."""
    if len(value) != 3:
        raise Untrusted("an actor with other keys")
    key = (value["kind"], value["id"], tuple(value["permissions"]))
    actor = _ACTORS.get(key)
    if actor is None:
        actor = _strict_actor(value, Actor)
        if len(_ACTORS) >= _MOST_ACTORS:
            _ACTORS.clear()
        _ACTORS[key] = actor
    return actor


_strict_reason = converter.get_structure_hook(CloseReason)


def _close_reason(value: Any) -> CloseReason:
    reason: CloseReason = _strict_reason(value, CloseReason)
    return reason


def _enum(cls: type[enum.Enum]) -> Decoder:
    members = cls._value2member_map_

    def decode(value: Any) -> Any:
        return members[value]

    return decode


def _same(value: Any) -> Any:
    return value


def _optional(inner: Decoder) -> Decoder:
    def decode(value: Any) -> Any:
        return None if value is None else inner(value)

    return decode


def _tuple_of(inner: Decoder) -> Decoder:
    def decode(value: Any) -> tuple[Any, ...]:
        return tuple([inner(item) for item in value])

    return decode


def _dict_of_text(value: Any) -> dict[str, str]:
    return dict(value)


def _frozenset_of(inner: Decoder) -> Decoder:
    def decode(value: Any) -> frozenset[Any]:
        return frozenset([inner(item) for item in value])

    return decode


def _frozen_map_of(inner: Decoder) -> Decoder:
    def decode(value: Any) -> FrozenMap[str, Any]:
        return FrozenMap({key: inner(item) for key, item in value.items()})

    return decode


def _duration(value: Any) -> timedelta:
    return timedelta(seconds=value)


def _fact(value: Any) -> Any:
    """A decision's fact, written under the name of its type (see the converter)."""
    ((kind, inner),) = value.items()
    if kind in {"text", "number", "flag"}:
        return inner
    if kind == "money":
        return _money(inner)
    if kind == "time":
        return _fromisoformat(inner)
    if kind == "decimal":
        return Decimal(inner)
    raise Untrusted("an unknown kind of fact")


# -- classes -------------------------------------------------------------------------------

_DECODERS: dict[Any, Decoder] = {
    str: _same,
    int: _same,
    bool: _same,
    Decimal: Decimal,
    datetime: _fromisoformat,
    Money: _money,
    Actor: _actor,
    CloseReason: _close_reason,
    timedelta: _duration,
    Fact: _fact,
    EvidenceValue: _fact,
}


def _decoder(type_: Any) -> Decoder:
    """The decoder of values of ``type_``, made once.

    Raises:
        Untrusted: a type these decoders cannot build.
    """
    found = _DECODERS.get(type_)
    if found is not None:
        return found
    origin, args = get_origin(type_), get_args(type_)
    if origin in (Union, types.UnionType) and len(args) == 2 and type(None) in args:
        (inner,) = (arg for arg in args if arg is not type(None))
        made = _optional(_decoder(inner))
    elif origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        made = _tuple_of(_decoder(args[0]))
    elif origin is dict and args == (str, str):
        made = _dict_of_text
    elif origin is frozenset:
        made = _frozenset_of(_decoder(args[0]))
    elif origin is Mapping and args[0] is str:
        made = _frozen_map_of(_decoder(args[1]))
    elif type_ is c.Command:
        made = _tagged(
            _registry((*c.COMMAND_TYPES, *CASE_COMMAND_TYPES, *EXCEPTION_COMMAND_TYPES), "event"),
            "type",
        )
    elif isinstance(type_, type) and issubclass(type_, tuple) and hasattr(type_, "_fields"):
        made = _named_tuple(type_, type_._fields)
    elif type_ is e.Effect:
        made = _tagged(_registry(e.EFFECT_TYPES, "kind"), "kind")
    elif isinstance(type_, type) and issubclass(type_, enum.Enum):
        made = _enum(type_)
    elif isinstance(type_, type) and attrs.has(type_):
        made = _attrs_class(type_)
    else:
        raise Untrusted(f"no decoder for {type_!r}")
    _DECODERS[type_] = made
    return made


def _registry(classes: Sequence[type[Any]], name: str) -> dict[str, type[Any]]:
    return {getattr(cls, name): cls for cls in classes}


def _tagged(registry: Mapping[str, type[Any]], tag: str) -> Decoder:
    """Commands and effects: the class named by the tag, read without the tag."""
    builders: dict[str, Decoder] = {}

    def decode(value: Any) -> Any:
        name = value[tag]
        build = builders.get(name)
        if build is None:
            cls = registry.get(name)
            if cls is None:
                raise Untrusted(f"an unknown {tag}")
            build = builders[name] = _attrs_class(cls, tag)
        return build(value)

    return decode


def _slots(cls: type[Any]) -> set[str]:
    names: set[str] = set()
    for klass in cls.__mro__:
        slots = klass.__dict__.get("__slots__", ())
        names.update([slots] if isinstance(slots, str) else slots)
    return names - {"__weakref__"}


def _attrs_class(cls: type[Any], tag: str | None = None) -> Decoder:
    """A decoder building an attrs class from its fields, as ``object.__new__`` plus one
    ``object.__setattr__`` per field: no validators, converters or post-init checks.

    Raises:
        Untrusted: a class with state other than its fields (a cached hash, say), or a
            field of a type these decoders cannot build.
    """
    names = [field.name for field in attrs.fields(cls)]
    if _slots(cls) - set(names):
        raise Untrusted(f"{cls.__name__} keeps more than its fields")
    hints = get_type_hints(cls)
    steps = [
        f"_set(made, {name!r}, _d{index}(value[{name!r}]))" for index, name in enumerate(names)
    ]
    return _compiled(cls, names, [hints[name] for name in names], len(names) + (tag is not None),
                     ["made = _new(_cls)", *steps, "return made"])  # fmt: skip


def _named_tuple(cls: type[Any], names: Sequence[str], skip: int = 0) -> Decoder:
    """A decoder building a named tuple from its fields, in order, without checks."""
    hints = get_type_hints(cls)
    values = ", ".join(f"_d{index}(value[{name!r}])" for index, name in enumerate(names))
    return _compiled(cls, names, [hints[name] for name in names], len(names) + skip,
                     [f"return _tuple_new(_cls, ({values},))"])  # fmt: skip


def _compiled(
    cls: type[Any], names: Sequence[str], types_: Sequence[Any], keys: int, body: list[str]
) -> Decoder:
    """A function ``build(value)`` refusing a mapping without exactly ``keys`` keys, then
    running ``body`` with ``_d0``, ``_d1``, ... the decoders of the fields' types."""
    namespace: dict[str, Any] = {
        "_new": _new,
        "_set": _set,
        "_tuple_new": _tuple_new,
        "_cls": cls,
        "_Untrusted": Untrusted,
    }
    for index, type_ in enumerate(types_):
        namespace[f"_d{index}"] = _decoder(type_)
    lines = [
        "def build(value):",
        f"    if len(value) != {keys}:",
        "        raise _Untrusted('other keys')",
        *(f"    {line}" for line in body),
    ]
    exec("\n".join(lines), namespace)  # code made of the class's field names only
    build: Decoder = namespace["build"]
    return build


_ENTRY_FIELDS: Final = HistoryEntry._fields
_BODY_FIELDS: Final = tuple(name for name in ORDER_FIELDS if name != "history")
_HISTORY_AT: Final = ORDER_FIELDS.index("history")


@functools.cache
def _entry_decoder() -> Decoder:
    return _named_tuple(HistoryEntry, _ENTRY_FIELDS, skip=1)  # and its schema_version


@functools.cache
def _body_decoder() -> Callable[[Any], list[Any]]:
    hints = get_type_hints(Order)
    pairs = [(name, _decoder(hints[name])) for name in _BODY_FIELDS]
    count = len(pairs) + 3  # and its schema_version, document and version

    def body(value: Any) -> list[Any]:
        if len(value) != count:
            raise Untrusted("other keys")
        return [decode(value[name]) for name, decode in pairs]

    return body


def decode_entry(document: Mapping[str, Any]) -> HistoryEntry:
    """A history entry the store wrote (its ``schema_version`` included).

    Raises:
        Untrusted: not an entry of this schema version's layout.
    """
    if document.get("schema_version") != SCHEMA_VERSION:
        raise Untrusted("another schema version")
    entry: HistoryEntry = _entry_decoder()(document)
    return entry


def decode_order(document: Mapping[str, Any], history: History) -> Order:
    """An order the store wrote: its document without history, and its history.

    Raises:
        Untrusted: not an order document of this schema version's layout, or one whose
            ``version`` is not the history's length.
    """
    if (
        document.get("schema_version") != SCHEMA_VERSION
        or document.get("document") != "order"
        or document.get("version") != len(history)
    ):
        raise Untrusted("another schema version or kind, or another version")
    fields = _body_decoder()(document)
    fields.insert(_HISTORY_AT, history)
    order: Order = _tuple_new(Order, fields)
    return order


def _entry_keys(document: Mapping[str, Any]) -> tuple[str | None, str, str | None]:
    """What a history indexes of an entry, read from its document: the command's id, its
    event and its payment reference."""
    command = document["command"]
    return command["command_id"], command["type"], command.get("payment_reference")


def _decode_stored_entry(document: dict[str, Any]) -> HistoryEntry:
    """An entry the store wrote, by the trusted decoder, or (a layout it does not read, such
    as a currency carrying its minor units) by the strict loader."""
    try:
        return decode_entry(document)
    except Exception:  # what the trusted decoder does not read: the strict loader reads it
        body = {key: value for key, value in document.items() if key != "schema_version"}
        try:
            upgraded = upgrade("entry", body, document["schema_version"], SCHEMA_VERSION)
            entry: HistoryEntry = _structure(upgraded, HistoryEntry, "entry")
        except Exception as error:  # the checksums matched: rows forged with their checksums
            raise StoreError(f"orderflow cannot read a stored history entry: {error}") from error
        return entry


def lazy_history(documents: Sequence[dict[str, Any]]) -> History | None:
    """A history of the entries these documents hold (the store wrote them, at this schema
    version), each decoded when first read; ``None`` when a document is not one to decode
    lazily (another schema version, or no command id, event and payment reference where a
    history indexes them): the caller decodes them all at once instead.
    """
    try:
        for document in documents:
            if document["schema_version"] != SCHEMA_VERSION:
                return None
            command_id, event, reference = _entry_keys(document)
            if not isinstance(event, str) or not isinstance(command_id, str | None):
                return None
            if event == "pay" and not isinstance(reference, str):
                return None
    except (KeyError, TypeError):
        return None
    return History._of_documents(documents, _decode_stored_entry, _entry_keys)
