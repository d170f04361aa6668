"""A real S3 API for the tests: moto's server in a subprocess (its memory does not count in
the streaming tests), on a free loopback port. The ``s3_server`` fixture (tests/conftest.py)
runs one for the whole session."""

from __future__ import annotations

import dataclasses
import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from xml.etree import ElementTree

import urllib3

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


@contextmanager
def running_s3_server(workdir: Path) -> Iterator[S3Server]:
    """moto's S3 server on a free loopback port for the duration of the block."""
    port = free_port()
    log_path = workdir / "moto-server.log"
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


_IAM_SETUP = {
    # moto's server tells services apart by the credential scope; nothing checks it yet.
    "Authorization": "AWS4-HMAC-SHA256 Credential=setup/20260101/us-east-1/iam/aws4_request, "
    "SignedHeaders=host, Signature=0",
    "Content-Type": "application/x-www-form-urlencoded",
}


def check_signatures(server: S3Server) -> tuple[str, str]:
    """From now on, the server checks every request's SigV4 signature (botocore computes it
    again) and its IAM rights; returns the access key and secret key of a user allowed all of
    S3. The switch is for the whole server process: use a server of its own."""
    http = urllib3.PoolManager(timeout=5.0, retries=False)
    base = f"http://{server.endpoint}/"

    def iam(**params: str) -> str:
        body = urlencode({"Version": "2010-05-08", **params})
        response = http.request("POST", base, body=body, headers=_IAM_SETUP)
        assert response.status == 200, response.data
        return str(response.data.decode())

    iam(Action="CreateUser", UserName="priemnaya")
    # The answer comes from the test's own moto server.
    created = ElementTree.fromstring(iam(Action="CreateAccessKey", UserName="priemnaya"))  # noqa: S314
    namespace = {"iam": "https://iam.amazonaws.com/doc/2010-05-08/"}
    access_key = created.findtext(".//iam:AccessKeyId", namespaces=namespace)
    secret_key = created.findtext(".//iam:SecretAccessKey", namespaces=namespace)
    assert access_key
    assert secret_key
    everything_in_s3 = {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}
    iam(
        Action="PutUserPolicy",
        UserName="priemnaya",
        PolicyName="s3",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [everything_in_s3]}),
    )
    switched = http.request("POST", f"{base}moto-api/reset-auth", body=b"0")
    assert switched.status == 200, switched.data
    return access_key, secret_key
