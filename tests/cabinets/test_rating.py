"""The regional rating's order: on time first, then the rating, then fewer reopened; an
organization with nothing answered yet or nothing rated ranks below any figure."""

from __future__ import annotations

from cabinets.messages.rating import rank_key
from cabinets.messages.reports import ReportRow


def row(group: str, on_time: float | None, rating: float | None, reopened: float) -> ReportRow:
    return ReportRow(
        group=group, total=10, by_status={}, answered=0 if on_time is None else 5,
        answered_on_time_share=on_time, average_days_to_answer=None, average_rating=rating,
        rated=0, reopened_share=reopened,
    )  # fmt: skip


def test_organizations_rank_by_on_time_then_rating_then_fewer_reopened() -> None:
    rows = [
        row("nothing-answered", None, None, 0.0),
        row("late", 0.5, 5.0, 0.0),
        row("on-time-reopened", 0.9, 4.0, 0.3),
        row("on-time-better-rated", 0.9, 4.5, 0.5),
        row("on-time-unrated", 0.9, None, 0.0),
        row("on-time-fewer-reopened", 0.9, 4.0, 0.1),
    ]
    assert [r.group for r in sorted(rows, key=rank_key)] == [
        "on-time-better-rated",
        "on-time-fewer-reopened",
        "on-time-reopened",
        "on-time-unrated",
        "late",
        "nothing-answered",
    ]
