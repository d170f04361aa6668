"""Where attachments live: the object store configured from the settings."""

from __future__ import annotations

from storage.config import BackendKind, StorageConfig
from tenancy.settings import Settings


def storage_config(settings: Settings) -> StorageConfig:
    """Where attachments live: S3 when an endpoint is set, else a directory in HOME."""
    if settings.s3_endpoint:
        return StorageConfig(
            backend=BackendKind.S3,
            s3_endpoint=settings.s3_endpoint,
            s3_access_key=settings.s3_access_key,
            s3_secret_key=settings.s3_secret_key,
            s3_bucket=settings.s3_bucket,
            s3_region=settings.s3_region or "us-east-1",
            s3_secure=settings.s3_secure,
            s3_public_endpoint=settings.s3_public_endpoint,
            clamd_address=settings.clamd_address,
        )
    return StorageConfig(
        backend=BackendKind.LOCAL,
        local_root=settings.attachments_dir,
        url_signing_key=settings.secret_key,
        local_upload_url=f"{settings.base_url}/attachments/upload",
        local_download_url=f"{settings.base_url}/attachments/download",
        clamd_address=settings.clamd_address,
    )
