"""Plan and apply manifests; export the database back into one.

``apply_manifest`` is all-or-nothing: it plans and writes inside one transaction, serialised
with any other apply by an advisory lock, so a failure leaves nothing half-applied and two
admins cannot interleave. Writes are set-based (a statement per kind of change, whatever the
number of rows), which is what keeps 10,000 tenants within seconds.
"""

from __future__ import annotations

import json
import uuid
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import chain
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from rbac import store
from rbac.store import StoredGrant
from tenancy.database import Database
from tenancy.errors import FieldError, InvalidInput
from tenancy.hierarchy import cycle_through, reaching_a_root
from tenancy.provisioning.bulk import copy_rows, execute, fetch
from tenancy.provisioning.manifest import Manifest, StaffEntry, StaffSpec, TenantEntry, TenantSpec
from tenancy.provisioning.schemas import (
    GrantLine,
    Plan,
    StatusChange,
    TenantMove,
    TenantUpdate,
)
from tenancy.provisioning.specs import TenantFields
from tenancy.provisioning.staff_plan import ADD_PEOPLE, WRITE_GRANTS, plan_staff
from tenancy.tenants.models import TenantKind, TenantStatus
from tenancy.tenants.service import placement_errors

# manifest field → tenants column, for the fields a manifest states.
_FIELDS = {
    "name": "name",
    "short_name": "short_name",
    "kind": "kind",
    "territory": "territory_code",
    "inn": "inn",
    "ogrn": "ogrn",
    "timezone": "timezone",
    "calendar": "calendar",
}
_APPLY_LOCK = "SELECT pg_advisory_xact_lock(hashtext('priemnaya.provisioning'))"


# An audit row: tenant, action, object, changes.
_AuditEntry = tuple[uuid.UUID, str, str, dict[str, Any]]


@dataclass(slots=True)
class _Row:
    """A tenant as stored (or as it will be)."""

    id: uuid.UUID
    slug: str
    parent: str | None
    kind: str
    status: str
    values: tuple[Any, ...] = ()  # the columns of _FIELDS, in their order


@dataclass
class _Work:
    """The plan plus what applying it needs (ids, rows)."""

    plan: Plan
    new_tenants: list[tuple[TenantSpec, uuid.UUID]] = field(default_factory=list)
    changed_tenants: list[tuple[TenantSpec, uuid.UUID, str]] = field(default_factory=list)
    pruned: list[uuid.UUID] = field(default_factory=list)
    people: dict[str, str] = field(default_factory=dict)  # email → name, for new people
    renames: dict[uuid.UUID, str] = field(default_factory=dict)
    removed: list[StoredGrant] = field(default_factory=list)  # grants_removed, as ids
    tenant_ids: dict[str, uuid.UUID] = field(default_factory=dict)
    audit: list[_AuditEntry] = field(default_factory=list)


async def plan_manifest(db: Database, manifest: Manifest, *, prune: bool = False) -> Plan:
    """What applying ``manifest`` would change; the database is left as it is."""
    async with db.privileged_session() as session:
        return (await _plan(session, manifest, prune=prune)).plan


async def apply_manifest(
    db: Database, manifest: Manifest, *, prune: bool = False, actor: str, source: str
) -> Plan:
    """Apply ``manifest`` in one transaction; return what changed (nothing, if it was current)."""
    async with db.privileged_session(actor=actor) as session:
        await session.execute(text(_APPLY_LOCK))
        work = await _plan(session, manifest, prune=prune)
        if work.plan.changes:
            await _write(session, work, actor=actor, source=source)
            work.plan.applied = True
        return work.plan


# --- planning ----------------------------------------------------------------------------


# Each stored tenant, then the columns of _FIELDS in their order.
_STORED_TENANTS = (
    "SELECT t.id, t.slug, p.slug AS parent, t.kind, t.status, "
    + ", ".join(f"t.{column}" for column in _FIELDS.values())
    + " FROM tenants t LEFT JOIN tenants p ON p.id = t.parent_id"
)


async def _stored_tenants(session: AsyncSession) -> dict[str, _Row]:
    rows = {}
    for tenant_id, slug, parent, kind, status, *values in await store.rows_as_tuples(
        session, _STORED_TENANTS, {}
    ):
        rows[slug] = _Row(tenant_id, slug, parent, kind, status, tuple(values))
    return rows


