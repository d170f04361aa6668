"""Territories, the versioned topic catalog and the routing table: import, publish, resolve.

Imports are all-or-nothing: every problem of a file is reported with its ``file:line`` and
nothing is written. The catalog is edited as a draft (a copy of the published version) and
published in one step; the routing table refers to the published catalog's codes.
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import Iterable, Mapping
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tenancy.audit import record_audit
from tenancy.database import Database
from tenancy.errors import FieldError, Forbidden, InvalidInput, field_errors
from tenancy.hierarchy import cycle_through
from tenancy.routing.resolver import ANY_TOPIC, RoutingIndex, Rule
from tenancy.routing.schemas import (
    CandidateRead,
    CatalogDiff,
    CategoryRow,
    GapGroupRead,
    GapsRead,
    ResolutionRead,
    RuleRow,
    TerritoryRow,
    TopicChange,
    TopicRow,
)
from tenancy.tables import read_table

TOPIC_COLUMNS = ("code", "category", "title", "deadline_days", "calendar")
TOPIC_OPTIONAL = (
    "photo_required", "address_required", "description", "keywords", "moderation_days",
    "registration_days", "region", "active", "fields",
)  # fmt: skip
CATEGORY_COLUMNS = ("code", "parent", "title")
TERRITORY_COLUMNS = ("code", "name", "parent")
RULE_COLUMNS = ("topic", "territory", "tenant")
RULE_OPTIONAL = ("priority", "valid_from", "valid_to")
UNCOMPARED = frozenset({"revision"})  # a draft topic's edit counter is no change to publish


def _rows(
    path: Path, columns: tuple[str, ...], optional: tuple[str, ...], model: type[Any]
) -> tuple[list[tuple[str, Any]], list[FieldError]]:
    raw, errors = read_table(path, columns, optional)
    parsed = []
    for where, row in raw:
        try:
            parsed.append((where, model.model_validate({k: v for k, v in row.items() if v})))
        except ValidationError as exc:
            errors += field_errors(exc, location=where)
    return parsed, errors


# --- operators' reach --------------------------------------------------------------------

FEDERAL_ROLES = ("operator", "platform_admin")


Operator = uuid.UUID | str | None  # a user id, an e-mail (the command line's --as), or nobody


async def operator_regions(session: AsyncSession, operator: Operator) -> frozenset[str] | None:
    """The territories a regional operator may change, or None when the reach is the whole
    country: the command line (a platform admin), a federal operator or a platform admin."""
    if operator is None:
        return None
    if isinstance(operator, str):
        found = await session.execute(
            text("SELECT id FROM users WHERE lower(email) = lower(:e)"), {"e": operator}
        )
        user_id = found.scalar()
        if user_id is None:
            raise InvalidInput.one("operator", f"no staff member with e-mail {operator!r}")
        operator = user_id
    federal = await session.execute(
        text("SELECT 1 FROM platform_grants WHERE user_id = :u AND role = ANY(:r)"),
        {"u": operator, "r": list(FEDERAL_ROLES)},
    )
    if federal.first() is not None:
        return None
    regions = await session.execute(
        text("SELECT region_code FROM operator_regions WHERE user_id = :u"), {"u": operator}
    )
    return frozenset(regions.scalars())


def within_regions(code: str, regions: frozenset[str], parents: Mapping[str, str | None]) -> bool:
    """Whether territory ``code`` is one of ``regions`` or lies under one."""
    seen = 0
    current: str | None = code
    while current is not None and seen <= len(parents):
        if current in regions:
            return True
        current = parents.get(current)
        seen += 1
    return False


def _outside(regions: frozenset[str]) -> str:
    return f"outside your regions ({', '.join(sorted(regions)) or 'none'})"


# --- territories -------------------------------------------------------------------------


async def territory_parents(session: AsyncSession) -> dict[str, str | None]:
    rows = await session.execute(text("SELECT code, parent_code FROM territories"))
    return {r.code: r.parent_code for r in rows}


async def import_territories(
    db: Database, path: Path, *, actor: str, operator: Operator = None
) -> dict[str, int]:
    """Add or update territories from ``code,name,parent``; all or nothing. Territories are
    the whole country's: a regional operator (``operator``) does not import them."""
    rows, errors = _rows(path, TERRITORY_COLUMNS, (), TerritoryRow)
    async with db.privileged_session(actor=actor) as session:
        if await operator_regions(session, operator) is not None:
            raise Forbidden("territories are the whole country's: a federal operator imports them")
        found = (
            await session.execute(text("SELECT code, name, parent_code FROM territories"))
        ).all()
        stored = {r.code: r.parent_code for r in found}
        names = {r.code: r.name for r in found}
        final = dict(stored)
        seen: dict[str, str] = {}
        for where, row in rows:
            if row.code in seen:
                errors.append(
                    FieldError(
                        "code", f"{row.code} is also at {seen[row.code]}", where, code="duplicate"
                    )
                )
            seen[row.code] = where
            final[row.code] = row.parent
        for where, row in rows:
            if row.parent is not None and row.parent not in final:
                errors.append(
                    FieldError(
                        "parent", f"unknown territory {row.parent}", where,
                        code="unknown_territory",
                    )
                )  # fmt: skip
            elif (cycle := cycle_through(row.code, final)) is not None:
                errors.append(
                    FieldError("parent", f"makes a cycle: {' → '.join(cycle)}", where, code="cycle")
                )
        if errors:
            raise InvalidInput(errors)
        changed = [
            r
            for _, r in rows
            if r.code not in stored or stored[r.code] != r.parent or names[r.code] != r.name
        ]
        if changed:
            await session.execute(
                text(
                    """
                    INSERT INTO territories (code, name, parent_code)
                    SELECT * FROM unnest(CAST(:codes AS text[]), CAST(:names AS text[]),
                                         CAST(:parents AS text[]))
                    ON CONFLICT (code) DO UPDATE
                        SET name = excluded.name, parent_code = excluded.parent_code,
                            updated_at = now()
                    """
                ),
                {
                    "codes": [r.code for r in changed],
                    "names": [r.name for r in changed],
                    "parents": [r.parent for r in changed],
                },
            )
            record_audit(
                session,
                tenant_id=None,
                actor=actor,
                action="territories.imported",
                object_type="territory",
                object_id=str(path),
                changes={"changed": len(changed)},
                source=str(path),
            )
        created = sum(1 for r in changed if r.code not in stored)
        return {
            "created": created,
            "updated": len(changed) - created,
            "unchanged": len(rows) - len(changed),
        }


