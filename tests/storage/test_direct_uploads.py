"""Uploads from the browser straight to storage: the grant, then the confirmation."""

from __future__ import annotations

import base64
import io
import json
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import urllib3
from PIL import Image

from storage.attachments import (
    PreparedUpload,
    confirm_direct_upload,
    prepare_direct_upload,
    receive_signed_upload,
)
from storage.errors import (
    AttachmentRejected,
    KeyOutsideTenant,
    ObjectMissing,
    RejectionReason,
)
from storage.file_types import FileKind
from storage.keys import is_tenant_key, object_key
from storage.object_store import ObjectStore
from storage.s3 import S3Store
from storage.signed_urls import verify_upload_token
from storage.validation import AttachmentPolicy, MiB
from tests.s3_server import S3_ACCESS_KEY
from tests.storage import samples
from tests.storage.conftest import SIGNING_KEY, read_object, stored_keys

pytestmark = pytest.mark.anyio


async def upload_from_browser(store: ObjectStore, prepared: PreparedUpload, data: bytes) -> None:
    """What the browser does with the grant (and, for the local backend, the app's route)."""
    upload = prepared.upload
    if upload.method == "POST":
        fields: dict[str, str | tuple[str, bytes, str]] = dict(upload.fields)
        fields["file"] = ("upload", data, upload.fields["Content-Type"])
        response = urllib3.PoolManager().request("POST", upload.url, fields=fields)
        assert response.status in (200, 201, 204), response.data
    else:
        token = parse_qs(urlsplit(upload.url).query)["token"][0]
        grant = verify_upload_token(SIGNING_KEY, token)
        await receive_signed_upload(store, grant, samples.async_chunks(data))


async def test_a_confirmed_direct_upload_of_a_photo_is_stored_without_its_location(
    store: ObjectStore, tenant_id: uuid.UUID
) -> None:
    photo = samples.jpeg_with_gps()
    prepared = prepare_direct_upload(
        store, tenant_id=tenant_id, filename="яма.jpg", size=len(photo), content_type="image/jpeg"
    )
    await upload_from_browser(store, prepared, photo)

    stored = confirm_direct_upload(
        store,
        tenant_id=tenant_id,
        key=prepared.key,
        filename=prepared.filename,
        declared_size=prepared.size,
    )

    assert is_tenant_key(stored.key, tenant_id)
    assert stored.filename == "яма.jpg"
    assert stored.metadata_stripped
    data = read_object(store, stored.key)
    assert stored.size == len(data)
    with Image.open(io.BytesIO(data)) as image:
        assert dict(image.getexif().get_ifd(samples.GPS_IFD)) == {}


async def test_confirmation_stores_the_type_found_in_the_content_not_the_declared_one(
    store: ObjectStore, tenant_id: uuid.UUID
) -> None:
    text = samples.utf8_text()
    prepared = prepare_direct_upload(
        store, tenant_id=tenant_id, filename="a.txt", size=len(text), content_type="image/jpeg"
    )
    await upload_from_browser(store, prepared, text)

    stored = confirm_direct_upload(
        store, tenant_id=tenant_id, key=prepared.key, filename="a.txt", declared_size=len(text)
    )

    info = store.stat(stored.key)
    assert info is not None
    assert info.content_type == stored.content_type == "text/plain; charset=utf-8"
    assert read_object(store, stored.key) == text


async def test_a_zip_uploaded_directly_as_a_photo_is_deleted_at_confirmation(
    store: ObjectStore, tenant_id: uuid.UUID
) -> None:
    archive = samples.zip_archive()
    prepared = prepare_direct_upload(
        store,
        tenant_id=tenant_id,
        filename="photo.jpg",
        size=len(archive),
        content_type="image/jpeg",
    )
    await upload_from_browser(store, prepared, archive)

    with pytest.raises(AttachmentRejected, match=r"^photo\.jpg: the content is a ZIP archive"):
        confirm_direct_upload(
            store,
            tenant_id=tenant_id,
            key=prepared.key,
            filename="photo.jpg",
            declared_size=len(archive),
        )

    assert stored_keys(store) == []


