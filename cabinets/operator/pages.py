"""Every operator page's route, for the app to mount in one line."""

from __future__ import annotations

from starlette.routing import BaseRoute

from cabinets.operator import (
    catalog,
    coverage,
    home,
    organizations,
    queue,
    routing,
    territories,
)

routes: list[BaseRoute] = [
    *home.routes,
    *queue.routes,
    *routing.routes,
    *coverage.routes,
    *catalog.routes,
    *territories.routes,
    *organizations.routes,
]
