"""Liveness and readiness probes."""

from __future__ import annotations

import asyncio

from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from cabinets.problems import ProblemResponse, instance_of
from cabinets.worker import HEARTBEAT_SECONDS
from rbac.access import public
from tenancy.database import Database

READINESS_TIMEOUT_SECONDS = 2.0
WORKER_STALE_SECONDS = 6 * HEARTBEAT_SECONDS  # six heartbeats missed


@public
async def healthz(request: Request) -> Response:
    """
    summary: The process is alive.
    tags: [operations]
    responses:
      200:
        description: Alive.
    """
    return JSONResponse({"status": "alive"})


@public
async def readyz(request: Request) -> Response:
    """
    summary: The database is reachable and its schema is current.
    description: The worker's state (running, stale with the age of its last heartbeat, or
      none) is reported in the body and does not change the status code.
    tags: [operations]
    responses:
      200:
        description: Ready to serve.
      503:
        description: Not ready; the problem says why.
    """
    db: Database = request.app.state.database
    expected: str = request.app.state.schema_revision
    try:
        async with asyncio.timeout(READINESS_TIMEOUT_SECONDS), db.public_session() as session:
            revision = (
                await session.execute(text("SELECT version_num FROM alembic_version"))
            ).scalar()
            beat = (
                await session.execute(
                    text(
                        "SELECT max(seen_at) AS seen_at, "
                        "extract(epoch FROM now() - max(seen_at)) AS age FROM worker_heartbeats"
                    )
                )
            ).one()
    except Exception as exc:
        return _not_ready(request, f"database unreachable: {type(exc).__name__}")
    if not request.app.state.policy.ready.is_set():
        return _not_ready(request, "permissions are still loading")
    if revision != expected:
        return _not_ready(
            request,
            f"database schema is at {revision or 'nothing'}, this release needs {expected}: "
            "run `priemnaya db upgrade`",
        )
    return JSONResponse(
        {
            "status": "ready",
            "schema_revision": revision,
            "worker": worker_state(beat.age),
            "worker_seen_at": beat.seen_at.isoformat() if beat.seen_at else None,
            "worker_age_seconds": round(beat.age) if beat.age is not None else None,
        }
    )


def _not_ready(request: Request, detail: str) -> Response:
    return ProblemResponse(503, "Not ready", detail, **instance_of(request.scope))


def worker_state(age: float | None) -> str:
    """``running``, ``stale`` (no heartbeat for ``WORKER_STALE_SECONDS``) or ``none`` (never).

    Only reported: a web process serves whatever the worker's state, and taking it out of
    rotation would bring no worker back (the worker's own liveness check does that)."""
    if age is None:
        return "none"
    return "stale" if age > WORKER_STALE_SECONDS else "running"