async def test_an_object_of_another_size_than_declared_is_deleted_at_confirmation(
    store: ObjectStore, tenant_id: uuid.UUID
) -> None:
    prepared = prepare_direct_upload(
        store, tenant_id=tenant_id, filename="a.pdf", size=100, content_type="application/pdf"
    )
    # What S3 would refuse by the policy; the confirmation does not rely on it.
    pdf = samples.pdf_document()
    store.put(prepared.key, io.BytesIO(pdf), len(pdf), "application/pdf")

    with pytest.raises(AttachmentRejected) as refused:
        confirm_direct_upload(
            store, tenant_id=tenant_id, key=prepared.key, filename="a.pdf", declared_size=100
        )

    assert refused.value.reason is RejectionReason.SIZE_MISMATCH
    assert stored_keys(store) == []


def test_confirming_an_upload_that_never_arrived_says_it_is_missing(
    store: ObjectStore, tenant_id: uuid.UUID
) -> None:
    with pytest.raises(ObjectMissing):
        confirm_direct_upload(
            store,
            tenant_id=tenant_id,
            key=object_key(tenant_id),
            filename="a.pdf",
            declared_size=10,
        )


def test_confirming_a_key_outside_the_tenants_prefix_is_refused_and_touches_nothing(
    store: ObjectStore, tenant_id: uuid.UUID
) -> None:
    foreign_key = object_key(uuid.uuid4())
    pdf = samples.pdf_document()
    store.put(foreign_key, io.BytesIO(pdf), len(pdf), "application/pdf")

    with pytest.raises(KeyOutsideTenant):
        confirm_direct_upload(
            store, tenant_id=tenant_id, key=foreign_key, filename="a.pdf", declared_size=len(pdf)
        )

    assert stored_keys(store) == [foreign_key]


@pytest.mark.parametrize(
    ("filename", "size", "reason"),
    [
        ("big.pdf", 10 * MiB + 1, RejectionReason.TOO_LARGE),
        ("empty.pdf", 0, RejectionReason.EMPTY),
        ("../etc/passwd", 10, RejectionReason.BAD_FILE_NAME),
    ],
)
def test_no_grant_is_issued_for_a_file_that_breaks_the_rules(
    store: ObjectStore, tenant_id: uuid.UUID, filename: str, size: int, reason: RejectionReason
) -> None:
    with pytest.raises(AttachmentRejected) as refused:
        prepare_direct_upload(
            store, tenant_id=tenant_id, filename=filename, size=size, content_type="text/plain"
        )
    assert refused.value.reason is reason


def test_a_strange_declared_content_type_is_replaced_by_a_neutral_one(
    store: ObjectStore, tenant_id: uuid.UUID
) -> None:
    prepared = prepare_direct_upload(
        store,
        tenant_id=tenant_id,
        filename="a.txt",
        size=10,
        content_type="text/html\r\nSet-Cookie: x=1",
    )

    assert prepared.content_type == "application/octet-stream"


