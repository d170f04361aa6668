"""Storage configuration, filled in by the caller (from its settings); nothing is read from the
environment here."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from pathlib import Path

DEFAULT_UPLOAD_URL_TTL = timedelta(minutes=15)
DEFAULT_DOWNLOAD_URL_TTL = timedelta(minutes=5)


class BackendKind(StrEnum):
    LOCAL = "local"
    S3 = "s3"


@dataclass(frozen=True)
class StorageConfig:
    """Where attachments live and how links to them are signed.

    ``local`` keeps objects under ``local_root``; browser uploads and downloads go through the
    app at ``local_upload_url``/``local_download_url`` with a token signed by
    ``url_signing_key``. ``s3`` talks to MinIO or another S3 API at ``s3_endpoint``
    (``host:port``); ``s3_public_endpoint`` is the address browsers use, when it differs from the
    one the app reaches (presigned GET URLs are bound to the host they were signed for).
    """

    backend: BackendKind = BackendKind.LOCAL
    local_root: Path | None = None
    url_signing_key: str | None = field(default=None, repr=False)
    local_upload_url: str = "/attachments/upload"
    local_download_url: str = "/attachments/download"

    s3_endpoint: str | None = None
    s3_access_key: str | None = None
    s3_secret_key: str | None = field(default=None, repr=False)
    s3_bucket: str | None = None
    # Set explicitly so the client never asks the server for the bucket's region (a network
    # round trip before every first request and before presigning).
    s3_region: str = "us-east-1"
    s3_secure: bool = True
    s3_public_endpoint: str | None = None
    s3_public_secure: bool | None = None
    s3_ca_file: Path | None = None
    # Fail fast: the app answers 503 rather than holding a worker for minutes.
    s3_connect_timeout: float = 3.0
    s3_read_timeout: float = 30.0
    s3_retries: int = 2

    upload_url_ttl: timedelta = DEFAULT_UPLOAD_URL_TTL
    download_url_ttl: timedelta = DEFAULT_DOWNLOAD_URL_TTL

    # "unix:/run/clamav/clamd.ctl", "/run/clamav/clamd.ctl", "tcp://host:3310" or "host:3310".
    clamd_address: str | None = None
    clamd_timeout: float = 60.0

    def __post_init__(self) -> None:
        if self.backend is BackendKind.LOCAL and self.local_root is None:
            raise ValueError("the local storage backend needs local_root")
        if self.backend is BackendKind.S3:
            missing = [
                name
                for name in ("s3_endpoint", "s3_access_key", "s3_secret_key", "s3_bucket")
                if not getattr(self, name)
            ]
            if missing:
                raise ValueError(f"the s3 storage backend needs {', '.join(missing)}")
        for name in ("upload_url_ttl", "download_url_ttl"):
            ttl: timedelta = getattr(self, name)
            if not timedelta(seconds=1) <= ttl <= timedelta(days=7):
                raise ValueError(f"{name} must be between 1 second and 7 days")
        if self.url_signing_key is not None and len(self.url_signing_key) < 16:
            raise ValueError("url_signing_key must be at least 16 characters")
