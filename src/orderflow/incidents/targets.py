"""Service targets of exception cases (EX-5, seed 002; the timers of TM-7).

A case must be acknowledged within its priority's response time (urgent 30 minutes, high
1 hour, normal 4 hours), get a solution within 24 hours of opening (complaints and quality
disputes within 48 hours), and a follow-up 24 hours after it is closed. Each due instant is
computed on UTC instants (D-18: "30 minutes" is 1,800 real seconds, whatever the shop's zone),
and is due at its own instant (D-15: ``now >= due``, see :func:`is_due`).

A case the classifier opens gets its type's default priority (:attr:`ServiceTargets.priorities`;
an agent opening a case by hand chooses any priority). The defaults:

* urgent: suspected fraud (the order is frozen until someone looks at it, RK-4);
* high: a parcel lost or damaged, a second payment or a payment after closing (the
  customer's money was taken for nothing), a quality dispute, a complaint (seed 002 ranks
  quality problems above delays);
* normal: every other type.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import attrs

from orderflow.errors import InvalidConfiguration, InvalidInput
from orderflow.frozen import FrozenMap
from orderflow.incidents.model import ExceptionType, Priority
from orderflow.inputs import check_time

__all__ = [
    "DEFAULT_ACKNOWLEDGE",
    "DEFAULT_PRIORITIES",
    "DEFAULT_SOLUTION_BY_TYPE",
    "ServiceTargets",
    "is_due",
]

_LONGEST: Final = timedelta(days=3650)

DEFAULT_ACKNOWLEDGE: Final[Mapping[Priority, timedelta]] = FrozenMap(
    {
        Priority.URGENT: timedelta(minutes=30),
        Priority.HIGH: timedelta(hours=1),
        Priority.NORMAL: timedelta(hours=4),
    }
)
"""How long a case of each priority may wait to be acknowledged (EX-5)."""

DEFAULT_SOLUTION_BY_TYPE: Final[Mapping[ExceptionType, timedelta]] = FrozenMap(
    {
        ExceptionType.COMPLAINT: timedelta(hours=48),
        ExceptionType.QUALITY_DISPUTE: timedelta(hours=48),
    }
)
"""The types whose solution target is not the general one: complaints, 48 hours (EX-5)."""

DEFAULT_PRIORITIES: Final[Mapping[ExceptionType, Priority]] = FrozenMap(
    {
        ExceptionType.SUSPECTED_FRAUD: Priority.URGENT,
        ExceptionType.LOGISTICS_LOST: Priority.HIGH,
        ExceptionType.LOGISTICS_DAMAGED: Priority.HIGH,
        ExceptionType.DUPLICATE_PAYMENT: Priority.HIGH,
        ExceptionType.PAYMENT_AFTER_CLOSE: Priority.HIGH,
        ExceptionType.QUALITY_DISPUTE: Priority.HIGH,
        ExceptionType.COMPLAINT: Priority.HIGH,
    }
)
"""The priority of a case the classifier opens, for the types that are not normal."""


def _duration(setting: str, value: object) -> timedelta:
    if not isinstance(value, timedelta):
        raise InvalidConfiguration(setting, value, "must be a timedelta")
    if value <= timedelta(0):
        raise InvalidConfiguration(setting, value, "must be above zero")
    if value > _LONGEST:
        raise InvalidConfiguration(setting, value, "must be at most 3650 days")
    return value


def _acknowledge(value: object) -> Mapping[Priority, timedelta]:
    if not isinstance(value, Mapping) or set(value) != set(Priority):
        raise InvalidConfiguration(
            "targets.acknowledge", value, "must map every Priority to a timedelta"
        )
    times = {
        priority: _duration(f"targets.acknowledge[{priority}]", value[priority])
        for priority in Priority
    }
    if not times[Priority.URGENT] <= times[Priority.HIGH] <= times[Priority.NORMAL]:
        raise InvalidConfiguration(
            "targets.acknowledge", value, "urgent must be no longer than high, high than normal"
        )
    return FrozenMap(times)


def _solution(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    _duration("targets.solution", value)


def _solution_by_type(value: object) -> Mapping[ExceptionType, timedelta]:
    if not isinstance(value, Mapping):
        raise InvalidConfiguration(
            "targets.solution_by_type", value, "must map ExceptionType to a timedelta"
        )
    for type, duration in value.items():
        if not isinstance(type, ExceptionType):
            raise InvalidConfiguration("targets.solution_by_type", type, "not an ExceptionType")
        _duration(f"targets.solution_by_type[{type}]", duration)
    return FrozenMap(value)


def _follow_up(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None:
        _duration("targets.follow_up", value)


def _priorities(value: object) -> Mapping[ExceptionType, Priority]:
    if not isinstance(value, Mapping):
        raise InvalidConfiguration(
            "targets.priorities", value, "must map ExceptionType to a Priority"
        )
    for type, priority in value.items():
        if not isinstance(type, ExceptionType):
            raise InvalidConfiguration("targets.priorities", type, "not an ExceptionType")
        if not isinstance(priority, Priority):
            raise InvalidConfiguration(f"targets.priorities[{type}]", priority, "not a Priority")
    return FrozenMap(value)


def _default_priority(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, Priority):
        raise InvalidConfiguration("targets.default_priority", value, "must be a Priority")


def _utc(field: str, at: datetime) -> datetime:
    check_time(field, at)
    return at if at.tzinfo is UTC else at.astimezone(UTC)


@attrs.frozen
class ServiceTargets:
    """When an exception case must be acknowledged, solved and followed up (EX-5, TM-7).

    Attributes:
        acknowledge: the response time of each priority (default urgent 30 minutes, high
            1 hour, normal 4 hours); urgent no longer than high, high no longer than normal.
        solution: how long after opening a case must be solved (default 24 hours).
        solution_by_type: the types with their own solution time (default: complaints and
            quality disputes, 48 hours).
        follow_up: how long after closing a case the customer gets a follow-up call
            (default 24 hours); ``None``: no follow-up.
        priorities: the priority of a case the classifier opens, per type (default
            :data:`DEFAULT_PRIORITIES`).
        default_priority: the priority of the types ``priorities`` does not name (normal).

    Raises:
        InvalidConfiguration: a duration that is not a timedelta, is zero or below, or above
            3650 days; response times that miss a priority or are not in order; a key that
            is not an ExceptionType, a priority that is not a Priority.
    """

    acknowledge: Mapping[Priority, timedelta] = attrs.field(
        default=DEFAULT_ACKNOWLEDGE, converter=_acknowledge, hash=False
    )
    solution: timedelta = attrs.field(default=timedelta(hours=24), validator=_solution)
    solution_by_type: Mapping[ExceptionType, timedelta] = attrs.field(
        default=DEFAULT_SOLUTION_BY_TYPE, converter=_solution_by_type, hash=False
    )
    follow_up: timedelta | None = attrs.field(default=timedelta(hours=24), validator=_follow_up)
    priorities: Mapping[ExceptionType, Priority] = attrs.field(
        default=DEFAULT_PRIORITIES, converter=_priorities, hash=False
    )
    default_priority: Priority = attrs.field(default=Priority.NORMAL, validator=_default_priority)

    def priority_for(self, type: ExceptionType) -> Priority:
        """The priority of a case of ``type`` the classifier opens.

        Raises:
            InvalidInput: ``type`` is not an ExceptionType.
        """
        if not isinstance(type, ExceptionType):
            raise InvalidInput("type", type, "must be an ExceptionType")
        return self.priorities.get(type, self.default_priority)

    def acknowledge_due(self, priority: Priority, opened_at: datetime) -> datetime:
        """When a case of ``priority`` opened at ``opened_at`` must be acknowledged.

        Args:
            priority: the case's priority.
            opened_at: when it was opened (timezone-aware).

        Returns:
            The due instant, in UTC.

        Raises:
            InvalidInput: ``priority`` is not a Priority, or ``opened_at`` not a valid time.
        """
        if not isinstance(priority, Priority):
            raise InvalidInput("priority", priority, "must be a Priority")
        return _utc("opened_at", opened_at) + self.acknowledge[priority]

    def solution_due(self, type: ExceptionType, opened_at: datetime) -> datetime:
        """When a case of ``type`` opened at ``opened_at`` must have a solution.

        Args:
            type: the case's type.
            opened_at: when it was opened (timezone-aware).

        Returns:
            The due instant, in UTC.

        Raises:
            InvalidInput: ``type`` is not an ExceptionType, or ``opened_at`` not a valid time.
        """
        if not isinstance(type, ExceptionType):
            raise InvalidInput("type", type, "must be an ExceptionType")
        return _utc("opened_at", opened_at) + self.solution_by_type.get(type, self.solution)

    def follow_up_due(self, closed_at: datetime) -> datetime | None:
        """When the customer of a case closed at ``closed_at`` gets a follow-up call.

        Args:
            closed_at: when the case was closed (timezone-aware).

        Returns:
            The due instant, in UTC; ``None`` when follow-ups are off.

        Raises:
            InvalidInput: ``closed_at`` is not a valid time.
        """
        at = _utc("closed_at", closed_at)
        return None if self.follow_up is None else at + self.follow_up


def is_due(due: datetime, now: datetime) -> bool:
    """Whether a target due at ``due`` is reached at ``now``: a due instant is inclusive.

    Args:
        due: the due instant.
        now: the current time (from the injected clock).

    Returns:
        ``now >= due`` (D-15).

    Raises:
        InvalidInput: either is not a timezone-aware time.
    """
    return _utc("now", now) >= _utc("due", due)
