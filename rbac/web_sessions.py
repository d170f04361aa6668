"""Browser sessions, kept in the database so that signing out, a password reset or a
deactivation ends them everywhere at once.

The cookie (signed by the web layer) carries ``<id>.<secret>``; only a SHA-256 of the secret
is stored, as with API tokens. Sessions slide: each use within the idle lifetime extends it.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

_VALUE = re.compile(r"^([0-9a-f]{32})\.([A-Za-z0-9_-]{43})$")
# Extending on every request would write on every request; a minute's precision is plenty.
TOUCH_PRECISION = timedelta(minutes=1)


@dataclass(frozen=True)
class WebSession:
    id: uuid.UUID
    user_id: uuid.UUID
    email: str
    name: str
    kind: str
    expires_at: datetime
    last_seen_at: datetime
    provider: str | None
    id_token: str | None


def _digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


_SELECT = """
    SELECT s.id, s.secret_hash, s.user_id, s.expires_at, s.last_seen_at, s.provider,
           s.id_token, u.email, u.name, u.kind
    FROM web_sessions s JOIN users u ON u.id = s.user_id
    WHERE s.id = :id AND s.ended_at IS NULL
"""


async def _matching(session: AsyncSession, value: str, condition: str, **params: Any) -> Any:
    """The open session row a cookie names, when its secret matches; else None."""
    match = _VALUE.match(value)
    if match is None:
        return None
    row = (
        await session.execute(
            text(_SELECT + condition), {"id": uuid.UUID(match.group(1)), **params}
        )
    ).first()
    if row is None or not hmac.compare_digest(row.secret_hash, _digest(match.group(2))):
        return None
    return row


def _web_session(row: Any, expires_at: datetime) -> WebSession:
    return WebSession(
        id=row.id,
        user_id=row.user_id,
        email=row.email,
        name=row.name,
        kind=row.kind,
        expires_at=expires_at,
        last_seen_at=row.last_seen_at,
        provider=row.provider,
        id_token=row.id_token,
    )


async def open_session(
    session: AsyncSession,
    user_id: uuid.UUID,
    *,
    lifetime: timedelta,
    now: datetime,
    ip: str | None,
    user_agent: str | None,
    provider: str | None = None,
    id_token: str | None = None,
) -> str:
    """Start a session and return the value for the cookie (shown once)."""
    session_id = uuid.uuid4()
    secret = secrets.token_urlsafe(32)
    await session.execute(
        text(
            """
            INSERT INTO web_sessions (id, secret_hash, user_id, created_at, last_seen_at,
                                      expires_at, ip, user_agent, provider, id_token)
            VALUES (:id, :hash, :user, :now, :now, :expires, :ip, :ua, :provider, :id_token)
            """
        ),
        {
            "id": session_id,
            "hash": _digest(secret),
            "user": user_id,
            "now": now,
            "expires": now + lifetime,
            "ip": ip,
            "ua": (user_agent or "")[:300] or None,
            "provider": provider,
            "id_token": id_token,
        },
    )
    return f"{session_id.hex}.{secret}"


async def find_session(
    session: AsyncSession, value: str, *, now: datetime, lifetime: timedelta
) -> WebSession | None:
    """The live session a cookie names, extended; None when unknown, forged, ended, expired or
    its person is deactivated."""
    row = await _matching(
        session, value, "AND s.expires_at > :now AND u.status = 'active'", now=now
    )
    if row is None:
        return None
    expires_at = row.expires_at
    if now - row.last_seen_at > TOUCH_PRECISION:
        expires_at = now + lifetime
        await session.execute(
            text("UPDATE web_sessions SET last_seen_at = :now, expires_at = :e WHERE id = :id"),
            {"now": now, "e": expires_at, "id": row.id},
        )
    return _web_session(row, expires_at)


async def end_session(session: AsyncSession, value: str, *, now: datetime) -> WebSession | None:
    """End the session a cookie names; returns what it was (for the provider's logout)."""
    row = await _matching(session, value, "")
    if row is None:
        return None
    await session.execute(
        text("UPDATE web_sessions SET ended_at = :now WHERE id = :id"), {"now": now, "id": row.id}
    )
    return _web_session(row, row.expires_at)


async def end_sessions_of(session: AsyncSession, user_id: uuid.UUID, *, now: datetime) -> int:
    """End every session of a person (a password reset, a deactivation)."""
    result = await session.execute(
        text(
            "UPDATE web_sessions SET ended_at = :now WHERE user_id = :u AND ended_at IS NULL "
            "RETURNING id"
        ),
        {"u": user_id, "now": now},
    )
    return len(result.all())
