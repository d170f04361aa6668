"""The reports page's figures as a person reads them: each row's cells formatted, the on-time
chart and the weekly trend drawn as SVG. Done here rather than in the template: a region's
report has some five hundred rows and bars, and a template's macros and filters on each cost
more than summing the figures does."""

from __future__ import annotations

from dataclasses import dataclass

from markupsafe import Markup, escape

from cabinets.messages.reports import ReportRow, WeekRow

BAR, GAP = 22, 10  # the on-time chart: a bar's height and the space between bars
COLUMN, TREND_TOP = 36, 140  # the trend: a week's width, the tallest column's height


def percent(share: float | None) -> str:
    return "—" if share is None else f"{share * 100:.0f} %"


def number(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}".replace(".", ",")


@dataclass(frozen=True)
class ReportLine:
    """One row of the report's table, every cell as it is shown."""

    label: str
    total: int
    answered: int
    on_time: str
    days: str
    rating: str
    reopened: str
    overdue: int


def report_lines(rows: list[ReportRow], labels: dict[str, str]) -> list[ReportLine]:
    return [
        ReportLine(
            label=labels.get(row.group, row.group), total=row.total, answered=row.answered,
            on_time=percent(row.answered_on_time_share), days=number(row.average_days_to_answer),
            rating=number(row.average_rating), reopened=percent(row.reopened_share),
            overdue=row.overdue_now,
        )
        for row in rows
    ]  # fmt: skip


def on_time_height(rows: list[ReportRow]) -> int:
    return len(rows) * (BAR + GAP) + GAP


def on_time_bars(rows: list[ReportRow], labels: dict[str, str]) -> Markup:
    """A bar per group: the share answered on time of 320 units, its label cut to fit."""
    parts: list[str] = []
    for index, row in enumerate(rows):
        y = GAP + index * (BAR + GAP)
        width = round((row.answered_on_time_share or 0) * 320, 1)
        label = escape(labels.get(row.group, row.group)[:28])
        parts.append(
            f'<text x="0" y="{y + 16}" class="chart-label">{label}</text>'
            f'<rect x="240" y="{y}" width="320" height="{BAR}" class="chart-track"></rect>'
            f'<rect x="240" y="{y}" width="{width}" height="{BAR}" class="chart-bar"></rect>'
            f'<text x="568" y="{y + 16}" class="chart-value">'
            f"{percent(row.answered_on_time_share)}</text>"
        )
    # Safe: the one text from outside, the label, is escaped above; the rest are numbers.
    return Markup("\n".join(parts))  # noqa: S704


def trend_width(trend: list[WeekRow]) -> int:
    return max(len(trend), 16) * COLUMN + 20


def trend_columns(trend: list[WeekRow]) -> Markup:
    """Two columns a week, received and answered, scaled to the busiest week."""
    peak = max((week.received for week in trend), default=0)
    parts: list[str] = []
    for index, week in enumerate(trend):
        x = 10 + index * COLUMN
        received = week.received / peak * TREND_TOP if peak else 0
        answered = week.answered / peak * TREND_TOP if peak else 0
        parts.append(
            f'<rect x="{x}" y="{150 - received}" width="14" height="{round(received, 1)}" '
            f'class="chart-track-dark"></rect>'
            f'<rect x="{x + 15}" y="{150 - answered}" width="14" height="{round(answered, 1)}" '
            f'class="chart-bar"></rect>'
            f'<text x="{x}" y="170" class="chart-axis">{week.week:%d.%m}</text>'
        )
    return Markup("\n".join(parts))  # noqa: S704 -- numbers and dates only
