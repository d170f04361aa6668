"""How a deadline reads in the cabinet: working days left, or days past it, in Russian."""

from __future__ import annotations

from datetime import UTC, datetime

from cabinets.sla import time_left
from cabinets.web.russian import deadline_words, plural

MOSCOW = "Europe/Moscow"


def test_russian_nouns_agree_with_their_number() -> None:
    forms = [plural(n, "день", "дня", "дней") for n in (1, 2, 5, 11, 12, 21, 22, 25, 111)]
    assert forms == ["день", "дня", "дней", "дней", "дней", "день", "дня", "дней", "дней"]


def test_working_days_left_skip_the_weekend() -> None:
    friday = datetime(2026, 12, 4, 9, tzinfo=UTC)
    due_tuesday = datetime(2026, 12, 8, 20, 59, 59, tzinfo=UTC)
    left = time_left(due_tuesday, friday, timezone=MOSCOW)
    assert (left.state, left.working_days_left) == ("due_soon", 2)
    assert deadline_words(left) == "осталось 2 раб. дня"


def test_a_deadline_passed_three_days_ago_says_so() -> None:
    due = datetime(2026, 12, 1, 20, 59, 59, tzinfo=UTC)
    left = time_left(due, datetime(2026, 12, 4, 12, tzinfo=UTC), timezone=MOSCOW)
    assert left.state == "overdue"
    assert deadline_words(left) == "просрочено на 3 дня"


def test_a_deadline_at_the_end_of_today_is_due_today() -> None:
    due = datetime(2026, 12, 3, 20, 59, 59, tzinfo=UTC)
    left = time_left(due, datetime(2026, 12, 3, 8, tzinfo=UTC), timezone=MOSCOW)
    assert deadline_words(left) == "срок истекает сегодня"
    far = time_left(datetime(2026, 12, 30, tzinfo=UTC), datetime(2026, 12, 3, tzinfo=UTC),
                    timezone=MOSCOW)  # fmt: skip
    assert far.state == "on_time"
