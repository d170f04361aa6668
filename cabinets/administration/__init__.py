"""The pages that run an organization's cabinet: its staff and roles, answer templates and
reports."""

from starlette.routing import BaseRoute

from cabinets.administration import (
    audit,
    integrations,
    rating,
    reports,
    settings,
    staff,
    templates,
    widget,
)

routes: list[BaseRoute] = [
    *staff.routes,
    *templates.routes,
    *reports.routes,
    *rating.routes,
    *integrations.routes,
    *widget.routes,
    *settings.routes,
    *audit.routes,
]
