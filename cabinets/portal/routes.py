"""Every route of the citizen's side, for the app to mount in one line."""

from __future__ import annotations

from starlette.routing import BaseRoute

from cabinets.portal import account_pages, cabinet_pages, front_pages

routes: list[BaseRoute] = [*front_pages.routes, *account_pages.routes, *cabinet_pages.routes]
