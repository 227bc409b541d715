"""Turning orders, commands, effects and refusals into JSON-safe documents and back.

``dump(value)`` gives a ``dict`` of JSON-safe values (strings, numbers, booleans, lists,
dicts, ``None``): decimals as strings, datetimes as ISO 8601 with their offset, enums by
value, commands tagged by ``"type"`` (their event name) and effects by ``"kind"``. Every
top-level document carries ``"schema_version"``. A document carries what it needs to load in
any process: a close reason is written whole (code, description, whether it needs a note),
and money in a currency the built-in ISO 4217 table lacks carries its ``minor_units``
(loading registers that currency, and refuses one known with other minor units).

``load(document, kind)`` reads one back; ``loads(text, kind)`` parses JSON text first, within
a size limit. Documents of an earlier schema version are upgraded on the way in
(:mod:`orderflow.upgrades`). Loading is strict and whole:

* wrong types are refused, never coerced: a number where a string belongs, a string or a
  float where a whole number belongs, ``true`` where a number belongs, a float amount, a
  datetime without an offset; so are missing and extra keys, unknown command and effect
  types and enum values, and negative counts (versions, refund attempts);
* the loaded order is checked whole (see :class:`orderflow.Order`): its history starts with
  the entry that placed it, is a chain of states ending in the order's state, runs forward
  in time, every effect in it is the order's own at its entry's version, and a customer in
  it is the order's customer; the money adds up;
* any problem raises :class:`DocumentError` naming where in the document it is (``$.history
  [3].command.carrier``) and the order; nothing is half-loaded. Errors never repeat a
  document's text whole: they show a short excerpt of a refused value, or only its type.

Example::

    document = dump(order)            # json.dumps(document) works
    assert load(document, Order) == order
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, Final, TypeVar, cast

from cattrs.errors import (
    BaseValidationError,
    ClassValidationError,
    ForbiddenExtraKeysError,
    IterableValidationError,
    IterableValidationNote,
)
from cattrs.v import format_exception

from orderflow import commands as c
from orderflow import effects as e
from orderflow.converter import _ORDER_FIELDS, _unstructure_entry, converter
from orderflow.errors import CommandRefused, DocumentError, InvalidInput, Refusal
from orderflow.order import Order
from orderflow.strict_json import _fail, _Shown, _shown, _type_name, _wrong_type
from orderflow.upgrades import upgrade

__all__ = [
    "MAX_DOCUMENT_SIZE",
    "SCHEMA_VERSION",
    "converter",
    "dump",
    "dump_order_parts",
    "load",
    "load_order_parts",
    "loads",
]

SCHEMA_VERSION: Final = 3
"""The version of the document layout written by :func:`dump` (see :mod:`orderflow.upgrades`
for what each version changed; every earlier one still loads)."""

MAX_DOCUMENT_SIZE: Final = 4 * 1024 * 1024
"""The default limit of :func:`loads`, in characters of JSON text (4 MiB)."""

T = TypeVar("T")

# -- dumping -------------------------------------------------------------------------------

_DOCUMENT_KINDS: dict[str, type[Any]] = {
    "order": Order,
    "command": c.Command,
    "effect": e.Effect,
    "refusal": Refusal,
    "command_refused": CommandRefused,
}


def _kind_of(value: object) -> str:
    for name, base in _DOCUMENT_KINDS.items():
        if isinstance(value, base):
            return name
    raise InvalidInput("value", _shown(value), "dump takes an Order, Command, Effect or Refusal")


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
    order: Order,
    from_version: int = 1,
    *,
    earlier: tuple[Order, Mapping[str, Any]] | None = None,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """An order's document without its history, and the documents of its history entries
    from ``from_version`` on: what a store writes when it keeps history in rows of its own.

    The order's document says its ``version`` (how many entries it has), so that a reader
    never takes a shorter history for the whole one. Each entry carries its own
    ``schema_version``: the entries of one order may be written by different versions of
    orderflow. :func:`load_order_parts` reads them back. Only the entries asked for are
    converted, so saving a change costs the same whatever the length of the order's history.

    Args:
        order: the order.
        from_version: the version of the first entry wanted (1 for the whole history).
        earlier: an earlier version of the same order and the document this function gave
            for it: a field of ``order`` that is the very object the earlier order holds
            (orders are immutable values, and a command keeps what it does not change) is
            taken from that document instead of being converted again. Nothing changes
            either document.

    Returns:
        The order's document without ``history``, and one document per entry wanted.
    """
    body: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "document": "order",
        "version": order.version,
    }
    if earlier is None:
        for name, unstructure in _ORDER_FIELDS:
            body[name] = unstructure(getattr(order, name))
    else:
        before, document = earlier
        for name, unstructure in _ORDER_FIELDS:
            value = getattr(order, name)
            body[name] = document[name] if value is getattr(before, name) else unstructure(value)
    entries = [
        {"schema_version": SCHEMA_VERSION, **_unstructure_entry(entry)}
        for entry in order.history[from_version - 1 :]
    ]
    return body, entries


# -- loading -------------------------------------------------------------------------------


def _version_of(document: Mapping[str, Any], default: int | None = None) -> int:
    version = document.get("schema_version", default)
    if isinstance(version, bool) or not isinstance(version, int):
        raise DocumentError(
            "$.schema_version", _type_name(version), "must be a whole number (a schema version)"
        )
    if not 1 <= version <= SCHEMA_VERSION:
        raise _fail(
            "$.schema_version",
            version,
            f"this orderflow reads schema versions 1 to {SCHEMA_VERSION}",
        )
    return version


def load(document: object, kind: type[T]) -> T:
    """Read a document written by :func:`dump` (of this or an earlier schema version) back
    into a value of ``kind``.

    Args:
        document: the document (a mapping, as ``json.loads`` gives it).
        kind: :class:`~orderflow.Order`, :class:`~orderflow.Command` (or a command class),
            :class:`~orderflow.Effect` (or an effect class), :class:`~orderflow.Refusal` or
            :class:`~orderflow.CommandRefused`.

    Raises:
        DocumentError: the document is malformed, of another kind, of an unknown schema
            version, or holds an order that fails the checks of :class:`~orderflow.Order`;
            it names where, and the order. Nothing is half-loaded.
    """
    if not isinstance(document, Mapping):
        raise _wrong_type(document, "a document, a mapping", "$")
    expected = _expected_kind(kind)
    version = _version_of(document)
    if document.get("document") != expected:
        raise _fail("$.document", document.get("document"), f"expected a {expected}")
    body = {k: v for k, v in document.items() if k not in ("schema_version", "document")}
    body = _upgraded(expected, body, version)
    if kind is CommandRefused:
        return cast(T, _load_refused(body))
    target: type[Any] = kind
    if expected in ("command", "effect"):
        target = c.Command if expected == "command" else e.Effect
    value = _structure(body, target, expected)
    if not isinstance(value, kind):
        raise _fail(
            "$",
            _Shown(type(value).__name__),
            f"holds a {type(value).__name__}, not {kind.__name__}",
        )
    return value


def load_order_parts(document: object, entries: Sequence[object]) -> Order:
    """Read an order back from the parts :func:`dump_order_parts` wrote, whatever version of
    orderflow wrote each of them (an entry without a ``schema_version`` is of version 1).

    Args:
        document: the order's document without its history.
        entries: the documents of its history entries, oldest first.

    Raises:
        DocumentError: as :func:`load`; an entry's problem is named by its index in the
            history; the document's ``version`` is not the number of entries given.
    """
    if not isinstance(document, Mapping):
        raise _wrong_type(document, "a document, a mapping", "$")
    version = _version_of(document)
    if document.get("document") != "order" or "history" in document:
        raise _fail("$.document", document.get("document"), "expected an order without history")
    if "version" in document:  # written since schema version 2
        said = document["version"]
        if isinstance(said, bool) or not isinstance(said, int):
            raise _wrong_type(said, "a whole number", "$.version")
        if said != len(entries):
            raise _fail("$.version", said, f"the order's document has {len(entries)} entries")
    skip = ("schema_version", "document", "version")
    body = {k: v for k, v in document.items() if k not in skip}
    body = _upgraded("order", body, version)
    history: list[object] = []
    for index, entry in enumerate(entries):
        if not isinstance(entry, Mapping):
            raise _wrong_type(entry, "a history entry, a mapping", f"$.history[{index}]")
        try:
            entry_version = _version_of(entry, default=1)
            entry_body = {k: v for k, v in entry.items() if k != "schema_version"}
            history.append(upgrade("entry", entry_body, entry_version, SCHEMA_VERSION))
        except DocumentError as error:
            path = error.field.replace("$", f"$.history[{index}]", 1)
            raise DocumentError(
                _naming(path, "order", body), _shown(error.value), error.problem
            ) from None
    body["history"] = history
    return cast(Order, _structure(body, Order, "order"))


def loads(text: str | bytes, kind: type[T], *, max_size: int = MAX_DOCUMENT_SIZE) -> T:
    """Parse a JSON document and :func:`load` it, refusing one larger than ``max_size``
    characters or nested too deeply before any of it is read.

    Args:
        text: the JSON text.
        kind: what it holds, as for :func:`load`.
        max_size: the most characters accepted.

    Returns:
        The loaded value.

    Raises:
        DocumentError: the text is too large, not JSON, nested too deeply, or the document
            is refused by :func:`load`.
    """
    return load(_parse(text, max_size), kind)


def _parse(text: str | bytes, max_size: int) -> object:
    """JSON text as Python values, within a size limit and never by a RecursionError."""
    if not isinstance(text, str | bytes):
        raise _wrong_type(text, "JSON text", "$")
    if len(text) > max_size:
        raise DocumentError(
            "$", _Shown(f"{len(text)} characters"), f"larger than the limit of {max_size}"
        )
    try:
        return json.loads(text)
    except RecursionError:
        raise DocumentError("$", _Shown("deeper nesting"), "nested too deeply") from None
    except ValueError as error:
        raise DocumentError("$", _Shown("text"), f"not JSON: {str(error)[:80]}") from None


def _upgraded(kind: str, body: dict[str, Any], version: int) -> dict[str, Any]:
    """The body in this version's layout; an upgrade's refusal names the order."""
    try:
        return upgrade(kind, body, version, SCHEMA_VERSION)
    except DocumentError as error:
        raise DocumentError(
            _naming(error.field, kind, body), _shown(error.value), error.problem
        ) from None


def _naming(path: str, kind: str, body: object) -> str:
    """``path``, followed by the order it is in when the body is an order's."""
    if kind == "order" and isinstance(body, Mapping) and isinstance(body.get("id"), str):
        return f"{path} (order {_shown(body['id'])})"
    return path


