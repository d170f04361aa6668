"""``POST /cabinet/{slug}/bulk``: the inbox's bulk form — the rows ticked, the action and its
detail. Each message is done (or not) on its own; the outcome of each is shown back on the
inbox the form came from (POST-redirect-GET, the outcomes kept in the session for one view)."""

from __future__ import annotations

import uuid

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from cabinets.cabinet.staff import database, staff_of
from cabinets.messages import bulk
from cabinets.web.guards import page_requires
from tenancy.errors import InvalidInput


def _targets(picked: list[str]) -> list[bulk.Target]:
    """Each ticked row is ``<message id>:<version it was shown at>``."""
    found = []
    for value in picked:
        message, _, version = value.partition(":")
        try:
            found.append(bulk.Target(uuid.UUID(message), int(version)))
        except ValueError:
            raise InvalidInput.one("messages", "отмеченная строка не распознана") from None
    return found


def _back(slug: str, given: str) -> str:
    """Back to the inbox view the form was on; nowhere else."""
    home = f"/cabinet/{slug}"
    if given == home or given.startswith(home + "?"):
        return given
    return home


@page_requires("message:read", own=True)
async def bulk_action(request: Request) -> Response:
    slug = request.path_params["slug"]
    async with request.form() as form:
        picked = [str(v) for v in form.getlist("pick")]
        action = str(form.get("action") or "")
        executor = str(form.get("executor") or "") or None
        comment = str(form.get("comment") or "") or None
        back = _back(slug, str(form.get("back") or ""))
    try:
        outcomes = await bulk.perform_many(
            database(request),
            staff_of(request),
            request.state.tenant_id,
            action,
            _targets(picked),
            executor=executor,
            comment=comment,
        )
    except InvalidInput as exc:
        request.session["bulk"] = {"errors": [[e.field, e.message] for e in exc.errors]}
        return RedirectResponse(back, status_code=303)
    # Numbers and codes only: the words are the inbox's, and a cookie holds little.
    request.session["bulk"] = {
        "action": action,
        "outcomes": [[o.number, o.code, o.status, o.detail[:120]] for o in outcomes],
    }
    return RedirectResponse(back, status_code=303)


routes = [Route("/cabinet/{slug}/bulk", bulk_action, methods=["POST"])]