_FIND_TERRITORIES = text(
    r"""
    SELECT t.code, t.name, p.name AS parent_name
    FROM territories t LEFT JOIN territories p ON p.code = t.parent_code
    WHERE t.code = :text OR t.name ILIKE '%' || :pattern || '%' ESCAPE '\'
    ORDER BY t.code <> :text, t.name NOT ILIKE :pattern || '%' ESCAPE '\', length(t.name),
             t.name, t.code
    LIMIT :limit
    """
)


async def find_territories(db: Database, query: str, *, limit: int = 20) -> list[dict[str, Any]]:
    """Territories for a citizen choosing where the problem is: by code, or by a part of the
    name (names that start with it first, then the shortest)."""
    wanted = query.strip()
    if not wanted:
        return []
    pattern = wanted.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    async with db.public_session() as session:
        rows = await session.execute(
            _FIND_TERRITORIES, {"text": wanted, "pattern": pattern, "limit": limit}
        )
        return [dict(row._mapping) for row in rows]


_NAMED_TERRITORIES = text(
    """
    SELECT t.code, t.name, p.name AS parent_name
    FROM territories t LEFT JOIN territories p ON p.code = t.parent_code
    WHERE t.code = ANY(:codes)
    ORDER BY t.name, t.code
    """
)


async def named_territories(db: Database, codes: Iterable[str]) -> list[dict[str, Any]]:
    """The territories of ``codes`` as :func:`find_territories` gives them, by name."""
    async with db.public_session() as session:
        rows = await session.execute(_NAMED_TERRITORIES, {"codes": list(codes)})
        return [dict(row._mapping) for row in rows]


