"""Object stores: one interface, an S3 implementation (MinIO in production) and a local-disk one.

The API is synchronous; the web app calls it from a worker thread. Objects are addressed by keys
that ``storage.keys`` generates; both stores refuse keys of any other shape, so a key can never
escape the bucket prefix or the root directory.
"""

from __future__ import annotations

import errno
import os
import tempfile
from collections.abc import Callable, Generator, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from stat import S_ISREG
from typing import BinaryIO, Literal, NamedTuple, Protocol, runtime_checkable
from urllib.parse import urlunsplit

import urllib3
from minio import Minio
from minio import time as s3_time
from minio.commonconfig import CopySource
from minio.credentials.credentials import Credentials
from minio.datatypes import PostPolicy
from minio.error import InvalidResponseError, MinioException, S3Error, ServerError
from minio.helpers import BaseURL
from minio.signer import sign_v4_s3

from storage.closing import ClosedAfterUse
from storage.config import BackendKind, StorageConfig
from storage.errors import (
    ObjectMissing,
    StorageError,
    StorageMisconfigured,
    StorageUnavailable,
)
from storage.filenames import content_disposition
from storage.keys import check_key_prefix, check_object_key
from storage.signed_urls import issue_download_token, issue_upload_token

CHUNK_SIZE = 64 * 1024
# minio's minimum multipart part size: parts are held in memory while sent, so the smallest
# part and no parallel part uploads keep memory flat whatever the file size.
_S3_PART_SIZE = 5 * 1024 * 1024


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


def open_store(config: StorageConfig) -> ObjectStore:
    """The store ``config`` describes (not yet checked: call ``ensure_ready`` at start-up)."""
    if config.backend is BackendKind.S3:
        return S3Store(config)
    return LocalDiskStore(config)


# --- S3 -------------------------------------------------------------------------------------


def _http_client(config: StorageConfig) -> urllib3.PoolManager:
    # minio's own default waits up to 5 minutes and retries 5 times; a dead store must turn into
    # a quick 503 instead. Retry-After is ignored so a server cannot stall a worker for long.
    retries = urllib3.Retry(
        total=config.s3_retries,
        connect=config.s3_retries,
        read=config.s3_retries,
        status=config.s3_retries,
        backoff_factor=0.2,
        backoff_max=2.0,
        status_forcelist=(500, 502, 503, 504),
        respect_retry_after_header=False,
        raise_on_status=False,
    )
    return urllib3.PoolManager(
        timeout=urllib3.Timeout(connect=config.s3_connect_timeout, read=config.s3_read_timeout),
        retries=retries,
        maxsize=10,
        cert_reqs="CERT_REQUIRED",
        ca_certs=str(config.s3_ca_file) if config.s3_ca_file else None,
    )


_UNAVAILABLE_CODES = frozenset(
    {
        "SlowDown",
        "ServiceUnavailable",
        "InternalError",
        "RequestTimeout",
        "XMinioServerNotInitialized",
    }
)


def _refusal(response: urllib3.BaseHTTPResponse) -> MinioException:
    """The exception minio raises for this failed answer: an S3 error when it says which."""
    content_type = response.headers.get("content-type", "")
    if response.data and "application/xml" in content_type.split(";"):
        return S3Error.fromxml(response)
    body = response.data.decode(errors="replace") if response.data else None
    return InvalidResponseError(response.status, content_type, body)


