"""A message's files: the uploads a message takes, its list of files, download links, and the
copies made when it is forwarded."""

from __future__ import annotations

import hmac
import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from functools import partial
from typing import Any

import anyio.to_thread
from psycopg import AsyncCursor
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from cabinets.attachments.schemas import FileRead, UploadRef
from cabinets.attachments.uploads import IMAGE_TYPES, token_digest
from cabinets.responsible import ResponsibleTenant
from storage.attachments import (
    download_link,
)
from storage.keys import object_key
from storage.object_store import ObjectStore
from tenancy.database import Database, Pipeline, Transaction
from tenancy.errors import FieldError, NotFound

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
        if row is None or not hmac.compare_digest(
            bytes(row.secret_hash), token_digest(upload.token)
        ):
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
            download_link,
            store,
            tenant_id=tenant_id,
            key=row.object_key,
            filename=row.filename,
            content_type=row.content_type,
        )
    )
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
