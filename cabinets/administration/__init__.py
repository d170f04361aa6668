"""The pages that run an organization's cabinet: its staff and roles, answer templates,
reports, integrations, the widget, settings and the audit log."""

from starlette.routing import BaseRoute

from cabinets.administration import (
    audit,
    integrations,
    rating,
    reports,
    settings,
    staff,
    staff_roles,
    staff_status,
    templates,
    widget,
)

routes: list[BaseRoute] = [
    *staff_roles.routes,  # before the staff's /staff/{email}
    *staff_status.routes,
    *staff.routes,
    *templates.routes,
    *reports.routes,
    *rating.routes,
    *integrations.routes,
    *widget.routes,
    *settings.routes,
    *audit.routes,
]
