"""Attachments: citizens' photos and staff's answer documents, kept in the object store under
their tenant's prefix, with a row each in the tenant's ``attachments`` table.

A citizen uploads before sending the message (the form knows the topic and territory, so the
responsible tenant is known); the upload is ``pending`` until a message takes it, with the
secret token only its uploader holds. A sweeper removes what no message took. Forwarding copies
the files into the receiving tenant (its own objects and rows), so each tenant's files stay under
its own prefix and row-level security, and the sender keeps its copy for the record.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import anyio.to_thread
from psycopg import AsyncCursor
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import UploadFile

from cabinets.responsible import ResponsibleTenant, responsible_tenant
from storage.antivirus import VirusScanner
from storage.attachments import (
    StoredAttachment,
    check_upload,
    confirm_direct_upload,
    delete_quietly,
    download_link,
    prepare_direct_upload,
    receive_upload,
)
from storage.config import BackendKind, StorageConfig
from storage.file_types import IMAGE_KINDS
from storage.keys import object_key
from storage.object_store import ObjectStore
from storage.sweeping import reconcile
from storage.validation import AttachmentPolicy, MiB
from tenancy.audit import record_audit
from tenancy.database import Database, Pipeline, Transaction
from tenancy.errors import FieldError, InvalidInput, NotFound
from tenancy.routing.place_check import check_place
from tenancy.routing.resolver import RoutingIndex
from tenancy.settings import Settings

IMAGE_TYPES = frozenset(kind.mime_type for kind in IMAGE_KINDS)
FORM_TEXT_ROOM = MiB  # a message form's text fields, beside its files
FORM_CHUNK = 64 * 1024


def storage_config(settings: Settings) -> StorageConfig:
    """Where attachments live: S3 when an endpoint is set, else a directory in HOME."""
    if settings.s3_endpoint:
        return StorageConfig(
            backend=BackendKind.S3,
            s3_endpoint=settings.s3_endpoint,
            s3_access_key=settings.s3_access_key,
            s3_secret_key=settings.s3_secret_key,
            s3_bucket=settings.s3_bucket,
            s3_region=settings.s3_region or "us-east-1",
            s3_secure=settings.s3_secure,
            s3_public_endpoint=settings.s3_public_endpoint,
            clamd_address=settings.clamd_address,
        )
    return StorageConfig(
        backend=BackendKind.LOCAL,
        local_root=settings.attachments_dir,
        url_signing_key=settings.secret_key,
        local_upload_url=f"{settings.base_url}/attachments/upload",
        local_download_url=f"{settings.base_url}/attachments/download",
        clamd_address=settings.clamd_address,
    )


class UploadReceipt(BaseModel):
    """What the uploader keeps to attach the file to their message: id and secret token."""

    id: uuid.UUID
    token: str
    filename: str
    size: int | None
    content_type: str
    status: str
    upload: dict[str, Any] | None = None  # a direct upload: where and how to send the bytes


class FileRead(BaseModel):
    id: uuid.UUID
    purpose: str
    filename: str
    content_type: str
    size: int | None
    sha256: str | None
    created_at: datetime


@dataclass(frozen=True)
class UploadRef:
    id: uuid.UUID
    token: str


def _now() -> datetime:
    return datetime.now(UTC)


def _digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def _policy(tenant: Any) -> AttachmentPolicy:
    return AttachmentPolicy(
        max_file_size=tenant.attachment_max_mb * MiB, max_files=max(tenant.attachment_max_files, 1)
    )


async def _tenant_for_upload(
    db: Database, routes: RoutingIndex, topic: str, territory: str
) -> ResponsibleTenant:
    """The tenant a message on this topic and territory would go to: its files go there."""
    check_place(routes, topic, territory)
    slug = routes.resolve(topic, territory, _now().date())
    if slug is None:
        raise InvalidInput.one(
            "topic",
            "no organization answers this topic here yet, so files cannot be taken: send the "
            "message without them, the operator will route it",
        )
    return await responsible_tenant(db, routes, slug)


async def form_allowance(db: Database, routes: RoutingIndex, topic: str, territory: str) -> int:
    """The most bytes a message form for this place may carry: the files its tenant takes
    (none when nobody answers there yet), and room for the text."""
    check_place(routes, topic, territory)
    slug = routes.resolve(topic, territory, _now().date())
    if slug is None:
        return FORM_TEXT_ROOM
    tenant = await responsible_tenant(db, routes, slug)
    return tenant.attachment_max_mb * MiB * tenant.attachment_max_files + FORM_TEXT_ROOM


async def largest_form_allowance(db: Database, routes: RoutingIndex) -> int:
    """The most bytes a message form may carry whatever its place: the files of the active
    organization that takes the most, and room for the text."""
    known: dict[str, int] = routes.memo
    if "largest_form" not in known:
        async with db.public_session() as session:
            most = (
                await session.execute(
                    text(
                        "SELECT coalesce(max(attachment_max_mb * attachment_max_files), 0) "
                        "FROM tenants WHERE status = 'active'"
                    )
                )
            ).scalar_one()
        known["largest_form"] = int(most) * MiB + FORM_TEXT_ROOM
    return known["largest_form"]


_INSERT_UPLOAD = text(
    """
    INSERT INTO attachments (tenant_id, id, message_id, purpose, status, object_key, filename,
        content_type, size, declared_size, sha256, secret_hash, uploaded_by, attached_at)
    VALUES (:t, :id, :m, :purpose, :status, :key, :filename, :type, :size, :declared, :sha,
        :secret, :by, :attached)
    """
)


async def _insert(
    db: Database,
    tenant_id: uuid.UUID,
    *,
    key: str,
    filename: str,
    content_type: str,
    status: str,
    purpose: str,
    uploaded_by: str,
    stored: StoredAttachment | None = None,
    declared_size: int | None = None,
    message_id: uuid.UUID | None = None,
) -> UploadReceipt:
    upload_id = uuid.uuid4()
    token = secrets.token_urlsafe(24)
    # One message to the database: every upload through the app pays for this row.
    await db.tenant_write(
        [tenant_id],
        _INSERT_UPLOAD,
        {
            "t": tenant_id,
            "id": upload_id,
            "m": message_id,
            "purpose": purpose,
            "status": status,
            "key": key,
            "filename": stored.filename if stored else filename,
            "type": stored.content_type if stored else content_type,
            "size": stored.size if stored else None,
            "declared": declared_size,
            "sha": bytes.fromhex(stored.sha256) if stored else None,
            "secret": _digest(token),
            "by": uploaded_by,
            "attached": _now() if message_id else None,
        },
    )
    return UploadReceipt(
        id=upload_id,
        token=token,
        filename=stored.filename if stored else filename,
        size=stored.size if stored else declared_size,
        content_type=stored.content_type if stored else content_type,
        status=status,
    )


async def receive_citizen_upload(
    db: Database,
    store: ObjectStore,
    routes: RoutingIndex,
    chunks: AsyncIterable[bytes],
    *,
    topic: str,
    territory: str,
    filename: str,
    scanner: VirusScanner | None,
) -> UploadReceipt:
    """A file streamed through the app for a message about to be sent; checked (type by
    content, size, scan), stripped of image metadata and kept pending."""
    tenant = await _tenant_for_upload(db, routes, topic, territory)
    with await check_upload(
        chunks, tenant_id=tenant.id, filename=filename, policy=_policy(tenant),
        scanner=scanner, field="file",
    ) as checked:  # fmt: skip
        stored = checked.attachment
        # The row and the object are written side by side (the row's transaction costs about
        # as much as a quarter of the object's); the receipt goes out only when both are there,
        # and whichever fails takes the other back.
        outcome: dict[str, Any] = {}

        async def put_object() -> None:
            try:
                await anyio.to_thread.run_sync(checked.store, store)
            except Exception as exc:
                outcome["put_failed"] = exc

        async def insert_row() -> None:
            try:
                outcome["receipt"] = await _insert(
                    db, tenant.id, key=stored.key, filename=stored.filename,
                    content_type=stored.content_type, status="pending", purpose="request",
                    uploaded_by="citizen", stored=stored,
                )  # fmt: skip
            except Exception as exc:
                outcome["insert_failed"] = exc

        async with anyio.create_task_group() as both:
            both.start_soon(put_object)
            both.start_soon(insert_row)
    if "put_failed" in outcome:
        if "receipt" in outcome:
            await _delete_upload(db, tenant.id, outcome["receipt"].id)
        raise outcome["put_failed"]
    if "insert_failed" in outcome:
        await anyio.to_thread.run_sync(delete_quietly, store, [stored.key])
        raise outcome["insert_failed"]
    receipt: UploadReceipt = outcome["receipt"]
    return receipt


async def receive_form_files(
    db: Database,
    store: ObjectStore,
    routes: RoutingIndex,
    parts: Iterable[Any],
    *,
    topic: str,
    territory: str,
    scanner: VirusScanner | None,
) -> list[dict[str, str]]:
    """The files a multipart form carried, each received as a citizen's upload for this place;
    what the message lists in ``attachments``. An empty file input (a part without a name)
    is no file."""
    refs = []
    for part in parts:
        if not isinstance(part, UploadFile) or not part.filename:
            continue
        upload = await receive_citizen_upload(
            db, store, routes, _chunks_of(part), topic=topic, territory=territory,
            filename=part.filename, scanner=scanner,
        )  # fmt: skip
        refs.append({"id": str(upload.id), "token": upload.token})
    return refs


async def _chunks_of(part: UploadFile) -> AsyncIterator[bytes]:
    while chunk := await part.read(FORM_CHUNK):
        yield chunk


async def _delete_upload(db: Database, tenant_id: uuid.UUID, upload_id: uuid.UUID) -> None:
    # The app role may not delete rows: the owner connection takes the unstored upload back.
    async with db.privileged_session(actor="upload") as session:
        await session.execute(
            text(
                "DELETE FROM attachments WHERE tenant_id = :t AND id = :id AND status <> 'attached'"
            ),
            {"t": tenant_id, "id": upload_id},
        )


async def prepare_citizen_upload(
    db: Database,
    store: ObjectStore,
    routes: RoutingIndex,
    *,
    topic: str,
    territory: str,
    filename: str,
    size: int,
    content_type: str,
) -> UploadReceipt:
    """A grant for the browser to send the file straight to storage (bound to its size and
    type); ``confirm_citizen_upload`` then checks what arrived."""
    tenant = await _tenant_for_upload(db, routes, topic, territory)
    prepared = await anyio.to_thread.run_sync(
        partial(
            prepare_direct_upload, store, tenant_id=tenant.id, filename=filename, size=size,
            content_type=content_type, policy=_policy(tenant),
        )
    )  # fmt: skip
    receipt = await _insert(
        db, tenant.id, key=prepared.key, filename=prepared.filename,
        content_type=prepared.content_type, status="uploading", purpose="request",
        uploaded_by="citizen", declared_size=size,
    )  # fmt: skip
    upload = prepared.upload
    receipt.upload = {
        "method": upload.method,
        "url": upload.url,
        "fields": upload.fields,
        "headers": upload.headers,
        "expires_at": upload.expires_at.isoformat(),
    }
    return receipt


async def _find_upload(db: Database, upload_id: uuid.UUID, token: str) -> tuple[uuid.UUID, Any]:
    """The row an uploader's token opens. The uploader knows no tenant, so the row is found by
    id on the owner connection; only its token's hash decides, and nothing else is read."""
    async with db.privileged_session() as session:
        row = (
            await session.execute(
                text(
                    "SELECT a.tenant_id, a.status, a.object_key, a.filename, a.declared_size, "
                    "a.secret_hash, t.attachment_max_mb, t.attachment_max_files "
                    "FROM attachments a JOIN tenants t ON t.id = a.tenant_id WHERE a.id = :id"
                ),
                {"id": upload_id},
            )
        ).first()
    if row is None or not hmac.compare_digest(bytes(row.secret_hash), _digest(token)):
        raise NotFound("upload", str(upload_id))
    return row.tenant_id, row