async def territory_tree(db: Database) -> list[tuple[int, str, str]]:
    """(depth, code, name) in tree order."""
    async with db.public_session() as session:
        rows = (
            await session.execute(text("SELECT code, name, parent_code FROM territories"))
        ).all()
    children: dict[str | None, list[Any]] = {}
    for row in rows:
        children.setdefault(row.parent_code, []).append(row)
    out: list[tuple[int, str, str]] = []
    stack = [(0, r) for r in sorted(children.get(None, []), key=lambda r: r.code, reverse=True)]
    while stack:
        depth, row = stack.pop()
        out.append((depth, row.code, row.name))
        kids = sorted(children.get(row.code, []), key=lambda r: r.code, reverse=True)
        stack.extend((depth + 1, kid) for kid in kids)
    return out


# --- the catalog -------------------------------------------------------------------------


async def catalog_version(session: AsyncSession, status: str) -> int | None:
    found = await session.execute(
        text("SELECT id FROM catalog_versions WHERE status = :s"), {"s": status}
    )
    return found.scalar()


async def draft_version(session: AsyncSession, actor: str) -> int:
    """The draft version, created as a copy of the published one when there is none."""
    draft = await catalog_version(session, "draft")
    if draft is not None:
        return draft
    draft = (
        await session.execute(
            text(
                "INSERT INTO catalog_versions (status, created_by) "
                "VALUES ('draft', :a) RETURNING id"
            ),
            {"a": actor},
        )
    ).scalar_one()
    published = await catalog_version(session, "published")
    if published is not None:
        for table in ("catalog_categories", "catalog_topics"):
            columns = await _columns(session, table)
            rest = ", ".join(c for c in columns if c != "version_id")
            await session.execute(
                text(
                    f"INSERT INTO {table} (version_id, {rest}) "
                    f"SELECT :d, {rest} FROM {table} WHERE version_id = :p"
                ),
                {"d": draft, "p": published},
            )
    return int(draft)


async def _columns(session: AsyncSession, table: str) -> list[str]:
    rows = await session.execute(
        text(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_name = :t AND table_schema = 'public' ORDER BY ordinal_position"
        ),
        {"t": table},
    )
    return [r.column_name for r in rows]


async def catalog_rows(
    session: AsyncSession, version: int | None
) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    if version is None:
        return {}, {}
    categories = {
        r["code"]: dict(r)
        for r in (
            await session.execute(
                text(
                    "SELECT code, parent_code, title FROM catalog_categories WHERE version_id = :v"
                ),
                {"v": version},
            )
        ).mappings()
    }
    topics = {
        r["code"]: {k: v for k, v in r.items() if k != "version_id"}
        for r in (
            await session.execute(
                text("SELECT * FROM catalog_topics WHERE version_id = :v"), {"v": version}
            )
        ).mappings()
    }
    return categories, topics


def _catalog_kind(path: Path) -> str:
    try:
        head = path.read_bytes()[:2000].decode("utf-8-sig", errors="replace").splitlines()
    except OSError:
        return "topics"
    return "topics" if head and "deadline_days" in head[0].lower() else "categories"


UPSERT_TOPIC = text(
    """
    INSERT INTO catalog_topics (version_id, code, category_code, title, description,
        keywords, deadline_days, calendar, moderation_days, registration_days,
        photo_required, address_required, fields, active, region_code)
    VALUES (:v, :code, :category, :title, :description, :keywords, :deadline_days,
        :calendar, :moderation_days, :registration_days, :photo_required,
        :address_required, CAST(:fields AS jsonb), :active, :region)
    ON CONFLICT (version_id, code) DO UPDATE SET
        category_code = excluded.category_code, title = excluded.title,
        description = excluded.description, keywords = excluded.keywords,
        deadline_days = excluded.deadline_days, calendar = excluded.calendar,
        moderation_days = excluded.moderation_days,
        registration_days = excluded.registration_days,
        photo_required = excluded.photo_required,
        address_required = excluded.address_required, fields = excluded.fields,
        active = excluded.active, region_code = excluded.region_code,
        revision = catalog_topics.revision + 1
    """
)


