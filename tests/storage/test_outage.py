"""A store that is down or misconfigured fails fast, with an error saying what is wrong."""

from __future__ import annotations

import io
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from storage.backends import open_store
from storage.config import BackendKind, StorageConfig
from storage.errors import StorageMisconfigured, StorageUnavailable
from storage.keys import object_key
from storage.object_store import ObjectStore
from tests.s3_server import S3Server, free_port
from tests.storage.conftest import new_bucket_name


def s3_config_at(endpoint: str, **overrides: object) -> StorageConfig:
    return S3Server(endpoint).config("attachments", **overrides)


OPERATIONS: dict[str, Callable[[ObjectStore], object]] = {
    "ensure_ready": lambda store: store.ensure_ready(),
    "put": lambda store: store.put(object_key(uuid.uuid4()), io.BytesIO(b"x"), 1, "text/plain"),
    "stat": lambda store: store.stat(object_key(uuid.uuid4())),
    "open": lambda store: store.open(object_key(uuid.uuid4())),
    "list": lambda store: list(store.list("")),
}


@pytest.mark.parametrize("operation", OPERATIONS.values(), ids=OPERATIONS.keys())
def test_a_closed_port_makes_the_store_unavailable_within_seconds(
    operation: Callable[[ObjectStore], object],
) -> None:
    store = open_store(s3_config_at(f"127.0.0.1:{free_port()}"))

    started = time.monotonic()
    with pytest.raises(StorageUnavailable, match="unreachable"):
        operation(store)

    assert time.monotonic() - started < 3


@pytest.fixture
def silent_server() -> Iterator[str]:
    """Accepts connections and never answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        host, port = listener.getsockname()
        yield f"{host}:{port}"


def test_a_store_that_never_answers_times_out(silent_server: str) -> None:
    store = open_store(s3_config_at(silent_server, s3_read_timeout=0.3, s3_retries=1))

    started = time.monotonic()
    with pytest.raises(StorageUnavailable):
        store.stat(object_key(uuid.uuid4()))

    assert time.monotonic() - started < 5


def _fake_s3(respond: Callable[[BaseHTTPRequestHandler], None]) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_HEAD(self) -> None:
            respond(self)

        def do_PUT(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            respond(self)

        do_GET = do_HEAD

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        host, port = server.server_address[:2]
        yield f"{host!s}:{port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _error_xml(code: str) -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code>'
        f"<Message>{code}</Message><Resource>/attachments</Resource>"
        "<RequestId>1</RequestId></Error>"
    ).encode()


def _reply(handler: BaseHTTPRequestHandler, status: int, body: bytes = b"") -> None:
    handler.send_response(status)
    handler.send_header("Content-Type", "application/xml")
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    if handler.command != "HEAD":
        handler.wfile.write(body)


@pytest.fixture
def bucket_creation_denied() -> Iterator[str]:
    """An S3 API where the bucket is missing and the credentials may not create it."""

    def respond(handler: BaseHTTPRequestHandler) -> None:
        if handler.command == "HEAD":
            _reply(handler, 404)
        else:
            _reply(handler, 403, _error_xml("AccessDenied"))

    yield from _fake_s3(respond)


@pytest.fixture
def bucket_check_denied() -> Iterator[str]:
    yield from _fake_s3(lambda handler: _reply(handler, 403))


@pytest.fixture
def overloaded_store() -> Iterator[str]:
    yield from _fake_s3(lambda handler: _reply(handler, 503, _error_xml("SlowDown")))


def test_missing_rights_to_create_the_bucket_are_named(bucket_creation_denied: str) -> None:
    store = open_store(s3_config_at(bucket_creation_denied))

    with pytest.raises(StorageMisconfigured) as error:
        store.ensure_ready()

    assert str(error.value) == (
        "cannot create bucket 'attachments': AccessDenied — grant s3:CreateBucket or create "
        "the bucket"
    )


def test_missing_rights_to_see_the_bucket_are_named(bucket_check_denied: str) -> None:
    store = open_store(s3_config_at(bucket_check_denied))

    with pytest.raises(StorageMisconfigured, match="cannot check bucket 'attachments'") as error:
        store.ensure_ready()

    assert "grant s3:ListBucket" in str(error.value)


def test_an_overloaded_store_is_unavailable(overloaded_store: str) -> None:
    store = open_store(s3_config_at(overloaded_store, s3_retries=1))

    started = time.monotonic()
    with pytest.raises(StorageUnavailable):
        store.stat(object_key(uuid.uuid4()))

    assert time.monotonic() - started < 5


def test_a_missing_bucket_is_a_configuration_error(s3_server: S3Server) -> None:
    store = open_store(s3_server.config(new_bucket_name()))

    with pytest.raises(
        StorageMisconfigured, match="does not exist — create it or run ensure_ready"
    ):
        store.put(object_key(uuid.uuid4()), io.BytesIO(b"x"), 1, "text/plain")


@pytest.fixture
def signature_refused() -> Iterator[str]:
    """A server refusing the credentials (moto accepts any, MinIO does not)."""
    yield from _fake_s3(lambda handler: _reply(handler, 403, _error_xml("SignatureDoesNotMatch")))


def test_wrong_credentials_are_a_configuration_error(signature_refused: str) -> None:
    store = open_store(s3_config_at(signature_refused))

    with pytest.raises(StorageMisconfigured, match="check the S3 access key and secret key"):
        store.put(object_key(uuid.uuid4()), io.BytesIO(b"x"), 1, "text/plain")


def test_a_local_root_that_cannot_be_a_directory_is_reported(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the directory should be")
    store = open_store(StorageConfig(backend=BackendKind.LOCAL, local_root=blocker / "store"))

    with pytest.raises(StorageMisconfigured, match="cannot prepare the storage directory"):
        store.ensure_ready()


def test_a_local_store_used_before_ensure_ready_says_so(tmp_path: Path) -> None:
    store = open_store(StorageConfig(backend=BackendKind.LOCAL, local_root=tmp_path / "missing"))

    with pytest.raises(StorageMisconfigured, match="run ensure_ready"):
        store.put(object_key(uuid.uuid4()), io.BytesIO(b"x"), 1, "text/plain")
