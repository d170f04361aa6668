"""The signed-in person as the message services know staff."""

from __future__ import annotations

from starlette.requests import Request

from cabinets.messages.actors import Staff
from cabinets.web.guards import person
from tenancy.database import Database


def staff_of(request: Request) -> Staff:
    principal = person(request)
    # The page's guard saw to both.
    assert principal is not None
    assert principal.user_id is not None
    return Staff(principal.user_id, principal.subject, request.app.state.policy.enforcer)


def database(request: Request) -> Database:
    db: Database = request.app.state.database
    return db
