"""Service targets of exception cases (EX-5, TM-7): each due instant at its exact boundary,
computed on UTC instants (D-18), due at its own instant (D-15)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orderflow import InvalidConfiguration, InvalidInput
from orderflow.incidents import ExceptionType, Priority, ServiceTargets, is_due
from orderflow.incidents.targets import (
    DEFAULT_ACKNOWLEDGE,
    DEFAULT_PRIORITIES,
    DEFAULT_SOLUTION_BY_TYPE,
)

T = ExceptionType
TARGETS = ServiceTargets()
OPENED = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
SHANGHAI = ZoneInfo("Asia/Shanghai")
NEW_YORK = ZoneInfo("America/New_York")


@pytest.mark.parametrize(
    ("priority", "just_before", "due"),
    [
        (Priority.URGENT, timedelta(minutes=29, seconds=59), timedelta(minutes=30)),
        (Priority.HIGH, timedelta(minutes=59, seconds=59), timedelta(hours=1)),
        (Priority.NORMAL, timedelta(hours=3, minutes=59, seconds=59), timedelta(hours=4)),
    ],
)
def test_ex5_tm7_acknowledge_targets_at_their_exact_instant(
    priority: Priority, just_before: timedelta, due: timedelta
) -> None:
    """EX-5, TM-7, D-15: urgent 30 min, high 1 h, normal 4 h; 29:59 is not due, 30:00 is."""
    deadline = TARGETS.acknowledge_due(priority, OPENED)
    assert deadline == OPENED + due
    assert not is_due(deadline, OPENED + just_before)
    assert is_due(deadline, OPENED + due)
    assert is_due(deadline, OPENED + due + timedelta(microseconds=1))


@pytest.mark.parametrize(
    ("type", "hours"),
    [
        (T.OUT_OF_STOCK, 24),
        (T.LOGISTICS_LOST, 24),
        (T.SUSPECTED_FRAUD, 24),
        (T.COMPLAINT, 48),
        (T.QUALITY_DISPUTE, 48),
    ],
)
def test_ex5_tm7_solution_targets_at_their_exact_instant(type: ExceptionType, hours: int) -> None:
    """EX-5, TM-7: a solution within 24 h of opening, complaints within 48 h; 47:59:59 is
    not due for a complaint, 48:00:00 is."""
    deadline = TARGETS.solution_due(type, OPENED)
    assert deadline == OPENED + timedelta(hours=hours)
    assert not is_due(deadline, deadline - timedelta(seconds=1))
    assert is_due(deadline, deadline)


def test_ex5_the_follow_up_is_24_hours_after_closing() -> None:
    """EX-5: the follow-up call is due 24 hours after the case is closed, and can be off."""
    closed = datetime(2026, 3, 11, 17, 30, tzinfo=UTC)
    due = TARGETS.follow_up_due(closed)
    assert due == closed + timedelta(hours=24)
    assert not is_due(due, closed + timedelta(hours=23, minutes=59, seconds=59))
    assert is_due(due, closed + timedelta(hours=24))
    assert ServiceTargets(follow_up=None).follow_up_due(closed) is None


def test_d18_targets_are_real_time_across_a_daylight_saving_change() -> None:
    """D-18: 4 hours from 00:30 in New York on the night clocks spring forward is 05:30
    local (4 real hours), and the result is the UTC instant."""
    opened = datetime(2026, 3, 8, 0, 30, tzinfo=NEW_YORK)  # EST, UTC-5; DST starts at 02:00
    due = TARGETS.acknowledge_due(Priority.NORMAL, opened)
    assert due.tzinfo is UTC
    assert due == datetime(2026, 3, 8, 9, 30, tzinfo=UTC)
    assert due.astimezone(NEW_YORK).hour == 5  # wall-clock arithmetic would give 04:30
    assert due - opened.astimezone(UTC) == timedelta(hours=4)


def test_d15_is_due_compares_instants_whatever_their_zones() -> None:
    """D-15: a due instant given in one zone is reached by the same instant in another."""
    due = datetime(2026, 3, 10, 17, 0, tzinfo=SHANGHAI)  # 09:00 UTC
    assert is_due(due, datetime(2026, 3, 10, 9, 0, tzinfo=UTC))
    assert not is_due(due, datetime(2026, 3, 10, 8, 59, 59, 999999, tzinfo=UTC))


@given(
    opened=st.datetimes(
        min_value=datetime(1970, 1, 2),
        max_value=datetime(8990, 1, 1),
        timezones=st.sampled_from([UTC, SHANGHAI, NEW_YORK]),
    ),
    priority=st.sampled_from(Priority),
    type=st.sampled_from(ExceptionType),
)
def test_d18_each_due_instant_is_the_duration_in_real_time(
    opened: datetime, priority: Priority, type: ExceptionType
) -> None:
    """D-18, D-15: every due instant is UTC and exactly its duration after the start, in
    real seconds; it is not due a microsecond before and is due at the instant."""
    start = opened.astimezone(UTC)
    due_times = {
        TARGETS.acknowledge_due(priority, opened): DEFAULT_ACKNOWLEDGE[priority],
        TARGETS.solution_due(type, opened): DEFAULT_SOLUTION_BY_TYPE.get(type, timedelta(1)),
    }
    for due, duration in due_times.items():
        assert due.tzinfo is UTC
        assert due - start == duration
        assert not is_due(due, due - timedelta(microseconds=1))
        assert is_due(due, due)


@pytest.mark.parametrize("type", list(ExceptionType))
def test_ex5_the_priority_the_classifier_gives_each_type(type: ExceptionType) -> None:
    """EX-5: fraud is urgent; lost or damaged parcels, money taken wrongly, quality disputes
    and complaints are high; every other type is normal."""
    high = {
        T.LOGISTICS_LOST,
        T.LOGISTICS_DAMAGED,
        T.DUPLICATE_PAYMENT,
        T.PAYMENT_AFTER_CLOSE,
        T.QUALITY_DISPUTE,
        T.COMPLAINT,
    }
    expected = (
        Priority.URGENT
        if type is T.SUSPECTED_FRAUD
        else Priority.HIGH
        if type in high
        else Priority.NORMAL
    )
    assert TARGETS.priority_for(type) is expected


def test_ex5_a_shop_configures_its_targets() -> None:
    """EX-5: every target and priority is configurable."""
    targets = ServiceTargets(
        acknowledge={
            Priority.URGENT: timedelta(minutes=15),
            Priority.HIGH: timedelta(minutes=15),
            Priority.NORMAL: timedelta(hours=8),
        },
        solution=timedelta(hours=12),
        solution_by_type={T.LOGISTICS_LOST: timedelta(hours=72)},
        follow_up=timedelta(hours=2),
        priorities={T.OUT_OF_STOCK: Priority.HIGH},
        default_priority=Priority.URGENT,
    )
    assert targets.acknowledge_due(Priority.HIGH, OPENED) == OPENED + timedelta(minutes=15)
    assert targets.solution_due(T.COMPLAINT, OPENED) == OPENED + timedelta(hours=12)
    assert targets.solution_due(T.LOGISTICS_LOST, OPENED) == OPENED + timedelta(hours=72)
    assert targets.follow_up_due(OPENED) == OPENED + timedelta(hours=2)
    assert targets.priority_for(T.OUT_OF_STOCK) is Priority.HIGH
    assert targets.priority_for(T.SUSPECTED_FRAUD) is Priority.URGENT  # the default
    assert DEFAULT_PRIORITIES[T.SUSPECTED_FRAUD] is Priority.URGENT


_ACK = dict(DEFAULT_ACKNOWLEDGE)


@pytest.mark.parametrize(
    ("changes", "setting"),
    [
        ({"acknowledge": {Priority.URGENT: timedelta(minutes=30)}}, "targets.acknowledge"),
        ({"acknowledge": [timedelta(1)]}, "targets.acknowledge"),
        ({"acknowledge": {**_ACK, Priority.URGENT: timedelta(0)}},
         "targets.acknowledge[urgent]"),
        ({"acknowledge": {**_ACK, Priority.HIGH: 3600}}, "targets.acknowledge[high]"),
        ({"acknowledge": {**_ACK, Priority.URGENT: timedelta(hours=2)}}, "targets.acknowledge"),
        ({"solution": timedelta(seconds=-1)}, "targets.solution"),
        ({"solution": timedelta(days=3651)}, "targets.solution"),
        ({"solution": 24}, "targets.solution"),
        ({"solution_by_type": {"complaint": timedelta(1)}}, "targets.solution_by_type"),
        ({"solution_by_type": {T.COMPLAINT: timedelta(0)}},
         "targets.solution_by_type[complaint]"),
        ({"solution_by_type": ()}, "targets.solution_by_type"),
        ({"follow_up": timedelta(0)}, "targets.follow_up"),
        ({"priorities": {T.COMPLAINT: "high"}}, "targets.priorities[complaint]"),
        ({"priorities": {"complaint": Priority.HIGH}}, "targets.priorities"),
        ({"priorities": None}, "targets.priorities"),
        ({"default_priority": "normal"}, "targets.default_priority"),
    ],
)  # fmt: skip
def test_ex5_malformed_targets_are_refused(changes: dict[str, object], setting: str) -> None:
    """EX-5: a target of zero or below, above 3650 days, of the wrong kind, response times
    out of order or missing a priority: a configuration error naming the setting."""
    with pytest.raises(InvalidConfiguration) as raised:
        ServiceTargets(**changes)  # type: ignore[arg-type]
    assert raised.value.setting == setting


def test_ex5_targets_refuse_bad_arguments() -> None:
    """EX-5: a naive time or a value of the wrong kind is refused, naming the argument."""
    with pytest.raises(InvalidInput, match="opened_at"):
        TARGETS.acknowledge_due(Priority.URGENT, datetime(2026, 3, 10, 9, 0))
    with pytest.raises(InvalidInput, match="priority"):
        TARGETS.acknowledge_due("urgent", OPENED)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="type"):
        TARGETS.solution_due("complaint", OPENED)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="type"):
        TARGETS.priority_for("complaint")  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="closed_at"):
        TARGETS.follow_up_due("2026-03-10")  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="now"):
        is_due(OPENED, datetime(2026, 3, 10, 9, 0))
