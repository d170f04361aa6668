"""API tokens for integrations: one tenant, one role, the secret shown once and stored hashed;
revoked at once in every running process."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import text
from sqlmodel import col, select

from rbac import tokens
from rbac.models import ApiToken
from tenancy.audit import record_audit
from tenancy.database import Database
from tenancy.errors import InvalidInput, NotFound
from tenancy.staff.lookups import check_role, tenant_or_platform
from tenancy.staff.schemas import (
    TokenCreated,
    TokenRead,
)
from tenancy.tenants.models import TenantStatus


async def create_token(
    db: Database,
    tenant: str,
    role: str,
    *,
    name: str,
    expires_at: datetime | None,
    actor: str,
) -> TokenCreated:
    """Issue a token acting with ``role`` in ``tenant``; its secret is returned only here."""
    if not name.strip():
        raise InvalidInput.one("name", "give the token a name that says what uses it")
    async with db.privileged_session(actor=actor) as session:
        where = await tenant_or_platform(session, tenant)
        if where is None:
            raise InvalidInput.one("tenant", "a token acts in one tenant, not on the platform")
        await check_role(session, role, where)
        if where.status != TenantStatus.ACTIVE:
            raise InvalidInput.one("tenant", f"{tenant!r} is {where.status}: no new tokens")
        issued = tokens.issue(where.id, role, name.strip(), created_by=actor, expires_at=expires_at)
        session.add(issued.token)
        await session.flush()
        record_audit(
            session,
            tenant_id=where.id,
            actor=actor,
            action="token.created",
            object_type="token",
            object_id=str(issued.token.id),
            changes={"name": issued.token.name, "role": role, "expires_at": _iso(expires_at)},
        )
        return TokenCreated(
            **_token_read(issued.token, tenant).model_dump(), token=issued.plaintext
        )


async def list_tokens(db: Database, tenant: str) -> list[TokenRead]:
    async with db.privileged_session() as session:
        where = await tenant_or_platform(session, tenant)
        if where is None:
            raise InvalidInput.one("tenant", "tokens belong to a tenant")
        rows = await session.scalars(
            select(ApiToken)
            .where(col(ApiToken.tenant_id) == where.id)
            .order_by(col(ApiToken.created_at))
        )
        return [_token_read(row, tenant) for row in rows]


async def revoke_token(db: Database, token_id: str, *, actor: str) -> TokenRead:
    """Revoke a token at once, everywhere; revoking it again changes nothing."""
    try:
        key = uuid.UUID(token_id)
    except ValueError:
        raise InvalidInput.one("token", f"{token_id!r} is not a token id") from None
    async with db.privileged_session(actor=actor) as session:
        row = (await session.scalars(select(ApiToken).where(col(ApiToken.id) == key))).first()
        if row is None:
            raise NotFound("token", token_id)
        slug = (
            await session.execute(
                text("SELECT slug FROM tenants WHERE id = :id"), {"id": row.tenant_id}
            )
        ).scalar_one()
        if row.revoked_at is None:
            row.revoked_at = datetime.now(UTC)
            session.add(row)
            await session.flush()
            record_audit(
                session,
                tenant_id=row.tenant_id,
                actor=actor,
                action="token.revoked",
                object_type="token",
                object_id=str(row.id),
                changes={"name": row.name},
            )
        return _token_read(row, slug)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _token_read(row: ApiToken, tenant: str) -> TokenRead:
    return TokenRead(
        id=str(row.id),
        name=row.name,
        tenant=tenant,
        role=row.role,
        created_by=row.created_by,
        created_at=row.created_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        last_used_at=row.last_used_at,
    )
