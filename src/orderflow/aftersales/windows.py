"""After-sales windows: when the no-reason and the quality window end, and the two rules
that judge them (AS-2, AS-3, D-4).

A window is given in days and counted one of two ways (:class:`WindowMode`):

* ``CALENDAR`` (the default, D-4): in the shop's time zone, from the day after the day of
  delivery; the window ends at 24:00 of its last day, and that instant is outside. Delivered
  on 2026-03-10 at 15:00 in Shanghai, a 7-day window ends at 2026-03-18T00:00+08:00: a
  request at 23:59:59 on 03-17 is inside, one at 00:00 on 03-18 is not. This is the one
  place where local dates count (D-18): a window across a daylight-saving change still ends
  at local midnight.
* ``HOURS``: ``days`` × 24 hours from the delivery scan, added on UTC instants (D-18); the
  end instant is outside too.

:func:`window_end` gives the first instant outside the window, in the shop's time zone.
:class:`NoReasonWindowRule` (``AS-2-window``) and :class:`QualityWindowRule` (``AS-3-window``)
allow a request strictly before its window ends and deny it from then on; their facts always
hold ``delivered_at`` and ``window_ends``. When a request names lines whose windows differ
(per-category overrides), the window that ends first decides.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Final
from zoneinfo import ZoneInfo

import attrs

from orderflow.aftersales.decisions import Fact, Ruling, Verdict, _rule_id_setting, _trusted
from orderflow.aftersales.model import Basis, CaseKind
from orderflow.aftersales.requests import RequestFacts
from orderflow.deadlines import Deadline, DeadlineKind
from orderflow.errors import InvalidConfiguration, InvalidInput
from orderflow.inputs import MAX_LONG_TEXT_LENGTH, check_text, check_time

if TYPE_CHECKING:
    from orderflow.aftersales.configuration import PolicySettings
    from orderflow.model import OrderLine

__all__ = [
    "MAX_WINDOW_DAYS",
    "QUALITY_HINT",
    "NoReasonWindowRule",
    "QualityWindowRule",
    "WindowMode",
    "return_windows",
    "window_end",
]

MAX_WINDOW_DAYS: Final = 3650
"""The longest window a policy may set, in days."""
QUALITY_HINT: Final = "A quality problem can still be reported as a quality return."
"""The hint of a no-reason denial: exclusions and the no-reason window bind no other return."""
_WARRANTY_HINT: Final = (
    "For a fault after the quality window, use the manufacturer's warranty or contact the "
    "shop's after-sales service."
)
_AFTER_DELIVERY: Final = frozenset({CaseKind.RETURN, CaseKind.EXCHANGE, CaseKind.REFUND_ONLY})


class WindowMode(enum.StrEnum):
    """How a window of ``days`` is counted (D-4)."""

    CALENDAR = "calendar"
    """Calendar days in the shop's time zone from the day after delivery; the window ends at
    24:00 of its last day (the 2017 interim measures; the default)."""
    HOURS = "hours"
    """``days`` × 24 hours from the delivery scan (the platform convention)."""


_MODES: Final = {mode: mode.value for mode in WindowMode}


def window_end(delivered_at: datetime, days: int, settings: PolicySettings) -> datetime:
    """The first instant outside a window of ``days`` that opens at a delivery (D-4).

    Args:
        delivered_at: the delivery scan (timezone-aware).
        days: the window's length in days, 1 to 3650.
        settings: the policy settings, for the shop's time zone and the window mode.

    Returns:
        In ``CALENDAR`` mode, the start of the local day ``days + 1`` days after the local
        day of delivery (24:00 of the window's last day); in ``HOURS`` mode, the delivery
        plus ``days`` × 24 hours. Either way in the shop's time zone, always after
        ``delivered_at``; a request is inside the window when it comes strictly before.

    Raises:
        InvalidInput: ``delivered_at`` is not an aware datetime in range, or ``days`` is not
            a whole number from 1 to 3650.
    """
    check_time("delivered_at", delivered_at)
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_WINDOW_DAYS:
        raise InvalidInput("days", days, f"must be a whole number from 1 to {MAX_WINDOW_DAYS}")
    return _end(delivered_at, days, settings.zone, settings.window_mode)


def _end(delivered_at: datetime, days: int, zone: ZoneInfo, mode: WindowMode) -> datetime:
    """:func:`window_end` for arguments already checked."""
    if mode is WindowMode.HOURS:
        return (delivered_at.astimezone(UTC) + timedelta(days=days)).astimezone(zone)
    first_day_outside = delivered_at.astimezone(zone).date() + timedelta(days=days + 1)
    # Midnight may not exist where a daylight-saving change happens at midnight: with fold 0
    # it is read with the offset before the change, which is the instant the day begins.
    # The round trip through UTC writes that instant with the offset in force then.
    return (
        datetime.combine(first_day_outside, time(0), tzinfo=zone).astimezone(UTC).astimezone(zone)
    )


@functools.lru_cache(maxsize=4096)
def _window_of(
    delivered_at: datetime, days: int, time_zone: str, mode: WindowMode
) -> tuple[datetime, str, datetime]:
    """A window's end, that end as a customer reads it, and the delivery in the shop's time
    zone: what every request on a delivered order reads again (``delivered_at`` in UTC, so
    equal keys are equal instants)."""
    zone = ZoneInfo(time_zone)
    end = _end(delivered_at, days, zone, mode)
    return end, _shown(end, time_zone), delivered_at.astimezone(zone)


def _window_facts(
    delivered_at: datetime, days: int, settings: PolicySettings
) -> tuple[datetime, str, datetime]:
    """:func:`_window_of` for checked arguments, remembered for deliveries kept in UTC (as
    orders keep them, D-18); computed afresh for any other time zone."""
    if delivered_at.tzinfo is UTC:
        return _window_of(delivered_at, days, settings.time_zone, settings.window_mode)
    zone = settings.zone
    end = _end(delivered_at, days, zone, settings.window_mode)
    return end, _shown(end, settings.time_zone), delivered_at.astimezone(zone)


def _shown(end: datetime, time_zone: str) -> str:
    """A window's end as a customer reads it: ``2026-03-17 24:00 (Asia/Shanghai)``."""
    if end.time() == time(0):
        text = f"{(end.date() - timedelta(days=1)).isoformat()} 24:00"
    else:
        text = end.strftime("%Y-%m-%d %H:%M:%S" if end.second else "%Y-%m-%d %H:%M")
    return f"{text} ({time_zone})"


def _window(
    rule_id: str,
    facts: RequestFacts,
    settings: PolicySettings,
    days_for: Callable[[str], int],
    name: str,
    hint: str,
) -> Verdict:
    """The verdict of a window: allowed strictly before its end, denied from it on (D-4)."""
    delivered_at = facts.delivered_at
    assert delivered_at is not None
    lines = facts.lines
    line = lines[0]
    days = days_for(line.category)
    end, shown, delivered = _window_facts(delivered_at, days, settings)
    for other in lines[1:]:  # the first line of the earliest end decides
        other_days = days_for(other.category)
        found = _window_facts(delivered_at, other_days, settings)
        if found[0] < end:
            line, days, (end, shown, delivered) = other, other_days, found
    time_zone = settings.time_zone
    used: dict[str, Fact] = {
        "delivered_at": delivered,
        "window_ends": end,
        "requested_at": facts.requested_at.astimezone(settings.zone),
        "days": days,
        "window_mode": _MODES[settings.window_mode],
        "time_zone": time_zone,
        "sku": line.sku,
        "category": line.category,
    }
    if facts.requested_at < end:
        sentence = f"The request is within the {days}-day {name} window, which ends at {shown}."
        return _trusted(Ruling.ALLOWED, rule_id, sentence, used)
    sentence = f"The {days}-day {name} window ended at {shown}."
    return _trusted(Ruling.DENIED, rule_id, sentence, used, hint)


@attrs.frozen
class NoReasonWindowRule:
    """AS-2, D-4: a no-reason return or exchange must come within the no-reason window.

    Applies to no-reason returns and exchanges of delivered goods. The window is the
    category's (:meth:`~orderflow.aftersales.PolicySettings.no_reason_days_for`), 7 days by
    default, counted as :func:`~orderflow.aftersales.window_end` says. Facts: ``delivered_at``,
    ``window_ends``, ``requested_at`` (in the shop's time zone), ``days``, ``window_mode``,
    ``time_zone``, and the ``sku`` and ``category`` of the line whose window decided.
    """

    rule_id: str = attrs.field(default="AS-2-window", validator=_rule_id_setting)

    def decide(self, facts: RequestFacts, settings: PolicySettings) -> Verdict | None:
        """Allow a no-reason request strictly before its window ends, deny it from then on.

        Returns:
            ``None`` for other requests and before delivery; else allowed or denied.
        """
        if facts.basis is not Basis.NO_REASON or not facts.ships_back or facts.delivered_at is None:
            return None
        days_for = settings.no_reason_days_for
        return _window(self.rule_id, facts, settings, days_for, "no-reason return", QUALITY_HINT)


def _hint(instance: object, attribute: attrs.Attribute[str], value: object) -> None:
    try:
        check_text("hint", value, MAX_LONG_TEXT_LENGTH, required=True)
    except InvalidInput as error:
        raise InvalidConfiguration("hint", value, error.problem) from None


@attrs.frozen
class QualityWindowRule:
    """AS-3, D-4: a quality problem is taken back within the quality window.

    Applies to returns, exchanges and refunds only of delivered goods whose reason is a
    quality problem, excluded goods included (exclusions bind the no-reason return only). The
    window is the category's (:meth:`~orderflow.aftersales.PolicySettings.quality_days_for`),
    15 days by default, counted like the no-reason window; its facts are the same. A denial's
    hint names the warranty and the shop's after-sales service.

    Attributes:
        rule_id: the rule's id.
        hint: what a denial tells the customer to do instead (give the shop's own contact).
    """

    rule_id: str = attrs.field(default="AS-3-window", validator=_rule_id_setting)
    hint: str = attrs.field(default=_WARRANTY_HINT, validator=_hint)

    def decide(self, facts: RequestFacts, settings: PolicySettings) -> Verdict | None:
        """Allow a quality request strictly before its window ends, deny it from then on.

        Returns:
            ``None`` for other requests and before delivery; else allowed or denied.
        """
        if (
            facts.basis is not Basis.QUALITY
            or facts.kind not in _AFTER_DELIVERY
            or facts.delivered_at is None
        ):
            return None
        return _window(
            self.rule_id, facts, settings, settings.quality_days_for, "quality", self.hint
        )


@functools.lru_cache(maxsize=4096)
def _calendar_end(day: date, days: int, time_zone: str) -> datetime:
    """The first instant (in UTC) of the local day ``days + 1`` days after ``day`` (D-4)."""
    first_day_outside = day + timedelta(days=days + 1)
    return datetime.combine(first_day_outside, time(0), tzinfo=ZoneInfo(time_zone)).astimezone(UTC)


def return_windows(
    lines: Iterable[OrderLine], delivered_at: datetime, settings: PolicySettings
) -> tuple[Deadline, ...]:
    """The deadlines of an order's return windows (TM-6, D-15): when the no-reason window
    (AS-2) and the quality window (AS-3) close for the last line they cover. Lines of a
    category excluded from no-reason returns do not keep that window open; when no line has
    one, there is no no-reason deadline. (The longest window ends last: an end only grows
    with the number of days.)"""
    if not settings.categories and not settings.excluded_categories:
        no_reason: int | None = settings.no_reason_days  # no category departs from the shop's
        quality = settings.quality_days
    else:
        categories = {line.category for line in lines}
        no_reason = max(
            (
                settings.no_reason_days_for(category)
                for category in categories
                if not settings.excludes_category(category)
            ),
            default=None,
        )
        quality = max(settings.quality_days_for(category) for category in categories)
    if settings.window_mode is WindowMode.HOURS:
        start = delivered_at.astimezone(UTC)
        quality_end = start + timedelta(days=quality)
        no_reason_end = None if no_reason is None else start + timedelta(days=no_reason)
    else:
        day = delivered_at.astimezone(settings.zone).date()
        zone = settings.time_zone
        quality_end = _calendar_end(day, quality, zone)
        no_reason_end = None if no_reason is None else _calendar_end(day, no_reason, zone)
    closes = Deadline(DeadlineKind.QUALITY_WINDOW, quality_end)
    if no_reason_end is None:
        return (closes,)
    return (Deadline(DeadlineKind.NO_REASON_WINDOW, no_reason_end), closes)
