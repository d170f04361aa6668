from __future__ import annotations

import io
import uuid
from datetime import UTC, datetime, timedelta

from storage.keys import object_key, tenant_prefix
from storage.object_store import ListedObject, ObjectStore
from storage.sweeping import objects_older_than, reconcile

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


def listed(key: str, age: timedelta) -> ListedObject:
    return ListedObject(key, 10, NOW - age)


def test_objects_older_than_an_age_are_listed_under_the_prefix_only(
    store: ObjectStore, tenant_id: uuid.UUID
) -> None:
    mine = object_key(tenant_id)
    store.put(mine, io.BytesIO(b"x"), 1, "text/plain")
    store.put(object_key(uuid.uuid4()), io.BytesIO(b"x"), 1, "text/plain")
    in_two_hours = datetime.now(UTC) + timedelta(hours=2)

    old = objects_older_than(store, tenant_prefix(tenant_id), timedelta(hours=1), now=in_two_hours)
    fresh = objects_older_than(store, tenant_prefix(tenant_id), timedelta(hours=1))

    assert [obj.key for obj in old] == [mine]
    assert list(fresh) == []


def test_reconcile_finds_old_objects_without_rows_and_rows_without_objects() -> None:
    tenant = uuid.uuid4()
    kept, orphan, in_flight, lost = (object_key(tenant) for _ in range(4))
    stored = [
        listed(kept, timedelta(days=3)),
        listed(orphan, timedelta(hours=2)),
        listed(in_flight, timedelta(minutes=5)),
    ]

    result = reconcile({kept, lost}, stored, now=NOW, grace=timedelta(hours=1))

    assert [obj.key for obj in result.orphaned_objects] == [orphan]
    assert result.missing_objects == {lost}


def test_reconcile_of_matching_sets_finds_nothing() -> None:
    keys = [object_key(uuid.uuid4()) for _ in range(3)]

    result = reconcile(keys, [listed(key, timedelta(days=1)) for key in keys], now=NOW)

    assert result.orphaned_objects == ()
    assert result.missing_objects == frozenset()
