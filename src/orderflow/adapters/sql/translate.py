"""The one place where database errors become orderflow errors."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

from sqlalchemy import exc

from orderflow.errors import (
    ConcurrencyConflict,
    OrderAlreadyExists,
    StoreError,
)

# Errors a database raises when two transactions collide: the transaction is sound and may be
# run again. PostgreSQL: serialization failure, deadlock. MySQL: lock wait timeout, deadlock.
_CONFLICT_SQLSTATES: Final = frozenset({"40001", "40P01"})
_CONFLICT_MYSQL_CODES: Final = frozenset({1205, 1213})


# -- error translation ---------------------------------------------------------------------


def _is_collision(error: exc.DBAPIError) -> bool:
    original = error.orig
    if getattr(original, "sqlstate", None) in _CONFLICT_SQLSTATES:
        return True
    args: tuple[object, ...] = getattr(original, "args", ())
    return bool(args) and args[0] in _CONFLICT_MYSQL_CODES


_MESSAGE_LENGTH: Final = 300
# Names of database objects a driver quotes in its messages; a quoted text after any other
# word may be a stored value (MySQL's "Duplicate entry 'Li Lei' for key ...").
_OBJECT_WORDS: Final = (
    "constraint|column|key|table|relation|index|type|encoding|database|schema|"
    "role|user|function|operator|sequence|view|collation|savepoint|field|for key"
)
_QUOTED: Final = re.compile(
    rf"""(?P<before>\b(?:{_OBJECT_WORDS})\s*)?(?P<quoted>'(?:[^'\\]|\\.)*'?|"(?:[^"\\]|\\.)*"?)""",
    re.IGNORECASE,
)
# PostgreSQL's "Key (id)=(o-1)" and "Failing row contains (...)" repeat stored values.
_KEY_VALUES: Final = re.compile(r"(\)=)\(.*?\)(?=\s|$|\.)", re.DOTALL)
_ROW_VALUES: Final = re.compile(r"(row contains )\(.*", re.IGNORECASE | re.DOTALL)


def _redact(message: str) -> str:
    """A driver's message with the values it quotes taken out, cut to one bounded line.

    Database objects' names (constraints, columns, tables) stay; quoted values, PostgreSQL's
    ``DETAIL``/``HINT``/``CONTEXT`` lines (which repeat rows and keys) and anything past
    :data:`_MESSAGE_LENGTH` characters go.
    """
    first = message.strip().split("\n", 1)[0]
    first = _KEY_VALUES.sub(r"\1(...)", first)
    first = _ROW_VALUES.sub(r"\1(...)", first)

    def keep_names(match: re.Match[str]) -> str:
        if match.group("before") is not None:
            return match.group(0)
        quote = match.group("quoted")[0]
        return f"{quote}...{quote}"

    first = _QUOTED.sub(keep_names, first)
    if len(first) > _MESSAGE_LENGTH:
        first = first[:_MESSAGE_LENGTH] + "..."
    return first


def _describe(error: BaseException) -> str:
    """The kind of a database error and its driver's message, without the values it held.

    SQLAlchemy's own message adds the statement's parameters, which hold customers' names and
    addresses, so only the driver's message is used, and the values a driver quotes in it
    (PostgreSQL's ``DETAIL: Key (id)=(...)``, MySQL's ``Duplicate entry '...'``) are taken out.
    """
    if isinstance(error, exc.DBAPIError) and error.orig is not None:
        original: BaseException = error.orig
    else:
        original = error
    args = original.args
    if isinstance(original, UnicodeError):
        encoding = getattr(original, "encoding", "the driver")
        text = f"{encoding} cannot take the text: {getattr(original, 'reason', '')}"
    elif len(args) == 2 and isinstance(args[0], int) and isinstance(args[1], str):
        text = f"({args[0]}) {_redact(args[1])}"  # MySQL drivers: (error number, message)
    else:
        try:
            text = _redact(str(original))
        except Exception:  # a driver's error that cannot even print itself
            text = ""
    return f"{type(original).__name__}: {text}".strip()


@contextmanager
def _translate(
    action: str,
    *,
    order_id: str | None = None,
    expected_version: int = 0,
    inserting_order: bool = False,
) -> Iterator[None]:
    """The one place where database errors become orderflow errors.

    Args:
        action: what was being done, for the message (``"save order 'o-1'"``).
        order_id: the order concerned, if any: collisions with other transactions on it
            become :class:`ConcurrencyConflict`.
        expected_version: the version the writer loaded, for the conflict.
        inserting_order: the block inserts the order's row: an integrity error there means
            the id is taken (:class:`OrderAlreadyExists`).

    Raises:
        OrderAlreadyExists: the order's row could not be inserted: its id is taken.
        ConcurrencyConflict: the database gave up on the transaction because of another one
            (serialization failure, deadlock, lock wait timeout).
        StoreError: any other error of the database or its driver.
    """
    try:
        yield
    except exc.IntegrityError as error:
        if inserting_order and order_id is not None:
            raise OrderAlreadyExists(order_id) from error
        raise StoreError(f"orderflow could not {action}: {_describe(error)}") from error
    except exc.DBAPIError as error:
        if order_id is not None and _is_collision(error):
            raise ConcurrencyConflict(order_id, expected_version, None) from error
        raise StoreError(f"orderflow could not {action}: {_describe(error)}") from error
    except exc.SQLAlchemyError as error:
        raise StoreError(f"orderflow could not {action}: {_describe(error)}") from error
    except UnicodeError as error:
        # A text the driver could not encode. The stores check their arguments so that this
        # cannot happen; a host's own extension might still pass one on.
        raise StoreError(f"orderflow could not {action}: {_describe(error)}") from error
