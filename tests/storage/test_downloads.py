"""Short-lived download links on both backends."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import urllib3

from storage.attachments import download_headers, download_link
from storage.backends import open_store
from storage.errors import KeyOutsideTenant
from storage.filenames import content_disposition
from storage.keys import object_key
from storage.object_store import ObjectStore
from storage.s3 import S3Store
from storage.signed_urls import verify_download_token
from tests.s3_server import S3_ACCESS_KEY, S3Server
from tests.storage.conftest import SIGNING_KEY, new_bucket_name, put_bytes

NAME = "Ответ на обращение №17.pdf"


def query_of(url: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(url).query).items()}


def test_an_s3_link_is_presigned_for_the_exact_key_for_5_minutes(
    s3_store: ObjectStore, tenant_id: uuid.UUID
) -> None:
    assert isinstance(s3_store, S3Store)
    key = object_key(tenant_id)
    put_bytes(s3_store, key, b"%PDF-1.4 answer", "application/pdf")
    before = datetime.now(UTC).replace(microsecond=0)

    url = download_link(
        s3_store, tenant_id=tenant_id, key=key, filename=NAME, content_type="application/pdf"
    )

    parts = urlsplit(url)
    query = query_of(url)
    assert parts.path == f"/{s3_store.bucket}/{key}"
    assert query["X-Amz-Expires"] == "300"
    assert query["X-Amz-SignedHeaders"] == "host"
    signed_at = datetime.strptime(query["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    assert abs(signed_at - before) < timedelta(seconds=5)
    assert query["X-Amz-Credential"].split("/") == [
        S3_ACCESS_KEY,
        f"{before:%Y%m%d}",
        "us-east-1",
        "s3",
        "aws4_request",
    ]
    assert query["response-content-disposition"] == content_disposition(NAME)
    assert query["response-content-type"] == "application/pdf"
    assert "X-Amz-Signature" in query

    response = urllib3.PoolManager().request("GET", url)
    assert response.status == 200
    assert response.data == b"%PDF-1.4 answer"


def test_an_s3_link_lifetime_can_be_shortened(s3_store: ObjectStore, tenant_id: uuid.UUID) -> None:
    url = download_link(
        s3_store,
        tenant_id=tenant_id,
        key=object_key(tenant_id),
        filename="a.pdf",
        content_type="application/pdf",
        ttl=timedelta(seconds=60),
    )

    assert query_of(url)["X-Amz-Expires"] == "60"


def test_links_name_the_public_address_when_it_differs(
    s3_server: S3Server, tenant_id: uuid.UUID
) -> None:
    config = s3_server.config(
        new_bucket_name(), s3_public_endpoint="files.example.test", s3_public_secure=True
    )
    store = open_store(config)
    key = object_key(tenant_id)

    url = store.download_url(key, filename="a.pdf", content_type="application/pdf")
    upload = store.upload_form(key, size=10, content_type="application/pdf")

    assert url.startswith(f"https://files.example.test/{config.s3_bucket}/{key}?")
    assert upload.url == f"https://files.example.test/{config.s3_bucket}"


def test_a_local_link_carries_a_signed_token_for_5_minutes(
    local_store: ObjectStore, tenant_id: uuid.UUID
) -> None:
    key = object_key(tenant_id)

    url = download_link(
        local_store, tenant_id=tenant_id, key=key, filename=NAME, content_type="application/pdf"
    )

    assert urlsplit(url).path == "/attachments/download"
    grant = verify_download_token(SIGNING_KEY, query_of(url)["token"])
    assert (grant.key, grant.filename, grant.content_type) == (key, NAME, "application/pdf")
    assert timedelta(minutes=4) < grant.expires_at - datetime.now(UTC) <= timedelta(minutes=5)


def test_no_link_is_made_for_another_tenants_object(
    store: ObjectStore, tenant_id: uuid.UUID
) -> None:
    with pytest.raises(KeyOutsideTenant):
        download_link(
            store,
            tenant_id=tenant_id,
            key=object_key(uuid.uuid4()),
            filename="a.pdf",
            content_type="application/pdf",
        )


def test_headers_for_serving_a_file_forbid_sniffing_and_force_a_download() -> None:
    headers = download_headers(NAME, "text/plain; charset=utf-8")

    assert headers["Content-Type"] == "text/plain; charset=utf-8"
    assert headers["Content-Disposition"] == content_disposition(NAME)
    assert headers["X-Content-Type-Options"] == "nosniff"
