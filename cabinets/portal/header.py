"""The header of the citizen's cabinet: their name and the sign-out button, from the session
alone (a citizen serves no organization, so there is nothing to switch between or look up)."""

from __future__ import annotations

from starlette.requests import Request

from cabinets.web.guards import person
from cabinets.web.workplace import Workplace


def citizen_header(request: Request) -> Workplace:
    principal = person(request)
    assert principal is not None
    return Workplace(principal.name, [], None, [], False)
