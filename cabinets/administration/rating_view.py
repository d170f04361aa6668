"""The regional rating's rows as a person reads them, each cell formatted here: a region has
some five hundred organizations, and a template's macros on each cost more than ranking them."""

from __future__ import annotations

from dataclasses import dataclass

from cabinets.administration.report_view import number, percent
from cabinets.messages.rating import RatedOrganization


@dataclass(frozen=True)
class RatedLine:
    place: int
    tenant: str
    on_time: str
    rating: str
    reopened: str
    overdue_now: int


def rated_lines(ranked: list[RatedOrganization]) -> list[RatedLine]:
    return [
        RatedLine(
            place=row.place, tenant=row.tenant, on_time=percent(row.answered_on_time_share),
            rating=number(row.average_rating), reopened=percent(row.reopened_share),
            overdue_now=row.overdue_now,
        )
        for row in ranked
    ]  # fmt: skip
