"""The pages that run an organization's cabinet: its staff and roles, answer templates and
reports."""

from starlette.routing import BaseRoute

from cabinets.administration import rating, reports, staff, templates

routes: list[BaseRoute] = [*staff.routes, *templates.routes, *reports.routes, *rating.routes]
