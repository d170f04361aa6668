"""The SLA clock counts by the production calendar, in the tenant's timezone."""

from __future__ import annotations

from datetime import UTC, date, datetime

from cabinets.sla import DayCount, add_days, deadline, is_working_day, remaining


def test_holidays_substituted_days_off_and_working_saturdays_follow_the_calendar() -> None:
    assert not is_working_day(date(2026, 1, 9))  # day off substituted from 3 January
    assert not is_working_day(date(2026, 3, 9))  # 8 March fell on a Sunday
    assert is_working_day(date(2025, 11, 1))  # a Saturday made a working day
    assert not is_working_day(date(2025, 11, 3))  # substituted day off


def test_working_days_skip_the_new_year_holidays() -> None:
    # Registered on 30 December 2025: the 31st is a day off, then the holidays to 11 January.
    assert add_days(date(2025, 12, 30), 1, DayCount.WORKING) == date(2026, 1, 12)
    assert add_days(date(2025, 12, 30), 10, DayCount.WORKING) == date(2026, 1, 23)
    assert add_days(date(2025, 12, 30), 10, DayCount.CALENDAR) == date(2026, 1, 9)


def test_a_deadline_is_the_end_of_its_last_day_in_the_tenants_timezone() -> None:
    # 20:00 UTC on 1 June is 23:00 in Moscow but already 2 June in Vladivostok (UTC+10).
    start = datetime(2026, 6, 1, 20, 0, tzinfo=UTC)
    here = deadline(start, 30, DayCount.CALENDAR, timezone="Europe/Moscow")
    there = deadline(start, 30, DayCount.CALENDAR, timezone="Asia/Vladivostok")
    assert here.isoformat() == "2026-07-01T23:59:59+03:00"
    assert there.isoformat() == "2026-07-02T23:59:59+10:00"


def test_due_soon_and_overdue() -> None:
    now = datetime(2026, 6, 1, 12, tzinfo=UTC)
    assert remaining(datetime(2026, 6, 1, 11, tzinfo=UTC), now) == "overdue"
    assert remaining(datetime(2026, 6, 3, 12, tzinfo=UTC), now) == "due_soon"
    assert remaining(datetime(2026, 6, 30, tzinfo=UTC), now) is None
    assert remaining(None, now) is None