def topic_values(topic: TopicRow, draft: int) -> dict[str, Any]:
    """The parameters of :data:`UPSERT_TOPIC` for one topic of the draft."""
    return {
        **topic.model_dump(exclude={"fields"}, mode="json"),
        "v": draft,
        "fields": json.dumps([f.model_dump(mode="json") for f in topic.fields]),
    }


async def import_catalog(
    db: Database, paths: list[Path], *, actor: str, operator: Operator = None
) -> dict[str, int]:
    """Add or replace categories and topics in the draft; all or nothing. Files are told apart
    by their header (topics have ``deadline_days``). A regional operator (``operator``) adds
    only regional topics of their own regions, under the federal categories."""
    categories: list[tuple[str, CategoryRow]] = []
    topics: list[tuple[str, TopicRow]] = []
    errors: list[FieldError] = []
    for path in paths:
        if _catalog_kind(path) == "topics":
            rows, problems = _rows(path, TOPIC_COLUMNS, TOPIC_OPTIONAL, TopicRow)
            topics += rows
        else:
            rows, problems = _rows(path, CATEGORY_COLUMNS, (), CategoryRow)
            categories += rows
        errors += problems
    async with db.privileged_session(actor=actor) as session:
        draft = await draft_version(session, actor)
        have_categories, have_topics = await catalog_rows(session, draft)
        territories = await territory_parents(session)
        regions = await operator_regions(session, operator)
        if regions is not None:
            errors += regional_catalog_errors(regions, categories, topics, have_topics, territories)
        parents = {c: v["parent_code"] for c, v in have_categories.items()}
        seen: dict[str, str] = {}
        codes = [(w, c.code) for w, c in categories] + [(w, t.code) for w, t in topics]
        for where, code in codes:
            if code in seen:
                errors.append(FieldError("code", f"{code} is also at {seen[code]}", where))
            seen[code] = where
        for where, category in categories:
            parents[category.code] = category.parent
            if category.code in have_topics:
                errors.append(FieldError("code", f"{category.code} is a topic already", where))
        for where, category in categories:
            if category.parent is not None and category.parent not in parents:
                errors.append(FieldError("parent", f"unknown category {category.parent}", where))
            elif (cycle := cycle_through(category.code, parents)) is not None:
                errors.append(FieldError("parent", f"makes a cycle: {' → '.join(cycle)}", where))
        for where, topic in topics:
            if topic.category not in parents:
                errors.append(FieldError("category", f"unknown category {topic.category}", where))
            if topic.code in parents:
                errors.append(FieldError("code", f"{topic.code} is a category code", where))
            if topic.region is not None and topic.region not in territories:
                errors.append(FieldError("region", f"unknown territory {topic.region}", where))
        if errors:
            raise InvalidInput(errors)
        if categories:
            await session.execute(
                text(
                    """
                    INSERT INTO catalog_categories (version_id, code, parent_code, title)
                    SELECT :v, * FROM unnest(CAST(:codes AS text[]), CAST(:parents AS text[]),
                                             CAST(:titles AS text[]))
                    ON CONFLICT (version_id, code) DO UPDATE
                        SET parent_code = excluded.parent_code, title = excluded.title
                    """
                ),
                {
                    "v": draft,
                    "codes": [c.code for _, c in categories],
                    "parents": [c.parent for _, c in categories],
                    "titles": [c.title for _, c in categories],
                },
            )
        for _, topic in topics:
            await session.execute(UPSERT_TOPIC, topic_values(topic, draft))
        record_audit(
            session,
            tenant_id=None,
            actor=actor,
            action="catalog.imported",
            object_type="catalog",
            object_id=f"draft {draft}",
            changes={"categories": len(categories), "topics": len(topics)},
            source=",".join(map(str, paths)),
        )
        return {"draft": draft, "categories": len(categories), "topics": len(topics)}