async def confirm_citizen_upload(
    db: Database, store: ObjectStore, upload_id: uuid.UUID, token: str, *,
    scanner: VirusScanner | None,
) -> UploadReceipt:  # fmt: skip
    tenant_id, row = await _find_upload(db, upload_id, token)
    if row.status != "uploading":
        raise InvalidInput.one("id", "this upload is already confirmed")
    stored = await anyio.to_thread.run_sync(
        partial(
            confirm_direct_upload, store, tenant_id=tenant_id, key=row.object_key,
            filename=row.filename, declared_size=row.declared_size, policy=_policy(row),
            scanner=scanner,
        )
    )  # fmt: skip
    async with db.tenant_session([tenant_id]) as session:
        await session.execute(
            text(
                "UPDATE attachments SET status = 'pending', size = :size, sha256 = :sha, "
                "content_type = :type WHERE tenant_id = :t AND id = :id"
            ),
            {
                "size": stored.size,
                "sha": bytes.fromhex(stored.sha256),
                "type": stored.content_type,
                "t": tenant_id,
                "id": upload_id,
            },
        )
    return UploadReceipt(
        id=upload_id, token=token, filename=stored.filename, size=stored.size,
        content_type=stored.content_type, status="pending",
    )  # fmt: skip


_LOCK_UPLOADS = text(
    "SELECT id, status, secret_hash, content_type FROM attachments "
    "WHERE tenant_id = :t AND id = ANY(:ids) FOR UPDATE"
)
_ATTACH_UPLOADS = text(
    "UPDATE attachments SET status = 'attached', message_id = :m, attached_at = :now "
    "WHERE tenant_id = :t AND id = ANY(:ids)"
)


