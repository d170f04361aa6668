"""The territories: the tree browsed level by level, search by name or code, and the CSV
import (upload) with every problem listed as ``file:line: field: message``, as the command
line lists them; nothing is stored when anything is wrong."""

from __future__ import annotations

import tempfile
from pathlib import Path

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from cabinets.operator.desk import actor, back, database, operator_id, operator_page
from cabinets.operator.wording import TERRITORY_WORDING, russian
from cabinets.web.guards import page_requires
from tenancy.errors import FieldError, InvalidInput
from tenancy.territories import service as territories
from tenancy.territories.tree import territory_level

MAX_UPLOAD = 20 * 1024 * 1024  # a whole country's territories fit in a few megabytes


async def _page(request: Request, status: int = 200, problems: list[str] | None = None) -> Response:
    query = request.query_params
    search = (query.get("q") or "").strip()
    db = database(request)
    found = await territories.find_territories(db, search, limit=50) if search else []
    level = await territory_level(db, query.get("under") or None)
    return await operator_page(
        request,
        "territories.html",
        status,
        search=search,
        found=found,
        level=level,
        problems=problems or [],
    )


@page_requires("catalog:edit", tenant_param=None)
async def territories_page(request: Request) -> Response:
    return await _page(request)


def _line(error: FieldError, folder: str) -> str:
    """``file:line: field: message``, with the upload's own name for the file."""
    where = (error.location or "").replace(folder + "/", "")
    return (
        f"{where}: {error.field}: {error.message}" if where else f"{error.field}: {error.message}"
    )


@page_requires("catalog:edit", tenant_param=None)
async def import_territories(request: Request) -> Response:
    async with request.form(max_part_size=MAX_UPLOAD) as form:
        upload = form.get("file")
        if not isinstance(upload, UploadFile) or not upload.filename:
            return await _page(request, 422, ["Файл: выберите CSV-файл с территориями"])
        data = await upload.read()
        name = Path(upload.filename).name or "territories.csv"
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(data)
        try:
            counts = await territories.import_territories(
                database(request), path, actor=actor(request), operator=operator_id(request)
            )
        except InvalidInput as exc:
            problems = [_line(e, folder) for e in russian(exc.errors, TERRITORY_WORDING)]
            return await _page(request, 422, problems)
    return back(
        "/operator/territories",
        f"Территории загружены из «{name}»: новых {counts['created']}, "
        f"изменено {counts['updated']}, без изменений {counts['unchanged']}",
    )


routes = [
    Route("/operator/territories", territories_page, methods=["GET"]),
    Route("/operator/territories/import", import_territories, methods=["POST"]),
]
