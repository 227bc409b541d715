"""Retrying failed deliveries: what a failure is recorded as, and how long to wait (NT-2).

:func:`describe_error` turns any exception a handler raised into the text an outbox keeps;
:class:`Backoff` spaces the attempts of an entry that keeps failing, so that it neither
hammers a service that is down nor holds up the entries behind it. The relay
(:mod:`orderflow.relay`) uses both.
"""

from __future__ import annotations

import contextlib
import enum
import random as random_module
from datetime import timedelta
from typing import Any

import attrs

from orderflow.errors import InvalidConfiguration
from orderflow.ports import ERROR_LIMIT, clean_error

__all__ = ["Backoff", "Jitter", "describe_error"]


def describe_error(error: BaseException, limit: int = ERROR_LIMIT) -> str:
    """What a delivery error is, as an outbox keeps it: ``"<type>: <message>"``.

    Never raises: an exception whose ``__str__`` raises gives a placeholder message. NUL
    characters are dropped, lone surrogates escaped, and the text cut to ``limit`` characters
    (see :func:`orderflow.ports.clean_error`).

    Args:
        error: the exception a handler raised.
        limit: the most characters to keep.

    Returns:
        The description.
    """
    name = type(error).__name__
    try:
        message = str(error)
    except Exception:
        message = "(the error's message could not be read)"
    return clean_error(f"{name}: {message}" if message else name, limit)


class Jitter(enum.Enum):
    """How a backoff delay is randomized, so that relays do not retry in lockstep."""

    FULL = "full"
    """Anywhere between zero and the delay."""
    EQUAL = "equal"
    """Between half the delay and the delay."""
    NONE = "none"
    """Exactly the delay (for tests and simulations)."""


def _positive(instance: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, timedelta) or value <= timedelta(0):
        raise InvalidConfiguration(attribute.name, value, "must be a timedelta above zero")


def _factor(instance: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 1 <= value <= 100:
        raise InvalidConfiguration(attribute.name, value, "must be a number from 1 to 100")


@attrs.frozen
class Backoff:
    """Capped exponential backoff: the pause after the ``n``-th failure of an entry is
    ``min(cap, base * factor ** (n - 1))``, randomized by ``jitter``.

    Attributes:
        base: the pause after a first failure.
        factor: how much each further failure multiplies it (1 to 100).
        cap: the longest pause.
        jitter: how the pause is randomized (equal jitter by default: never less than half).

    Raises:
        InvalidConfiguration: a pause of zero or less, a cap below the base, a factor out of
            range, or an unknown jitter.
    """

    base: timedelta = attrs.field(default=timedelta(seconds=5), validator=_positive)
    factor: float = attrs.field(default=2.0, validator=_factor)
    cap: timedelta = attrs.field(default=timedelta(hours=1), validator=_positive)
    jitter: Jitter = Jitter.EQUAL

    def __attrs_post_init__(self) -> None:
        if self.cap < self.base:
            raise InvalidConfiguration("cap", self.cap, f"must be at least base ({self.base})")
        if not isinstance(self.jitter, Jitter):
            raise InvalidConfiguration("jitter", self.jitter, "must be a Jitter")

    def delay(self, failures: int, rng: random_module.Random) -> timedelta:
        """The pause after an entry's ``failures``-th failure (1 for the first).

        Args:
            failures: how many times the entry has failed, this one included.
            rng: the source of the jitter.

        Returns:
            The pause, between zero and ``cap``.
        """
        seconds = self.cap.total_seconds()
        with contextlib.suppress(OverflowError):
            seconds = min(seconds, self.base.total_seconds() * self.factor ** max(failures - 1, 0))
        if self.jitter is Jitter.FULL:
            seconds = rng.uniform(0, seconds)
        elif self.jitter is Jitter.EQUAL:
            seconds = seconds / 2 + rng.uniform(0, seconds / 2)
        return timedelta(seconds=seconds)
