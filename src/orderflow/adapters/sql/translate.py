"""The one place where database errors become orderflow errors."""

from __future__ import annotations

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


def _describe(error: exc.SQLAlchemyError) -> str:
    # The driver's message only: SQLAlchemy's own adds the statement's parameters, which
    # hold customers' names and addresses.
    if isinstance(error, exc.DBAPIError) and error.orig is not None:
        return f"{type(error.orig).__name__}: {error.orig}".strip()
    return f"{type(error).__name__}: {error}"


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
