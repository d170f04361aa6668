"""The working calendar as the SLA clock counts it, for people to read: the days ahead that
differ from an ordinary week (holidays and substituted days off on weekdays, Saturdays or
Sundays made working days), with the production calendar's own names for them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import holidays

from cabinets.sla import is_working_day

WEEKEND = (5, 6)


@dataclass(frozen=True)
class SpecialDay:
    day: date
    working: bool  # a weekend day worked; otherwise a weekday off
    name: str


def special_days(calendar: str, start: date, days: int = 366) -> list[SpecialDay]:
    """The days from ``start`` on, for ``days`` days, that the calendar makes unusual."""
    country = calendar.split("-", 1)[0].upper()
    years = range(start.year, (start + timedelta(days=days)).year + 1)
    # A country without Russian names is named in its default language by the library itself.
    names = holidays.country_holidays(country, years=years, language="ru")
    found = []
    for n in range(days):
        day = start + timedelta(days=n)
        working = is_working_day(day, calendar)
        weekend = day.weekday() in WEEKEND
        if working and weekend:
            found.append(SpecialDay(day, True, "рабочий день (перенос выходного)"))
        elif not working and not weekend:
            found.append(SpecialDay(day, False, names.get(day) or "нерабочий день"))
    return found