def test_the_post_policy_binds_the_exact_key_type_and_size_for_15_minutes(
    s3_store: ObjectStore, tenant_id: uuid.UUID
) -> None:
    assert isinstance(s3_store, S3Store)
    before = datetime.now(UTC).replace(microsecond=0)

    prepared = prepare_direct_upload(
        s3_store, tenant_id=tenant_id, filename="a.jpg", size=1234, content_type="image/jpeg"
    )

    upload = prepared.upload
    assert upload.method == "POST"
    assert urlsplit(upload.url).path == f"/{s3_store.bucket}"
    assert upload.fields["key"] == prepared.key
    assert upload.fields["Content-Type"] == "image/jpeg"
    policy = json.loads(base64.b64decode(upload.fields["policy"]))
    conditions = policy["conditions"]
    assert ["eq", "$bucket", s3_store.bucket] in conditions
    assert ["eq", "$key", prepared.key] in conditions
    assert ["eq", "$Content-Type", "image/jpeg"] in conditions
    assert ["content-length-range", 1234, 1234] in conditions
    assert not any(condition[0] == "starts-with" for condition in conditions)
    expiration = datetime.strptime(policy["expiration"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=UTC
    )
    assert timedelta(minutes=15) <= expiration - before <= timedelta(minutes=15, seconds=5)
    assert upload.expires_at == expiration
    credential = upload.fields["x-amz-credential"].split("/")
    assert credential == [S3_ACCESS_KEY, f"{before:%Y%m%d}", "us-east-1", "s3", "aws4_request"]
    signed_at = datetime.strptime(upload.fields["x-amz-date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    assert abs(signed_at - before) < timedelta(seconds=5)
    assert ["eq", "$x-amz-date", upload.fields["x-amz-date"]] in conditions


def test_the_post_policy_lifetime_can_be_shortened(
    s3_store: ObjectStore, tenant_id: uuid.UUID
) -> None:
    prepared = prepare_direct_upload(
        s3_store,
        tenant_id=tenant_id,
        filename="a.jpg",
        size=10,
        content_type="image/jpeg",
        ttl=timedelta(minutes=2),
    )

    policy = json.loads(base64.b64decode(prepared.upload.fields["policy"]))
    expiration = datetime.strptime(policy["expiration"], "%Y-%m-%dT%H:%M:%S.%fZ")
    assert expiration.replace(tzinfo=UTC) - datetime.now(UTC) < timedelta(minutes=2, seconds=1)


def test_a_local_upload_grant_is_a_signed_put_url_for_the_exact_key_type_and_size(
    local_store: ObjectStore, tenant_id: uuid.UUID
) -> None:
    prepared = prepare_direct_upload(
        local_store, tenant_id=tenant_id, filename="a.pdf", size=321, content_type="application/pdf"
    )

    upload = prepared.upload
    assert upload.method == "PUT"
    assert upload.url.startswith("/attachments/upload?token=")
    assert upload.headers == {"Content-Type": "application/pdf"}
    grant = verify_upload_token(SIGNING_KEY, parse_qs(urlsplit(upload.url).query)["token"][0])
    assert (grant.key, grant.size, grant.content_type) == (prepared.key, 321, "application/pdf")
    remaining = grant.expires_at - datetime.now(UTC)
    assert timedelta(minutes=14) < remaining <= timedelta(minutes=15)


@pytest.mark.parametrize("actual_size", [99, 101, 10_000])
async def test_a_local_signed_upload_of_another_size_than_granted_is_not_stored(
    local_store: ObjectStore, tenant_id: uuid.UUID, actual_size: int
) -> None:
    prepared = prepare_direct_upload(
        local_store, tenant_id=tenant_id, filename="a.txt", size=100, content_type="text/plain"
    )
    grant = verify_upload_token(
        SIGNING_KEY, parse_qs(urlsplit(prepared.upload.url).query)["token"][0]
    )

    with pytest.raises(AttachmentRejected):
        await receive_signed_upload(local_store, grant, samples.async_chunks(b"a" * actual_size))

    assert stored_keys(local_store) == []


def test_a_tenant_policy_with_a_lower_limit_applies_to_grants(
    store: ObjectStore, tenant_id: uuid.UUID
) -> None:
    policy = AttachmentPolicy(max_file_size=1 * MiB)

    with pytest.raises(AttachmentRejected, match="larger than the 1 MiB limit"):
        prepare_direct_upload(
            store,
            tenant_id=tenant_id,
            filename="a.pdf",
            size=2 * MiB,
            content_type="application/pdf",
            policy=policy,
        )


def test_a_confirmed_heic_keeps_its_kind(s3_store: ObjectStore, tenant_id: uuid.UUID) -> None:
    heic = samples.heic_with_gps()
    key = object_key(tenant_id)
    s3_store.put(key, io.BytesIO(heic), len(heic), "image/heic")

    stored = confirm_direct_upload(
        s3_store, tenant_id=tenant_id, key=key, filename="IMG_0001.HEIC", declared_size=len(heic)
    )

    assert stored.kind is FileKind.HEIC
    assert b"PhoneMaker" not in read_object(s3_store, key)
