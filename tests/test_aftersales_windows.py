"""The no-reason and quality windows: calendar days in the shop's zone or 24-hour periods,
the end instant outside (D-4, D-18, AS-2, AS-3)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orderflow import InvalidInput
from orderflow.aftersales import PolicySettings, WindowMode, window_end
from orderflow.aftersales.windows import MAX_WINDOW_DAYS
from tests.policy_support import DELIVERED, NEW_YORK, SHANGHAI

CALENDAR = PolicySettings()


def real(later: datetime, earlier: datetime) -> timedelta:
    """Real time between two instants (a subtraction in one zone gives wall-clock time)."""
    return later.astimezone(UTC) - earlier.astimezone(UTC)


HOURS = PolicySettings(window_mode=WindowMode.HOURS)


@pytest.mark.parametrize(
    ("delivered_at", "days", "settings", "ends"),
    [
        # The worked example: delivered on 03-10, the 7 days are 03-11 .. 03-17.
        (DELIVERED, 7, CALENDAR, datetime(2026, 3, 18, tzinfo=SHANGHAI)),
        (DELIVERED, 15, CALENDAR, datetime(2026, 3, 26, tzinfo=SHANGHAI)),
        (DELIVERED, 1, CALENDAR, datetime(2026, 3, 12, tzinfo=SHANGHAI)),
        # Just before local midnight: still the day of delivery.
        (datetime(2026, 3, 10, 23, 59, 59, tzinfo=SHANGHAI), 7, CALENDAR,
         datetime(2026, 3, 18, tzinfo=SHANGHAI)),
        # Local midnight: the next day is the day of delivery.
        (datetime(2026, 3, 11, 0, 0, tzinfo=SHANGHAI), 7, CALENDAR,
         datetime(2026, 3, 19, tzinfo=SHANGHAI)),
        # A scan given in UTC counts by the shop's local date (03-10 16:00Z is 03-11 00:00).
        (datetime(2026, 3, 10, 16, 0, tzinfo=UTC), 7, CALENDAR,
         datetime(2026, 3, 19, tzinfo=SHANGHAI)),
        (datetime(2026, 3, 10, 15, 59, 59, tzinfo=UTC), 7, CALENDAR,
         datetime(2026, 3, 18, tzinfo=SHANGHAI)),
        # Hours: 7 x 24 h from the scan, whatever the local date.
        (DELIVERED, 7, HOURS, datetime(2026, 3, 17, 15, 0, tzinfo=SHANGHAI)),
        (datetime(2026, 3, 10, 23, 59, 59, tzinfo=SHANGHAI), 7, HOURS,
         datetime(2026, 3, 17, 23, 59, 59, tzinfo=SHANGHAI)),
    ],
)  # fmt: skip
def test_d4_window_end_is_the_first_instant_outside(
    delivered_at: datetime, days: int, settings: PolicySettings, ends: datetime
) -> None:
    """D-4: a window ends at 24:00 of its last local day (calendar) or after N x 24 h."""
    end = window_end(delivered_at, days, settings)
    assert end == ends
    assert end.tzinfo == ZoneInfo(settings.time_zone)
    assert end.utcoffset() == timedelta(hours=8)


def test_d4_the_worked_boundary_in_shanghai() -> None:
    """D-4: 23:59:59 on the 7th day is inside the window, 24:00 (00:00 next day) is not."""
    end = window_end(DELIVERED, 7, CALENDAR)
    assert end.isoformat() == "2026-03-18T00:00:00+08:00"
    assert datetime(2026, 3, 17, 23, 59, 59, tzinfo=SHANGHAI) < end
    assert not datetime(2026, 3, 18, 0, 0, tzinfo=SHANGHAI) < end


def test_d4_d18_calendar_windows_count_local_dates_across_daylight_saving() -> None:
    """D-4, D-18: across a DST change a calendar window ends at local midnight, so it is an
    hour shorter in real time; the hours mode stays 7 x 24 real hours."""
    delivered = datetime(2026, 3, 5, 15, 0, tzinfo=NEW_YORK)  # EST; DST starts on 03-08
    settings = PolicySettings(time_zone="America/New_York")
    end = window_end(delivered, 7, settings)
    assert end.isoformat() == "2026-03-13T00:00:00-04:00"
    assert real(end, delivered) == timedelta(days=7, hours=8)  # 24:00 local, an hour lost
    hours = window_end(delivered, 7, PolicySettings("x", "America/New_York", WindowMode.HOURS))
    assert hours.astimezone(UTC) - delivered.astimezone(UTC) == timedelta(days=7)
    assert hours.isoformat() == "2026-03-12T16:00:00-04:00"


def test_d4_d18_a_window_ending_when_dst_falls_back() -> None:
    """D-4, D-18: a window across the autumn change ends at local midnight too (an hour longer)."""
    delivered = datetime(2026, 10, 29, 9, 0, tzinfo=NEW_YORK)  # EDT; EST from 11-01
    end = window_end(delivered, 7, PolicySettings(time_zone="America/New_York"))
    assert end.isoformat() == "2026-11-06T00:00:00-05:00"
    assert real(end, delivered) == timedelta(days=7, hours=16)


def test_d4_a_window_ending_on_a_day_that_starts_at_one_o_clock() -> None:
    """D-4: where clocks jump from 24:00 to 01:00, the window ends when that day begins."""
    santiago = ZoneInfo("America/Santiago")  # DST starts 2026-09-06: 00:00 does not exist
    delivered = datetime(2026, 8, 29, 10, 0, tzinfo=santiago)
    end = window_end(delivered, 7, PolicySettings(time_zone="America/Santiago"))
    assert end.isoformat() == "2026-09-06T01:00:00-03:00"
    assert end.astimezone(UTC) == datetime(2026, 9, 5, 23, 59, 59, tzinfo=santiago).astimezone(
        UTC
    ) + timedelta(seconds=1)


@pytest.mark.parametrize(
    ("delivered_at", "days", "field"),
    [
        (datetime(2026, 3, 10, 15, 0), 7, "delivered_at"),  # naive
        ("2026-03-10T15:00+08:00", 7, "delivered_at"),
        (DELIVERED, 0, "days"),
        (DELIVERED, MAX_WINDOW_DAYS + 1, "days"),
        (DELIVERED, True, "days"),
        (DELIVERED, 7.0, "days"),
    ],
)
def test_d4_window_end_refuses_bad_input(delivered_at: object, days: object, field: str) -> None:
    """D-4: a naive delivery or a window that is not 1 to 3650 whole days is refused."""
    with pytest.raises(InvalidInput) as refused:
        window_end(delivered_at, days, CALENDAR)  # type: ignore[arg-type]
    assert refused.value.field == field


ZONES = st.sampled_from(["Asia/Shanghai", "America/New_York", "America/Santiago", "UTC"])
INSTANTS = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2060, 1, 1), timezones=st.just(UTC)
)


@given(INSTANTS, st.integers(1, 400), st.integers(1, 400), ZONES, st.sampled_from(WindowMode))
def test_d4_window_end_is_monotone_and_after_the_delivery(
    delivered_at: datetime, days: int, more: int, zone: str, mode: WindowMode
) -> None:
    """D-4: a window always ends after its delivery, and a longer window never ends earlier."""
    settings = PolicySettings(time_zone=zone, window_mode=mode)
    shorter = window_end(delivered_at, days, settings)
    longer = window_end(delivered_at, days + more, settings)
    assert delivered_at < shorter < longer
    assert shorter.tzinfo == ZoneInfo(zone)


@given(INSTANTS, st.integers(1, 400), ZONES)
def test_d4_a_calendar_window_ends_at_a_local_day_start_after_n_full_days(
    delivered_at: datetime, days: int, zone: str
) -> None:
    """D-4: a calendar window ends on local date delivery + days + 1, at its first instant."""
    settings = PolicySettings(time_zone=zone)
    end = window_end(delivered_at, days, settings)
    local = delivered_at.astimezone(ZoneInfo(zone))
    assert end.date() == local.date() + timedelta(days=days + 1)
    just_before = (end.astimezone(UTC) - timedelta(seconds=1)).astimezone(ZoneInfo(zone))
    assert just_before.date() == local.date() + timedelta(days=days)
    assert real(end, delivered_at) > timedelta(days=days) - timedelta(hours=1)  # DST