def _spec_values(spec: TenantSpec) -> tuple[Any, ...]:
    """The spec's values of _FIELDS, in their order."""
    return (
        spec.name,
        spec.short_name,
        spec.kind.value,
        spec.territory,
        spec.inn,
        spec.ogrn,
        spec.timezone,
        spec.calendar,
    )


async def _plan(session: AsyncSession, manifest: Manifest, *, prune: bool) -> _Work:
    stored = await _stored_tenants(session)
    work = _Work(Plan())
    errors: list[FieldError] = []
    listed = {entry.spec.slug: entry for entry in manifest.tenants}

    # The hierarchy as it will be: stored parents, overridden by the manifest.
    final: dict[str, _Row] = dict(stored)
    for entry in manifest.tenants:
        spec = entry.spec
        old = stored.get(spec.slug)
        status = spec.status.value if spec.status else (old.status if old else "active")
        final[spec.slug] = _Row(
            old.id if old else uuid.uuid4(), spec.slug, spec.parent, spec.kind.value, status
        )
    work.tenant_ids = {slug: row.id for slug, row in final.items()}

    errors += manifest.errors
    parents = {slug: row.parent for slug, row in final.items()}
    acyclic = reaching_a_root(parents)
    for entry in manifest.tenants:
        errors += _tenant_problems(entry, final, parents, acyclic, manifest.unreadable)
    if not errors:
        _diff_tenants(manifest.tenants, stored, final, work)
        if prune:
            _prune_tenants(listed, stored, final, work)
    staff = await plan_staff(session, manifest, final, errors, prune=prune)
    plan = work.plan
    plan.staff_added, plan.staff_renamed = staff.staff_added, staff.staff_renamed
    plan.grants_added, plan.grants_removed = staff.grants_added, staff.grants_removed
    plan.unchanged_grants = staff.unchanged_grants
    work.people, work.renames, work.removed = staff.people, staff.renames, staff.removed
    if errors:
        raise InvalidInput(errors)
    return work


def _tenant_problems(
    entry: TenantEntry,
    final: dict[str, _Row],
    parents: dict[str, str | None],
    acyclic: set[str],
    unreadable: set[str],
) -> list[FieldError]:
    spec = entry.spec
    if spec.parent is None:
        parent = None
    elif spec.parent in unreadable:
        return []  # its parent's own problems are already reported
    elif spec.parent not in final:
        return [FieldError("parent", f"unknown tenant {spec.parent!r}", entry.location)]
    else:
        parent = final[spec.parent]
    if spec.slug not in acyclic and (cycle := cycle_through(spec.slug, parents)) is not None:
        return [FieldError("parent", f"makes a cycle: {' → '.join(cycle)}", entry.location)]
    problems = placement_errors(spec.kind, parent)
    return [FieldError(p.field, p.message, entry.location) for p in problems]


def _diff_tenants(
    entries: Iterable[TenantEntry], stored: dict[str, _Row], final: dict[str, _Row], work: _Work
) -> None:
    plan = work.plan
    for entry in entries:
        spec = entry.spec
        old = stored.get(spec.slug)
        new_values = _spec_values(spec)
        if old is None:
            plan.created.append(spec.slug)
            work.new_tenants.append((spec, final[spec.slug].id))
            continue  # audited as it is written
        changes = {}
        if old.values != new_values:
            changes = {
                name: [was, now]
                for name, was, now in zip(_FIELDS, old.values, new_values, strict=True)
                if was != now
            }
        target_status = spec.status.value if spec.status else old.status
        if changes:
            plan.updated.append(TenantUpdate(slug=spec.slug, changes=changes))
            work.audit.append((old.id, "tenant.updated", spec.slug, changes))
        if old.parent != spec.parent:
            plan.moved.append(
                TenantMove(slug=spec.slug, old_parent=old.parent, new_parent=spec.parent)
            )
            work.audit.append(
                (old.id, "tenant.moved", spec.slug, {"parent": [old.parent, spec.parent]})
            )
        if old.status != target_status:
            plan.status_changed.append(
                StatusChange(slug=spec.slug, old=old.status, new=target_status, reason="manifest")
            )
            work.audit.append(
                (
                    old.id,
                    f"tenant.{target_status}",
                    spec.slug,
                    {"status": [old.status, target_status]},
                )
            )
        if changes or old.parent != spec.parent or old.status != target_status:
            work.changed_tenants.append((spec, old.id, target_status))
        else:
            plan.unchanged_tenants += 1