async def lock_uploads(
    pipe: Pipeline, tenant_id: uuid.UUID, uploads: Sequence[UploadRef]
) -> AsyncCursor[Any]:
    """Queue the lookup of a new message's uploads, locked until the message is written."""
    return await pipe.execute(_LOCK_UPLOADS, {"t": tenant_id, "ids": [u.id for u in uploads]})


def upload_problems(
    tenant: ResponsibleTenant,
    uploads: Sequence[UploadRef],
    found: Iterable[Any],
    *,
    photo_required: bool,
) -> list[FieldError]:
    """Everything that stops ``uploads`` (as ``found`` by :func:`lock_uploads`) from going
    with a new message, each naming its upload."""
    problems: list[FieldError] = []
    if len(uploads) > tenant.attachment_max_files:
        problems.append(
            FieldError(
                "attachments",
                f"at most {tenant.attachment_max_files} files a message",
                code="too_many_files",
                limit=tenant.attachment_max_files,
            )
        )
    rows = {r.id: r for r in found}
    for i, upload in enumerate(uploads):
        row = rows.get(upload.id)
        where = f"attachments[{i}]"
        if row is None or not hmac.compare_digest(bytes(row.secret_hash), _digest(upload.token)):
            # Another tenant's upload is not even acknowledged.
            problems.append(
                FieldError(where, "no such upload (or the token is wrong)", code="unknown_upload")
            )
        elif row.status == "uploading":
            problems.append(
                FieldError(where, "the upload was not confirmed", code="unconfirmed_upload")
            )
        elif row.status != "pending":
            problems.append(
                FieldError(where, "this file is already attached to a message", code="attached")
            )
    if photo_required and not any(
        rows.get(u.id) is not None and rows[u.id].content_type in IMAGE_TYPES for u in uploads
    ):
        problems.append(
            FieldError(
                "attachments", "this topic needs a photo of the problem", code="photo_required"
            )
        )
    return problems


