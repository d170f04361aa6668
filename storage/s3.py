"""Objects in one bucket of an S3 API (MinIO in production), through the ``minio`` client:
quick failures when the store is down, browsers uploading straight to the bucket."""

from __future__ import annotations

from collections.abc import Generator, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import BinaryIO
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

from storage.config import BackendKind, StorageConfig
from storage.errors import (
    ObjectMissing,
    StorageError,
    StorageMisconfigured,
    StorageUnavailable,
)
from storage.filenames import content_disposition
from storage.keys import check_key_prefix, check_object_key
from storage.object_store import CHUNK_SIZE, DirectUpload, ListedObject, ObjectInfo, ObjectReader

# minio's minimum multipart part size: parts are held in memory while sent, so the smallest
# part and no parallel part uploads keep memory flat whatever the file size.
_S3_PART_SIZE = 5 * 1024 * 1024


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
