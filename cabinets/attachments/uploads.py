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
from collections.abc import AsyncIterable, AsyncIterator, Iterable
from datetime import UTC, datetime
from functools import partial
from typing import Any

import anyio.to_thread
from sqlalchemy import text
from starlette.datastructures import UploadFile

from cabinets.attachments.schemas import UploadReceipt
from cabinets.responsible import ResponsibleTenant, responsible_tenant
from storage.antivirus import VirusScanner
from storage.attachments import (
    StoredAttachment,
    check_upload,
    confirm_direct_upload,
    delete_quietly,
    prepare_direct_upload,
)
from storage.file_types import IMAGE_KINDS
from storage.object_store import ObjectStore
from storage.validation import AttachmentPolicy, MiB
from tenancy.database import Database
from tenancy.errors import InvalidInput, NotFound
from tenancy.routing.place_check import check_place
from tenancy.routing.resolver import RoutingIndex

IMAGE_TYPES = frozenset(kind.mime_type for kind in IMAGE_KINDS)
FORM_TEXT_ROOM = MiB  # a message form's text fields, beside its files
FORM_CHUNK = 64 * 1024


def token_digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def upload_policy(tenant: Any) -> AttachmentPolicy:
    return AttachmentPolicy(
        max_file_size=tenant.attachment_max_mb * MiB, max_files=max(tenant.attachment_max_files, 1)
    )


async def _tenant_for_upload(
    db: Database, routes: RoutingIndex, topic: str, territory: str
) -> ResponsibleTenant:
    """The tenant a message on this topic and territory would go to: its files go there."""
    check_place(routes, topic, territory)
    slug = routes.resolve(topic, territory, datetime.now(UTC).date())
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
    slug = routes.resolve(topic, territory, datetime.now(UTC).date())
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


async def insert_attachment(
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
            "secret": token_digest(token),
            "by": uploaded_by,
            "attached": datetime.now(UTC) if message_id else None,
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
        chunks,
        tenant_id=tenant.id,
        filename=filename,
        policy=upload_policy(tenant),
        scanner=scanner,
        field="file",
    ) as checked:
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
                outcome["receipt"] = await insert_attachment(
                    db,
                    tenant.id,
                    key=stored.key,
                    filename=stored.filename,
                    content_type=stored.content_type,
                    status="pending",
                    purpose="request",
                    uploaded_by="citizen",
                    stored=stored,
                )
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
            db,
            store,
            routes,
            _chunks_of(part),
            topic=topic,
            territory=territory,
            filename=part.filename,
            scanner=scanner,
        )
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
            prepare_direct_upload,
            store,
            tenant_id=tenant.id,
            filename=filename,
            size=size,
            content_type=content_type,
            policy=upload_policy(tenant),
        )
    )
    receipt = await insert_attachment(
        db,
        tenant.id,
        key=prepared.key,
        filename=prepared.filename,
        content_type=prepared.content_type,
        status="uploading",
        purpose="request",
        uploaded_by="citizen",
        declared_size=size,
    )
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
    if row is None or not hmac.compare_digest(bytes(row.secret_hash), token_digest(token)):
        raise NotFound("upload", str(upload_id))
    return row.tenant_id, row


async def confirm_citizen_upload(
    db: Database,
    store: ObjectStore,
    upload_id: uuid.UUID,
    token: str,
    *,
    scanner: VirusScanner | None,
) -> UploadReceipt:
    tenant_id, row = await _find_upload(db, upload_id, token)
    if row.status != "uploading":
        raise InvalidInput.one("id", "this upload is already confirmed")
    stored = await anyio.to_thread.run_sync(
        partial(
            confirm_direct_upload,
            store,
            tenant_id=tenant_id,
            key=row.object_key,
            filename=row.filename,
            declared_size=row.declared_size,
            policy=upload_policy(row),
            scanner=scanner,
        )
    )
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
        id=upload_id,
        token=token,
        filename=stored.filename,
        size=stored.size,
        content_type=stored.content_type,
        status="pending",
    )