async def attach_uploads(
    tx: Transaction,
    tenant_id: uuid.UUID,
    message_id: uuid.UUID,
    uploads: Sequence[UploadRef],
    *,
    now: datetime,
) -> None:
    """Give a new message the files its sender uploaded, once :func:`upload_problems` found
    nothing, in the intake's transaction."""
    if uploads:
        await tx.execute(
            _ATTACH_UPLOADS,
            {"m": message_id, "now": now, "t": tenant_id, "ids": [u.id for u in uploads]},
        )


async def receive_answer_file(
    db: Database,
    store: ObjectStore,
    tenant_id: uuid.UUID,
    message_id: uuid.UUID,
    chunks: AsyncIterable[bytes],
    *,
    filename: str,
    uploaded_by: str,
    scanner: VirusScanner | None,
) -> UploadReceipt:
    """A document for the answer, attached to the message at once (the caller has checked
    that the person may draft this message's answer)."""
    async with db.tenant_session([tenant_id]) as session:
        tenant = (
            await session.execute(
                text(
                    "SELECT t.id, t.attachment_max_mb, t.attachment_max_files, "
                    "(SELECT count(*) FROM attachments a WHERE a.tenant_id = t.id "
                    " AND a.message_id = :m AND a.purpose = 'answer') AS answer_files "
                    "FROM tenants t WHERE t.id = :t"
                ),
                {"t": tenant_id, "m": message_id},
            )
        ).one()
    if tenant.answer_files >= max(tenant.attachment_max_files, 1):
        raise InvalidInput.one("file", f"at most {tenant.attachment_max_files} answer files")
    stored = await receive_upload(
        store, chunks, tenant_id=tenant_id, filename=filename, policy=_policy(tenant),
        scanner=scanner, field="file",
    )  # fmt: skip
    try:
        return await _insert(
            db, tenant_id, key=stored.key, filename=stored.filename,
            content_type=stored.content_type, status="attached", purpose="answer",
            uploaded_by=uploaded_by, stored=stored, message_id=message_id,
        )  # fmt: skip
    except BaseException:
        await anyio.to_thread.run_sync(delete_quietly, store, [stored.key])
        raise


