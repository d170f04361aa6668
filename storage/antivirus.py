"""An optional virus scan with ClamAV's daemon, over its INSTREAM protocol.

The file is sent in chunks (``<4-byte big-endian length><data>``, ended by a zero length) over
a Unix or TCP socket, and clamd answers ``stream: OK`` or ``stream: <signature> FOUND``. When a
scanner is configured but cannot be reached the upload fails (``ScannerUnavailable``, a 503)
rather than going through unscanned.
"""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass
from typing import BinaryIO, Protocol

from storage.errors import ScannerUnavailable, StorageError

_CHUNK_SIZE = 64 * 1024
_MAX_REPLY = 4096


@dataclass(frozen=True)
class ScanVerdict:
    clean: bool
    signature: str | None = None


class VirusScanner(Protocol):
    def scan(self, stream: BinaryIO) -> ScanVerdict:
        """Scan ``stream`` from its current position to its end."""
        ...


def _parse_address(address: str) -> tuple[int, str | tuple[str, int]]:
    if address.startswith("unix:"):
        return socket.AF_UNIX, address.removeprefix("unix:").removeprefix("//")
    if address.startswith("/"):
        return socket.AF_UNIX, address
    host_port = address.removeprefix("tcp://")
    host, sep, port = host_port.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"clamd address {address!r} is neither a socket path nor host:port")
    return socket.AF_INET6 if ":" in host else socket.AF_INET, (host.strip("[]"), int(port))


class ClamdScanner:
    """A scanner talking to clamd at ``address``: ``unix:/path``, ``/path``, ``tcp://host:port``
    or ``host:port``."""

    def __init__(self, address: str, *, timeout: float = 60.0) -> None:
        self._family, self._address = _parse_address(address)
        self._label = address
        self._timeout = timeout

    def scan(self, stream: BinaryIO) -> ScanVerdict:
        try:
            with socket.socket(self._family, socket.SOCK_STREAM) as conn:
                conn.settimeout(self._timeout)
                conn.connect(self._address)
                conn.sendall(b"zINSTREAM\0")
                while chunk := stream.read(_CHUNK_SIZE):
                    conn.sendall(struct.pack(">I", len(chunk)) + chunk)
                conn.sendall(struct.pack(">I", 0))
                reply = self._read_reply(conn)
        except OSError as exc:
            raise ScannerUnavailable(
                f"cannot scan the file: clamd at {self._label} is unreachable ({exc})"
            ) from exc
        return self._verdict(reply)

    @staticmethod
    def _read_reply(conn: socket.socket) -> str:
        reply = b""
        while b"\0" not in reply and len(reply) < _MAX_REPLY:
            data = conn.recv(_MAX_REPLY)
            if not data:
                break
            reply += data
        return reply.split(b"\0", 1)[0].decode("utf-8", "replace").strip()

    def _verdict(self, reply: str) -> ScanVerdict:
        if reply.endswith("FOUND"):
            signature = reply.removeprefix("stream:").removesuffix("FOUND").strip()
            return ScanVerdict(clean=False, signature=signature or "unknown")
        if reply.endswith("OK"):
            return ScanVerdict(clean=True)
        if "size limit exceeded" in reply:
            # clamd's StreamMaxLength is below the upload limit: a configuration mismatch.
            raise StorageError(
                f"clamd at {self._label} refused the file as too large ({reply}); raise "
                "StreamMaxLength in clamd.conf above the attachment size limit"
            )
        raise ScannerUnavailable(f"clamd at {self._label} answered {reply!r}")


def scanner_for(address: str | None, *, timeout: float = 60.0) -> VirusScanner | None:
    """The scanner for a configured clamd address, or ``None`` when scanning is off."""
    return ClamdScanner(address, timeout=timeout) if address else None
