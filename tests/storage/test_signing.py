"""Requests we sign ourselves are what S3 checks: against moto's server with its signature
checks on, a file stored with its SHA-256 (one PUT signed over that digest) and one stored
through the minio client both land, and a wrong secret is refused on either path."""

from __future__ import annotations

import hashlib
import io
import uuid
from collections.abc import Iterator

import pytest

from storage.errors import StorageError, StorageMisconfigured
from storage.keys import object_key
from storage.s3 import S3Store
from tests.s3_server import S3Server, check_signatures, running_s3_server
from tests.storage.conftest import new_bucket_name, read_object

SCAN = b"%PDF-1.4\n" + b"0" * 5000


@pytest.fixture(scope="module")
def checking_server(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[S3Server, str, str]]:
    with running_s3_server(tmp_path_factory.mktemp("checking-s3")) as server:
        access_key, secret_key = check_signatures(server)
        yield server, access_key, secret_key


def store_with(
    checking_server: tuple[S3Server, str, str], bucket: str, secret: str | None = None
) -> S3Store:
    server, access_key, secret_key = checking_server
    config = server.config(bucket, s3_access_key=access_key, s3_secret_key=secret or secret_key)
    return S3Store(config)


@pytest.mark.parametrize("with_digest", [True, False], ids=["own-signature", "minio"])
def test_a_stored_file_passes_the_signature_check(
    checking_server: tuple[S3Server, str, str], with_digest: bool
) -> None:
    store = store_with(checking_server, new_bucket_name())
    store.ensure_ready()
    key = object_key(uuid.uuid4())
    digest = hashlib.sha256(SCAN).hexdigest() if with_digest else None
    store.put(key, io.BytesIO(SCAN), len(SCAN), "application/pdf", sha256=digest)
    assert read_object(store, key) == SCAN
    info = store.stat(key)
    assert info is not None
    assert info.content_type == "application/pdf"


@pytest.mark.parametrize("with_digest", [True, False], ids=["own-signature", "minio"])
def test_a_wrong_secret_is_refused_on_either_path(
    checking_server: tuple[S3Server, str, str], with_digest: bool
) -> None:
    good = store_with(checking_server, new_bucket_name())
    good.ensure_ready()
    forger = store_with(checking_server, good.bucket, secret="not-the-secret-key")
    key = object_key(uuid.uuid4())
    digest = hashlib.sha256(SCAN).hexdigest() if with_digest else None
    with pytest.raises(StorageMisconfigured, match="SignatureDoesNotMatch"):
        forger.put(key, io.BytesIO(SCAN), len(SCAN), "application/pdf", sha256=digest)
    assert good.stat(key) is None


def test_a_body_shorter_than_declared_is_refused_before_sending(
    checking_server: tuple[S3Server, str, str],
) -> None:
    store = store_with(checking_server, new_bucket_name())
    store.ensure_ready()
    key = object_key(uuid.uuid4())
    with pytest.raises(StorageError, match="ended 10 bytes early"):
        store.put(key, io.BytesIO(SCAN), len(SCAN) + 10, "application/pdf", sha256="0" * 64)
    assert store.stat(key) is None