async def message_files(
    session: AsyncSession, tenant_id: uuid.UUID, message_id: uuid.UUID
) -> list[FileRead]:
    rows = await session.execute(
        text(
            "SELECT id, purpose, filename, content_type, size, sha256, created_at "
            "FROM attachments WHERE tenant_id = :t AND message_id = :m ORDER BY created_at, id"
        ),
        {"t": tenant_id, "m": message_id},
    )
    return [
        FileRead(
            id=r.id,
            purpose=r.purpose,
            filename=r.filename,
            content_type=r.content_type,
            size=r.size,
            sha256=bytes(r.sha256).hex() if r.sha256 else None,
            created_at=r.created_at,
        )
        for r in rows
    ]


async def file_link(
    db: Database,
    store: ObjectStore,
    tenant_id: uuid.UUID,
    message_id: uuid.UUID,
    file_id: uuid.UUID,
    *,
    purposes: frozenset[str] = frozenset({"request", "answer"}),
) -> str:
    """A short-lived link to one of the message's files (the caller checked who may read)."""
    async with db.tenant_session([tenant_id]) as session:
        row = (
            await session.execute(
                text(
                    "SELECT object_key, filename, content_type, purpose FROM attachments "
                    "WHERE tenant_id = :t AND message_id = :m AND id = :id"
                ),
                {"t": tenant_id, "m": message_id, "id": file_id},
            )
        ).first()
    if row is None or row.purpose not in purposes:
        raise NotFound("file", str(file_id))
    link: str = await anyio.to_thread.run_sync(
        partial(
            download_link, store, tenant_id=tenant_id, key=row.object_key, filename=row.filename,
            content_type=row.content_type,
        )
    )  # fmt: skip
    return link


async def copy_files(
    session: AsyncSession,
    store: ObjectStore,
    source: tuple[uuid.UUID, uuid.UUID],
    target: tuple[uuid.UUID, uuid.UUID],
) -> int:
    """Forwarding: the receiving tenant gets its own copy of each of the citizen's files, under
    its own prefix (the session must see both tenants)."""
    (from_tenant, from_message), (to_tenant, to_message) = source, target
    rows = (
        await session.execute(
            text(
                "SELECT object_key, filename, content_type, size, sha256 FROM attachments "
                "WHERE tenant_id = :t AND message_id = :m AND purpose = 'request'"
            ),
            {"t": from_tenant, "m": from_message},
        )
    ).all()
    for row in rows:
        key = object_key(to_tenant)
        await anyio.to_thread.run_sync(store.copy, row.object_key, key)
        await session.execute(
            text(
                """
                INSERT INTO attachments (tenant_id, id, message_id, purpose, status, object_key,
                    filename, content_type, size, sha256, uploaded_by, attached_at)
                VALUES (:t, :id, :m, 'request', 'attached', :key, :filename, :type, :size,
                    :sha, 'forwarded', now())
                """
            ),
            {
                "t": to_tenant,
                "id": uuid.uuid4(),
                "m": to_message,
                "key": key,
                "filename": row.filename,
                "type": row.content_type,
                "size": row.size,
                "sha": row.sha256,
            },
        )
    return len(rows)


# --- the sweeper and retention -----------------------------------------------------------


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
    cutoff = _now() - older_than
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
    found = reconcile(known - removed, stored, now=_now(), grace=orphan_grace)
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
    cutoff = _now() - older_than
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
                text("DELETE FROM attachments WHERE (tenant_id, id) IN "
                     "(SELECT * FROM unnest(CAST(:t AS uuid[]), CAST(:i AS uuid[])))"),
                {"t": [r.tenant_id for r in rows], "i": [r.id for r in rows]},
            )  # fmt: skip
    if not dry_run:
        await anyio.to_thread.run_sync(delete_quietly, store, [r.object_key for r in rows])
    return PurgeReport(
        files=len(rows),
        bytes=sum(r.size or 0 for r in rows),
        messages=len({(r.tenant_id, r.message_id) for r in rows}),
        dry_run=dry_run,
    )
