"""Coverage: topics (or categories) × the territories of one level, each cell covered, partly
covered or nobody (in words and colour), opening the gap report of that cell (a page and CSV)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from cabinets.operator.desk import database, operator_page, routing_index
from cabinets.operator.wording import LABELS, STATUS_WORDS, russian
from cabinets.web.forms import FormErrors
from cabinets.web.guards import page_requires
from cabinets.web.rendering import PRIVATE
from tenancy.errors import FieldError, InvalidInput
from tenancy.routing import coverage
from tenancy.routing.coverage import CellState, RowKind

CELL_WORDS = {
    CellState.COVERED: "покрыто",
    CellState.PARTLY: "частично",
    CellState.NOBODY: "никто",
    CellState.NONE: "нет тем",
}


def _day(request: Request) -> date:
    given = request.query_params.get("on")
    try:
        return date.fromisoformat(given) if given else datetime.now(UTC).date()
    except ValueError:
        raise InvalidInput([FieldError("on", "", code="date_parsing")]) from None


def _gaps_link(row: str, column: str, day: date) -> str:
    return "/operator/coverage/gaps?" + urlencode({"row": row, "column": column, "on": day})


@page_requires("routing:edit", tenant_param=None)
async def coverage_page(request: Request) -> Response:
    query = request.query_params
    kind = RowKind.TOPICS if query.get("rows") == RowKind.TOPICS else RowKind.CATEGORIES
    within = query.get("within") or None
    category = query.get("category") or None
    try:
        found = await coverage.matrix(
            database(request),
            await routing_index(request),
            kind=kind,
            within=within,
            category=category,
            day=_day(request),
        )
    except InvalidInput as exc:
        return await operator_page(
            request,
            "coverage.html",
            422,
            matrix=None,
            kind=kind,
            within=within,
            category=category,
            errors=FormErrors.of(russian(exc.errors), LABELS),
        )
    return await operator_page(
        request,
        "coverage.html",
        matrix=found,
        kind=kind,
        within=within,
        category=category,
        errors=FormErrors(),
        words=CELL_WORDS,
        gaps_link=_gaps_link,
        status_words=STATUS_WORDS,
    )


async def _report(request: Request) -> coverage.CellGaps:
    query = request.query_params
    return await coverage.cell_gaps(
        database(request),
        await routing_index(request),
        row=query.get("row") or "",
        column=query.get("column") or "",
        day=_day(request),
    )


@page_requires("routing:edit", tenant_param=None)
async def gaps_page(request: Request) -> Response:
    try:
        report = await _report(request)
    except InvalidInput as exc:
        return await operator_page(
            request,
            "gaps.html",
            422,
            report=None,
            errors=FormErrors.of(russian(exc.errors), LABELS),
        )
    return await operator_page(
        request,
        "gaps.html",
        report=report,
        words=CELL_WORDS,
        errors=FormErrors(),
        csv_link="/operator/coverage/gaps.csv?" + request.url.query,
        status_words=STATUS_WORDS,
    )


@page_requires("routing:edit", tenant_param=None)
async def gaps_csv(request: Request) -> Response:
    report = await _report(request)
    name = f"gaps-{report.row.code}-{report.column.code}.csv"
    return Response(
        coverage.cell_gaps_csv(report),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"', **PRIVATE},
    )


routes = [
    Route("/operator/coverage", coverage_page, methods=["GET"]),
    Route("/operator/coverage/gaps", gaps_page, methods=["GET"]),
    Route("/operator/coverage/gaps.csv", gaps_csv, methods=["GET"]),
]
