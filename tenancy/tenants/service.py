"""Tenant services: each owns its transaction and writes its audit entry in it."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from enum import StrEnum
from typing import Protocol

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlmodel import col, select

from tenancy.audit import record_audit
from tenancy.database import Database
from tenancy.errors import Conflict, FieldError, InvalidInput, NotFound
from tenancy.models import AuditEntry
from tenancy.tenants import tree
from tenancy.tenants.models import Tenant, TenantKind, TenantStatus
from tenancy.tenants.schemas import AuditRead, TenantCreate, TenantNode, TenantRead, slug_problem


async def _by_slug(session: AsyncSession, slug: str) -> Tenant | None:
    return (await session.scalars(select(Tenant).where(Tenant.slug == slug))).first()


class Placed(Protocol):
    slug: str
    kind: str
    status: str


def placement_errors(kind: TenantKind, parent: Placed | None) -> list[FieldError]:
    """Where a tenant of ``kind`` may stand in the hierarchy."""
    if kind is TenantKind.FEDERAL and parent is not None:
        return [FieldError("parent", "a federal tenant stands at the top and has no parent")]
    if parent is None:
        return []
    errors = []
    if kind is TenantKind.REGION and parent.kind != TenantKind.FEDERAL:
        errors.append(
            FieldError("parent", f"a region stands under a federal tenant, not a {parent.kind}")
        )
    if parent.status == TenantStatus.ARCHIVED:
        errors.append(FieldError("parent", f"tenant {parent.slug!r} is archived"))
    return errors


async def _add_tenant(
    session: AsyncSession, data: TenantCreate, *, actor: str, source: str | None
) -> TenantRead:
    errors: list[FieldError] = []
    if await _by_slug(session, data.slug) is not None:
        errors.append(FieldError("slug", f"{data.slug!r} is already taken"))
    parent = None
    if data.parent is not None:
        parent = await _by_slug(session, data.parent)
        if parent is None:
            errors.append(FieldError("parent", f"unknown tenant {data.parent!r}"))
    errors += placement_errors(data.kind, parent)
    if errors:
        raise InvalidInput(errors)

    tenant = Tenant(
        id=uuid.uuid4(),
        slug=data.slug,
        name=data.name,
        short_name=data.short_name,
        kind=data.kind.value,
        parent_id=parent.id if parent else None,
        territory_code=data.territory,
        inn=data.inn,
        ogrn=data.ogrn,
        timezone=data.timezone,
        calendar=data.calendar,
    )
    session.add(tenant)
    await session.flush()
    record_audit(
        session,
        tenant_id=tenant.id,
        actor=actor,
        action="tenant.created",
        object_type="tenant",
        object_id=tenant.slug,
        changes=data.model_dump(mode="json", exclude_none=True),
        source=source,
    )
    await session.flush()
    await session.refresh(tenant)
    return TenantRead.of(tenant, parent.slug if parent else None)


async def create_tenants(
    db: Database, items: Sequence[TenantCreate], *, actor: str, source: str | None = None
) -> list[TenantRead]:
    """Create tenants in order (parents first), all in one transaction: all or none."""
    try:
        async with db.privileged_session(actor=actor) as session:
            return [await _add_tenant(session, data, actor=actor, source=source) for data in items]
    except IntegrityError as exc:
        # Another writer took a slug between our check and our insert.
        if "tenants_slug_key" in str(exc.orig):
            raise InvalidInput.one("slug", "already taken by a concurrent change") from None
        raise


async def create_tenant(
    db: Database, data: TenantCreate, *, actor: str, source: str | None = None
) -> TenantRead:
    """Create one tenant under an existing parent; every problem is reported at once."""
    (tenant,) = await create_tenants(db, [data], actor=actor, source=source)
    return tenant


async def move_tenant(
    db: Database, slug: str, new_parent: str | None, *, actor: str, source: str | None = None
) -> TenantRead:
    """Put a tenant under another parent (or at the top), refusing cycles."""
    async with db.privileged_session(actor=actor) as session:
        tenant = await _by_slug(session, slug)
        if tenant is None:
            raise NotFound("tenant", slug)
        parent = None
        if new_parent is not None:
            parent = await _by_slug(session, new_parent)
            if parent is None:
                raise InvalidInput.one("parent", f"unknown tenant {new_parent!r}")
            chain = await tree.ancestors(session, parent.id)
            if any(row.id == tenant.id for row in chain):
                path = " → ".join(row.slug for row in reversed(chain))
                raise InvalidInput.one(
                    "parent",
                    f"moving {slug!r} under {new_parent!r} would make a cycle ({path} → {slug})",
                )
        errors = placement_errors(TenantKind(tenant.kind), parent)
        if errors:
            raise InvalidInput(errors)
        old_parent_id = tenant.parent_id
        if old_parent_id == (parent.id if parent else None):
            return TenantRead.of(tenant, new_parent)
        old_parent = await session.get(Tenant, old_parent_id) if old_parent_id else None
        tenant.parent_id = parent.id if parent else None
        tenant.updated_at = datetime.now(UTC)
        record_audit(
            session,
            tenant_id=tenant.id,
            actor=actor,
            action="tenant.moved",
            object_type="tenant",
            object_id=tenant.slug,
            changes={"parent": [old_parent.slug if old_parent else None, new_parent]},
            source=source,
        )
        await session.flush()
        await session.refresh(tenant)
        return TenantRead.of(tenant, new_parent)


async def get_tenant(db: Database, slug: str) -> TenantRead:
    if problem := slug_problem(slug):
        raise InvalidInput.one("slug", problem)
    async with db.public_session() as session:
        parent_table = aliased(Tenant)
        statement = (
            select(Tenant, parent_table.slug)
            .join(parent_table, col(Tenant.parent_id) == parent_table.id, isouter=True)
            .where(Tenant.slug == slug)
        )
        row = (await session.execute(statement)).first()
        if row is None:
            raise NotFound("tenant", slug)
        tenant, parent_slug = row
        return TenantRead.of(tenant, parent_slug)


async def list_tenants(
    db: Database,
    *,
    kind: TenantKind | None = None,
    status: TenantStatus | None = None,
    parent: str | None = None,
) -> list[TenantRead]:
    async with db.public_session() as session:
        parent_table = aliased(Tenant)
        statement = select(Tenant, parent_table.slug).join(
            parent_table, col(Tenant.parent_id) == parent_table.id, isouter=True
        )
        if kind is not None:
            statement = statement.where(Tenant.kind == kind.value)
        if status is not None:
            statement = statement.where(Tenant.status == status.value)
        if parent is not None:
            statement = statement.where(parent_table.slug == parent)
        rows = (await session.execute(statement.order_by(col(Tenant.slug)))).all()
        return [TenantRead.of(tenant, parent_slug) for tenant, parent_slug in rows]


async def tenant_tree(db: Database, root: str | None = None) -> list[TenantNode]:
    """The hierarchy under ``root`` (or every top-level tenant), nested, children by name."""
    async with db.public_session() as session:
        if root is None:
            tenants: Sequence[Tenant] = (await session.scalars(select(Tenant))).all()
            roots = [t for t in tenants if t.parent_id is None]
        else:
            top = await _by_slug(session, root)
            if top is None:
                raise NotFound("tenant", root)
            ids = [row.id for row in await tree.subtree(session, top.id)]
            tenants = (await session.scalars(select(Tenant).where(col(Tenant.id).in_(ids)))).all()
            roots = [top]

    children: dict[uuid.UUID, list[Tenant]] = {}
    for tenant in tenants:
        if tenant.parent_id is not None:
            children.setdefault(tenant.parent_id, []).append(tenant)

    def node(tenant: Tenant) -> TenantNode:
        kids = sorted(children.get(tenant.id, []), key=lambda t: t.name)
        return TenantNode(
            slug=tenant.slug,
            name=tenant.name,
            kind=TenantKind(tenant.kind),
            status=TenantStatus(tenant.status),
            children=[node(kid) for kid in kids],
        )

    return [node(r) for r in sorted(roots, key=lambda t: t.name)]


class Lifecycle(StrEnum):
    SUSPEND = "suspend"
    RESUME = "resume"
    ARCHIVE = "archive"
    RESTORE = "restore"


# action → (the statuses it starts from, the status it leads to)
_TRANSITIONS: dict[Lifecycle, tuple[frozenset[TenantStatus], TenantStatus]] = {
    Lifecycle.SUSPEND: (frozenset({TenantStatus.ACTIVE}), TenantStatus.SUSPENDED),
    Lifecycle.RESUME: (frozenset({TenantStatus.SUSPENDED}), TenantStatus.ACTIVE),
    Lifecycle.ARCHIVE: (
        frozenset({TenantStatus.ACTIVE, TenantStatus.SUSPENDED}),
        TenantStatus.ARCHIVED,
    ),
    Lifecycle.RESTORE: (frozenset({TenantStatus.ARCHIVED}), TenantStatus.ACTIVE),
}


async def change_status(
    db: Database,
    slug: str,
    action: Lifecycle,
    *,
    reason: str,
    actor: str,
    source: str | None = None,
) -> tuple[TenantRead, bool]:
    """Suspend, resume, archive or restore a tenant; return it and whether anything changed.

    A suspended cabinet is read-only for its staff and takes no new messages; an archived one
    is also out of routing. Archiving waits until the children are archived; restoring waits
    for the parent."""
    if not reason.strip():
        raise InvalidInput.one("reason", "say why; it is kept in the tenant's history")
    sources, target = _TRANSITIONS[action]
    async with db.privileged_session(actor=actor) as session:
        tenant = await _by_slug(session, slug)
        if tenant is None:
            raise NotFound("tenant", slug)
        parent = await session.get(Tenant, tenant.parent_id) if tenant.parent_id else None
        parent_slug = parent.slug if parent else None
        if tenant.status == target:
            return TenantRead.of(tenant, parent_slug), False
        if tenant.status not in sources:
            allowed = _article(" or ".join(sorted(sources)))
            raise Conflict(
                f"{slug!r} is {tenant.status}: {action.value} applies to {allowed} tenant"
            )
        if action is Lifecycle.ARCHIVE:
            living = (
                await session.scalars(
                    select(Tenant.slug)
                    .where(Tenant.parent_id == tenant.id)
                    .where(Tenant.status != TenantStatus.ARCHIVED.value)
                    .order_by(col(Tenant.slug))
                )
            ).all()
            if living:
                raise Conflict(f"archive the children of {slug!r} first: {', '.join(living)}")
        if action is Lifecycle.RESTORE and parent and parent.status == TenantStatus.ARCHIVED:
            raise Conflict(f"restore the parent {parent.slug!r} first")
        before = tenant.status
        tenant.status = target.value
        tenant.updated_at = datetime.now(UTC)
        record_audit(
            session,
            tenant_id=tenant.id,
            actor=actor,
            action=f"tenant.{target.value}"
            if action is not Lifecycle.RESTORE
            else "tenant.restored",
            object_type="tenant",
            object_id=slug,
            changes={"status": [before, target.value], "reason": reason.strip()},
            source=source,
        )
        await session.flush()
        await session.refresh(tenant)
        return TenantRead.of(tenant, parent_slug), True


async def tenant_history(db: Database, slug: str) -> list[AuditRead]:
    """Every recorded change of a tenant and within it, oldest first."""
    async with db.privileged_session() as session:
        tenant = await _by_slug(session, slug)
        if tenant is None:
            raise NotFound("tenant", slug)
        rows = await session.scalars(
            select(AuditEntry).where(AuditEntry.tenant_id == tenant.id).order_by(col(AuditEntry.id))
        )
        return [AuditRead.model_validate(row, from_attributes=True) for row in rows]


def _article(words: str) -> str:
    return f"an {words}" if words[:1] in "aeiou" else f"a {words}"
