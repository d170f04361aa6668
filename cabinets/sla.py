"""The SLA clock: deadlines in calendar or working days, by the production calendar, in the
tenant's timezone.

A deadline is the end of its last day in the tenant's local time (a message due on the 10th
may be answered until 23:59:59 on the 10th there). Working days follow ``holidays.RU``:
weekends, public holidays and the days off substituted for them are skipped, and the
Saturdays made working days count.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

DUE_SOON = timedelta(days=3)  # "due soon" in the inbox: less than this left


class DayCount(StrEnum):
    CALENDAR = "calendar"
    WORKING = "working"


@lru_cache(maxsize=64)
def _days_off(code: str, year: int) -> frozenset[date]:
    """Every day of ``year`` that is not a working day (asked of ``holidays`` once a year:
    deadlines are computed on every intake and every registration)."""
    # Regional calendars ("ru-tatarstan") fall back to the federal one until they have their own.
    country = code.split("-", 1)[0].upper()
    calendar = holidays.country_holidays(country, years=year)
    first = date(year, 1, 1)
    days = (date(year + 1, 1, 1) - first).days
    return frozenset(
        day
        for day in (first + timedelta(days=n) for n in range(days))
        if not calendar.is_working_day(day)
    )


def is_working_day(day: date, calendar: str = "ru") -> bool:
    return day not in _days_off(calendar, day.year)


def add_days(day: date, days: int, count: DayCount, calendar: str = "ru") -> date:
    """The ``days``-th day after ``day`` (calendar days, or working days)."""
    if count is DayCount.CALENDAR:
        return day + timedelta(days=days)
    current = day
    left = days
    while left > 0:
        current += timedelta(days=1)
        if is_working_day(current, calendar):
            left -= 1
    return current


def deadline(
    start: datetime, days: int, count: DayCount, *, timezone: str, calendar: str = "ru"
) -> datetime:
    """The moment a period of ``days`` that starts at ``start`` ends: the end of its last day
    in ``timezone`` (an aware datetime)."""
    zone = ZoneInfo(timezone)
    last = add_days(start.astimezone(zone).date(), days, count, calendar)
    return datetime.combine(last, time(23, 59, 59), tzinfo=zone)


def remaining(due: datetime | None, now: datetime) -> str | None:
    """``overdue``, ``due_soon`` or None (on time or no deadline)."""
    if due is None:
        return None
    if due < now:
        return "overdue"
    if due - now <= DUE_SOON:
        return "due_soon"
    return None


@dataclass(frozen=True)
class TimeLeft:
    """How a running deadline stands, as staff read it: working days left (0: due today), or
    calendar days past it."""

    state: str  # on_time, due_soon, overdue
    working_days_left: int = 0
    days_overdue: int = 0


SOON_WORKING_DAYS = 2  # "due within 2 working days" in the cabinet


def time_left(due: datetime, now: datetime, *, timezone: str, calendar: str = "ru") -> TimeLeft:
    zone = ZoneInfo(timezone)
    today, last = now.astimezone(zone).date(), due.astimezone(zone).date()
    if due < now:
        return TimeLeft("overdue", days_overdue=max(1, (today - last).days))
    left = sum(
        1
        for n in range(1, (last - today).days + 1)
        if is_working_day(today + timedelta(days=n), calendar)
    )
    return TimeLeft("due_soon" if left <= SOON_WORKING_DAYS else "on_time", working_days_left=left)
