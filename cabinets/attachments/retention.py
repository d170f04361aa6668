"""The sweeper (uploads no message took, objects without rows) and retention (the files of
messages finished long ago)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio.to_thread
from pydantic import BaseModel
from sqlalchemy import text

from storage.attachments import (
    delete_quietly,
)
from storage.object_store import ObjectStore
from storage.sweeping import reconcile
from tenancy.audit import record_audit
from tenancy.database import Database


class SweepReport(BaseModel):
    abandoned_removed: int
    orphaned_objects: list[str]
    missing_objects: list[str]
    dry_run: bool


async def sweep(
    db: Database,
    store: ObjectStore,
    *,
    older_than: timedelta,
    dry_run: bool,
    actor: str,
    orphan_grace: timedelta = timedelta(hours=1),
) -> SweepReport:
    """Remove uploads no message took within ``older_than``; report (and, unless ``dry_run``,
    remove) objects without rows older than ``orphan_grace`` (younger ones may belong to an
    upload still in flight), and report rows whose object is gone."""
    cutoff = datetime.now(UTC) - older_than
    async with db.privileged_session(actor=actor) as session:
        abandoned = (
            await session.execute(
                text(
                    "SELECT tenant_id, id, object_key FROM attachments "
                    "WHERE status <> 'attached' AND created_at < :cutoff"
                ),
                {"cutoff": cutoff},
            )
        ).all()
        if not dry_run and abandoned:
            await session.execute(
                text("DELETE FROM attachments WHERE status <> 'attached' AND created_at < :cutoff"),
                {"cutoff": cutoff},
            )
        known = set((await session.execute(text("SELECT object_key FROM attachments"))).scalars())
    if not dry_run:
        await anyio.to_thread.run_sync(delete_quietly, store, [r.object_key for r in abandoned])
    stored = await anyio.to_thread.run_sync(lambda: list(store.list("")))
    removed = {r.object_key for r in abandoned} if not dry_run else set()
    found = reconcile(known - removed, stored, now=datetime.now(UTC), grace=orphan_grace)
    orphans = sorted(obj.key for obj in found.orphaned_objects)
    if not dry_run and orphans:
        await anyio.to_thread.run_sync(delete_quietly, store, orphans)
    return SweepReport(
        abandoned_removed=len(abandoned),
        orphaned_objects=orphans,
        missing_objects=sorted(found.missing_objects),
        dry_run=dry_run,
    )


class PurgeReport(BaseModel):
    files: int
    bytes: int
    messages: int
    dry_run: bool


async def purge(
    db: Database, store: ObjectStore, *, older_than: timedelta, dry_run: bool, actor: str
) -> PurgeReport:
    """Retention: remove the files of messages finished (closed, rejected, forwarded) more than
    ``older_than`` ago; each tenant's audit log records what went (names and hashes)."""
    cutoff = datetime.now(UTC) - older_than
    async with db.privileged_session(actor=actor) as session:
        rows = (
            await session.execute(
                text(
                    """
                    SELECT a.tenant_id, a.id, a.object_key, a.filename, a.size, a.sha256,
                           a.message_id, m.tracking_number
                    FROM attachments a JOIN messages m
                      ON m.tenant_id = a.tenant_id AND m.id = a.message_id
                    WHERE m.status IN ('closed', 'rejected', 'forwarded')
                      AND m.closed_at < :cutoff
                    """
                ),
                {"cutoff": cutoff},
            )
        ).all()
        if not dry_run and rows:
            by_tenant: dict[uuid.UUID, list[Any]] = {}
            for row in rows:
                by_tenant.setdefault(row.tenant_id, []).append(row)
            for tenant_id, files in by_tenant.items():
                record_audit(
                    session,
                    tenant_id=tenant_id,
                    actor=actor,
                    action="attachments.purged",
                    object_type="attachments",
                    object_id=f"older than {cutoff.date().isoformat()}",
                    changes={
                        "files": [
                            {
                                "message": f.tracking_number,
                                "filename": f.filename,
                                "size": f.size,
                                "sha256": bytes(f.sha256).hex() if f.sha256 else None,
                            }
                            for f in files
                        ]
                    },
                )
            await session.execute(
                text(
                    "DELETE FROM attachments WHERE (tenant_id, id) IN "
                    "(SELECT * FROM unnest(CAST(:t AS uuid[]), CAST(:i AS uuid[])))"
                ),
                {"t": [r.tenant_id for r in rows], "i": [r.id for r in rows]},
            )
    if not dry_run:
        await anyio.to_thread.run_sync(delete_quietly, store, [r.object_key for r in rows])
    return PurgeReport(
        files=len(rows),
        bytes=sum(r.size or 0 for r in rows),
        messages=len({(r.tenant_id, r.message_id) for r in rows}),
        dry_run=dry_run,
    )
