"""The object store a configuration names: S3 (MinIO in production) or the local disk."""

from __future__ import annotations

from storage.config import BackendKind, StorageConfig
from storage.local_disk import LocalDiskStore
from storage.object_store import ObjectStore
from storage.s3 import S3Store


def open_store(config: StorageConfig) -> ObjectStore:
    """The store ``config`` describes (not yet checked: call ``ensure_ready`` at start-up)."""
    if config.backend is BackendKind.S3:
        return S3Store(config)
    return LocalDiskStore(config)
