"""The after-sales settings a shop configures: windows, exclusions, categories, case timers.

:class:`PolicySettings` is data: an order carries the settings in force when it was placed
(in a :class:`~orderflow.aftersales.policy.PolicySnapshot`), so a later change of settings
never reaches orders already placed. Every value is checked when it is built and refused with
:class:`~orderflow.errors.InvalidConfiguration`, naming the setting.

The settings serialize with :data:`orderflow.converter.converter`: durations are written as a
whole number of seconds, sets of categories as sorted lists, the category overrides as a
mapping from category to its override.
"""

from __future__ import annotations

import enum
import functools
import itertools
from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs

from orderflow.aftersales.model import ExclusionFlag
from orderflow.aftersales.windows import MAX_WINDOW_DAYS, WindowMode
from orderflow.errors import InvalidConfiguration, InvalidInput
from orderflow.frozen import FrozenMap
from orderflow.inputs import check_identifier

__all__ = ["MAX_CATEGORIES", "CategoryPolicy", "PolicySettings", "ResponseAction"]

MAX_CATEGORIES: Final = 1_000
"""The most categories a policy may name (excluded or overridden)."""
_LONGEST_TIMER: Final = timedelta(days=3650)
_SECOND: Final = timedelta(seconds=1)


class ResponseAction(enum.StrEnum):
    """What the case machine does when the seller does not answer a request in time."""

    AUTO_APPROVE = "auto_approve"
    """The request is approved (the usual platform rule: silence is consent)."""
    AUTO_REJECT = "auto_reject"
    """The request is rejected; the buyer may ask for a review (D-8)."""


