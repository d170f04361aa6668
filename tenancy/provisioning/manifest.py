"""Reading manifests: YAML (nested or flat) and CSV (``tenants.csv``, ``staff.csv``).

Every problem in every file is collected with its ``file:line`` before anything is looked up
in the database, so a person fixes a manifest in one pass.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from tenancy.csv_tables import decode_csv, header_of, table_values
from tenancy.errors import FieldError, InvalidInput, field_errors
from tenancy.provisioning.specs import (
    StaffFields,
    StaffSpec,
    TenantFields,
    TenantSpec,
    staff_spec,
    tenant_spec,
)
from tenancy.provisioning.yaml_reader import LINE as _LINE
from tenancy.provisioning.yaml_reader import YamlProblem, load_yaml

TENANT_COLUMNS = ("slug", "name", "kind", "parent", "territory", "inn")
TENANT_OPTIONAL_COLUMNS = ("ogrn", "short_name", "timezone", "calendar", "status")
STAFF_COLUMNS = ("email", "name", "tenant", "roles")


__all__ = ["Manifest", "StaffEntry", "StaffSpec", "TenantEntry", "TenantSpec"]


@dataclass(slots=True)
class TenantEntry:
    """A tenant's row; like a person's, its ``file:line`` is made when a problem names it."""

    spec: TenantSpec
    source: str
    line: int | None = None

    @property
    def location(self) -> str:
        return self.source if self.line is None else f"{self.source}:{self.line}"


@dataclass(slots=True)
class StaffEntry:
    """A person's row; its ``file:line`` is made only when a problem names it (a national
    staff.csv has 700,000 rows, nearly all fine)."""

    spec: StaffSpec
    tenant: str
    source: str
    line: int | None = None

    @property
    def location(self) -> str:
        return self.source if self.line is None else f"{self.source}:{self.line}"


@dataclass
class Manifest:
    tenants: list[TenantEntry] = field(default_factory=list)
    staff: list[StaffEntry] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    # What could not be read; planning adds its own findings and reports them all together.
    errors: list[FieldError] = field(default_factory=list)
    unreadable: set[str] = field(default_factory=set)  # slugs of tenants that failed to parse

    def extend(self, other: Manifest) -> None:
        self.tenants += other.tenants
        self.staff += other.staff
        self.sources += other.sources
        self.unreadable |= other.unreadable


def parse_manifests(paths: Sequence[Path]) -> Manifest:
    """Read every file, keeping what is readable and every problem in ``errors``."""
    manifest = Manifest()
    if not paths:
        raise InvalidInput.one("FILE", "name at least one manifest file")
    for path in paths:
        try:
            part, problems = _read(path)
        except OSError as exc:
            manifest.errors.append(FieldError("file", exc.strerror or str(exc), str(path)))
            continue
        manifest.extend(part)
        manifest.errors += problems
    manifest.errors += _duplicates(manifest)
    return manifest


def read_manifests(paths: Sequence[Path]) -> Manifest:
    """Read every file; raise InvalidInput with all problems of all files at once."""
    manifest = parse_manifests(paths)
    if manifest.errors:
        raise InvalidInput(manifest.errors)
    return manifest


def _read(path: Path) -> tuple[Manifest, list[FieldError]]:
    data = path.read_bytes()
    name = str(path)
    if not data.strip():
        return Manifest(), [FieldError("file", "the file is empty", f"{name}:1")]
    if path.suffix.lower() in (".yaml", ".yml"):
        return _read_yaml(data, name)
    if path.suffix.lower() == ".csv":
        return _read_csv(data, name)
    return Manifest(), [
        FieldError("file", "expected a .yaml, .yml or .csv manifest", name),
    ]


# --- YAML --------------------------------------------------------------------------------


_NULLS = frozenset({"", "~", "null", "Null", "NULL"})


def _scalar(value: Any) -> Any:
    return None if isinstance(value, str) and value in _NULLS else value


def _read_yaml(data: bytes, name: str) -> tuple[Manifest, list[FieldError]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return Manifest(), [FieldError("file", f"YAML must be UTF-8 ({exc.reason})", name)]
    try:
        document = load_yaml(text)
    except YamlProblem as exc:
        return Manifest(), [FieldError(exc.field, exc.message, f"{name}:{exc.line}")]
    if not isinstance(document, dict) or not isinstance(document.get("tenants"), list):
        return Manifest(), [
            FieldError("tenants", "expected a top-level 'tenants:' list", f"{name}:1")
        ]
    manifest = Manifest(sources=[name])
    errors: list[FieldError] = []
    unknown = set(document) - {"tenants", "staff", _LINE}
    if unknown:
        errors.append(FieldError(", ".join(sorted(unknown)), "unknown top-level key", f"{name}:1"))
    for item, parent in _walk(document["tenants"], None):
        _yaml_tenant(item, parent, name, manifest, errors)
    for item in _scalar(document.get("staff")) or []:
        if not isinstance(item, dict) or "tenant" not in item:
            where = f"{name}:{item.get(_LINE, '?') if isinstance(item, dict) else '?'}"
            errors.append(FieldError("staff", "each entry needs email, name, tenant, roles", where))
            continue
        _yaml_staff(item, str(item.pop("tenant")), name, manifest, errors)
    return manifest, errors


def _walk(items: Any, parent: str | None) -> Iterator[tuple[Any, str | None]]:
    """Tenants in order, parents before their ``children:``."""
    for item in items if isinstance(items, list) else [items]:
        yield item, parent
        if isinstance(item, dict) and _scalar(item.get("children")):
            yield from _walk(item["children"], item.get("slug"))


def _yaml_tenant(
    item: Any, parent: str | None, name: str, manifest: Manifest, errors: list[FieldError]
) -> None:
    if not isinstance(item, dict):
        errors.append(FieldError("tenants", "each tenant is a mapping of its fields", name))
        return
    where = f"{name}:{item.get(_LINE, '?')}"
    fields = {
        k: _scalar(v) for k, v in item.items() if k not in (_LINE, "children", "staff", "settings")
    }
    settings = _scalar(item.get("settings")) or {}
    if not isinstance(settings, dict):
        errors.append(FieldError("settings", "expected timezone and calendar", where))
        settings = {}
    for key in ("timezone", "calendar"):
        if key in settings:
            fields[key] = _scalar(settings[key])
    unknown_settings = set(settings) - {"timezone", "calendar", _LINE}
    if unknown_settings:
        errors.append(
            FieldError("settings", f"unknown: {', '.join(sorted(unknown_settings))}", where)
        )
    if parent is not None:
        if fields.get("parent") not in (None, parent):
            errors.append(
                FieldError(
                    "parent", f"says {fields['parent']!r} but it is nested under {parent!r}", where
                )
            )
        fields["parent"] = parent
    try:
        spec = TenantFields.model_validate(fields).spec()
    except ValidationError as exc:
        errors += field_errors(exc, location=where)
        manifest.unreadable.add(str(fields.get("slug")))
        return
    manifest.tenants.append(TenantEntry(spec, where))
    for person in _scalar(item.get("staff")) or []:
        if not isinstance(person, dict):
            at = f"{name}:?"
            errors.append(FieldError("staff", "each entry is {email, name, roles}", at))
            continue
        _yaml_staff(person, spec.slug, name, manifest, errors)


def _yaml_staff(
    item: dict[str, Any], tenant: str, name: str, manifest: Manifest, errors: list[FieldError]
) -> None:
    line = item.get(_LINE)
    fields = {k: _scalar(v) for k, v in item.items() if k != _LINE}
    if isinstance(fields.get("roles"), str):
        fields["roles"] = _split_roles(fields["roles"])
    try:
        spec = StaffFields.model_validate(fields).spec()
    except ValidationError as exc:
        errors += field_errors(exc, location=f"{name}:{line}")
        return
    manifest.staff.append(StaffEntry(spec, tenant, name, line))


def _split_roles(value: str) -> list[str]:
    return [r.strip() for r in value.replace(",", ";").split(";") if r.strip()]


# --- CSV ---------------------------------------------------------------------------------


def _read_csv(data: bytes, name: str) -> tuple[Manifest, list[FieldError]]:
    text, problem = decode_csv(data)
    if problem:
        return Manifest(), [FieldError("file", problem, name)]
    del data
    header = header_of(text)
    if "slug" not in header and "email" not in header:
        return Manifest(), [
            FieldError(
                "header",
                f"expected tenants.csv columns ({','.join(TENANT_COLUMNS)}) "
                f"or staff.csv columns ({','.join(STAFF_COLUMNS)})",
                f"{name}:1",
            )
        ]
    manifest = Manifest(sources=[name])
    errors: list[FieldError] = []
    # Rows are read one at a time and kept only as entries: a national staff.csv is never
    # held as rows and entries at once.
    if "slug" in header:
        columns, rows = table_values(text, name, TENANT_COLUMNS, TENANT_OPTIONAL_COLUMNS, errors)
        _csv_tenants(columns, rows, name, manifest, errors)
    else:
        columns, rows = table_values(text, name, STAFF_COLUMNS, (), errors)
        _csv_staff(columns, rows, name, manifest, errors)
    return manifest, errors


Rows = Iterator[tuple[int, list[str | None]]]


def _csv_tenants(
    columns: list[str], rows: Rows, name: str, manifest: Manifest, errors: list[FieldError]
) -> None:
    for line, values in rows:
        fields = dict(zip(columns, values, strict=True))
        spec = tenant_spec(fields)
        if spec is None:
            try:
                spec = TenantFields.model_validate(
                    {k: v for k, v in fields.items() if v is not None}
                ).spec()
            except ValidationError as exc:
                errors += field_errors(exc, location=f"{name}:{line}")
                manifest.unreadable.add(str(fields.get("slug")))
                continue
        manifest.tenants.append(TenantEntry(spec, name, line))


def _csv_staff(
    columns: list[str], rows: Rows, name: str, manifest: Manifest, errors: list[FieldError]
) -> None:
    email_at, name_at = columns.index("email"), columns.index("name")
    tenant_at, roles_at = columns.index("tenant"), columns.index("roles")
    # The same few role names, role lists and tenant slugs recur on every row: one object
    # each, shared by the rows (nothing changes an entry's roles once read).
    shared: dict[str, str] = {}
    role_lists: dict[str, list[str]] = {}
    append = manifest.staff.append
    for line, values in rows:
        tenant = values[tenant_at]
        if not tenant:
            errors.append(FieldError("tenant", "name the tenant (its slug)", f"{name}:{line}"))
            continue
        tenant = shared.setdefault(tenant, tenant)
        stated = values[roles_at] or ""
        roles = role_lists.get(stated)
        if roles is None:
            roles = role_lists[stated] = [shared.setdefault(r, r) for r in _split_roles(stated)]
        spec = staff_spec(values[email_at], values[name_at], roles)
        if spec is None:
            fields: dict[str, Any] = {
                k: v for k, v in zip(columns, values, strict=True) if v is not None
            }
            del fields["tenant"]
            fields["roles"] = list(roles)
            try:
                spec = StaffFields.model_validate(fields).spec()
            except ValidationError as exc:
                errors += field_errors(exc, location=f"{name}:{line}")
                continue
        append(StaffEntry(spec, tenant, name, line))


# --- across files ------------------------------------------------------------------------


def _duplicates(manifest: Manifest) -> list[FieldError]:
    errors = []
    seen: dict[str, TenantEntry] = {}
    for entry in manifest.tenants:
        first = seen.setdefault(entry.spec.slug, entry)
        if first is not entry:
            message = f"{entry.spec.slug!r} is also at {first.location}"
            errors.append(FieldError("slug", message, entry.location))
    # The first row of each person (in a tenant, and at all): a row only, not its location.
    people: dict[tuple[str, str], StaffEntry] = {}
    names: dict[str, StaffEntry] = {}
    for person in manifest.staff:
        spec = person.spec
        earlier = people.setdefault((spec.email, person.tenant), person)
        if earlier is not person:
            errors.append(
                FieldError(
                    "email",
                    f"{spec.email} in {person.tenant!r} is also at {earlier.location}",
                    person.location,
                )
            )
        named = names.setdefault(spec.email, person)
        if named.spec.name != spec.name:
            errors.append(
                FieldError(
                    "name",
                    f"{spec.email} is called {named.spec.name!r} at {named.location}",
                    person.location,
                )
            )
    return errors


# --- writing manifests (export) ----------------------------------------------------------


def _tenant_fields(spec: TenantSpec) -> dict[str, Any]:
    return {
        "slug": spec.slug,
        "name": spec.name,
        "kind": spec.kind.value,
        "parent": spec.parent,
        "territory": spec.territory,
        "inn": spec.inn,
        "ogrn": spec.ogrn,
        "short_name": spec.short_name,
    }


def render_yaml(manifest: Manifest) -> str:
    staff: dict[str, list[dict[str, Any]]] = {}
    for person in manifest.staff:
        staff.setdefault(person.tenant, []).append(
            {"email": person.spec.email, "name": person.spec.name, "roles": person.spec.roles}
        )
    tenants = []
    for entry in manifest.tenants:
        spec = entry.spec
        item = {k: v for k, v in _tenant_fields(spec).items() if v is not None}
        item["settings"] = {"timezone": spec.timezone, "calendar": spec.calendar}
        if spec.status is not None:
            item["status"] = spec.status.value
        if spec.slug in staff:
            item["staff"] = staff[spec.slug]
        tenants.append(item)
    dumped: str = yaml.dump(
        {"tenants": tenants},
        Dumper=yaml.CSafeDumper,
        allow_unicode=True,
        sort_keys=False,
        width=100,
    )
    return dumped


def render_csv(manifest: Manifest) -> tuple[str, str]:
    """``tenants.csv`` and ``staff.csv`` (UTF-8, comma-separated)."""
    tenants_out, staff_out = io.StringIO(), io.StringIO()
    tenants = csv.writer(tenants_out, lineterminator="\n")
    tenants.writerow(TENANT_COLUMNS + TENANT_OPTIONAL_COLUMNS)
    for entry in manifest.tenants:
        spec = entry.spec
        fields = _tenant_fields(spec)
        fields.update(
            timezone=spec.timezone,
            calendar=spec.calendar,
            status=spec.status.value if spec.status else None,
        )
        tenants.writerow(
            [
                "" if fields[c] is None else fields[c]
                for c in TENANT_COLUMNS + TENANT_OPTIONAL_COLUMNS
            ]
        )
    staff = csv.writer(staff_out, lineterminator="\n")
    staff.writerow(STAFF_COLUMNS)
    for person in manifest.staff:
        staff.writerow(
            [person.spec.email, person.spec.name, person.tenant, ";".join(person.spec.roles)]
        )
    return tenants_out.getvalue(), staff_out.getvalue()
