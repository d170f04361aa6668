"""The clamd INSTREAM client, against a fake clamd speaking the protocol over TCP or a Unix
socket."""

from __future__ import annotations

import io
import socket
import socketserver
import struct
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from storage.antivirus import ClamdScanner, scanner_for
from storage.attachments import confirm_direct_upload, receive_upload
from storage.errors import AttachmentRejected, RejectionReason, ScannerUnavailable, StorageError
from storage.keys import object_key
from storage.object_store import ObjectStore
from tests.s3_server import free_port
from tests.storage import samples
from tests.storage.conftest import stored_keys

pytestmark = pytest.mark.anyio


@dataclass
class FakeClamd:
    """Answers INSTREAM like clamd: FOUND for the EICAR test string, OK otherwise."""

    address: str = ""
    commands: list[bytes] = field(default_factory=list)
    streams: list[bytes] = field(default_factory=list)
    reply: bytes | None = None  # a fixed answer instead of the verdict


def _read_exactly(conn: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        part = conn.recv(size - len(data))
        if not part:
            raise ConnectionError("client closed early")
        data += part
    return data


def _handler(fake: FakeClamd) -> type[socketserver.BaseRequestHandler]:
    class Handler(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            conn: socket.socket = self.request
            command = b""
            while not command.endswith(b"\0"):
                command += _read_exactly(conn, 1)
            fake.commands.append(command)
            stream = b""
            while length := struct.unpack(">I", _read_exactly(conn, 4))[0]:
                stream += _read_exactly(conn, length)
            fake.streams.append(stream)
            if fake.reply is not None:
                conn.sendall(fake.reply)
            elif samples.EICAR in stream:
                conn.sendall(b"stream: Win.Test.EICAR_HDB-1 FOUND\0")
            else:
                conn.sendall(b"stream: OK\0")

    return Handler


class _UnixServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


class _TcpServer(socketserver.ThreadingTCPServer):
    daemon_threads = True


@pytest.fixture(params=["tcp", "unix"])
def clamd(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[FakeClamd]:
    fake = FakeClamd()
    server: socketserver.BaseServer
    if request.param == "tcp":
        server = _TcpServer(("127.0.0.1", 0), _handler(fake))
        port = server.server_address[1]
        fake.address = f"tcp://127.0.0.1:{port}"
    else:
        path = tmp_path / "clamd.sock"
        server = _UnixServer(str(path), _handler(fake))
        fake.address = f"unix:{path}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_a_clean_file_is_streamed_to_clamd_and_passes(clamd: FakeClamd) -> None:
    data = b"harmless " * 20_000  # several INSTREAM chunks

    verdict = ClamdScanner(clamd.address, timeout=5).scan(io.BytesIO(data))

    assert verdict.clean
    assert clamd.commands == [b"zINSTREAM\0"]
    assert clamd.streams == [data]


def test_an_infected_file_is_reported_with_its_signature(clamd: FakeClamd) -> None:
    verdict = ClamdScanner(clamd.address, timeout=5).scan(io.BytesIO(samples.EICAR))

    assert not verdict.clean
    assert verdict.signature == "Win.Test.EICAR_HDB-1"


async def test_an_infected_upload_is_refused_and_not_stored(
    store: ObjectStore, tenant_id: uuid.UUID, clamd: FakeClamd
) -> None:
    scanner = scanner_for(clamd.address, timeout=5)

    with pytest.raises(AttachmentRejected) as refused:
        await receive_upload(
            store,
            samples.async_chunks(samples.EICAR + b"\n"),
            tenant_id=tenant_id,
            filename="readme.txt",
            scanner=scanner,
        )

    assert refused.value.reason is RejectionReason.INFECTED
    assert str(refused.value) == (
        "readme.txt: the file contains malware (Win.Test.EICAR_HDB-1) and cannot be accepted"
    )
    assert stored_keys(store) == []


async def test_a_clean_upload_is_scanned_and_stored(
    store: ObjectStore, tenant_id: uuid.UUID, clamd: FakeClamd
) -> None:
    stored = await receive_upload(
        store,
        samples.async_chunks(samples.pdf_document()),
        tenant_id=tenant_id,
        filename="letter.pdf",
        scanner=scanner_for(clamd.address, timeout=5),
    )

    assert clamd.streams == [samples.pdf_document()]
    assert stored_keys(store) == [stored.key]


def test_an_infected_direct_upload_is_deleted_at_confirmation(
    local_store: ObjectStore, tenant_id: uuid.UUID, clamd: FakeClamd
) -> None:
    key = object_key(tenant_id)
    data = samples.EICAR + b"\n"
    local_store.put(key, io.BytesIO(data), len(data), "text/plain")

    with pytest.raises(AttachmentRejected, match="malware"):
        confirm_direct_upload(
            local_store,
            tenant_id=tenant_id,
            key=key,
            filename="a.txt",
            declared_size=len(data),
            scanner=scanner_for(clamd.address, timeout=5),
        )

    assert stored_keys(local_store) == []


async def test_an_unreachable_scanner_fails_the_upload_closed(
    store: ObjectStore, tenant_id: uuid.UUID
) -> None:
    scanner = scanner_for(f"127.0.0.1:{free_port()}", timeout=2)

    with pytest.raises(ScannerUnavailable, match="unreachable"):
        await receive_upload(
            store,
            samples.async_chunks(samples.pdf_document()),
            tenant_id=tenant_id,
            filename="letter.pdf",
            scanner=scanner,
        )

    assert stored_keys(store) == []


def test_clamds_stream_size_limit_is_reported_as_a_configuration_problem(
    clamd: FakeClamd,
) -> None:
    clamd.reply = b"INSTREAM size limit exceeded. ERROR\0"

    with pytest.raises(StorageError, match="StreamMaxLength"):
        ClamdScanner(clamd.address, timeout=5).scan(io.BytesIO(b"data"))


def test_a_garbled_clamd_answer_is_not_taken_for_clean(clamd: FakeClamd) -> None:
    clamd.reply = b"UNKNOWN COMMAND\0"

    with pytest.raises(ScannerUnavailable):
        ClamdScanner(clamd.address, timeout=5).scan(io.BytesIO(b"data"))


def test_no_address_means_no_scanning() -> None:
    assert scanner_for(None) is None
    assert scanner_for("") is None


def test_an_address_that_is_neither_a_path_nor_host_port_is_rejected() -> None:
    with pytest.raises(ValueError, match="neither a socket path nor host:port"):
        ClamdScanner("clamd-without-port")
