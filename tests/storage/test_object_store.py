"""The ObjectStore contract, run against both backends."""

from __future__ import annotations

import io
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from storage.backends import open_store
from storage.config import StorageConfig
from storage.errors import InvalidObjectKey, ObjectMissing, StorageError
from storage.keys import object_key, tenant_prefix
from storage.object_store import ObjectStore
from tests.storage.conftest import put_bytes, stored_keys


def test_stored_bytes_are_read_back_with_their_size_and_type(
    store: ObjectStore, tenant_id: uuid.UUID
) -> None:
    key = object_key(tenant_id)
    data = bytes(range(256)) * 1000

    put_bytes(store, key, data, "application/pdf")

    with store.open(key) as reader:
        assert b"".join(reader) == data
    info = store.stat(key)
    assert info is not None
    assert (info.key, info.size, info.content_type) == (key, len(data), "application/pdf")
    assert abs(info.last_modified - datetime.now(UTC)) < timedelta(minutes=1)


def test_an_object_is_read_in_chunks_not_at_once(store: ObjectStore, tenant_id: uuid.UUID) -> None:
    key = object_key(tenant_id)
    put_bytes(store, key, b"x" * (300 * 1024))

    with store.open(key) as reader:
        sizes = [len(chunk) for chunk in reader]

    assert len(sizes) > 1
    assert max(sizes) <= 64 * 1024
    assert sum(sizes) == 300 * 1024


def test_putting_again_under_a_key_replaces_the_object(
    store: ObjectStore, tenant_id: uuid.UUID
) -> None:
    key = object_key(tenant_id)
    put_bytes(store, key, b"first version")
    put_bytes(store, key, b"second", "image/png")

    assert store.read_head(key, 100) == b"second"
    info = store.stat(key)
    assert info is not None
    assert info.content_type == "image/png"


def test_a_missing_object_has_no_stat_and_cannot_be_opened(
    store: ObjectStore, tenant_id: uuid.UUID
) -> None:
    key = object_key(tenant_id)

    assert store.stat(key) is None
    with pytest.raises(ObjectMissing):
        store.open(key)
    with pytest.raises(ObjectMissing):
        store.read_head(key, 10)
    with pytest.raises(ObjectMissing):
        store.copy(key, object_key(tenant_id))


def test_delete_removes_the_object_and_is_idempotent(
    store: ObjectStore, tenant_id: uuid.UUID
) -> None:
    key = object_key(tenant_id)
    put_bytes(store, key, b"data")

    store.delete(key)
    store.delete(key)

    assert store.stat(key) is None
    assert stored_keys(store) == []


def test_listing_a_tenant_prefix_shows_only_that_tenants_objects(
    store: ObjectStore, tenant_id: uuid.UUID
) -> None:
    mine = [object_key(tenant_id) for _ in range(3)]
    other = object_key(uuid.uuid4())
    for key in [*mine, other]:
        put_bytes(store, key, b"12345")

    listed = list(store.list(tenant_prefix(tenant_id)))

    assert sorted(obj.key for obj in listed) == sorted(mine)
    assert {obj.size for obj in listed} == {5}
    assert sorted(stored_keys(store)) == sorted([*mine, other])


def test_listing_with_a_partial_prefix_filters_by_key_start(
    store: ObjectStore, tenant_id: uuid.UUID
) -> None:
    key = object_key(tenant_id, now=datetime(2025, 3, 1, tzinfo=UTC))
    older = object_key(tenant_id, now=datetime(2024, 3, 1, tzinfo=UTC))
    put_bytes(store, key, b"x")
    put_bytes(store, older, b"x")

    assert sorted(stored_keys(store, f"{tenant_id}/202")) == sorted([key, older])
    assert stored_keys(store, f"{tenant_id}/2025") == [key]
    assert stored_keys(store, key[:-5]) == [key]


def test_copy_duplicates_the_object_with_its_type(store: ObjectStore, tenant_id: uuid.UUID) -> None:
    source, target = object_key(tenant_id), object_key(tenant_id)
    put_bytes(store, source, b"original", "application/pdf")

    store.copy(source, target)

    assert store.read_head(target, 100) == b"original"
    info = store.stat(target)
    assert info is not None
    assert info.content_type == "application/pdf"
    assert store.stat(source) is not None


def test_read_head_returns_at_most_n_bytes(store: ObjectStore, tenant_id: uuid.UUID) -> None:
    key, empty = object_key(tenant_id), object_key(tenant_id)
    put_bytes(store, key, b"0123456789")
    put_bytes(store, empty, b"")

    assert store.read_head(key, 4) == b"0123"
    assert store.read_head(key, 100) == b"0123456789"
    assert store.read_head(empty, 4) == b""


def test_a_stream_shorter_than_declared_is_not_stored(
    store: ObjectStore, tenant_id: uuid.UUID
) -> None:
    key = object_key(tenant_id)

    with pytest.raises(StorageError):
        store.put(key, io.BytesIO(b"short"), 100, "text/plain")

    assert store.stat(key) is None


@pytest.mark.parametrize(
    "key", ["../escape", "tenant/../../etc/passwd", "/absolute", "a//b", ".tmp/x", "", "a/.meta"]
)
def test_keys_that_could_escape_the_store_are_refused(store: ObjectStore, key: str) -> None:
    with pytest.raises(InvalidObjectKey):
        store.put(key, io.BytesIO(b"x"), 1, "text/plain")
    with pytest.raises(InvalidObjectKey):
        store.stat(key)


def test_ensure_ready_can_run_again_on_a_ready_store(
    store_config: StorageConfig, tenant_id: uuid.UUID
) -> None:
    store = open_store(store_config)
    store.ensure_ready()
    key = object_key(tenant_id)
    put_bytes(store, key, b"kept")

    open_store(store_config).ensure_ready()

    assert store.read_head(key, 10) == b"kept"
