"""Objects as files under a root directory, for a single machine: uploads and downloads go
through the app's signed URLs."""

from __future__ import annotations

import errno
import os
import tempfile
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from stat import S_ISREG
from typing import BinaryIO

from storage.config import BackendKind, StorageConfig
from storage.errors import (
    ObjectMissing,
    StorageError,
    StorageMisconfigured,
    StorageUnavailable,
)
from storage.keys import check_key_prefix, check_object_key
from storage.object_store import CHUNK_SIZE, DirectUpload, ListedObject, ObjectInfo, ObjectReader
from storage.signed_urls import issue_download_token, issue_upload_token


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