def regional_catalog_errors(
    regions: frozenset[str],
    categories: list[tuple[str, CategoryRow]],
    topics: list[tuple[str, TopicRow]],
    have_topics: Mapping[str, Mapping[str, Any]],
    territories: Mapping[str, str | None],
) -> list[FieldError]:
    errors = [
        FieldError("code", "categories are federal: a regional operator adds topics only", where)
        for where, _ in categories
    ]
    for where, topic in topics:
        if topic.region is None:
            errors.append(
                FieldError(
                    "region", "a regional operator's topic names its region", where,
                    code="region_required",
                )
            )  # fmt: skip
        elif topic.region in territories and not within_regions(topic.region, regions, territories):
            errors.append(
                FieldError(
                    "region", f"{topic.region} is {_outside(regions)}", where,
                    code="outside_regions",
                )
            )  # fmt: skip
        stored = have_topics.get(topic.code)
        if stored is not None and (
            stored["region_code"] is None
            or not within_regions(stored["region_code"], regions, territories)
        ):
            owner = stored["region_code"] or "the federal catalog"
            errors.append(
                FieldError("code", f"{topic.code} belongs to {owner}", where, code="not_yours")
            )
    return errors


def _changes(old: dict[str, dict[str, Any]], new: dict[str, dict[str, Any]]) -> list[TopicChange]:
    changes = []
    for code in sorted(old.keys() | new.keys()):
        if code not in old:
            changes.append(TopicChange(code=code, change="added"))
        elif code not in new:
            changes.append(TopicChange(code=code, change="removed"))
        else:
            fields = {
                k: [old[code][k], v]
                for k, v in new[code].items()
                if old[code].get(k) != v and k not in UNCOMPARED
            }
            if fields:
                changes.append(TopicChange(code=code, change="changed", fields=fields))
    return changes


async def diff_catalog(db: Database) -> CatalogDiff:
    """What publishing the draft would change."""
    async with db.privileged_session() as session:
        draft, published = (
            await catalog_version(session, "draft"),
            await catalog_version(session, "published"),
        )
        old_categories, old_topics = await catalog_rows(session, published)
        new_categories, new_topics = await catalog_rows(session, draft)
    if draft is None:
        return CatalogDiff(draft=None, published=published)
    return CatalogDiff(
        draft=draft,
        published=published,
        categories=_changes(old_categories, new_categories),
        topics=_changes(old_topics, new_topics),
    )


async def publish_catalog(
    db: Database, *, actor: str, operator: Operator = None, require_changes: bool = False
) -> int:
    """Make the draft the published catalog, in one step; the old version is kept. The draft
    holds every operator's changes, so only a federal operator publishes it. With
    ``require_changes``, a draft that changes nothing is refused (the pages' confirmation)."""
    async with db.privileged_session(actor=actor) as session:
        if await operator_regions(session, operator) is not None:
            raise Forbidden(
                "the draft holds every region's changes: a federal operator publishes it"
            )
        draft = await catalog_version(session, "draft")
        if draft is None:
            raise InvalidInput.one(
                "draft", "there is no draft to publish (import into it first)", code="empty_draft"
            )
        if require_changes:
            published = await catalog_version(session, "published")
            old_categories, old_topics = await catalog_rows(session, published)
            new_categories, new_topics = await catalog_rows(session, draft)
            if not (_changes(old_categories, new_categories) or _changes(old_topics, new_topics)):
                raise InvalidInput.one(
                    "draft", "the draft changes nothing in the published catalog",
                    code="empty_draft",
                )  # fmt: skip
        await session.execute(
            text("UPDATE catalog_versions SET status = 'superseded' WHERE status = 'published'")
        )
        await session.execute(
            text(
                "UPDATE catalog_versions SET status = 'published', published_at = now(), "
                "published_by = :a WHERE id = :d"
            ),
            {"a": actor, "d": draft},
        )
        record_audit(
            session,
            tenant_id=None,
            actor=actor,
            action="catalog.published",
            object_type="catalog",
            object_id=str(draft),
        )
        return int(draft)


_ANCESTORS = text(
    """
    WITH RECURSIVE up AS (
        SELECT code, parent_code, 0 AS depth FROM territories WHERE code = :code
        UNION ALL
        SELECT t.code, t.parent_code, up.depth + 1
        FROM territories t JOIN up ON t.code = up.parent_code WHERE up.depth < 20
    )
    SELECT code FROM up
    """
)


