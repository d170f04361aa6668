"""The versioned topic catalog: import into the draft, compare with the published version,
publish, list and export.

Imports are all-or-nothing: every problem of a file is reported with its ``file:line`` and
nothing is written. The catalog is edited as a draft (a copy of the published version) and
published in one step; the routing table refers to the published catalog's codes.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tenancy.audit import record_audit
from tenancy.catalog.schemas import CatalogDiff, CategoryRow, TopicChange, TopicRow
from tenancy.database import Database
from tenancy.errors import FieldError, Forbidden, InvalidInput
from tenancy.file_rows import read_rows
from tenancy.hierarchy import cycle_through
from tenancy.territories.reach import Operator, operator_regions, outside_regions, within_regions
from tenancy.territories.tree import ancestor_codes, territory_parents

TOPIC_COLUMNS = ("code", "category", "title", "deadline_days", "calendar")
TOPIC_OPTIONAL = (
    "photo_required",
    "address_required",
    "description",
    "keywords",
    "moderation_days",
    "registration_days",
    "region",
    "active",
    "fields",
)
CATEGORY_COLUMNS = ("code", "parent", "title")
UNCOMPARED = frozenset({"revision"})  # a draft topic's edit counter is no change to publish


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
            rows, problems = read_rows(path, TOPIC_COLUMNS, TOPIC_OPTIONAL, TopicRow)
            topics += rows
        else:
            rows, problems = read_rows(path, CATEGORY_COLUMNS, (), CategoryRow)
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
                    "region",
                    "a regional operator's topic names its region",
                    location=where,
                    code="region_required",
                )
            )
        elif topic.region in territories and not within_regions(topic.region, regions, territories):
            errors.append(
                FieldError(
                    "region",
                    f"{topic.region} is {outside_regions(regions)}",
                    location=where,
                    code="outside_regions",
                )
            )
        stored = have_topics.get(topic.code)
        if stored is not None and (
            stored["region_code"] is None
            or not within_regions(stored["region_code"], regions, territories)
        ):
            owner = stored["region_code"] or "the federal catalog"
            errors.append(
                FieldError(
                    "code", f"{topic.code} belongs to {owner}", location=where, code="not_yours"
                )
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
                    "draft",
                    "the draft changes nothing in the published catalog",
                    code="empty_draft",
                )
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
            chain = set(await ancestor_codes(session, territory))
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
            [
                code,
                t["category_code"],
                t["title"],
                t["deadline_days"],
                t["calendar"],
                "yes" if t["photo_required"] else "no",
                "yes" if t["address_required"] else "no",
                t["description"],
                ";".join(t["keywords"]),
                t["moderation_days"],
                t["registration_days"],
                t["region_code"] or "",
                "yes" if t["active"] else "no",
                json.dumps(t["fields"], ensure_ascii=False) if t["fields"] else "",
            ]
        )
    return out_c.getvalue(), out_t.getvalue()
