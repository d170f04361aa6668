"""Access for pages. Each page declares what it needs exactly as the JSON endpoints do (the
same ``Access`` record, so the test that no route is left open covers pages too), but answers
people with pages: the sign-in page for someone not signed in, the one refusal page for a
missing permission, an unknown organization or another organization's object."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from functools import wraps
from urllib.parse import urlencode

import structlog
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from cabinets.web.rendering import refusal_page
from rbac.access import Access, Endpoint, Principal
from rbac.permissions import get_permission
from rbac.roles import PLATFORM_DOMAIN
from rbac.sync import LivePolicy
from tenancy.errors import Forbidden, NotFound

log = structlog.get_logger(__name__)


def person(request: Request) -> Principal | None:
    """The signed-in person behind a page request (API tokens do not use pages)."""
    user = request.scope.get("user")
    return user if isinstance(user, Principal) and user.user_id is not None else None


def to_sign_in(request: Request) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if request.method != "GET":
        target = request.url.path
    return RedirectResponse(f"/auth/sign-in?{urlencode({'next': target})}", status_code=303)


async def _answered(endpoint: Endpoint, request: Request) -> Response:
    """What a service refuses for this object becomes the refusal page, never a problem
    document or a trace; nothing was changed (each service refuses before it writes)."""
    try:
        return await endpoint(request)
    except NotFound:
        return refusal_page(request, 404)
    except Forbidden:
        return refusal_page(request, 403)


def page_signed_in(endpoint: Endpoint) -> Endpoint:
    @wraps(endpoint)
    async def guarded(request: Request) -> Response:
        if person(request) is None:
            return to_sign_in(request)
        return await _answered(endpoint, request)

    guarded.__access__ = Access("signed_in")  # type: ignore[attr-defined]
    return guarded


def page_requires(
    permission: str, *, tenant_param: str | None = "slug", own: bool = False
) -> Callable[[Endpoint], Endpoint]:
    """``permission`` in the organization the path names (or on the platform, with
    ``tenant_param=None``); ``own``: also from a reach limited to one's own assignments, which
    the service checks against the object."""
    get_permission(permission)

    def declare(endpoint: Endpoint) -> Endpoint:
        @wraps(endpoint)
        async def guarded(request: Request) -> Response:
            principal = person(request)
            if principal is None:
                return to_sign_in(request)
            policy: LivePolicy = request.app.state.policy
            if not policy.ready.is_set():
                return refusal_page(request, 503)
            if tenant_param is None:
                domain = PLATFORM_DOMAIN
            else:
                found = policy.slugs.get(request.path_params[tenant_param])
                if found is None:
                    return refusal_page(request, 404)
                domain = found
            if not policy.enforcer.allowed(principal.subject, domain, permission, assigned=own):
                log.info("page refused", subject=principal.subject, permission=permission)
                # An organization the person does not serve at all is not confirmed to exist.
                serves = tenant_param is None or policy.enforcer.allowed(
                    principal.subject, domain, "message:read", assigned=True
                )
                return refusal_page(request, 403 if serves else 404)
            if tenant_param is not None:
                request.state.tenant_id = uuid.UUID(domain)
            return await _answered(endpoint, request)

        guarded.__access__ = Access("permission", permission, tenant_param, own)  # type: ignore[attr-defined]
        return guarded

    return declare