async def list_topics(
    db: Database, *, draft: bool = False, territory: str | None = None
) -> list[dict[str, Any]]:
    """Topics of the published catalog (or the draft); with ``territory``, only the active
    ones valid there (federal topics and that territory's region's own)."""
    async with db.public_session() as session:
        version = await catalog_version(session, "draft" if draft else "published")
        _, topics = await catalog_rows(session, version)
        chain: set[str] = set()
        if territory is not None:
            chain = set((await session.execute(_ANCESTORS, {"code": territory})).scalars())
            if not chain:
                raise InvalidInput.one("territory", f"unknown territory {territory}")
    found = sorted(topics.values(), key=lambda t: t["code"])
    if territory is not None:
        found = [
            t
            for t in found
            if t["active"] and (t["region_code"] is None or t["region_code"] in chain)
        ]
    return found


async def export_catalog(db: Database) -> tuple[str, str]:
    """The published catalog as ``categories.csv`` and ``topics.csv``."""
    async with db.public_session() as session:
        categories, topics = await catalog_rows(
            session, await catalog_version(session, "published")
        )
    out_c, out_t = io.StringIO(), io.StringIO()
    writer = csv.writer(out_c, lineterminator="\n")
    writer.writerow(CATEGORY_COLUMNS)
    for code, c in sorted(categories.items()):
        writer.writerow([code, c["parent_code"] or "", c["title"]])
    writer = csv.writer(out_t, lineterminator="\n")
    writer.writerow(TOPIC_COLUMNS + TOPIC_OPTIONAL)
    for code, t in sorted(topics.items()):
        writer.writerow(
            [code, t["category_code"], t["title"], t["deadline_days"], t["calendar"],
             "yes" if t["photo_required"] else "no", "yes" if t["address_required"] else "no",
             t["description"], ";".join(t["keywords"]), t["moderation_days"],
             t["registration_days"], t["region_code"] or "", "yes" if t["active"] else "no",
             json.dumps(t["fields"], ensure_ascii=False) if t["fields"] else ""]
        )  # fmt: skip
    return out_c.getvalue(), out_t.getvalue()


# --- the routing table ---------------------------------------------------------------------


def overlaps(a: RuleRow | Rule, b: RuleRow | Rule) -> bool:
    return (a.valid_from is None or b.valid_to is None or a.valid_from <= b.valid_to) and (
        b.valid_from is None or a.valid_to is None or b.valid_from <= a.valid_to
    )


async def _stored_rules(session: AsyncSession) -> list[Rule]:
    rows = await session.execute(
        text(
            "SELECT r.id, r.topic, r.territory_code, t.slug, r.priority, r.valid_from, r.valid_to "
            "FROM routing_rules r JOIN tenants t ON t.id = r.responsible_tenant_id"
        )
    )
    return [
        Rule(r.id, r.topic, r.territory_code, r.slug, r.priority, r.valid_from, r.valid_to)
        for r in rows
    ]


