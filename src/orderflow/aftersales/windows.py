"""After-sales windows: when the no-reason and the quality window end (AS-2, AS-3, D-4).

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
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING, Final

from orderflow.errors import InvalidInput
from orderflow.inputs import check_time

if TYPE_CHECKING:
    from orderflow.aftersales.configuration import PolicySettings

__all__ = ["MAX_WINDOW_DAYS", "WindowMode", "window_end"]

MAX_WINDOW_DAYS: Final = 3650
"""The longest window a policy may set, in days."""


class WindowMode(enum.StrEnum):
    """How a window of ``days`` is counted (D-4)."""

    CALENDAR = "calendar"
    """Calendar days in the shop's time zone from the day after delivery; the window ends at
    24:00 of its last day (the 2017 interim measures; the default)."""
    HOURS = "hours"
    """``days`` × 24 hours from the delivery scan (the platform convention)."""


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
    zone = settings.zone
    if settings.window_mode is WindowMode.HOURS:
        return (delivered_at.astimezone(UTC) + timedelta(days=days)).astimezone(zone)
    first_day_outside = delivered_at.astimezone(zone).date() + timedelta(days=days + 1)
    # Midnight may not exist where a daylight-saving change happens at midnight: with fold 0
    # it is read with the offset before the change, which is the instant the day begins.
    # The round trip through UTC writes that instant with the offset in force then.
    return (
        datetime.combine(first_day_outside, time(0), tzinfo=zone).astimezone(UTC).astimezone(zone)
    )
