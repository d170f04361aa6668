"""Liveness and readiness probes."""

from __future__ import annotations

import asyncio

from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from cabinets.problems import ProblemResponse
from rbac.access import public
from tenancy.database import Database

READINESS_TIMEOUT_SECONDS = 2.0


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
            last_beat = (
                await session.execute(text("SELECT max(seen_at) FROM worker_heartbeats"))
            ).scalar()
    except Exception as exc:
        return ProblemResponse(503, "Not ready", f"database unreachable: {type(exc).__name__}")
    if not request.app.state.policy.ready.is_set():
        return ProblemResponse(503, "Not ready", "permissions are still loading")
    if revision != expected:
        return ProblemResponse(
            503,
            "Not ready",
            f"database schema is at {revision or 'nothing'}, this release needs {expected}: "
            "run `priemnaya db upgrade`",
        )
    return JSONResponse(
        {
            "status": "ready",
            "schema_revision": revision,
            "worker_seen_at": last_beat.isoformat() if last_beat else None,
        }
    )
