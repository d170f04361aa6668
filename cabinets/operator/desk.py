"""What every operator page needs: the database, the routing index, who acts, and the header."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from cabinets.web.guards import person
from cabinets.web.rendering import private_page
from cabinets.web.workplace import workplace
from tenancy.database import Database
from tenancy.routing.cache import RoutingCache
from tenancy.routing.resolver import RoutingIndex


def database(request: Request) -> Database:
    db: Database = request.app.state.database
    return db


async def routing_index(request: Request) -> RoutingIndex:
    cache: RoutingCache = request.app.state.routing
    return await cache.index()


def routing_changed(request: Request) -> None:
    """The next page of this process sees a change at once, without waiting for the change
    feed's notification (which still tells every other process)."""
    cache: RoutingCache = request.app.state.routing
    cache.invalidate()


def operator_id(request: Request) -> uuid.UUID:
    principal = person(request)
    assert principal is not None  # the guard let them in
    assert principal.user_id is not None
    return principal.user_id


def actor(request: Request) -> str:
    principal = person(request)
    assert principal is not None
    return f"web:{principal.display_name}"


async def operator_page(request: Request, name: str, status: int = 200, **context: Any) -> Response:
    """An operator's page with its header; never cached."""
    context.setdefault("notice", request.query_params.get("notice"))
    return private_page(
        request, f"operator/{name}", status, workplace=await workplace(request), **context
    )


def back(path: str, notice: str) -> Response:
    """POST-redirect-GET, with what the action did."""
    separator = "&" if "?" in path else "?"
    return RedirectResponse(f"{path}{separator}{urlencode({'notice': notice})}", status_code=303)
