"""What every administration page takes from its request: the database, who is acting (as the
audit log names them), and the fields of a submitted form (without its CSRF token)."""

from __future__ import annotations

from starlette.requests import Request

from cabinets.web.guards import person
from tenancy.database import Database


def database(request: Request) -> Database:
    db: Database = request.app.state.database
    return db


def actor(request: Request) -> str:
    principal = person(request)
    assert principal is not None
    return principal.subject


async def form_fields(request: Request) -> dict[str, list[str]]:
    """Each field's values (a group of checkboxes sends one name many times)."""
    form = await request.form()
    fields: dict[str, list[str]] = {}
    for key, value in form.multi_items():
        if key != "csrf_token" and isinstance(value, str):
            fields.setdefault(key, []).append(value)
    return fields


def first(fields: dict[str, list[str]], name: str) -> str:
    return (fields.get(name) or [""])[0]
