"""Access at the HTTP edge: who is calling, and what each route requires.

Every endpoint is declared with exactly one of

* ``@public`` — anyone, signed in or not;
* ``@signed_in`` — any authenticated caller, no tenant permission;
* ``@requires("object:action")`` — that permission in the tenant the path names
  (``{slug}``), checked against the live policy in microseconds, so the event loop never
  waits on it.

``tests/cabinets/test_access.py`` fails on any route that declares none of them.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import wraps
from typing import Protocol

import structlog
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.authentication import (
    AuthCredentials,
    AuthenticationBackend,
    AuthenticationError,
    BaseUser,
)
from starlette.exceptions import HTTPException
from starlette.requests import HTTPConnection, Request
from starlette.responses import Response

from rbac import tokens, web_sessions
from rbac.permissions import get_permission
from rbac.roles import PLATFORM_DOMAIN
from rbac.sync import LivePolicy

Endpoint = Callable[[Request], Awaitable[Response]]
LAST_USE_PRECISION = timedelta(minutes=1)  # how stale ``last_used_at`` may get, to spare writes

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Access:
    kind: str  # public, signed_in, permission
    permission: str | None = None
    tenant_param: str | None = None
    own: bool = False  # also on the caller's own assignments (checked again by the service)


def public(endpoint: Endpoint) -> Endpoint:
    endpoint.__access__ = Access("public")  # type: ignore[attr-defined]
    return endpoint


def route_access(endpoint: object) -> Access | None:
    access = getattr(endpoint, "__access__", None)
    return access if isinstance(access, Access) else None


@dataclass(frozen=True)
class Principal(BaseUser):
    """An authenticated caller: a person, or an API token acting for one tenant."""

    subject: str  # the policy subject: a user id, or token:<id>
    name: str
    kind: str  # user, token
    tenant_id: uuid.UUID | None = None  # a token's tenant
    role: str | None = None  # a token's role

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def display_name(self) -> str:
        return self.name

    @property
    def user_id(self) -> uuid.UUID | None:
        """The person behind the request; None for an API token."""
        return uuid.UUID(self.subject) if self.kind == "user" else None


def _principal(request: Request) -> Principal:
    user = request.scope.get("user")
    if not isinstance(user, Principal):
        raise HTTPException(
            401,
            "sign in, or send an API token as 'Authorization: Bearer prn_…'",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return user


def signed_in(endpoint: Endpoint) -> Endpoint:
    @wraps(endpoint)
    async def guarded(request: Request) -> Response:
        _principal(request)
        return await endpoint(request)

    guarded.__access__ = Access("signed_in")  # type: ignore[attr-defined]
    return guarded


def requires(
    permission: str, *, tenant_param: str | None = "slug", own: bool = False
) -> Callable[[Endpoint], Endpoint]:
    """Guard an endpoint with ``permission`` in the tenant its path names, or on the platform
    (``tenant_param=None``) for operator work such as the catalog and routing.

    ``own``: the permission may also come from a reach limited to the caller's own assignments
    (an executor's); the service then checks it against the object itself."""
    get_permission(permission)  # an unknown name fails at import, not at request time

    def declare(endpoint: Endpoint) -> Endpoint:
        @wraps(endpoint)
        async def guarded(request: Request) -> Response:
            principal = _principal(request)
            policy: LivePolicy = request.app.state.policy
            if not policy.ready.is_set():
                raise HTTPException(503, "permissions are still loading; retry in a moment")
            if tenant_param is None:
                slug, domain = PLATFORM_DOMAIN, PLATFORM_DOMAIN
            else:
                slug = request.path_params[tenant_param]
                found = policy.slugs.get(slug)
                if found is None:
                    raise HTTPException(404, f"tenant {slug!r} not found")
                domain = found
            if not policy.enforcer.allowed(principal.subject, domain, permission, assigned=own):
                log.info(
                    "access refused", subject=principal.subject, tenant=slug, permission=permission
                )
                if (
                    tenant_param is not None
                    and principal.kind == "token"
                    and str(principal.tenant_id) != domain
                ):
                    # A token never learns what exists beyond the organization it acts for.
                    raise HTTPException(404, f"tenant {slug!r} not found")
                raise HTTPException(403, f"this needs the permission {permission} in {slug!r}")
            if tenant_param is not None:
                request.state.tenant_id = uuid.UUID(domain)
            return await endpoint(request)

        guarded.__access__ = Access("permission", permission, tenant_param, own)  # type: ignore[attr-defined]
        return guarded

    return declare


class Sessions(Protocol):
    def public_session(self) -> AbstractAsyncContextManager[AsyncSession]: ...

    def tenant_session(
        self, tenant_ids: list[uuid.UUID]
    ) -> AbstractAsyncContextManager[AsyncSession]: ...


class Credentials(AuthenticationBackend):
    """Authenticates ``Authorization: Bearer prn_…`` (integrations) or the browser session the
    signed session cookie names (``sid``); anything else stays anonymous.

    ``sessions`` finds the database for a connection (the app keeps it in its state);
    ``lifetime`` is how long an idle browser session lives."""

    def __init__(
        self, sessions: Callable[[HTTPConnection], Sessions], *, lifetime: timedelta
    ) -> None:
        self.sessions = sessions
        self.lifetime = lifetime

    async def authenticate(self, conn: HTTPConnection) -> tuple[AuthCredentials, BaseUser] | None:
        header = conn.headers.get("authorization")
        if not header:
            return await self._browser_session(conn)
        scheme, _, credentials = header.partition(" ")
        if scheme.lower() != "bearer":
            return None
        now = datetime.now(UTC)
        db = self.sessions(conn)
        async with db.public_session() as session:
            try:
                token = await tokens.verify(session, credentials.strip(), now)
            except tokens.TokenRefused as exc:
                log.info("token refused", reason=str(exc))
                raise AuthenticationError(str(exc)) from None
        if token.last_used_at is None or now - token.last_used_at > LAST_USE_PRECISION:
            async with db.tenant_session([token.tenant_id]) as session:
                await session.execute(
                    text(
                        "UPDATE api_tokens SET last_used_at = :now "
                        "WHERE tenant_id = :t AND id = :id"
                    ),
                    {"now": now, "t": token.tenant_id, "id": token.id},
                )
        principal = Principal(
            subject=tokens.token_subject(token.id),
            name=f"token {token.name}",
            kind="token",
            tenant_id=token.tenant_id,
            role=token.role,
        )
        return AuthCredentials(["authenticated"]), principal

    async def _browser_session(
        self, conn: HTTPConnection
    ) -> tuple[AuthCredentials, BaseUser] | None:
        cookie = conn.session.get("sid") if "session" in conn.scope else None
        if not isinstance(cookie, str):
            return None
        async with self.sessions(conn).public_session() as session:
            found = await web_sessions.find_session(
                session, cookie, now=datetime.now(UTC), lifetime=self.lifetime
            )
        if found is None:
            # Ended elsewhere (sign-out, password reset, deactivation): forget it here too.
            conn.session.pop("sid", None)
            return None
        principal = Principal(subject=str(found.user_id), name=found.name, kind="user")
        return AuthCredentials(["authenticated"]), principal
