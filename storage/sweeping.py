"""Support for the sweeper that keeps stored objects and the caller's metadata rows in step.

Objects without rows come from uploads never confirmed or from rows deleted while the store was
down; rows without objects point at lost files. The caller lists its known keys for a prefix
(a tenant, a month) and passes them in; nothing here reads a database.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from storage.object_store import ListedObject, ObjectStore

# Longer than an upload grant lives (15 minutes by default) plus the confirmation, so an upload
# in progress is never taken for an orphan.
DEFAULT_GRACE = timedelta(hours=1)


def objects_older_than(
    store: ObjectStore, prefix: str, age: timedelta, *, now: datetime | None = None
) -> Iterator[ListedObject]:
    """The objects under ``prefix`` last modified more than ``age`` ago."""
    cutoff = (now or datetime.now(UTC)) - age
    return (obj for obj in store.list(prefix) if obj.last_modified < cutoff)


@dataclass(frozen=True)
class Reconciliation:
    orphaned_objects: tuple[ListedObject, ...]
    """Stored, without a row, and older than the grace period: safe to delete."""
    missing_objects: frozenset[str]
    """Keys the caller knows that are not stored."""


def reconcile(
    known_keys: Iterable[str],
    stored_objects: Iterable[ListedObject],
    *,
    now: datetime,
    grace: timedelta = DEFAULT_GRACE,
) -> Reconciliation:
    """Compare the caller's keys with a listing of the same prefix. Objects younger than
    ``grace`` are left out of the orphans: their rows may simply not be written yet."""
    known = frozenset(known_keys)
    cutoff = now - grace
    orphaned: list[ListedObject] = []
    seen: set[str] = set()
    for obj in stored_objects:
        seen.add(obj.key)
        if obj.key not in known and obj.last_modified < cutoff:
            orphaned.append(obj)
    return Reconciliation(tuple(orphaned), known - seen)