class S3Store:
    """Objects in one bucket of an S3 API (MinIO), through the ``minio`` client."""

    kind = BackendKind.S3

    def __init__(self, config: StorageConfig) -> None:
        if not (config.s3_endpoint and config.s3_bucket):
            raise ValueError("the S3 store needs s3_endpoint and s3_bucket")
        self._bucket = config.s3_bucket
        self._endpoint = config.s3_endpoint
        self._region = config.s3_region
        self._upload_ttl = config.upload_url_ttl
        self._download_ttl = config.download_url_ttl
        self._http = _http_client(config)
        self._client = Minio(
            config.s3_endpoint,
            access_key=config.s3_access_key,
            secret_key=config.s3_secret_key,
            secure=config.s3_secure,
            region=config.s3_region,
            http_client=self._http,
        )
        scheme = "https" if config.s3_secure else "http"
        self._base_url = BaseURL(f"{scheme}://{config.s3_endpoint}", config.s3_region)
        self._credentials = (
            Credentials(config.s3_access_key, config.s3_secret_key)
            if config.s3_access_key and config.s3_secret_key
            else None
        )
        public_endpoint = config.s3_public_endpoint or config.s3_endpoint
        public_secure = (
            config.s3_secure if config.s3_public_secure is None else config.s3_public_secure
        )
        # Presigning is a local computation (the region is fixed), but the signature covers the
        # host, so URLs for browsers are signed by a client that names the public address.
        self._presigner = (
            self._client
            if public_endpoint == config.s3_endpoint and public_secure == config.s3_secure
            else Minio(
                public_endpoint,
                access_key=config.s3_access_key,
                secret_key=config.s3_secret_key,
                secure=public_secure,
                region=config.s3_region,
                http_client=_http_client(config),
            )
        )
        scheme = "https" if public_secure else "http"
        self._post_url = f"{scheme}://{public_endpoint}/{self._bucket}"

    @property
    def bucket(self) -> str:
        return self._bucket

    @contextmanager
    def _errors(self, action: str, *, right: str, key: str | None = None) -> Iterator[None]:
        """Turn the client's exceptions into ours; ``action`` completes "cannot ...", ``right``
        is the permission the action needs."""
        try:
            yield
        except S3Error as exc:
            raise self._translate(exc, action, right, key) from exc
        except ServerError as exc:
            raise StorageUnavailable(
                f"cannot {action}: the object store failed (HTTP {exc.status_code})"
            ) from exc
        except InvalidResponseError as exc:
            # A non-S3 answer: typically a proxy's error page while the store is down.
            raise StorageUnavailable(
                f"cannot {action}: unexpected answer from the object store"
            ) from exc
        except urllib3.exceptions.HTTPError as exc:
            raise StorageUnavailable(
                f"cannot {action}: the object store at {self._endpoint} is unreachable ({exc})"
            ) from exc
        except MinioException as exc:
            raise StorageError(f"cannot {action}: {exc}") from exc

    def _translate(self, exc: S3Error, action: str, right: str, key: str | None) -> StorageError:
        code = exc.code or "error"
        if code == "NoSuchKey" and key is not None:
            return ObjectMissing(key)
        if code == "NoSuchBucket":
            return StorageMisconfigured(
                f"cannot {action}: bucket {self._bucket!r} does not exist — create it or run "
                "ensure_ready"
            )
        if code == "AccessDenied":
            return StorageMisconfigured(f"cannot {action}: AccessDenied — grant {right}")
        if code in ("InvalidAccessKeyId", "SignatureDoesNotMatch"):
            return StorageMisconfigured(
                f"cannot {action}: {code} — check the S3 access key and secret key"
            )
        if code == "BucketAlreadyExists":
            return StorageMisconfigured(
                f"cannot {action}: the bucket name is taken by another account — choose another"
            )
        if code in _UNAVAILABLE_CODES:
            return StorageUnavailable(f"cannot {action}: the object store is unavailable ({code})")
        return StorageError(f"cannot {action}: {code}: {exc.message}")

    def ensure_ready(self) -> None:
        bucket = self._bucket
        with self._errors(f"check bucket {bucket!r}", right="s3:ListBucket on it"):
            if self._client.bucket_exists(bucket):
                return
        try:
            with self._errors(
                f"create bucket {bucket!r}", right="s3:CreateBucket or create the bucket"
            ):
                self._client.make_bucket(bucket, location=self._region)
        except StorageError as exc:
            cause = exc.__cause__
            if isinstance(cause, S3Error) and cause.code == "BucketAlreadyOwnedByYou":
                return  # created meanwhile by another instance
            raise

    def put(
        self, key: str, stream: BinaryIO, size: int, content_type: str, *, sha256: str | None = None
    ) -> None:
        check_object_key(key)
        with self._errors(f"store {key!r}", right="s3:PutObject", key=key):
            try:
                if sha256 is not None and self._credentials is not None and size <= _S3_PART_SIZE:
                    body = stream.read(size)
                    if len(body) != size:
                        raise StorageError(
                            f"cannot store {key!r}: the data ended {size - len(body)} bytes early"
                        )
                    self._put_hashed(key, body, content_type, sha256)
                else:
                    self._put(key, stream, size, content_type)
            except OSError as exc:
                # minio raises a bare IOError when the stream holds fewer bytes than declared;
                # any other OSError is the network failing under the client.
                if "not enough data" in str(exc):
                    raise StorageError(f"cannot store {key!r}: {exc}") from exc
                raise StorageUnavailable(f"cannot store {key!r}: {exc}") from exc

    def _put(self, key: str, stream: BinaryIO, size: int, content_type: str) -> None:
        self._client.put_object(
            self._bucket,
            key,
            stream,
            length=size,
            content_type=content_type,
            part_size=_S3_PART_SIZE if size > _S3_PART_SIZE else 0,
            num_parallel_uploads=1,
        )

    def _put_hashed(self, key: str, body: bytes, content_type: str, sha256: str) -> None:
        """One PUT signed over the caller's SHA-256 of ``body``, as ``put_object`` signs its own:
        the store refuses bytes that do not match it (XAmzContentSHA256Mismatch), and the body
        is not hashed a second time here (``put_object`` hashes every body, and over HTTPS adds
        an MD5 of it: the largest CPU cost of an upload after receiving it)."""
        assert self._credentials is not None
        url = self._base_url.build(
            method="PUT", region=self._region, bucket_name=self._bucket, object_name=key
        )
        date = s3_time.utcnow()
        headers = sign_v4_s3(
            method="PUT",
            url=url,
            region=self._region,
            headers={
                "Host": url.netloc,
                "Content-Type": content_type,
                "Content-Length": str(len(body)),
                "x-amz-content-sha256": sha256,
                "x-amz-date": s3_time.to_amz_date(date),
            },
            credentials=self._credentials,
            content_sha256=sha256,
            date=date,
        )
        response = self._http.urlopen("PUT", urlunsplit(url), body=body, headers=headers)
        if response.status != 200:
            raise _refusal(response)

    def open(self, key: str) -> ObjectReader:
        check_object_key(key)
        with self._errors(f"read {key!r}", right="s3:GetObject", key=key):
            response = self._client.get_object(self._bucket, key)
        return ObjectReader(self._chunks(response, key))

    def _chunks(self, response: urllib3.BaseHTTPResponse, key: str) -> Generator[bytes, None, None]:
        try:
            with self._errors(f"read {key!r}", right="s3:GetObject", key=key):
                yield from response.stream(CHUNK_SIZE)
        finally:
            response.close()
            response.release_conn()

    def stat(self, key: str) -> ObjectInfo | None:
        check_object_key(key)
        try:
            with self._errors(f"stat {key!r}", right="s3:GetObject", key=key):
                obj = self._client.stat_object(self._bucket, key)
        except ObjectMissing:
            return None
        return ObjectInfo(
            key=key,
            size=obj.size or 0,
            last_modified=obj.last_modified or datetime.now(UTC),
            content_type=obj.content_type or "application/octet-stream",
        )

    def delete(self, key: str) -> None:
        check_object_key(key)
        with self._errors(f"delete {key!r}", right="s3:DeleteObject", key=key):
            self._client.remove_object(self._bucket, key)

    def list(self, prefix: str = "") -> Iterator[ListedObject]:
        check_key_prefix(prefix)
        with self._errors(f"list {prefix!r}", right="s3:ListBucket"):
            for obj in self._client.list_objects(self._bucket, prefix=prefix, recursive=True):
                if obj.is_dir:
                    continue
                yield ListedObject(obj.object_name, obj.size or 0, obj.last_modified)

    def copy(self, src_key: str, dst_key: str) -> None:
        check_object_key(src_key)
        check_object_key(dst_key)
        with self._errors(f"copy {src_key!r}", right="s3:GetObject and s3:PutObject", key=src_key):
            self._client.copy_object(self._bucket, dst_key, CopySource(self._bucket, src_key))

    def read_head(self, key: str, n: int) -> bytes:
        check_object_key(key)
        if n <= 0:
            return b""
        try:
            with self._errors(f"read {key!r}", right="s3:GetObject", key=key):
                response = self._client.get_object(self._bucket, key, offset=0, length=n)
        except StorageError as exc:
            # A range request on an empty object is "not satisfiable"; its head is empty.
            cause = exc.__cause__
            if isinstance(cause, S3Error) and cause.code == "InvalidRange":
                return b""
            raise
        try:
            with self._errors(f"read {key!r}", right="s3:GetObject", key=key):
                return response.read()
        finally:
            response.close()
            response.release_conn()

    def upload_form(
        self, key: str, *, size: int, content_type: str, ttl: timedelta | None = None
    ) -> DirectUpload:
        check_object_key(key)
        expires_at = (datetime.now(UTC) + (ttl or self._upload_ttl)).replace(microsecond=0)
        # A presigned PUT cannot bind the size or type; a POST policy can: S3 refuses the
        # upload unless the key, the Content-Type field and the body length match exactly.
        policy = PostPolicy(self._bucket, expires_at)
        policy.add_equals_condition("key", key)
        policy.add_equals_condition("Content-Type", content_type)
        policy.add_content_length_range_condition(size, size)
        with self._errors(f"sign an upload of {key!r}", right="s3:PutObject", key=key):
            signed = self._presigner.presigned_post_policy(policy)
        fields = {"key": key, "Content-Type": content_type, **signed}
        return DirectUpload(method="POST", url=self._post_url, expires_at=expires_at, fields=fields)

    def download_url(
        self, key: str, *, filename: str, content_type: str, ttl: timedelta | None = None
    ) -> str:
        check_object_key(key)
        with self._errors(f"sign a download of {key!r}", right="s3:GetObject", key=key):
            return self._presigner.presigned_get_object(
                self._bucket,
                key,
                expires=ttl or self._download_ttl,
                response_headers={
                    "response-content-disposition": content_disposition(filename),
                    "response-content-type": content_type,
                },
            )


