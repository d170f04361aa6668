"""What the app needs from where files live: one interface (:class:`ObjectStore`) that the S3
and local-disk stores implement, and the values it hands back.

The API is synchronous; the web app calls it from a worker thread. Objects are addressed by keys
that ``storage.keys`` generates; both stores refuse keys of any other shape, so a key can never
escape the bucket prefix or the root directory.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import BinaryIO, Literal, NamedTuple, Protocol, runtime_checkable

from storage.closing import ClosedAfterUse
from storage.config import BackendKind

CHUNK_SIZE = 64 * 1024


class ListedObject(NamedTuple):
    key: str
    size: int
    last_modified: datetime


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int
    last_modified: datetime
    content_type: str


@dataclass(frozen=True)
class DirectUpload:
    """How a browser uploads one file straight to storage.

    ``POST``: a multipart form to ``url`` with ``fields`` first and the file last, in a field
    named ``file`` (an S3 POST policy). ``PUT``: the raw file as the body, with ``headers`` (the
    local backend's signed app URL).
    """

    method: Literal["POST", "PUT"]
    url: str
    expires_at: datetime
    fields: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)


class ObjectReader(ClosedAfterUse, Iterator[bytes]):
    """The chunks of one object, fetched as they are consumed. Close it (or use ``with``) when
    it is not read to the end, to give the connection or file handle back."""

    def __init__(self, chunks: Generator[bytes, None, None]) -> None:
        self._chunks = chunks

    def __iter__(self) -> ObjectReader:
        return self

    def __next__(self) -> bytes:
        return next(self._chunks)

    def close(self) -> None:
        self._chunks.close()


@runtime_checkable
class ObjectStore(Protocol):
    """What the rest of the app needs from where files live."""

    kind: BackendKind

    def ensure_ready(self) -> None:
        """Create the bucket or directory when missing; ``StorageMisconfigured`` naming the
        lacking right when that is not possible."""

    def put(
        self, key: str, stream: BinaryIO, size: int, content_type: str, *, sha256: str | None = None
    ) -> None:
        """Store exactly ``size`` bytes read from ``stream`` under ``key`` (replacing any).
        ``sha256``, when the caller has hashed the bytes, lets the store verify them on arrival
        instead of hashing them again."""

    def open(self, key: str) -> ObjectReader:
        """The object's bytes as a stream of chunks; ``ObjectMissing`` when absent."""

    def stat(self, key: str) -> ObjectInfo | None:
        """The object's size, date and content type, or ``None`` when absent."""

    def delete(self, key: str) -> None:
        """Remove the object; deleting an absent object is not an error."""

    def list(self, prefix: str = "") -> Iterator[ListedObject]:
        """Every object whose key starts with ``prefix``."""

    def copy(self, src_key: str, dst_key: str) -> None:
        """Copy an object with its content type (server-side on S3)."""

    def read_head(self, key: str, n: int) -> bytes:
        """The first ``n`` bytes (fewer when the object is shorter)."""

    def upload_form(
        self, key: str, *, size: int, content_type: str, ttl: timedelta | None = None
    ) -> DirectUpload:
        """A short-lived grant for a browser to upload exactly ``size`` bytes of
        ``content_type`` to ``key``."""

    def download_url(
        self, key: str, *, filename: str, content_type: str, ttl: timedelta | None = None
    ) -> str:
        """A short-lived URL serving the object as an attachment named ``filename``."""