def _expected_kind(kind: type[Any]) -> str:
    for name, base in _DOCUMENT_KINDS.items():
        if isinstance(kind, type) and issubclass(kind, base):
            return name
    raise InvalidInput("kind", _shown(kind), "load reads an Order, Command, Effect or Refusal")


def _load_refused(body: Mapping[str, Any]) -> CommandRefused:
    if set(body) != {"order_id", "state", "command", "reasons"}:
        raise _fail(
            "$",
            body,
            "a refusal has order_id, state, command and reasons: unexpected or missing keys",
        )
    for name in ("order_id", "state", "command"):
        if not isinstance(body[name], str):
            raise _wrong_type(body[name], "a string", f"$.{name}")
    reasons = _structure(body["reasons"], tuple[Refusal, ...], "command_refused", "$.reasons")
    if not reasons:
        raise _fail("$.reasons", body["reasons"], "a refusal has at least one reason")
    return CommandRefused(body["order_id"], body["state"], body["command"], reasons)


def _structure(body: object, target: Any, kind: str, path: str = "$") -> Any:
    """Structure a body, turning every failure into one DocumentError naming where."""
    try:
        return converter.structure(body, target)
    except (BaseValidationError, InvalidInput, KeyError, TypeError, ValueError) as error:
        problems = _problems(error, path)
    where, shown, problem = problems[0]
    if len(problems) > 1:
        others = ", ".join(where for where, _, _ in problems[1:4])
        more = "" if len(problems) <= 4 else f" and {len(problems) - 4} more"
        problem = f"{problem}; also at {others}{more}"
    raise DocumentError(_naming(where, kind, body), shown, problem) from None


