"""The Starlette application factory (``uvicorn --factory cabinets.app:create_app``)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from importlib.metadata import version
from pathlib import Path

import anyio.to_thread
import structlog
from sqlalchemy import text
from starlette.applications import Starlette
from starlette.authentication import AuthenticationError
from starlette.middleware import Middleware
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import HTTPConnection
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from cabinets import administration, signin
from cabinets.attachments import endpoints as attachment_endpoints
from cabinets.attachments.store import storage_config
from cabinets.cabinet import card, card_actions
from cabinets.cabinet import pages as cabinet_pages
from cabinets.guard import EdgeGuard
from cabinets.health import healthz, readyz
from cabinets.messages import endpoints as message_endpoints
from cabinets.messages import inbox_endpoints
from cabinets.messages import pages as message_pages
from cabinets.messages.live import LiveMessages
from cabinets.metrics import RequestMetrics, metrics, process_metrics
from cabinets.middleware import RequestContextMiddleware
from cabinets.open311 import endpoints as open311_endpoints
from cabinets.openapi import build_openapi, openapi_document
from cabinets.operator import pages as operator_pages
from cabinets.portal import routes as portal
from cabinets.problems import EXCEPTION_HANDLERS, ProblemResponse, instance_of
from cabinets.read_your_writes import ReadYourWrites
from cabinets.security import CSRF_EXEMPT, CsrfProtection, SecurityHeaders
from rbac.access import Credentials
from rbac.oidc import IdentityProviders
from rbac.sync import LivePolicy
from storage.antivirus import scanner_for
from storage.backends import open_store
from storage.errors import StorageUnavailable
from storage.object_store import ObjectStore
from tenancy import migrate
from tenancy.database import Database, resolve_database_urls
from tenancy.logs import configure_logging
from tenancy.routing import endpoints as routing_endpoints
from tenancy.routing.cache import RoutingCache
from tenancy.routing.service import load_index
from tenancy.settings import Settings, SettingsError, load_settings
from tenancy.staff import endpoints as staff_endpoints
from tenancy.staff.policy import load_policy
from tenancy.tenants import endpoints as tenant_endpoints


async def check_app_role(db: Database) -> None:
    """Refuse to serve through a connection that row-level security would not bind (on the
    replica too, when it answers: a read there falls back to the primary otherwise)."""
    checks = [(db.public_session(), "PRIEMNAYA_APP_DATABASE_URL")]
    if db.replica is not None:
        checks.append((db.read_session(()), "PRIEMNAYA_REPLICA_DATABASE_URL"))
    for opened, variable in checks:
        try:
            async with opened as session:
                row = (
                    await session.execute(
                        text(
                            "SELECT current_user, rolsuper, rolbypassrls FROM pg_roles "
                            "WHERE rolname = current_user"
                        )
                    )
                ).one()
        except Exception as exc:
            raise SettingsError([f"{variable}: cannot connect as the app role: {exc}"]) from None
        if row.rolsuper or row.rolbypassrls:
            raise SettingsError(
                [
                    f"{variable}: role {row.current_user!r} is a superuser or has "
                    "BYPASSRLS; the app must connect as a role that row-level security binds"
                ]
            )


def refused_credentials(conn: HTTPConnection, exc: AuthenticationError) -> Response:
    return ProblemResponse(
        401,
        "Unauthorized",
        str(exc),
        headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        **instance_of(conn.scope),
    )


SESSION_COOKIE = "priemnaya_session"
# The routes whose body is a file, streamed to storage under the upload limits.
STREAMED_BODIES = (
    attachment_endpoints.upload,
    attachment_endpoints.signed_upload,
    attachment_endpoints.answer_file,
)
STATIC_FILES = Path(__file__).with_name("static")


log = structlog.get_logger(__name__)


async def prepare_store(store: ObjectStore) -> None:
    """Create the bucket (or directory) when missing. Missing rights stop the start with the
    reason; an unreachable store does not: uploads answer 503 until it is back."""
    try:
        await anyio.to_thread.run_sync(store.ensure_ready)
    except StorageUnavailable as exc:
        log.warning("file storage unreachable at start", error=str(exc))


def create_served_app() -> Starlette:
    """The app as ``priemnaya serve`` runs it. Each of uvicorn's worker processes starts afresh
    and builds the app here, so each configures its own logging (level, format)."""
    settings = load_settings()
    configure_logging(settings)
    return create_app(settings)


def create_app(settings: Settings | None = None, database: Database | None = None) -> Starlette:
    settings = settings or load_settings()
    routes: list[BaseRoute] = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
        Route("/api/openapi.json", openapi_document, methods=["GET"], include_in_schema=False),
        *tenant_endpoints.routes,
        *staff_endpoints.routes,
        *routing_endpoints.routes,
        *signin.routes,
        # Before the message routes: /messages/counts is not a message id.
        *inbox_endpoints.routes,
        *message_endpoints.routes,
        *message_pages.routes,
        *cabinet_pages.routes,
        *card.routes,
        *card_actions.routes,
        *portal.routes,
        *administration.routes,
        *attachment_endpoints.routes,
        *open311_endpoints.routes,
        *operator_pages.routes,
        Mount("/static", StaticFiles(directory=STATIC_FILES), name="static"),
    ]

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        db = database or Database(
            resolve_database_urls(settings, start_embedded=False),
            pool_size=settings.database_pool_size,
            max_overflow=settings.database_pool_size,
            replica_max_lag_seconds=settings.replica_max_lag_seconds,
        )
        await check_app_role(db)
        app.state.database = db
        await prepare_store(app.state.store)
        policy = LivePolicy(db.urls.listen_url, lambda: load_policy(db))
        app.state.policy = policy
        following = asyncio.create_task(policy.run(), name="policy-sync")
        routing = RoutingCache(db.urls.listen_url, lambda: load_index(db))
        app.state.routing = routing
        routing_changes = asyncio.create_task(routing.follow(), name="routing-changes")
        app.state.live = LiveMessages(db.urls.listen_url)
        message_changes = asyncio.create_task(app.state.live.run(), name="message-changes")
        try:
            # Serve as soon as the policy is in; a slow load shows in /readyz meanwhile.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(policy.ready.wait()), timeout=10)
            async with process_metrics(app.state, pool_capacity=2 * settings.database_pool_size):
                yield
        finally:
            for task in (following, routing_changes, message_changes):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            if database is None:
                await db.dispose()

    app = Starlette(
        routes=routes,
        middleware=[
            Middleware(RequestContextMiddleware),
            Middleware(RequestMetrics),
            Middleware(SecurityHeaders, https=settings.https),
            Middleware(
                EdgeGuard,
                streamed=STREAMED_BODIES,
                max_body_bytes=settings.max_body_bytes,
            ),
            Middleware(
                SessionMiddleware,
                secret_key=settings.secret_key or "",
                session_cookie=SESSION_COOKIE,
                max_age=settings.session_hours * 3600,
                same_site="lax",
                https_only=settings.https,
            ),
            Middleware(ReadYourWrites),
            Middleware(
                AuthenticationMiddleware,
                backend=Credentials(
                    lambda conn: conn.app.state.database,
                    lifetime=timedelta(hours=settings.session_hours),
                ),
                on_error=refused_credentials,
            ),
            Middleware(CsrfProtection, exempt=CSRF_EXEMPT),
        ],
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.identity_providers = IdentityProviders(settings.oidc_providers)
    app.state.store = open_store(storage_config(settings))
    app.state.scanner = scanner_for(settings.clamd_address)
    app.state.schema_revision = migrate.head_revision()
    app.state.openapi = build_openapi(routes, version("priemnaya"))
    return app