def _prune_tenants(
    listed: dict[str, TenantEntry], stored: dict[str, _Row], final: dict[str, _Row], work: _Work
) -> None:
    """Suspend stored tenants under the manifest's roots that it no longer lists."""
    roots = {slug for slug, entry in listed.items() if entry.spec.parent not in listed}
    for slug, row in stored.items():
        if slug in listed or row.status != TenantStatus.ACTIVE:
            continue
        up = final[slug].parent
        steps = 0
        while up is not None and steps <= len(final):
            if up in roots:
                work.plan.status_changed.append(
                    StatusChange(slug=slug, old=row.status, new="suspended", reason="pruned")
                )
                work.pruned.append(row.id)
                work.audit.append(
                    (
                        row.id,
                        "tenant.suspended",
                        slug,
                        {
                            "status": [row.status, "suspended"],
                            "reason": "no longer in the manifest",
                        },
                    )
                )
                break
            up = final[up].parent
            steps += 1


# --- writing -----------------------------------------------------------------------------


async def _write(session: AsyncSession, work: _Work, *, actor: str, source: str) -> None:
    ids = work.tenant_ids
    if work.new_tenants:
        # In one COPY: its foreign keys are checked at its end, whatever the rows' order.
        await copy_rows(
            session,
            "tenants (id, slug, parent_id, name, short_name, kind, territory_code, inn, ogrn, "
            "timezone, calendar, status)",
            (
                (
                    tenant_id,
                    spec.slug,
                    ids[spec.parent] if spec.parent else None,
                    spec.name,
                    spec.short_name,
                    spec.kind.value,
                    spec.territory,
                    spec.inn,
                    spec.ogrn,
                    spec.timezone,
                    spec.calendar,
                    (spec.status or TenantStatus.ACTIVE).value,
                )
                for spec, tenant_id in work.new_tenants
            ),
        )
    if work.changed_tenants:
        await session.execute(
            text(
                """
                UPDATE tenants AS t
                SET parent_id = u.parent, name = u.name, short_name = u.short_name,
                    kind = u.kind, territory_code = u.territory, inn = u.inn, ogrn = u.ogrn,
                    timezone = u.timezone, calendar = u.calendar, status = u.status,
                    updated_at = now()
                FROM unnest(
                    CAST(:id AS uuid[]), CAST(:slug AS text[]), CAST(:parent AS uuid[]),
                    CAST(:name AS text[]), CAST(:short_name AS text[]), CAST(:kind AS text[]),
                    CAST(:territory AS text[]), CAST(:inn AS text[]), CAST(:ogrn AS text[]),
                    CAST(:timezone AS text[]), CAST(:calendar AS text[]), CAST(:status AS text[]))
                    AS u(id, slug, parent, name, short_name, kind, territory, inn, ogrn,
                         timezone, calendar, status)
                WHERE t.id = u.id
                """
            ),
            _columns(work.changed_tenants, ids),
        )
    if work.pruned:
        await session.execute(
            text(
                "UPDATE tenants SET status = 'suspended', updated_at = now() WHERE id = ANY(:ids)"
            ),
            {"ids": work.pruned},
        )
    if work.people:
        created = await fetch(session, ADD_PEOPLE)
        await copy_rows(
            session,
            "platform_audit_log (actor, action, object_type, object_id, source)",
            ((actor, "user.created", "user", email, source) for (email,) in created),
        )
    await store.rename_users(session, work.renames)

    creations = ((i, "tenant.created", spec.slug, spec.as_json()) for spec, i in work.new_tenants)
    await _audit_tenants(session, chain(creations, work.audit), actor=actor, source=source)

    def audited(action: str, lines: list[GrantLine]) -> Iterator[_AuditEntry]:
        for g in lines:
            changes = {"email": g.email, "tenant": g.tenant, "role": g.role}
            yield ids[g.tenant], action, f"{g.email}/{g.tenant}/{g.role}", changes

    # The new grants come from the plan's table of the manifest's grants, in one statement.
    if work.plan.grants_added:
        await execute(session, WRITE_GRANTS, {"by": actor})
        await _audit_tenants(
            session, audited("grant.added", work.plan.grants_added), actor=actor, source=source
        )
    for start in range(0, len(work.removed), _PART):
        await store.remove_grants(session, work.removed[start : start + _PART])
    await _audit_tenants(
        session, audited("grant.removed", work.plan.grants_removed), actor=actor, source=source
    )


