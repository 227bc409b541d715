"""Time and ids (PT-3): the clock a service reads and the source of new ids, with the
system's and a manual clock for tests."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable

from orderflow.errors import InvalidInput
from orderflow.inputs import (
    LATEST,
    MAX_IDENTIFIER_LENGTH,
    check_identifier,
    check_text,
    check_time,
)

__all__ = ["Clock", "IdSource", "ManualClock", "SystemClock", "UuidIds"]


@runtime_checkable
class Clock(Protocol):
    """Tells the time (PT-3). Nothing in orderflow reads the wall clock except
    :class:`SystemClock`."""

    def now(self) -> datetime:
        """The current time, timezone-aware."""
        ...


@runtime_checkable
class IdSource(Protocol):
    """Makes new ids (for orders a host does not name itself)."""

    def new_id(self) -> str:
        """A new, unique id."""
        ...


class SystemClock:
    """The wall clock, in UTC."""

    def now(self) -> datetime:
        """The current time in UTC."""
        return datetime.now(UTC)


class ManualClock:
    """A clock that moves only when told to: for tests, simulations and replays.

    Its time stays within the range the library accepts (timezone-aware, from 1970 up to,
    not including, 9000; see :func:`~orderflow.inputs.check_time`).

    Args:
        start: the time it starts at.

    Raises:
        InvalidInput: ``start`` is not an aware datetime in that range.
    """

    def __init__(self, start: datetime) -> None:
        self._now = check_time("start", start)

    def now(self) -> datetime:
        """The clock's current time."""
        return self._now

    def advance(self, delta: timedelta) -> datetime:
        """Move the clock forward by ``delta`` and return the new time.

        Raises:
            InvalidInput: ``delta`` is not a timedelta, is negative, or would take the clock
                to 9000 or beyond; the clock does not move.
        """
        if not isinstance(delta, timedelta) or delta < timedelta(0):
            raise InvalidInput("delta", delta, "must be a timedelta of zero or more")
        if delta >= LATEST - self._now:
            raise InvalidInput("delta", delta, "would take the clock to 9000-01-01 or beyond")
        self._now += delta
        return self._now

    def set(self, when: datetime) -> None:
        """Move the clock to ``when``, which must not be in its past.

        Raises:
            InvalidInput: ``when`` is not an aware datetime in range, or is earlier than the
                clock's time.
        """
        check_time("when", when)
        if when < self._now:
            raise InvalidInput("when", when, "must not be earlier than the clock's time")
        self._now = when


_LONGEST_PREFIX = MAX_IDENTIFIER_LENGTH - 32  # a UUID in hex is 32 characters


class UuidIds:
    """Random UUID4 ids, optionally prefixed (``UuidIds("SO-")``).

    Args:
        prefix: text put before every id: empty, or identifier text (see
            :func:`~orderflow.inputs.check_identifier`) of at most 68 characters, so that the
            ids stay within the 100 characters of an identifier.

    Raises:
        InvalidInput: a malformed prefix.
    """

    def __init__(self, prefix: str = "") -> None:
        if check_text("prefix", prefix, _LONGEST_PREFIX):
            check_identifier("prefix", prefix)
        self.prefix = prefix

    def new_id(self) -> str:
        """A new id."""
        return f"{self.prefix}{uuid.uuid4().hex}"
