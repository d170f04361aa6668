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
from pydantic import Field, ValidationError, field_validator

from tenancy.csv_tables import Row, decode_csv, header_of, parse_table
from tenancy.errors import FieldError, InvalidInput, field_errors
from tenancy.provisioning.yaml_reader import LINE as _LINE
from tenancy.provisioning.yaml_reader import YamlProblem, load_yaml
from tenancy.staff.schemas import StaffInput
from tenancy.tenants.models import TenantStatus
from tenancy.tenants.schemas import TenantCreate

TENANT_COLUMNS = ("slug", "name", "kind", "parent", "territory", "inn")
TENANT_OPTIONAL_COLUMNS = ("ogrn", "short_name", "timezone", "calendar", "status")
STAFF_COLUMNS = ("email", "name", "tenant", "roles")


class TenantSpec(TenantCreate):
    """A tenant as a manifest declares it; ``status`` None leaves the current one alone."""

    status: TenantStatus | None = None


class StaffSpec(StaffInput):
    roles: list[str] = Field(default_factory=list)

    @field_validator("roles")
    @classmethod
    def _roles(cls, value: list[str]) -> list[str]:
        return [r.strip() for r in value if r.strip()]


@dataclass(frozen=True, slots=True)
class TenantEntry:
    spec: TenantSpec
    location: str


@dataclass(frozen=True, slots=True)
class StaffEntry:
    spec: StaffSpec
    tenant: str
    location: str


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
        where = f"{name}:{item.get(_LINE, '?') if isinstance(item, dict) else '?'}"
        if not isinstance(item, dict) or "tenant" not in item:
            errors.append(FieldError("staff", "each entry needs email, name, tenant, roles", where))
            continue
        _yaml_staff(item, str(item.pop("tenant")), where, manifest, errors)
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
        spec = TenantSpec.model_validate(fields)
    except ValidationError as exc:
        errors += field_errors(exc, location=where)
        manifest.unreadable.add(str(fields.get("slug")))
        return
    manifest.tenants.append(TenantEntry(spec, where))
    for person in _scalar(item.get("staff")) or []:
        at = f"{name}:{person.get(_LINE, '?') if isinstance(person, dict) else '?'}"
        if not isinstance(person, dict):
            errors.append(FieldError("staff", "each entry is {email, name, roles}", at))
            continue
        _yaml_staff(person, spec.slug, at, manifest, errors)


def _yaml_staff(
    item: dict[str, Any], tenant: str, where: str, manifest: Manifest, errors: list[FieldError]
) -> None:
    fields = {k: _scalar(v) for k, v in item.items() if k != _LINE}
    if isinstance(fields.get("roles"), str):
        fields["roles"] = _split_roles(fields["roles"])
    try:
        spec = StaffSpec.model_validate(fields)
    except ValidationError as exc:
        errors += field_errors(exc, location=where)
        return
    manifest.staff.append(StaffEntry(spec, tenant, where))


def _split_roles(value: str) -> list[str]:
    return [r.strip() for r in value.replace(",", ";").split(";") if r.strip()]


# --- CSV ---------------------------------------------------------------------------------


def _read_csv(data: bytes, name: str) -> tuple[Manifest, list[FieldError]]:
    text, problem = decode_csv(data)
    if problem:
        return Manifest(), [FieldError("file", problem, name)]
    header = header_of(text)
    if "slug" in header:
        rows, errors = parse_table(text, name, TENANT_COLUMNS, TENANT_OPTIONAL_COLUMNS)
    elif "email" in header:
        rows, errors = parse_table(text, name, STAFF_COLUMNS)
    else:
        return Manifest(), [
            FieldError(
                "header",
                f"expected tenants.csv columns ({','.join(TENANT_COLUMNS)}) "
                f"or staff.csv columns ({','.join(STAFF_COLUMNS)})",
                f"{name}:1",
            )
        ]
    if "\x00" in text:
        rows = _without_nul(rows, errors)
    del text
    manifest = Manifest(sources=[name])
    read = _csv_tenant if "slug" in header else _csv_staff
    # Each row is let go as it becomes an entry: a national staff.csv is never held twice.
    rows.reverse()
    while rows:
        where, row = rows.pop()
        read(row, where, manifest, errors)
    return manifest, errors


def _without_nul(rows: list[tuple[str, Row]], errors: list[FieldError]) -> list[tuple[str, Row]]:
    """The rows without a NUL character, which PostgreSQL cannot store; the others named."""
    kept = []
    for where, row in rows:
        bad = [column for column, value in row.items() if value and "\x00" in value]
        errors += [FieldError(column, "contains a NUL character", where) for column in bad]
        if not bad:
            kept.append((where, row))
    return kept


def _csv_tenant(
    row: dict[str, str | None], where: str, manifest: Manifest, errors: list[FieldError]
) -> None:
    fields = {k: v for k, v in row.items() if v is not None}
    try:
        manifest.tenants.append(TenantEntry(TenantSpec.model_validate(fields), where))
    except ValidationError as exc:
        errors += field_errors(exc, location=where)
        manifest.unreadable.add(str(fields.get("slug")))


def _csv_staff(
    row: dict[str, str | None], where: str, manifest: Manifest, errors: list[FieldError]
) -> None:
    tenant = row.pop("tenant")
    if not tenant:
        errors.append(FieldError("tenant", "name the tenant (its slug)", where))
        return
    fields: dict[str, Any] = {k: v for k, v in row.items() if v is not None}
    fields["roles"] = _split_roles(row.get("roles") or "")
    try:
        manifest.staff.append(StaffEntry(StaffSpec.model_validate(fields), tenant, where))
    except ValidationError as exc:
        errors += field_errors(exc, location=where)


# --- across files ------------------------------------------------------------------------


def _duplicates(manifest: Manifest) -> list[FieldError]:
    errors = []
    seen: dict[str, str] = {}
    for entry in manifest.tenants:
        first = seen.setdefault(entry.spec.slug, entry.location)
        if first != entry.location:
            errors.append(
                FieldError("slug", f"{entry.spec.slug!r} is also at {first}", entry.location)
            )
    people: dict[tuple[str, str], str] = {}
    names: dict[str, tuple[str, str]] = {}
    for person in manifest.staff:
        key = (person.spec.email, person.tenant)
        first = people.setdefault(key, person.location)
        if first != person.location:
            errors.append(
                FieldError(
                    "email",
                    f"{person.spec.email} in {person.tenant!r} is also at {first}",
                    person.location,
                )
            )
        named, at = names.setdefault(person.spec.email, (person.spec.name, person.location))
        if named != person.spec.name:
            errors.append(
                FieldError(
                    "name", f"{person.spec.email} is called {named!r} at {at}", person.location
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