def _days(setting: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidConfiguration(setting, value, "must be a whole number of days")
    if not 1 <= value <= MAX_WINDOW_DAYS:
        raise InvalidConfiguration(setting, value, f"must be from 1 to {MAX_WINDOW_DAYS} days")


def _window_days(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    _days(f"policy.{attribute.name}", value)


def _override_days(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None:
        _days(f"category_policy.{attribute.name}", value)


def _flags(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, frozenset) or not all(
        isinstance(flag, ExclusionFlag) for flag in value
    ):
        raise InvalidConfiguration(
            "category_policy.exclusions", value, "must be a frozenset of ExclusionFlag"
        )


def _flag(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, bool):
        raise InvalidConfiguration(f"category_policy.{attribute.name}", value, "must be a bool")


@attrs.frozen
class CategoryPolicy:
    """How one category departs from the shop's settings (AS-2: per category).

    Attributes:
        no_reason_days: the no-reason window of the category in days; ``None`` keeps the
            shop's.
        quality_days: the quality window of the category in days; ``None`` keeps the shop's.
        excluded_from_no_reason: the whole category is excluded from no-reason returns.
        exclusions: AS-2 exclusions every line of the category carries, as if the line
            stated them (for example ``PERISHABLE`` for fresh food).

    Raises:
        InvalidConfiguration: days that are not whole numbers from 1 to 3650, flags that are
            not :class:`~orderflow.aftersales.ExclusionFlag` members.
    """

    no_reason_days: int | None = attrs.field(default=None, validator=_override_days)
    quality_days: int | None = attrs.field(default=None, validator=_override_days)
    excluded_from_no_reason: bool = attrs.field(default=False, validator=_flag)
    exclusions: frozenset[ExclusionFlag] = attrs.field(default=frozenset(), validator=_flags)


def _category(setting: str, value: object) -> str:
    try:
        return check_identifier(setting, value)
    except InvalidInput as error:
        raise InvalidConfiguration(setting, value, error.problem) from None


def _category_set(value: Iterable[str]) -> frozenset[str]:
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise InvalidConfiguration("policy.excluded_categories", value, "must be a set of names")
    names = tuple(itertools.islice(value, MAX_CATEGORIES + 1))
    if len(names) > MAX_CATEGORIES:
        raise InvalidConfiguration(
            "policy.excluded_categories", len(names), f"at most {MAX_CATEGORIES} categories"
        )
    return frozenset(_category("policy.excluded_categories", name) for name in names)


def _category_map(value: Mapping[str, CategoryPolicy]) -> Mapping[str, CategoryPolicy]:
    if not isinstance(value, Mapping):
        raise InvalidConfiguration("policy.categories", value, "must be a mapping")
    if len(value) > MAX_CATEGORIES:
        raise InvalidConfiguration(
            "policy.categories", len(value), f"at most {MAX_CATEGORIES} categories"
        )
    checked: dict[str, CategoryPolicy] = {}
    for name in sorted(_category("policy.categories", name) for name in value):
        override = value[name]
        if not isinstance(override, CategoryPolicy):
            raise InvalidConfiguration(
                "policy.categories", override, "a category's override must be a CategoryPolicy"
            )
        checked[name] = override
    return FrozenMap(checked)


def _version(instance: object, attribute: attrs.Attribute[str], value: object) -> None:
    _category("policy.version", value)


def _time_zone(instance: object, attribute: attrs.Attribute[str], value: object) -> None:
    _category("policy.time_zone", value)
    try:
        ZoneInfo(str(value))
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise InvalidConfiguration(
            "policy.time_zone", value, "not a known IANA time zone (such as Asia/Shanghai)"
        ) from None


def _mode(instance: object, attribute: attrs.Attribute[WindowMode], value: object) -> None:
    if not isinstance(value, WindowMode):
        raise InvalidConfiguration("policy.window_mode", value, "must be a WindowMode")


def _action(instance: object, attribute: attrs.Attribute[ResponseAction], value: object) -> None:
    if not isinstance(value, ResponseAction):
        raise InvalidConfiguration(
            "policy.seller_response_action", value, "must be a ResponseAction"
        )


def _timer(instance: object, attribute: attrs.Attribute[timedelta], value: object) -> None:
    setting = f"policy.{attribute.name}"
    if not isinstance(value, timedelta):
        raise InvalidConfiguration(setting, value, "must be a timedelta")
    if value <= timedelta(0) or value > _LONGEST_TIMER:
        raise InvalidConfiguration(setting, value, "must be above zero and at most 3650 days")
    if value % _SECOND:
        raise InvalidConfiguration(setting, value, "must be a whole number of seconds")


@functools.lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


@attrs.frozen
class PolicySettings:
    """The after-sales settings of a shop: data an order snapshots when it is placed.

    Attributes:
        version: a name for this configuration (``"2026-03"``), recorded with every order
            placed under it and with every decision.
        time_zone: the shop's IANA time zone, in which calendar windows count (D-4).
        window_mode: how windows are counted (:class:`~orderflow.aftersales.WindowMode`):
            calendar days in the shop's zone (the default) or 24-hour periods.
        no_reason_days: the no-reason return window (AS-2), 7 days by default.
        quality_days: the quality return window (AS-3), 15 days by default.
        excluded_categories: categories excluded from no-reason returns (AS-2).
        categories: per-category overrides (:class:`CategoryPolicy`); an override's days
            take precedence over the shop's.
        seller_response: how long the seller has to answer a request (48 hours).
        seller_response_action: what happens when the seller does not answer in time.
        ship_back: how long the buyer has to ship goods back once a return or an exchange
            is approved (7 days).
        seller_receipt: how long the seller has to confirm receipt of goods shipped back
            (10 days).
        review_window: how long a rejected case waits for the buyer to ask for a review
            (or for staff to override it) before it closes, still rejected (7 days).
        staff_reminder: how often staff are reminded of a case waiting on them: a review,
            a replacement to ship, a refund the payment side has not answered (24 hours).

    Raises:
        InvalidConfiguration: a blank or overlong version, an unknown time zone, windows
            that are not whole numbers from 1 to 3650 days, category names that are blank
            or overlong, more than 1,000 categories, timers that are not whole seconds above
            zero and at most 3650 days, or values of the wrong type.
    """

    version: str = attrs.field(default="default", validator=_version)
    time_zone: str = attrs.field(default="Asia/Shanghai", validator=_time_zone)
    window_mode: WindowMode = attrs.field(default=WindowMode.CALENDAR, validator=_mode)
    no_reason_days: int = attrs.field(default=7, validator=_window_days)
    quality_days: int = attrs.field(default=15, validator=_window_days)
    excluded_categories: frozenset[str] = attrs.field(default=frozenset(), converter=_category_set)
    categories: Mapping[str, CategoryPolicy] = attrs.field(
        factory=dict, converter=_category_map, hash=False
    )
    seller_response: timedelta = attrs.field(default=timedelta(hours=48), validator=_timer)
    seller_response_action: ResponseAction = attrs.field(
        default=ResponseAction.AUTO_APPROVE, validator=_action
    )
    ship_back: timedelta = attrs.field(default=timedelta(days=7), validator=_timer)
    seller_receipt: timedelta = attrs.field(default=timedelta(days=10), validator=_timer)
    review_window: timedelta = attrs.field(default=timedelta(days=7), validator=_timer)
    staff_reminder: timedelta = attrs.field(default=timedelta(hours=24), validator=_timer)

    @property
    def zone(self) -> ZoneInfo:
        """The shop's time zone."""
        return _zone(self.time_zone)

    def no_reason_days_for(self, category: str) -> int:
        """The no-reason window of a category in days: its override, or the shop's (AS-2)."""
        override = self.categories.get(category)
        if override is not None and override.no_reason_days is not None:
            return override.no_reason_days
        return self.no_reason_days

    def quality_days_for(self, category: str) -> int:
        """The quality window of a category in days: its override, or the shop's (AS-3)."""
        override = self.categories.get(category)
        if override is not None and override.quality_days is not None:
            return override.quality_days
        return self.quality_days

    def excludes_category(self, category: str) -> bool:
        """Whether a whole category is excluded from no-reason returns (AS-2)."""
        if category in self.excluded_categories:
            return True
        override = self.categories.get(category)
        return override is not None and override.excluded_from_no_reason

    def exclusions_for(self, category: str) -> frozenset[ExclusionFlag]:
        """The AS-2 exclusions every line of a category carries by configuration."""
        override = self.categories.get(category)
        return frozenset() if override is None else override.exclusions
