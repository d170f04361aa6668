"""Fixtures for the storage tests: a real S3 API (moto's server, in a subprocess so that its
memory does not count in the streaming tests), and one store of each backend per test."""

from __future__ import annotations

import io
import uuid
from pathlib import Path

import pytest

from storage.backends import open_store
from storage.config import BackendKind, StorageConfig
from storage.object_store import ObjectStore
from tests.s3_server import S3Server

SIGNING_KEY = "storage-tests-signing-key-0123456789"


def new_bucket_name() -> str:
    return f"attachments-{uuid.uuid4().hex[:16]}"


@pytest.fixture(params=[BackendKind.LOCAL, BackendKind.S3], ids=["local", "s3"])
def store_config(request: pytest.FixtureRequest, tmp_path: Path) -> StorageConfig:
    """A config for an empty store of each backend."""
    if request.param is BackendKind.LOCAL:
        return StorageConfig(
            backend=BackendKind.LOCAL,
            local_root=tmp_path / "attachments",
            url_signing_key=SIGNING_KEY,
        )
    server: S3Server = request.getfixturevalue("s3_server")
    return server.config(new_bucket_name())


@pytest.fixture
def store(store_config: StorageConfig) -> ObjectStore:
    """An empty, ready store of each backend."""
    store = open_store(store_config)
    store.ensure_ready()
    return store


@pytest.fixture
def tenant_id() -> uuid.UUID:
    return uuid.uuid4()


def stored_keys(store: ObjectStore, prefix: str = "") -> list[str]:
    return [obj.key for obj in store.list(prefix)]


def put_bytes(store: ObjectStore, key: str, data: bytes, content_type: str = "text/plain") -> None:
    store.put(key, io.BytesIO(data), len(data), content_type)


def read_object(store: ObjectStore, key: str) -> bytes:
    with store.open(key) as reader:
        return b"".join(reader)


@pytest.fixture
def s3_store(s3_server: S3Server) -> ObjectStore:
    store = open_store(s3_server.config(new_bucket_name()))
    store.ensure_ready()
    return store


@pytest.fixture
def local_store(tmp_path: Path) -> ObjectStore:
    store = open_store(
        StorageConfig(
            backend=BackendKind.LOCAL,
            local_root=tmp_path / "attachments",
            url_signing_key=SIGNING_KEY,
        )
    )
    store.ensure_ready()
    return store
