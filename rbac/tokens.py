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

from sqlalchemy import Column, DateTime, ForeignKey, LargeBinary, Text, func, text
from sqlalchemy.dialects.postgresql import UUID as PgUUID
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel, col, select

from rbac.enforcer import Grant

PREFIX = "prn_"
_TOKEN = re.compile(r"^prn_([0-9a-f]{32})_([A-Za-z0-9_-]{43})$")


class ApiToken(SQLModel, table=True):
    __tablename__ = "api_tokens"

    tenant_id: uuid.UUID = Field(
        sa_column=Column(PgUUID(as_uuid=True), ForeignKey("tenants.id"), primary_key=True)
    )
    id: uuid.UUID = Field(sa_column=Column(PgUUID(as_uuid=True), primary_key=True, index=True))
    name: str = Field(sa_column=Column(Text, nullable=False))
    role: str = Field(sa_column=Column(Text, nullable=False))
    secret_hash: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_by: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime | None = Field(
        default=None,
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now()),
    )
    expires_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    revoked_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    last_used_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))

    @property
    def subject(self) -> str:
        return token_subject(self.id)

    def problem(self, now: datetime) -> str | None:
        """Why this token cannot be used now, or None."""
        if self.revoked_at is not None:
            return f"the token was revoked on {self.revoked_at:%Y-%m-%d %H:%M} UTC"
        if self.expires_at is not None and self.expires_at <= now:
            return f"the token expired on {self.expires_at:%Y-%m-%d %H:%M} UTC"
        return None


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
