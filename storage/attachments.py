"""Accepting attachments: through the app (streamed) or straight from the browser to storage.

Through the app, ``receive_upload`` reads the request body chunk by chunk into a temporary file
(memory up to 1 MiB, disk beyond), counting and hashing as it goes and stopping as soon as the
size limit is passed; then, in a worker thread, the content is identified, scanned, stripped of
image metadata and stored under a fresh key.

Straight to storage, ``prepare_direct_upload`` issues an S3 POST policy (or, on a local disk, a
signed app URL whose body ``receive_signed_upload`` stores); the object is not trusted until
``confirm_direct_upload`` has run the same checks on it, and it is deleted when they fail.

Nothing here keeps metadata rows: the caller records the returned ``StoredAttachment``.
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
import tempfile
import uuid
from collections.abc import AsyncIterable, Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import BinaryIO, cast

import anyio
import anyio.to_thread

from storage.antivirus import VirusScanner
from storage.closing import ClosedAfterUse
from storage.errors import AttachmentRejected, ObjectMissing, RejectionReason, StorageError
from storage.file_types import IMAGE_KINDS, FileKind
from storage.filenames import content_disposition, sanitize_filename
from storage.image_metadata import strip_image_metadata
from storage.keys import ensure_tenant_key, object_key
from storage.object_store import DirectUpload, ObjectStore
from storage.signed_urls import UploadGrant
from storage.validation import (
    DEFAULT_POLICY,
    AttachmentPolicy,
    check_attachment_count,
    check_content,
    check_size,
    format_size,
    too_large,
)

logger = logging.getLogger(__name__)

SPOOL_MEMORY_LIMIT = 1024 * 1024
_READ_CHUNK = 64 * 1024


@dataclass(frozen=True)
class StoredAttachment:
    """What the caller records about an accepted file."""

    key: str
    filename: str
    size: int
    sha256: str
    kind: FileKind
    content_type: str
    metadata_stripped: bool


class SpooledFile(ClosedAfterUse):
    """Bytes being received, with a running count and SHA-256: in memory up to 1 MiB, in a
    temporary file beyond.

    In memory the chunks are kept as they came and joined once, when first read: appending to
    a growing buffer and copying it out again cost more CPU than the rest of an upload's
    handling of those bytes (each new megabyte buffer is fresh pages to fault in)."""

    def __init__(self, limit: int | None = None, *, filename: str | None = None) -> None:
        self.size = 0
        self._hash = hashlib.sha256()
        self._limit = limit
        self._filename = filename
        self._chunks: list[bytes] = []
        self._memory: io.BytesIO | None = None
        self._disk: BinaryIO | None = None

    @property
    def sha256(self) -> str:
        return self._hash.hexdigest()

    def write(self, chunk: bytes) -> None:
        """Append ``chunk``; ``AttachmentRejected`` as soon as the total passes the limit."""
        if self._memory is not None:
            raise ValueError("a spooled file is written before it is read")
        self.size += len(chunk)
        if self._limit is not None and self.size > self._limit:
            raise too_large(self._limit, filename=self._filename)
        self._hash.update(chunk)
        if self._disk is not None:
            self._disk.write(chunk)
        elif self.size > SPOOL_MEMORY_LIMIT:
            # Owned by this object and closed by close().
            self._disk = cast(BinaryIO, tempfile.TemporaryFile())  # noqa: SIM115
            self._disk.writelines(self._chunks)
            self._disk.write(chunk)
            self._chunks = []
        else:
            self._chunks.append(chunk)

    def rewind(self) -> BinaryIO:
        """The bytes, from the start (read them before rewinding again)."""
        if self._disk is not None:
            self._disk.seek(0)
            return self._disk
        if self._memory is None:
            # BytesIO shares the joined bytes, and reading them whole returns them uncopied.
            self._memory = io.BytesIO(b"".join(self._chunks))
            self._chunks = []
        self._memory.seek(0)
        return self._memory

    def close(self) -> None:
        self._chunks = []
        if self._memory is not None:
            self._memory.close()
        if self._disk is not None:
            self._disk.close()


async def spool_stream(
    chunks: AsyncIterable[bytes] | Iterable[bytes],
    *,
    limit: int,
    filename: str | None = None,
) -> SpooledFile:
    """Read ``chunks`` (e.g. Starlette's ``request.stream()``) into a ``SpooledFile``, stopping
    at the first chunk past ``limit`` bytes."""
    spooled = SpooledFile(limit, filename=filename)
    try:
        if isinstance(chunks, AsyncIterable):
            iterator = aiter(chunks)
            try:
                async for chunk in iterator:
                    spooled.write(chunk)
            finally:
                # Stop the producer at once instead of when it is garbage-collected.
                aclose = getattr(iterator, "aclose", None)
                if aclose is not None:
                    await aclose()
        else:
            for chunk in chunks:
                spooled.write(chunk)
    except BaseException:
        spooled.close()
        raise
    spooled.rewind()
    return spooled


def spool_chunks(
    chunks: Iterable[bytes], *, limit: int | None, filename: str | None = None
) -> SpooledFile:
    """The synchronous twin of ``spool_stream``."""
    spooled = SpooledFile(limit, filename=filename)
    try:
        for chunk in chunks:
            spooled.write(chunk)
    except BaseException:
        spooled.close()
        raise
    spooled.rewind()
    return spooled


def _inspect(
    spooled: SpooledFile,
    *,
    filename: str,
    policy: AttachmentPolicy,
    scanner: VirusScanner | None,
) -> tuple[SpooledFile, FileKind]:
    """Check ``spooled`` against the policy and the scanner; return what to store (the file
    itself, or a metadata-free copy for images) and its kind."""
    check_size(spooled.size, policy, filename=filename)
    kind = check_content(spooled.rewind(), policy, filename=filename)
    if scanner is not None:
        verdict = scanner.scan(spooled.rewind())
        if not verdict.clean:
            raise AttachmentRejected(
                RejectionReason.INFECTED,
                f"the file contains malware ({verdict.signature}) and cannot be accepted",
                filename=filename,
            )
    if kind not in IMAGE_KINDS or not policy.strip_image_metadata:
        return spooled, kind
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY_LIMIT) as output:
        try:
            strip_image_metadata(
                spooled.rewind(), kind, cast(BinaryIO, output), max_pixels=policy.max_image_pixels
            )
        except AttachmentRejected as exc:
            raise exc.for_file(filename=filename) from exc
        output.seek(0)
        return spool_chunks(iter(partial(output.read, _READ_CHUNK), b""), limit=None), kind


def store_spooled(
    store: ObjectStore,
    spooled: SpooledFile,
    *,
    key: str,
    filename: str,
    policy: AttachmentPolicy = DEFAULT_POLICY,
    scanner: VirusScanner | None = None,
    stored_content_type: str | None = None,
) -> StoredAttachment:
    """Check ``spooled`` and store it under ``key``. ``stored_content_type`` is given when the
    object is already stored (a direct upload): it is then rewritten only if its bytes or type
    change."""
    result, kind = _inspect(spooled, filename=filename, policy=policy, scanner=scanner)
    try:
        stripped = result is not spooled
        if stripped or stored_content_type != kind.mime_type:
            store.put(key, result.rewind(), result.size, kind.mime_type, sha256=result.sha256)
        return StoredAttachment(
            key=key,
            filename=filename,
            size=result.size,
            sha256=result.sha256,
            kind=kind,
            content_type=kind.mime_type,
            metadata_stripped=stripped,
        )
    finally:
        if result is not spooled:
            result.close()


class CheckedUpload(ClosedAfterUse):
    """A file received through the app that passed every check, ready to be stored under
    ``attachment.key``: the caller may record its row while the bytes are being stored."""

    def __init__(self, received: SpooledFile, result: SpooledFile, attachment: StoredAttachment):
        self._received = received
        self._result = result
        self.attachment = attachment

    def store(self, store: ObjectStore) -> None:
        """Put the checked bytes (the metadata-free copy, for images) under the key."""
        store.put(
            self.attachment.key,
            self._result.rewind(),
            self._result.size,
            self.attachment.content_type,
            sha256=self.attachment.sha256,
        )

    def close(self) -> None:
        if self._result is not self._received:
            self._result.close()
        self._received.close()


async def check_upload(
    chunks: AsyncIterable[bytes] | Iterable[bytes],
    *,
    tenant_id: uuid.UUID,
    filename: str,
    policy: AttachmentPolicy = DEFAULT_POLICY,
    scanner: VirusScanner | None = None,
    field: str | None = None,
) -> CheckedUpload:
    """Receive one file streamed through the app and check it (name, size, type by content,
    scan; images lose their metadata), without storing it yet. ``AttachmentRejected`` when
    something is not right."""
    display_name = sanitize_filename(filename, field=field)
    try:
        spooled = await spool_stream(chunks, limit=policy.max_file_size, filename=display_name)
        try:
            result, kind = await anyio.to_thread.run_sync(
                partial(_inspect, spooled, filename=display_name, policy=policy, scanner=scanner)
            )
        except BaseException:
            spooled.close()
            raise
    except AttachmentRejected as exc:
        if field is None or exc.field is not None:
            raise
        raise exc.for_file(filename=exc.filename, field=field) from exc
    attachment = StoredAttachment(
        key=object_key(tenant_id),
        filename=display_name,
        size=result.size,
        sha256=result.sha256,
        kind=kind,
        content_type=kind.mime_type,
        metadata_stripped=result is not spooled,
    )
    return CheckedUpload(spooled, result, attachment)


async def receive_upload(
    store: ObjectStore,
    chunks: AsyncIterable[bytes] | Iterable[bytes],
    *,
    tenant_id: uuid.UUID,
    filename: str,
    policy: AttachmentPolicy = DEFAULT_POLICY,
    scanner: VirusScanner | None = None,
    field: str | None = None,
) -> StoredAttachment:
    """Receive one file streamed through the app and store it under a new key of the tenant.
    ``AttachmentRejected`` (nothing stored) when the name, size, type or scan is not right."""
    with await check_upload(
        chunks,
        tenant_id=tenant_id,
        filename=filename,
        policy=policy,
        scanner=scanner,
        field=field,
    ) as checked:
        await anyio.to_thread.run_sync(checked.store, store)
        return checked.attachment


def store_file(
    store: ObjectStore,
    chunks: Iterable[bytes],
    *,
    tenant_id: uuid.UUID,
    filename: str,
    policy: AttachmentPolicy = DEFAULT_POLICY,
    scanner: VirusScanner | None = None,
) -> StoredAttachment:
    """The synchronous twin of ``receive_upload`` (for scripts and demo data)."""
    display_name = sanitize_filename(filename)
    with spool_chunks(chunks, limit=policy.max_file_size, filename=display_name) as spooled:
        return store_spooled(
            store,
            spooled,
            key=object_key(tenant_id),
            filename=display_name,
            policy=policy,
            scanner=scanner,
        )


@dataclass(frozen=True)
class IncomingFile:
    """One file of a message, as the caller receives it."""

    filename: str
    chunks: AsyncIterable[bytes] | Iterable[bytes]
    field: str | None = None


def delete_quietly(store: ObjectStore, keys: Iterable[str]) -> None:
    """Best-effort removal; what cannot be deleted now is left to the sweeper."""
    for key in keys:
        try:
            store.delete(key)
        except StorageError:
            logger.warning("could not delete %s; the sweeper will", key, exc_info=True)


async def receive_attachments(
    store: ObjectStore,
    files: Sequence[IncomingFile],
    *,
    tenant_id: uuid.UUID,
    policy: AttachmentPolicy = DEFAULT_POLICY,
    scanner: VirusScanner | None = None,
) -> list[StoredAttachment]:
    """Receive all files of one message, or none: when one is refused, those already stored
    are deleted again. Count and names are checked before any byte is read."""
    check_attachment_count(len(files), policy)
    for incoming in files:
        sanitize_filename(incoming.filename, field=incoming.field)
    stored: list[StoredAttachment] = []
    try:
        for incoming in files:
            stored.append(
                await receive_upload(
                    store,
                    incoming.chunks,
                    tenant_id=tenant_id,
                    filename=incoming.filename,
                    policy=policy,
                    scanner=scanner,
                    field=incoming.field,
                )
            )
    except BaseException:
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(
                partial(delete_quietly, store, [item.key for item in stored])
            )
        raise
    return stored


# --- Direct uploads ---------------------------------------------------------------------------

_CONTENT_TYPE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*(?:;[ -~]*)?")


@dataclass(frozen=True)
class PreparedUpload:
    """A direct upload the browser may perform; the caller remembers key, name and size (for
    instance in a pending row) to confirm it afterwards."""

    key: str
    filename: str
    size: int
    content_type: str
    upload: DirectUpload


def _declared_content_type(content_type: str) -> str:
    # Only bound into the upload grant; the stored type is decided by content at confirmation.
    # Anything odd (empty, CR/LF) becomes the neutral type rather than an error.
    normalized = content_type.strip().lower()
    if len(normalized) <= 200 and _CONTENT_TYPE.fullmatch(normalized):
        return normalized
    return "application/octet-stream"


def prepare_direct_upload(
    store: ObjectStore,
    *,
    tenant_id: uuid.UUID,
    filename: str,
    size: int,
    content_type: str,
    policy: AttachmentPolicy = DEFAULT_POLICY,
    ttl: timedelta | None = None,
) -> PreparedUpload:
    """A short-lived grant to upload one file of ``size`` bytes straight to storage, checked
    against the policy's size limit and the name rules first."""
    display_name = sanitize_filename(filename)
    check_size(size, policy, filename=display_name)
    declared = _declared_content_type(content_type)
    key = object_key(tenant_id)
    upload = store.upload_form(key, size=size, content_type=declared, ttl=ttl)
    return PreparedUpload(key, display_name, size, declared, upload)


async def receive_signed_upload(
    store: ObjectStore,
    grant: UploadGrant,
    chunks: AsyncIterable[bytes] | Iterable[bytes],
) -> None:
    """Store the body of a browser upload to the local backend's signed URL, as S3 would: the
    exact size declared, under the granted key. Checks run at ``confirm_direct_upload``."""
    spooled = await spool_stream(chunks, limit=grant.size)
    with spooled:
        if spooled.size != grant.size:
            raise AttachmentRejected(
                RejectionReason.SIZE_MISMATCH,
                f"{format_size(spooled.size)} were received but {format_size(grant.size)} "
                "were declared; upload the file again",
            )
        await anyio.to_thread.run_sync(
            partial(store.put, grant.key, spooled.rewind(), spooled.size, grant.content_type)
        )


def spool_object(store: ObjectStore, key: str, *, limit: int) -> SpooledFile:
    """A stored object copied into a ``SpooledFile`` (counted, hashed, size-limited)."""
    with store.open(key) as reader:
        return spool_chunks(reader, limit=limit)


def confirm_direct_upload(
    store: ObjectStore,
    *,
    tenant_id: uuid.UUID,
    key: str,
    filename: str,
    declared_size: int,
    policy: AttachmentPolicy = DEFAULT_POLICY,
    scanner: VirusScanner | None = None,
) -> StoredAttachment:
    """Accept an object the browser uploaded: it must exist under the tenant's ``key`` with the
    declared size, and pass the same checks as an upload through the app (the type by content,
    the virus scan); images are rewritten without metadata. When a check fails the object is
    deleted and ``AttachmentRejected`` raised; ``ObjectMissing`` when nothing was uploaded."""
    ensure_tenant_key(key, tenant_id)
    display_name = sanitize_filename(filename)
    info = store.stat(key)
    if info is None:
        raise ObjectMissing(key)
    try:
        if info.size != declared_size:
            raise AttachmentRejected(
                RejectionReason.SIZE_MISMATCH,
                f"{format_size(info.size)} were received but {format_size(declared_size)} "
                "were declared; upload the file again",
                filename=display_name,
            )
        check_size(info.size, policy, filename=display_name)
        with spool_object(store, key, limit=policy.max_file_size) as spooled:
            return store_spooled(
                store,
                spooled,
                key=key,
                filename=display_name,
                policy=policy,
                scanner=scanner,
                stored_content_type=info.content_type,
            )
    except AttachmentRejected:
        delete_quietly(store, [key])
        raise


# --- Downloads ------------------------------------------------------------------------------


def download_link(
    store: ObjectStore,
    *,
    tenant_id: uuid.UUID,
    key: str,
    filename: str,
    content_type: str,
    ttl: timedelta | None = None,
) -> str:
    """A short-lived link serving the tenant's object as a download named ``filename``."""
    ensure_tenant_key(key, tenant_id)
    return store.download_url(key, filename=filename, content_type=content_type, ttl=ttl)


def download_headers(filename: str, content_type: str) -> dict[str, str]:
    """Headers for the app to serve a stored object itself (the local backend)."""
    return {
        "Content-Type": content_type,
        "Content-Disposition": content_disposition(filename),
        # Never let a browser second-guess the type and render an upload as HTML.
        "X-Content-Type-Options": "nosniff",
    }
