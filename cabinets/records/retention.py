"""Records retention (59-ФЗ practice: appeal records are kept five years, then destroyed by a
formal record).

``purge`` destroys, tenant by tenant, the messages finished (closed, rejected or forwarded)
before a date *and* longer ago than the tenant's retention period: the message with its
history, its files (rows and stored objects), its pending notifications, the submission kept
for retries and the citizen's link to it. What stays is one destruction record per tenant and
purge (count, numbers, dates, who ran it), kept like any record, and the public number, which
then answers that the message was destroyed and when.

Each tenant's purge is one transaction. Its stored files are deleted inside it, before the
commit: should the commit fail, the rows are still there and the next purge finishes the job
(a file already gone is not an error).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

import anyio.to_thread
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession

from cabinets.messages.workflow import FINAL
from cabinets.records.models import DestructionRecord
from storage.object_store import ObjectStore
from tenancy.audit import record_audit
from tenancy.database import Database
from tenancy.errors import InvalidInput, NotFound

MIN_RETENTION_YEARS = 5  # the typical list of records keeps appeals five years
MAX_RETENTION_YEARS = 75  # the longest term of the list short of "permanently"
_FINISHED = sorted(status.value for status in FINAL)

_DUE = text(
    """
    SELECT t.id AS tenant_id, t.slug, m.id, m.tracking_number, m.registration_number,
           m.closed_at
    FROM messages m JOIN tenants t ON t.id = m.tenant_id
    WHERE m.status = ANY (:finished) AND m.closed_at < :before
      AND m.closed_at < now() - make_interval(years => t.retention_years)
      AND (CAST(:tenant AS uuid) IS NULL OR m.tenant_id = CAST(:tenant AS uuid))
    ORDER BY t.slug, m.closed_at, m.tracking_number
    """
)
_LOCK_TENANT = text("SELECT pg_advisory_xact_lock(hashtext('priemnaya.retention:' || :t))")
_LOCK_DUE = text(
    "SELECT id FROM messages WHERE tenant_id = :t AND id = ANY (:ids) ORDER BY id FOR UPDATE"
)
_FILES = text("SELECT object_key FROM attachments WHERE tenant_id = :t AND message_id = ANY (:ids)")
_DESTROY = [
    text("DELETE FROM outbox WHERE tenant_id = :t AND message_id = ANY (:ids)"),
    text("DELETE FROM message_events WHERE tenant_id = :t AND message_id = ANY (:ids)"),
    text("DELETE FROM attachments WHERE tenant_id = :t AND message_id = ANY (:ids)"),
    text("DELETE FROM messages WHERE tenant_id = :t AND id = ANY (:ids)"),
]
# The public number stays, with its token's hash, to say what happened; nothing else of it.
_FORGET_NUMBERS = text(
    """
    UPDATE message_tracking
    SET holder_tenant_id = NULL, holder_message_id = NULL, citizen_id = NULL,
        destroyed_at = :now
    WHERE holder_tenant_id = :t AND holder_message_id = ANY (:ids)
    RETURNING number
    """
)
_FORGET_SUBMISSIONS = [
    text("DELETE FROM intake_requests WHERE tracking_number = ANY (:numbers)"),
    text("DELETE FROM operator_queue WHERE tracking_number = ANY (:numbers)"),
]
_NEXT_RECORD = text(
    "SELECT coalesce(max(number), 0) + 1 FROM destruction_records WHERE tenant_id = :t"
)


class TenantPurge(BaseModel):
    """What a purge destroys (or, on a dry run, would destroy) in one tenant."""

    tenant: str
    count: int
    tracking_numbers: list[str]
    registration_numbers: list[str]
    first_closed_at: datetime
    last_closed_at: datetime
    record_number: int | None = None  # the destruction record's number; None on a dry run


def _check_date(closed_before: date, today: date) -> None:
    if closed_before > today:
        raise InvalidInput.one(
            "closed-before", f"{closed_before.isoformat()} is in the future", code="future_date"
        )


async def _tenant_id(db: Database, slug: str) -> uuid.UUID:
    async with db.privileged_session() as session:
        found = (
            await session.execute(text("SELECT id FROM tenants WHERE slug = :s"), {"s": slug})
        ).scalar()
    if found is None:
        raise NotFound("tenant", slug)
    return uuid.UUID(str(found))


async def purge(
    db: Database,
    store: ObjectStore,
    closed_before: date,
    *,
    actor: str,
    tenant: str | None = None,
    dry_run: bool = False,
) -> list[TenantPurge]:
    """Destroy what is due, tenant by tenant (only ``tenant`` when given); return what went."""
    now = datetime.now(UTC)
    _check_date(closed_before, now.date())
    only = await _tenant_id(db, tenant) if tenant else None
    async with db.privileged_session(actor=actor) as session:
        due = (
            await session.execute(
                _DUE, {"finished": _FINISHED, "before": closed_before, "tenant": only}
            )
        ).all()
    by_tenant: dict[uuid.UUID, list[Row[Any]]] = {}
    for row in due:
        by_tenant.setdefault(row.tenant_id, []).append(row)
    purged = []
    for tenant_id, rows in by_tenant.items():
        if dry_run:
            purged.append(_summary(rows))
            continue
        purged.append(
            await _purge_tenant(db, store, tenant_id, rows, closed_before, actor=actor, now=now)
        )
    return purged


def _summary(rows: Sequence[Row[Any]], record_number: int | None = None) -> TenantPurge:
    found = list(rows)
    return TenantPurge(
        tenant=found[0].slug,
        count=len(found),
        tracking_numbers=[r.tracking_number for r in found],
        registration_numbers=[r.registration_number for r in found if r.registration_number],
        first_closed_at=min(r.closed_at for r in found),
        last_closed_at=max(r.closed_at for r in found),
        record_number=record_number,
    )


async def _purge_tenant(
    db: Database,
    store: ObjectStore,
    tenant_id: uuid.UUID,
    rows: Sequence[Row[Any]],
    closed_before: date,
    *,
    actor: str,
    now: datetime,
) -> TenantPurge:
    ids = [r.id for r in rows]
    key = {"t": tenant_id, "ids": ids}
    async with db.privileged_session(actor=actor) as session:
        await session.execute(_LOCK_TENANT, {"t": str(tenant_id)})
        locked = {r.id for r in await session.execute(_LOCK_DUE, key)}
        # Another purge may have destroyed some meanwhile: go on with what is still here.
        rows = [r for r in rows if r.id in locked]
        key["ids"] = [r.id for r in rows]
        files = [k for (k,) in await session.execute(_FILES, key)]
        for statement in _DESTROY:
            await session.execute(statement, key)
        numbers = [n for (n,) in await session.execute(_FORGET_NUMBERS, key | {"now": now})]
        for statement in _FORGET_SUBMISSIONS:
            await session.execute(statement, {"numbers": numbers})
        summary = _summary(rows)
        number = int((await session.execute(_NEXT_RECORD, {"t": tenant_id})).scalar_one())
        session.add(
            DestructionRecord(
                tenant_id=tenant_id,
                number=number,
                closed_before=closed_before,
                executed_at=now,
                executed_by=actor,
                message_count=summary.count,
                first_closed_at=summary.first_closed_at,
                last_closed_at=summary.last_closed_at,
                tracking_numbers=summary.tracking_numbers,
                registration_numbers=summary.registration_numbers,
            )
        )
        record_audit(
            session,
            tenant_id=tenant_id,
            actor=actor,
            action="records.destroyed",
            object_type="destruction_record",
            object_id=str(number),
            changes={"messages": summary.count, "closed_before": closed_before.isoformat()},
        )
        await anyio.to_thread.run_sync(_delete_files, store, files)
    return _summary(rows, number)


def _delete_files(store: ObjectStore, keys: list[str]) -> None:
    for key in keys:
        store.delete(key)


class Retention(BaseModel):
    tenant: str
    years: int


async def set_retention(db: Database, slug: str, years: int, *, actor: str) -> Retention:
    """Keep the tenant's finished messages ``years`` years (within the legal bounds)."""
    if not MIN_RETENTION_YEARS <= years <= MAX_RETENTION_YEARS:
        raise InvalidInput.one(
            "years",
            f"must be between {MIN_RETENTION_YEARS} and {MAX_RETENTION_YEARS}: appeals are "
            f"kept at least {MIN_RETENTION_YEARS} years",
            code="retention_out_of_bounds",
        )
    tenant_id = await _tenant_id(db, slug)
    async with db.privileged_session(actor=actor) as session:
        before = await _retention_years(session, tenant_id)
        await session.execute(
            text("UPDATE tenants SET retention_years = :y, updated_at = now() WHERE id = :t"),
            {"y": years, "t": tenant_id},
        )
        record_audit(
            session,
            tenant_id=tenant_id,
            actor=actor,
            action="tenant.retention_set",
            object_type="tenant",
            object_id=slug,
            changes={"retention_years": [before, years]},
        )
    return Retention(tenant=slug, years=years)


async def get_retention(db: Database, slug: str) -> Retention:
    tenant_id = await _tenant_id(db, slug)
    async with db.privileged_session() as session:
        return Retention(tenant=slug, years=await _retention_years(session, tenant_id))


async def _retention_years(session: AsyncSession, tenant_id: uuid.UUID) -> int:
    found = await session.execute(
        text("SELECT retention_years FROM tenants WHERE id = :t"), {"t": tenant_id}
    )
    return int(found.scalar_one())


async def destruction_records(db: Database, slug: str) -> list[DestructionRecord]:
    """A tenant's destruction records, the latest first."""
    tenant_id = await _tenant_id(db, slug)
    async with db.tenant_session([tenant_id]) as session:
        rows = await session.execute(
            text("SELECT * FROM destruction_records WHERE tenant_id = :t ORDER BY number DESC"),
            {"t": tenant_id},
        )
        return [DestructionRecord.model_validate(dict(r._mapping)) for r in rows]
