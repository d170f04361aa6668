"""Staff's answer documents, stored beside the message they answer."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterable

import anyio.to_thread
from sqlalchemy import text

from cabinets.attachments.schemas import UploadReceipt
from cabinets.attachments.uploads import insert_attachment, upload_policy
from storage.antivirus import VirusScanner
from storage.attachments import (
    delete_quietly,
    receive_upload,
)
from storage.object_store import ObjectStore
from tenancy.database import Database
from tenancy.errors import InvalidInput


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
        store,
        chunks,
        tenant_id=tenant_id,
        filename=filename,
        policy=upload_policy(tenant),
        scanner=scanner,
        field="file",
    )
    try:
        return await insert_attachment(
            db,
            tenant_id,
            key=stored.key,
            filename=stored.filename,
            content_type=stored.content_type,
            status="attached",
            purpose="answer",
            uploaded_by=uploaded_by,
            stored=stored,
            message_id=message_id,
        )
    except BaseException:
        await anyio.to_thread.run_sync(delete_quietly, store, [stored.key])
        raise
