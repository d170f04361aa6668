"""Uploads streamed through the app, on both backends."""

from __future__ import annotations

import hashlib
import io
import re
import tracemalloc
import uuid
from collections.abc import AsyncIterator, Callable, Iterator

import pytest
from PIL import Image

from storage.attachments import IncomingFile, receive_attachments, receive_upload, store_file
from storage.errors import AttachmentRejected, RejectionReason
from storage.file_types import FileKind
from storage.keys import is_tenant_key
from storage.object_store import ObjectStore
from storage.validation import AttachmentPolicy, MiB
from tests.storage import samples
from tests.storage.conftest import read_object, stored_keys

# Marked here, at collection, not only by the root conftest's later hook: anyio's plugin
# otherwise rebuilds coroutine test items and drops the store fixture's backend parameter.
pytestmark = pytest.mark.anyio


class CountingChunks:
    """An async body that counts how much of it was consumed."""

    def __init__(self, total: int, chunk: int = 64 * 1024) -> None:
        self.total = total
        self.chunk = b"a" * chunk
        self.consumed = 0

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._generate()

    async def _generate(self) -> AsyncIterator[bytes]:
        while self.consumed < self.total:
            self.consumed += len(self.chunk)
            yield self.chunk


async def test_a_photo_is_stored_under_a_new_tenant_key_without_its_location(
    store: ObjectStore, tenant_id: uuid.UUID
) -> None:
    stored = await receive_upload(
        store,
        samples.async_chunks(samples.jpeg_with_gps(), size=1000),
        tenant_id=tenant_id,
        filename="Фото двора.jpg",
    )

    data = read_object(store, stored.key)
    assert is_tenant_key(stored.key, tenant_id)
    assert "Фото" not in stored.key
    assert stored.filename == "Фото двора.jpg"
    assert stored.kind is FileKind.JPEG
    assert stored.content_type == "image/jpeg"
    assert stored.metadata_stripped
    assert (stored.size, stored.sha256) == (len(data), hashlib.sha256(data).hexdigest())
    with Image.open(io.BytesIO(data)) as image:
        assert dict(image.getexif().get_ifd(samples.GPS_IFD)) == {}
    info = store.stat(stored.key)
    assert info is not None
    assert info.content_type == "image/jpeg"


async def test_a_document_is_stored_byte_for_byte(store: ObjectStore, tenant_id: uuid.UUID) -> None:
    document = samples.docx_document()

    stored = await receive_upload(
        store, samples.async_chunks(document), tenant_id=tenant_id, filename="answer.docx"
    )

    assert read_object(store, stored.key) == document
    assert stored.sha256 == hashlib.sha256(document).hexdigest()
    assert not stored.metadata_stripped
    assert stored.content_type == FileKind.DOCX.mime_type


async def test_a_sync_iterable_body_is_accepted_too(
    store: ObjectStore, tenant_id: uuid.UUID
) -> None:
    stored = await receive_upload(
        store, samples.sync_chunks(samples.utf8_text()), tenant_id=tenant_id, filename="a.txt"
    )

    assert read_object(store, stored.key) == samples.utf8_text()
    assert stored.content_type == "text/plain; charset=utf-8"


def test_files_can_be_stored_without_an_event_loop(
    store: ObjectStore, tenant_id: uuid.UUID
) -> None:
    stored = store_file(
        store, samples.sync_chunks(samples.pdf_document()), tenant_id=tenant_id, filename="a.pdf"
    )

    assert read_object(store, stored.key) == samples.pdf_document()


@pytest.mark.parametrize(
    ("make", "filename", "message"),
    [
        pytest.param(
            samples.zip_archive,
            "photo.jpg",
            "photo.jpg: the content is a ZIP archive; allowed: JPEG, PNG, HEIC, PDF, DOCX, ODT, "
            "text",
            id="zip named like a photo",
        ),
        pytest.param(
            samples.elf_binary,
            "photo.jpg",
            "photo.jpg: the content is an executable program (ELF); allowed:",
            id="ELF named like a photo",
        ),
        pytest.param(
            samples.pe_binary,
            "report.pdf",
            "report.pdf: the content is an executable program (Windows); allowed:",
            id="PE named like a PDF",
        ),
        pytest.param(
            samples.rar_archive,
            "scan.pdf",
            "scan.pdf: the content is a RAR archive",
            id="RAR named like a PDF",
        ),
        pytest.param(
            samples.shell_script,
            "notes.txt",
            "notes.txt: the content is an executable script",
            id="script named like text",
        ),
        pytest.param(lambda: b"", "empty.pdf", "empty.pdf: the file is empty", id="empty file"),
        pytest.param(
            lambda: samples.jpeg_with_gps()[:300],
            "cut.jpg",
            "cut.jpg: the JPEG image is damaged and cannot be read",
            id="truncated photo",
        ),
    ],
)
async def test_a_refused_file_is_not_stored(
    store: ObjectStore,
    tenant_id: uuid.UUID,
    make: Callable[[], bytes],
    filename: str,
    message: str,
) -> None:
    with pytest.raises(AttachmentRejected) as refused:
        await receive_upload(
            store, samples.async_chunks(make()), tenant_id=tenant_id, filename=filename
        )

    assert str(refused.value).startswith(message)
    assert stored_keys(store) == []


