from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from storage.backends import open_store
from storage.config import BackendKind, StorageConfig
from storage.local_disk import LocalDiskStore
from storage.s3 import S3Store


def test_the_s3_backend_needs_endpoint_credentials_and_bucket() -> None:
    with pytest.raises(ValueError, match="s3_endpoint, s3_access_key, s3_secret_key, s3_bucket"):
        StorageConfig(backend=BackendKind.S3)


def test_the_local_backend_needs_a_root() -> None:
    with pytest.raises(ValueError, match="local_root"):
        StorageConfig(backend=BackendKind.LOCAL)


@pytest.mark.parametrize("ttl", [timedelta(0), timedelta(days=8)])
def test_link_lifetimes_stay_within_what_s3_accepts(ttl: timedelta) -> None:
    with pytest.raises(ValueError, match="between 1 second and 7 days"):
        StorageConfig(local_root=Path("/srv/files"), download_url_ttl=ttl)


def test_secrets_are_not_shown_in_the_config_repr() -> None:
    config = StorageConfig(
        backend=BackendKind.S3,
        s3_endpoint="minio:9000",
        s3_access_key="priemnaya",
        s3_secret_key="very-secret-value",
        s3_bucket="attachments",
        url_signing_key="another-very-secret-value",
    )

    assert "very-secret-value" not in repr(config)


def test_open_store_picks_the_backend_from_the_config(tmp_path: Path) -> None:
    local = open_store(StorageConfig(local_root=tmp_path))
    s3 = open_store(
        StorageConfig(
            backend=BackendKind.S3,
            s3_endpoint="127.0.0.1:9",
            s3_access_key="key",
            s3_secret_key="secret",
            s3_bucket="attachments",
        )
    )

    assert isinstance(local, LocalDiskStore)
    assert isinstance(s3, S3Store)
