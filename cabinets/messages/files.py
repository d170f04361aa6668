"""The files of a message: the staff's list and links, answer documents, and the citizen's
links to their own files."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterable

from cabinets.attachments.answer_files import receive_answer_file
from cabinets.attachments.linking import file_link, message_files
from cabinets.attachments.schemas import FileRead, UploadReceipt
from cabinets.messages.actors import Staff
from cabinets.messages.citizen import holder
from cabinets.messages.reading import (
    check_reader,
    load_message,
)
from cabinets.messages.workflow import (
    Status,
    check_transition,
)
from storage.antivirus import VirusScanner
from storage.object_store import ObjectStore
from tenancy.database import Database
from tenancy.errors import (
    Forbidden,
    NotFound,
)


async def list_files(
    db: Database, staff: Staff, tenant_id: uuid.UUID, message_id: uuid.UUID
) -> list[FileRead]:
    async with db.tenant_session([tenant_id]) as session:
        row = await load_message(session, tenant_id, message_id, lock=False)
        check_reader(staff, row)
        return await message_files(session, tenant_id, message_id)


async def staff_file_link(
    db: Database,
    store: ObjectStore,
    staff: Staff,
    tenant_id: uuid.UUID,
    message_id: uuid.UUID,
    file_id: uuid.UUID,
) -> str:
    async with db.tenant_session([tenant_id]) as session:
        check_reader(staff, await load_message(session, tenant_id, message_id, lock=False))
    return await file_link(db, store, tenant_id, message_id, file_id)


async def add_answer_file(
    db: Database,
    store: ObjectStore,
    staff: Staff,
    tenant_id: uuid.UUID,
    message_id: uuid.UUID,
    chunks: AsyncIterable[bytes],
    *,
    filename: str,
    scanner: VirusScanner | None,
) -> UploadReceipt:
    """A document for the answer, from whoever may draft it, while the answer is in work."""
    async with db.tenant_session([tenant_id]) as session:
        row = await load_message(session, tenant_id, message_id, lock=False)
    assigned = check_reader(staff, row)
    if not staff.may(tenant_id, "answer:draft", assigned=assigned):
        raise Forbidden("answer files need the permission answer:draft")
    check_transition("save_answer", Status(row.status))
    return await receive_answer_file(
        db,
        store,
        tenant_id,
        message_id,
        chunks,
        filename=filename,
        uploaded_by=staff.subject,
        scanner=scanner,
    )


async def tracked_file_link(
    db: Database,
    store: ObjectStore,
    number: str,
    token: str,
    file_id: uuid.UUID,
    *,
    citizen_id: uuid.UUID | None = None,
) -> str:
    """The citizen's link to their own files and, once answered, the answer's."""
    place = await holder(db, number, token, citizen_id=citizen_id)
    if place is None:
        raise NotFound("file", str(file_id))
    tenant_id, message_id = place
    async with db.tenant_session([tenant_id]) as session:
        row = await load_message(session, tenant_id, message_id, lock=False)
    answered = Status(row.status) in (Status.ANSWERED, Status.CLOSED)
    purposes = frozenset({"request", "answer"} if answered else {"request"})
    return await file_link(db, store, tenant_id, message_id, file_id, purposes=purposes)
