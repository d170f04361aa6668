"""API tokens: ``prn_<id>_<secret>``, shown once, stored as a SHA-256 of the secret.

The secret is 256 random bits, so a fast hash is enough (nothing to brute-force); the id lets
us find the row without scanning. A token acts as the policy subject ``token:<id>`` holding
one role in one tenant.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from rbac.enforcer import Grant
from rbac.models import ApiToken

PREFIX = "prn_"
_TOKEN = re.compile(r"^prn_([0-9a-f]{32})_([A-Za-z0-9_-]{43})$")


def token_subject(token_id: uuid.UUID) -> str:
    return f"token:{token_id}"


def _hash(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    plaintext: str  # shown once, never stored


def issue(
    tenant_id: uuid.UUID, role: str, name: str, *, created_by: str, expires_at: datetime | None
) -> IssuedToken:
    token_id = uuid.uuid4()
    secret = secrets.token_urlsafe(32)
    row = ApiToken(
        tenant_id=tenant_id,
        id=token_id,
        name=name,
        role=role,
        secret_hash=_hash(secret),
        created_by=created_by,
        expires_at=expires_at,
    )
    return IssuedToken(row, f"{PREFIX}{token_id.hex}_{secret}")


class TokenRefused(Exception):
    """A bearer token that does not authenticate; the message says why."""


async def verify(session: AsyncSession, plaintext: str, now: datetime | None = None) -> ApiToken:
    """The token row behind ``plaintext``, or TokenRefused saying why not."""
    match = _TOKEN.fullmatch(plaintext)
    if match is None:
        raise TokenRefused("malformed token: expected prn_<32 hex>_<43 characters>")
    token_id, secret = uuid.UUID(match[1]), match[2]
    row = (await session.scalars(select(ApiToken).where(col(ApiToken.id) == token_id))).first()
    if row is None or not hmac.compare_digest(row.secret_hash, _hash(secret)):
        raise TokenRefused("unknown token")
    problem = row.problem(now or datetime.now(UTC))
    if problem is not None:
        raise TokenRefused(problem)
    return row


async def active_token_grants(session: AsyncSession) -> list[Grant]:
    """Every unrevoked token as a grant of its role in its tenant (expiry is checked when the
    token is presented)."""
    rows = await session.execute(
        text("SELECT id, role, tenant_id FROM api_tokens WHERE revoked_at IS NULL")
    )
    return [Grant(token_subject(r.id), r.role, str(r.tenant_id)) for r in rows]