async def add_rules(
    db: Database,
    rows: list[tuple[str, RuleRow]],
    *,
    replace: bool = False,
    actor: str,
    source: str,
    operator: Operator = None,
) -> dict[str, int]:
    """Add routing rules (or, with ``replace``, make the table exactly these); all or nothing.

    Refused: unknown topic, category, territory or tenant; two rules for the same topic and
    territory with the same priority whose validity overlaps (nothing could choose between them);
    for a regional operator (``operator``), a territory outside their regions. A regional
    operator's ``replace`` replaces only the rules on their regions' territories.
    """
    errors: list[FieldError] = []
    async with db.privileged_session(actor=actor) as session:
        published = await catalog_version(session, "published")
        categories, topics = await catalog_rows(session, published)
        keys = {ANY_TOPIC, *categories, *topics}
        territories = await territory_parents(session)
        regions = await operator_regions(session, operator)
        tenants = {
            r.slug: r.id for r in await session.execute(text("SELECT id, slug FROM tenants"))
        }
        stored = await _stored_rules(session)
        if not replace:
            kept = stored
        elif regions is None:
            kept = []
        else:
            kept = [r for r in stored if not within_regions(r.territory, regions, territories)]
        kept_ids = {r.id for r in kept}
        replaced = [r.id for r in stored if r.id not in kept_ids] if replace else []
        by_place: dict[tuple[str, str, int], list[tuple[str, RuleRow | Rule]]] = {}
        for rule in kept:
            by_place.setdefault((rule.topic, rule.territory, rule.priority), []).append(
                (f"rule {rule.id}", rule)
            )
        for where, row in rows:
            if row.topic not in keys:
                errors.append(
                    FieldError(
                        "topic",
                        f"unknown topic or category {row.topic!r} in the published catalog",
                        where,
                        code="unknown_topic",
                    )
                )
            if row.territory not in territories:
                errors.append(
                    FieldError(
                        "territory", f"unknown territory {row.territory}", where,
                        code="unknown_territory",
                    )
                )  # fmt: skip
            elif regions is not None and not within_regions(row.territory, regions, territories):
                errors.append(
                    FieldError(
                        "territory", f"{row.territory} is {_outside(regions)}", where,
                        code="outside_regions",
                    )
                )  # fmt: skip
            if row.tenant not in tenants:
                errors.append(
                    FieldError(
                        "tenant", f"unknown tenant {row.tenant!r}", where, code="unknown_tenant"
                    )
                )
            same = by_place.setdefault((row.topic, row.territory, row.priority), [])
            for other_where, other in same:
                if overlaps(row, other):
                    errors.append(
                        FieldError(
                            "priority",
                            f"overlaps {other_where} (same topic, territory and priority, "
                            "overlapping dates)",
                            where,
                            code="overlap",
                        )
                    )
                    break
            same.append((where, row))
        if errors:
            raise InvalidInput(errors)
        if replaced:
            await session.execute(
                text("DELETE FROM routing_rules WHERE id = ANY(:ids)"), {"ids": replaced}
            )
        await session.execute(
            text(
                """
                INSERT INTO routing_rules (topic, territory_code, responsible_tenant_id,
                                           priority, valid_from, valid_to, created_by)
                SELECT t, c, n, p, f, u, :actor
                FROM unnest(CAST(:topics AS text[]), CAST(:territories AS text[]),
                            CAST(:tenants AS uuid[]), CAST(:priorities AS int[]),
                            CAST(:froms AS date[]), CAST(:tos AS date[])) AS r(t, c, n, p, f, u)
                """
            ),
            {
                "topics": [r.topic for _, r in rows],
                "territories": [r.territory for _, r in rows],
                "tenants": [tenants[r.tenant] for _, r in rows],
                "priorities": [r.priority for _, r in rows],
                "froms": [r.valid_from for _, r in rows],
                "tos": [r.valid_to for _, r in rows],
                "actor": actor,
            },
        )
        record_audit(
            session,
            tenant_id=None,
            actor=actor,
            action="routes.replaced" if replace else "routes.added",
            object_type="routing",
            object_id=source,
            changes={"added": len(rows), "removed": len(replaced)}
            | ({"regions": sorted(regions)} if regions is not None else {}),
            source=source,
        )
        return {"added": len(rows), "removed": len(replaced)}


async def import_rules(
    db: Database,
    path: Path,
    *,
    replace: bool = False,
    actor: str,
    operator: Operator = None,
) -> dict[str, int]:
    rows, errors = _rows(path, RULE_COLUMNS, RULE_OPTIONAL, RuleRow)
    if errors:
        raise InvalidInput(errors)
    return await add_rules(
        db, rows, replace=replace, actor=actor, source=str(path), operator=operator
    )


async def export_rules(db: Database) -> str:
    async with db.public_session() as session:
        rules = await _stored_rules(session)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(RULE_COLUMNS + RULE_OPTIONAL)
    for r in sorted(rules, key=lambda r: r.id):
        writer.writerow(
            [r.topic, r.territory, r.tenant, r.priority, r.valid_from or "", r.valid_to or ""]
        )
    return out.getvalue()


