"""The pages that run an organization's cabinet: its staff and roles, and more to come."""

from starlette.routing import BaseRoute

from cabinets.administration import staff, templates

routes: list[BaseRoute] = [*staff.routes, *templates.routes]