def _join(path: str, field: str) -> str:
    if not field:
        return path
    if field.startswith(("$", "[")):
        return path + field.removeprefix("$")
    last = path.rsplit(".", 1)[-1]
    if "[" not in last and (field == last or field.startswith(f"{last}.")):
        field = field[len(last) :].removeprefix(".")  # "address.phone" at "$.address"
        if not field:
            return path
    return f"{path}.{field}"


def _problems(error: BaseException, path: str) -> list[tuple[str, _Shown, str]]:
    """Every leaf problem under a cattrs validation error, with its path."""
    if isinstance(error, ClassValidationError | IterableValidationError):
        found: list[tuple[str, _Shown, str]] = []
        with_notes, without = error.group_exceptions()
        for inner, note in with_notes:
            if isinstance(note, IterableValidationNote):
                where = f"{path}[{note.index!r}]"
            else:
                where = f"{path}.{note.name}"
            found.extend(_problems(inner, where))
        for inner in without:
            found.extend(_problems(inner, path))
        return found
    if isinstance(error, InvalidInput):  # DocumentError too: its field is relative
        return [(_join(path, error.field), _shown(error.value), error.problem)]
    if isinstance(error, ForbiddenExtraKeysError):
        names = sorted(str(name)[:32] for name in error.extra_fields)
        listed = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
        return [(path, _Shown(listed), "unexpected keys")]
    if isinstance(error, KeyError):
        return [(_join(path, str(error.args[0])[:32]) if error.args else path,
                 _Shown("nothing"), "a required key is missing")]  # fmt: skip
    return [(path, _Shown("a value of another kind"), format_exception(error, None)[:160])]