async def load_index(db: Database) -> RoutingIndex:
    """The in-memory index of the published catalog and every rule."""
    async with db.public_session() as session:
        categories, topics = await catalog_rows(
            session, await catalog_version(session, "published")
        )
        territories = await territory_parents(session)
        rules = await _stored_rules(session)
        status = {
            r.slug: r.status
            for r in await session.execute(text("SELECT slug, status FROM tenants"))
        }
    return RoutingIndex(
        territories,
        {code: t["category_code"] for code, t in topics.items()},
        {code: c["parent_code"] for code, c in categories.items()},
        rules,
        status,
        {code: t["region_code"] for code, t in topics.items()},
    )


def _check(index: RoutingIndex, topic: str, territory: str) -> None:
    errors = []
    if topic not in index.topic_category:
        errors.append(FieldError("topic", f"unknown topic {topic!r} in the published catalog"))
    if territory not in index.parents:
        errors.append(FieldError("territory", f"unknown territory {territory}"))
    if errors:
        raise InvalidInput(errors)


async def resolve(
    db: Database, topic: str, territory: str, day: date | None = None
) -> ResolutionRead:
    index = await load_index(db)
    _check(index, topic, territory)
    result = index.explain(topic, territory, day or date.today())
    return ResolutionRead(
        topic=topic,
        territory=territory,
        tenant=result.tenant,
        rule=result.rule.id if result.rule else None,
        reason=result.reason,
        candidates=[
            CandidateRead(
                rule=c.rule.id,
                topic=c.rule.topic,
                territory=c.rule.territory,
                tenant=c.rule.tenant,
                priority=c.rule.priority,
                verdict=c.verdict,
            )
            for c in result.candidates
        ],
    )


_RESOLVE_SQL = text(
    """
    WITH RECURSIVE place AS (
        SELECT code, parent_code, 0 AS depth FROM territories WHERE code = :territory
        UNION ALL
        SELECT t.code, t.parent_code, place.depth + 1
        FROM territories t JOIN place ON t.code = place.parent_code WHERE place.depth < 20
    ),
    subject AS (
        SELECT code, category_code AS up, 0 AS rank FROM catalog_topics
        WHERE version_id = :version AND code = :topic
        UNION ALL
        SELECT c.code, c.parent_code, subject.rank + 1
        FROM catalog_categories c JOIN subject ON c.code = subject.up
        WHERE c.version_id = :version AND subject.rank < 20
    ),
    chain AS (SELECT array_agg(code ORDER BY depth) AS codes FROM place),
    keys AS (SELECT array_agg(code ORDER BY rank) || '{*}'::text[] AS codes FROM subject)
    SELECT t.slug
    FROM chain, keys, LATERAL (
        SELECT r.* FROM routing_rules r
        WHERE r.territory_code = ANY (chain.codes) AND r.topic = ANY (keys.codes)
    ) r
    JOIN tenants t ON t.id = r.responsible_tenant_id
    WHERE t.status = 'active'
      AND (r.valid_from IS NULL OR r.valid_from <= :day)
      AND (r.valid_to IS NULL OR r.valid_to >= :day)
    ORDER BY array_position(chain.codes, r.territory_code), array_position(keys.codes, r.topic),
             r.priority DESC, r.id
    LIMIT 1
    """
)


async def resolve_in_sql(
    session: AsyncSession, version: int, topic: str, territory: str, day: date
) -> str | None:
    """The same answer as ``RoutingIndex.resolve`` in one query, for a cold process."""
    found = await session.execute(
        _RESOLVE_SQL, {"territory": territory, "topic": topic, "version": version, "day": day}
    )
    return found.scalar()


async def gaps(db: Database, day: date | None = None) -> GapsRead:
    day = day or date.today()
    index = await load_index(db)
    async with db.public_session() as session:
        names = {
            r.code: r.name
            for r in await session.execute(text("SELECT code, name FROM territories"))
        }
    report = index.gaps(day)
    return GapsRead(
        day=day,
        pairs=report.pairs,
        groups=[
            GapGroupRead(
                territory=g.territory,
                name=names[g.territory],
                leaves=g.leaves,
                topics=list(g.topics),
            )
            for g in report.groups
        ],
        rules_with_inactive_tenants=[
            {
                "rule": r.id,
                "topic": r.topic,
                "territory": r.territory,
                "tenant": r.tenant,
                "status": index.tenant_status.get(r.tenant),
            }
            for r in report.inactive_rules
        ],
    )
