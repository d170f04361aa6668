"""Every route of the cabinet's inbox pages, for the app to mount in one line."""

from __future__ import annotations

from starlette.routing import BaseRoute

from cabinets.cabinet import bulk, home, inbox_page, live, rollup_page

routes: list[BaseRoute] = [
    *home.routes,
    *rollup_page.routes,
    *bulk.routes,
    *live.routes,
    *inbox_page.routes,
]