# --- Local disk -----------------------------------------------------------------------------


class LocalDiskStore:
    """Objects as files under a root directory: ``<root>/<key>``.

    Content types live beside, under ``<root>/.meta/<key>``; files are written to
    ``<root>/.tmp`` and renamed into place, so a reader never sees half an object. Key segments
    never start with a dot, so neither directory can be addressed as an object.
    """

    kind = BackendKind.LOCAL

    def __init__(self, config: StorageConfig) -> None:
        if config.local_root is None:
            raise ValueError("the local store needs local_root")
        self._root = Path(config.local_root)
        self._tmp = self._root / ".tmp"
        self._meta = self._root / ".meta"
        self._signing_key = config.url_signing_key
        self._upload_url = config.local_upload_url
        self._download_url = config.local_download_url
        self._upload_ttl = config.upload_url_ttl
        self._download_ttl = config.download_url_ttl

    @property
    def root(self) -> Path:
        return self._root

    def ensure_ready(self) -> None:
        try:
            for directory in (self._root, self._tmp, self._meta):
                directory.mkdir(parents=True, exist_ok=True)
            # Creating the directory is not enough: the app's user must be able to write there.
            with tempfile.NamedTemporaryFile(dir=self._tmp):
                pass
        except OSError as exc:
            raise StorageMisconfigured(
                f"cannot prepare the storage directory {self._root}: "
                f"{exc.strerror or exc} — create it and make it writable for the app's user"
            ) from exc

    def _path(self, key: str) -> Path:
        return self._root / check_object_key(key)

    def _meta_path(self, key: str) -> Path:
        return self._meta / check_object_key(key)

    @contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        try:
            yield
        except FileNotFoundError as exc:
            if not self._tmp.is_dir():
                raise StorageMisconfigured(
                    f"cannot {action}: the storage directory {self._root} is not prepared — "
                    "run ensure_ready"
                ) from exc
            raise StorageError(f"cannot {action}: {exc}") from exc
        except OSError as exc:
            # A full or failing disk is an outage of the store, not the caller's fault.
            if exc.errno in (errno.ENOSPC, errno.EIO, errno.EDQUOT, errno.EROFS):
                raise StorageUnavailable(f"cannot {action}: {exc.strerror}") from exc
            raise StorageError(f"cannot {action}: {exc}") from exc

    def _open_object(self, key: str) -> BinaryIO:
        try:
            return self._path(key).open("rb")
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise ObjectMissing(key) from None

    def _write_atomically(self, target: Path, write: Callable[[BinaryIO], object]) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=self._tmp)
        try:
            with os.fdopen(fd, "wb") as tmp:
                write(tmp)
                tmp.flush()
                os.fsync(tmp.fileno())
            os.replace(tmp_name, target)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise

    def put(
        self, key: str, stream: BinaryIO, size: int, content_type: str, *, sha256: str | None = None
    ) -> None:
        # The bytes go no further than this machine's disk: a digest has nothing to catch.
        path = self._path(key)

        def copy_exactly(tmp: BinaryIO) -> None:
            remaining = size
            while remaining:
                chunk = stream.read(min(CHUNK_SIZE, remaining))
                if not chunk:
                    raise StorageError(
                        f"cannot store {key!r}: the data ended {remaining} bytes early"
                    )
                tmp.write(chunk)
                remaining -= len(chunk)

        with self._errors(f"store {key!r}"):
            # The type first: an object exists only once its data is renamed into place.
            self._write_atomically(
                self._meta_path(key), lambda tmp: tmp.write(content_type.encode())
            )
            self._write_atomically(path, copy_exactly)

    def open(self, key: str) -> ObjectReader:
        with self._errors(f"read {key!r}"):
            handle = self._open_object(key)
        return ObjectReader(self._chunks(handle, key))

    def _chunks(self, handle: BinaryIO, key: str) -> Generator[bytes, None, None]:
        with handle, self._errors(f"read {key!r}"):
            while chunk := handle.read(CHUNK_SIZE):
                yield chunk

    def stat(self, key: str) -> ObjectInfo | None:
        path = self._path(key)
        with self._errors(f"stat {key!r}"):
            try:
                st = path.stat()
            except (FileNotFoundError, NotADirectoryError):
                return None
            if not S_ISREG(st.st_mode):
                return None
            try:
                content_type = self._meta_path(key).read_text()
            except FileNotFoundError:
                content_type = ""
        return ObjectInfo(
            key=key,
            size=st.st_size,
            last_modified=datetime.fromtimestamp(st.st_mtime, UTC),
            content_type=content_type or "application/octet-stream",
        )

    def delete(self, key: str) -> None:
        path = self._path(key)
        with self._errors(f"delete {key!r}"):
            path.unlink(missing_ok=True)
            self._meta_path(key).unlink(missing_ok=True)

    def list(self, prefix: str = "") -> Iterator[ListedObject]:
        check_key_prefix(prefix)
        # Walk only the directory the prefix pins down, then filter on the rest.
        directory_part = prefix.rpartition("/")[0]
        start = self._root / directory_part if directory_part else self._root
        with self._errors(f"list {prefix!r}"):
            if not start.is_dir():
                return
            for dirpath, dirnames, filenames in os.walk(start):
                # Dot entries are the store's own (.tmp, .meta) and never keys.
                dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
                for name in sorted(filenames):
                    if name.startswith("."):
                        continue
                    path = Path(dirpath, name)
                    key = path.relative_to(self._root).as_posix()
                    if not key.startswith(prefix):
                        continue
                    try:
                        st = path.stat()
                    except FileNotFoundError:
                        continue  # deleted while listing
                    yield ListedObject(key, st.st_size, datetime.fromtimestamp(st.st_mtime, UTC))

    def copy(self, src_key: str, dst_key: str) -> None:
        info = self.stat(src_key)
        if info is None:
            raise ObjectMissing(src_key)
        with self._errors(f"copy {src_key!r}"), self._open_object(src_key) as src:
            self.put(dst_key, src, info.size, info.content_type)

    def read_head(self, key: str, n: int) -> bytes:
        with self._errors(f"read {key!r}"), self._open_object(key) as handle:
            return handle.read(max(n, 0))

    def _require_signing_key(self) -> str:
        if not self._signing_key:
            raise StorageMisconfigured(
                "links to locally stored files need url_signing_key in the storage config"
            )
        return self._signing_key

    def upload_form(
        self, key: str, *, size: int, content_type: str, ttl: timedelta | None = None
    ) -> DirectUpload:
        now = datetime.now(UTC)
        lifetime = ttl or self._upload_ttl
        token = issue_upload_token(
            self._require_signing_key(),
            key=key,
            size=size,
            content_type=content_type,
            ttl=lifetime,
            now=now,
        )
        return DirectUpload(
            method="PUT",
            url=_with_token(self._upload_url, token),
            expires_at=(now + lifetime).replace(microsecond=0),
            headers={"Content-Type": content_type},
        )

    def download_url(
        self, key: str, *, filename: str, content_type: str, ttl: timedelta | None = None
    ) -> str:
        token = issue_download_token(
            self._require_signing_key(),
            key=key,
            filename=filename,
            content_type=content_type,
            ttl=ttl or self._download_ttl,
        )
        return _with_token(self._download_url, token)


def _with_token(url: str, token: str) -> str:
    # itsdangerous' URL-safe tokens need no further quoting.
    return f"{url}{'&' if '?' in url else '?'}token={token}"