_PART = 50_000  # grants removed per statement, keeping its parameters bounded


def _columns(
    rows: list[tuple[TenantSpec, uuid.UUID, str]], ids: dict[str, uuid.UUID]
) -> dict[str, list[Any]]:
    columns: dict[str, list[Any]] = {
        key: []
        for key in (
            "id", "slug", "parent", "name", "short_name", "kind", "territory", "inn", "ogrn",
            "timezone", "calendar", "status",
        )
    }  # fmt: skip
    for spec, tenant_id, status in rows:
        columns["id"].append(tenant_id)
        columns["slug"].append(spec.slug)
        columns["parent"].append(ids[spec.parent] if spec.parent else None)
        columns["name"].append(spec.name)
        columns["short_name"].append(spec.short_name)
        columns["kind"].append(TenantKind(spec.kind).value)
        columns["territory"].append(spec.territory)
        columns["inn"].append(spec.inn)
        columns["ogrn"].append(spec.ogrn)
        columns["timezone"].append(spec.timezone)
        columns["calendar"].append(spec.calendar)
        columns["status"].append(status)
    return columns


async def _audit_tenants(
    session: AsyncSession,
    entries: Iterable[_AuditEntry],
    *,
    actor: str,
    source: str,
) -> None:
    dumps = json.JSONEncoder(ensure_ascii=False, default=str).encode
    await copy_rows(
        session,
        "audit_log (tenant_id, actor, action, object_type, object_id, changes, source)",
        (
            (tenant, actor, action, action.split(".", 1)[0], obj, dumps(changes), source)
            for tenant, action, obj, changes in entries
        ),
    )


# --- export ------------------------------------------------------------------------------


async def export_manifest(db: Database, subtree: str | None = None) -> Manifest:
    """The tenants (all, or those under ``subtree``) and their staff, as a manifest that
    ``apply`` would find current. Parents come before their children."""
    async with db.privileged_session() as session:
        stored = await _stored_tenants(session)
        if subtree is not None and subtree not in stored:
            raise InvalidInput.one("subtree", f"unknown tenant {subtree!r}")
        children: dict[str | None, list[str]] = {}
        for slug, row in stored.items():
            children.setdefault(row.parent, []).append(slug)
        order: list[str] = []
        queue = deque([subtree] if subtree is not None else sorted(children.get(None, [])))
        while queue:
            slug = queue.popleft()
            order.append(slug)
            queue.extend(sorted(children.get(slug, [])))
        manifest = Manifest()
        for slug in order:
            row = stored[slug]
            values = dict(zip(_FIELDS, row.values, strict=True))
            spec = TenantFields.model_validate(
                {**values, "slug": slug, "parent": row.parent, "status": row.status}
            ).spec()
            manifest.tenants.append(TenantEntry(spec, "database"))
        ids = [stored[slug].id for slug in order]
        slug_of = {stored[slug].id: slug for slug in order}
        grants = await store.grants_of(session, tenant_ids=ids)
        people = await _people(session, {g.user_id for g in grants})
        roles: dict[tuple[uuid.UUID, uuid.UUID], list[str]] = {}
        for grant in sorted(grants, key=lambda g: g.role):
            assert grant.tenant_id is not None
            roles.setdefault((grant.tenant_id, grant.user_id), []).append(grant.role)
        position = {slug: i for i, slug in enumerate(order)}
        for (tenant_id, user_id), held in sorted(
            roles.items(), key=lambda item: (position[slug_of[item[0][0]]], people[item[0][1]][0])
        ):
            email, name = people[user_id]
            manifest.staff.append(
                StaffEntry(
                    StaffSpec(email=email, name=name, roles=held), slug_of[tenant_id], "database"
                )
            )
        return manifest


async def _people(
    session: AsyncSession, user_ids: set[uuid.UUID]
) -> dict[uuid.UUID, tuple[str, str]]:
    if not user_ids:
        return {}
    result = await session.execute(
        text("SELECT id, email, name FROM users WHERE id = ANY(:ids)"), {"ids": list(user_ids)}
    )
    return {r.id: (r.email, r.name) for r in result}