async def test_an_oversized_file_is_refused_after_reading_just_past_the_limit(
    store: ObjectStore, tenant_id: uuid.UUID
) -> None:
    body = CountingChunks(total=50 * MiB)
    policy = AttachmentPolicy(max_file_size=1 * MiB)

    with pytest.raises(AttachmentRejected) as refused:
        await receive_upload(store, body, tenant_id=tenant_id, filename="big.pdf", policy=policy)

    assert refused.value.reason is RejectionReason.TOO_LARGE
    assert str(refused.value) == "big.pdf: the file is larger than the 1 MiB limit"
    assert body.consumed <= 1 * MiB + 64 * 1024
    assert stored_keys(store) == []


@pytest.mark.parametrize(
    ("filename", "reason"),
    [
        ("../../photo.jpg", "path separator"),
        ("photo\r\n.jpg", "control or invisible characters"),
        ("ф" * 296 + ".jpg", "300 characters long"),
    ],
)
async def test_a_bad_file_name_is_refused_before_the_body_is_read(
    store: ObjectStore, tenant_id: uuid.UUID, filename: str, reason: str
) -> None:
    body = CountingChunks(total=1024)

    with pytest.raises(AttachmentRejected, match=re.escape(reason)) as refused:
        await receive_upload(store, body, tenant_id=tenant_id, filename=filename, field="photo")

    assert refused.value.field == "photo"
    assert body.consumed == 0
    assert stored_keys(store) == []


async def test_a_message_with_too_many_files_is_refused_before_reading_any(
    store: ObjectStore, tenant_id: uuid.UUID
) -> None:
    bodies = [CountingChunks(total=1024) for _ in range(6)]
    files = [IncomingFile(f"{n}.txt", body) for n, body in enumerate(bodies)]

    with pytest.raises(AttachmentRejected) as refused:
        await receive_attachments(store, files, tenant_id=tenant_id)

    assert refused.value.reason is RejectionReason.TOO_MANY_FILES
    assert str(refused.value) == "a message can carry at most 5 files; 6 were attached"
    assert all(body.consumed == 0 for body in bodies)
    assert stored_keys(store) == []


async def test_a_message_is_stored_whole_or_not_at_all(
    store: ObjectStore, tenant_id: uuid.UUID
) -> None:
    files = [
        IncomingFile("letter.pdf", samples.async_chunks(samples.pdf_document()), "files"),
        IncomingFile("photo.jpg", samples.async_chunks(samples.zip_archive()), "files"),
    ]

    with pytest.raises(AttachmentRejected, match=r"^photo\.jpg: the content is a ZIP archive"):
        await receive_attachments(store, files, tenant_id=tenant_id)

    assert stored_keys(store) == []


async def test_a_message_of_allowed_files_is_stored(
    store: ObjectStore, tenant_id: uuid.UUID
) -> None:
    files = [
        IncomingFile("letter.pdf", samples.async_chunks(samples.pdf_document())),
        IncomingFile("photo.png", samples.async_chunks(samples.png_with_gps())),
        IncomingFile("answer.odt", samples.async_chunks(samples.odt_document())),
    ]

    stored = await receive_attachments(store, files, tenant_id=tenant_id)

    assert [item.kind for item in stored] == [FileKind.PDF, FileKind.PNG, FileKind.ODT]
    assert sorted(stored_keys(store)) == sorted(item.key for item in stored)


def _thirty_mib_of_text() -> Iterator[bytes]:
    chunk = (b"x" * 1023 + b"\n") * 64  # 64 KiB, the same object each time
    for _ in range(30 * 16):
        yield chunk


async def test_a_30_mib_upload_is_streamed_not_held_in_memory(
    store: ObjectStore, tenant_id: uuid.UUID
) -> None:
    async def body() -> AsyncIterator[bytes]:
        for chunk in _thirty_mib_of_text():
            yield chunk

    policy = AttachmentPolicy(max_file_size=64 * MiB)
    tracemalloc.start()
    try:
        stored = await receive_upload(
            store, body(), tenant_id=tenant_id, filename="log.txt", policy=policy
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert stored.size == 30 * MiB
    info = store.stat(stored.key)
    assert info is not None
    assert info.size == 30 * MiB
    # The S3 client holds at most two 5 MiB parts at a time (measured: 10 MiB); the rest of the
    # file waits on disk. The local backend stays near 1 MiB.
    assert peak < 15 * MiB, f"peak traced memory {peak / MiB:.1f} MiB"
