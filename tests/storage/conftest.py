"""Fixtures for the storage tests: a real S3 API (moto's server, in a subprocess so that its
memory does not count in the streaming tests), and one store of each backend per test."""

from __future__ import annotations

import dataclasses
import io
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import urllib3

from storage.backends import ObjectStore, open_store
from storage.config import BackendKind, StorageConfig

S3_ACCESS_KEY = "test-access-key"
S3_SECRET_KEY = "test-secret-key"
SIGNING_KEY = "storage-tests-signing-key-0123456789"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class S3Server:
    endpoint: str  # host:port

    def config(self, bucket: str, **overrides: Any) -> StorageConfig:
        config = StorageConfig(
            backend=BackendKind.S3,
            s3_endpoint=self.endpoint,
            s3_access_key=S3_ACCESS_KEY,
            s3_secret_key=S3_SECRET_KEY,
            s3_bucket=bucket,
            s3_secure=False,
        )
        return dataclasses.replace(config, **overrides)


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """moto's S3 server on a free loopback port for the whole run."""
    port = free_port()
    log_path = tmp_path_factory.mktemp("moto") / "server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_until_serving(f"http://127.0.0.1:{port}/", process, log_path)
        yield S3Server(f"127.0.0.1:{port}")
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_serving(url: str, process: subprocess.Popen[bytes], log_path: Path) -> None:
    http = urllib3.PoolManager(timeout=1.0, retries=False)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"moto server exited: {log_path.read_text()}")
        try:
            http.request("GET", url)
            return
        except urllib3.exceptions.HTTPError:
            time.sleep(0.2)
    raise RuntimeError(f"moto server did not start: {log_path.read_text()}")


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
