"""Numbers and dates as Russian pages write them."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from cabinets.sla import TimeLeft

MOSCOW = ZoneInfo("Europe/Moscow")


def plural(n: int, one: str, few: str, many: str) -> str:
    """The noun form that goes with ``n``: 1 день, 2 дня, 5 дней, 11 дней, 21 день."""
    n = abs(n)
    if n % 10 == 1 and n % 100 != 11:
        return one
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return few
    return many


def ru_date(value: date | datetime | None, zone: str | None = None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.astimezone(ZoneInfo(zone) if zone else MOSCOW).date()
    return value.strftime("%d.%m.%Y")


def ru_datetime(value: datetime | None, zone: str | None = None) -> str:
    if value is None:
        return ""
    return value.astimezone(ZoneInfo(zone) if zone else MOSCOW).strftime("%d.%m.%Y %H:%M")


def deadline_words(left: TimeLeft) -> str:
    """«осталось 2 раб. дня», «срок истекает сегодня», «просрочено на 3 дня»."""
    if left.state == "overdue":
        n = left.days_overdue
        return f"просрочено на {n} {plural(n, 'день', 'дня', 'дней')}"
    n = left.working_days_left
    if n == 0:
        return "срок истекает сегодня"
    return f"осталось {n} раб. {plural(n, 'день', 'дня', 'дней')}"
