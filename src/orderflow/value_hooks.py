"""How orderflow's own values are written to JSON-safe data and read back: money, actors,
close reasons, durations, sets of names and the facts of a policy decision.

Reading is as strict as for JSON's own values (:mod:`orderflow.strict_json`): a document of
the wrong shape is refused with the path and the problem. :mod:`orderflow.converter`
registers these hooks.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Final, get_args, get_origin

from orderflow.aftersales.decisions import Fact
from orderflow.errors import DocumentError, InvalidInput
from orderflow.model import Actor, CloseReason
from orderflow.money import _BUILT_IN, Money, currency_exponent, register_currency
from orderflow.strict_json import (
    _fail,
    _keys,
    _shown,
    _structure_bool,
    _structure_datetime,
    _structure_decimal,
    _structure_int,
    _structure_str,
    _wrong_type,
)

__all__: list[str] = []

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


# -- after-sales policy settings: durations and sets of names ------------------------------

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
