"""The catalog draft, one topic at a time, as the operator's pages edit it; and the versions
published so far.

Each draft topic carries a revision, raised by every change (a page's save or an import): a
page saves with the revision it showed, so the second of two operators editing one topic is
told that it changed instead of silently overwriting the first. The checks are an import's:
a known category and region, and a regional operator's reach (their own region's topics only).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text

from tenancy.audit import record_audit
from tenancy.catalog.schemas import TopicRow
from tenancy.catalog.service import (
    UPSERT_TOPIC,
    catalog_rows,
    catalog_version,
    draft_version,
    regional_catalog_errors,
    topic_values,
)
from tenancy.database import Database
from tenancy.errors import FieldError, InvalidInput, NotFound
from tenancy.territories.reach import Operator, operator_regions
from tenancy.territories.tree import territory_parents


@dataclass(frozen=True)
class CategoryNode:
    code: str
    title: str
    depth: int
    topics: list[dict[str, Any]]


@dataclass(frozen=True)
class CatalogView:
    draft: int | None
    published: int | None
    categories: list[CategoryNode]  # in tree order
    found: int  # topics matching the search


@dataclass(frozen=True)
class VersionRead:
    id: int
    status: str
    created_at: datetime
    created_by: str
    published_at: datetime | None
    published_by: str | None


def _matches(topic: dict[str, Any], search: str) -> bool:
    wanted = search.casefold()
    return (
        wanted in topic["code"].casefold()
        or wanted in topic["title"].casefold()
        or any(wanted in k.casefold() for k in topic["keywords"])
    )


async def catalog_tree(db: Database, *, search: str = "") -> CatalogView:
    """Categories and their topics as the draft has them (the published catalog when there
    is no draft); with ``search``, only topics whose code, title or keywords hold it."""
    async with db.privileged_session() as session:
        draft, published = (
            await catalog_version(session, "draft"),
            await catalog_version(session, "published"),
        )
        categories, topics = await catalog_rows(session, draft if draft is not None else published)
    search = search.strip()
    by_category: dict[str, list[dict[str, Any]]] = {}
    found = 0
    for topic in sorted(topics.values(), key=lambda t: t["title"]):
        if search and not _matches(topic, search):
            continue
        found += 1
        by_category.setdefault(topic["category_code"], []).append(topic)
    children: dict[str | None, list[str]] = {}
    for code, category in categories.items():
        children.setdefault(category["parent_code"], []).append(code)
    nodes: list[CategoryNode] = []
    stack = [(0, c) for c in sorted(children.get(None, []), reverse=True)]
    while stack:
        depth, code = stack.pop()
        if not search or by_category.get(code) or _has_found_below(code, children, by_category):
            nodes.append(
                CategoryNode(code, categories[code]["title"], depth, by_category.get(code, []))
            )
        stack.extend((depth + 1, kid) for kid in sorted(children.get(code, []), reverse=True))
    return CatalogView(draft, published, nodes, found)


def _has_found_below(
    code: str, children: dict[str | None, list[str]], found: dict[str, list[dict[str, Any]]]
) -> bool:
    stack = list(children.get(code, []))
    while stack:
        kid = stack.pop()
        if found.get(kid):
            return True
        stack.extend(children.get(kid, []))
    return False


async def draft_topic(db: Database, code: str) -> dict[str, Any]:
    """A topic as the draft has it (the published one when there is no draft yet)."""
    async with db.privileged_session() as session:
        draft = await catalog_version(session, "draft")
        version = draft if draft is not None else await catalog_version(session, "published")
        _, topics = await catalog_rows(session, version)
    if code not in topics:
        raise NotFound("topic", code)
    return topics[code]


async def categories(db: Database) -> list[tuple[str, str]]:
    """(code, title) of the draft's categories (or the published ones), by title."""
    async with db.privileged_session() as session:
        draft = await catalog_version(session, "draft")
        found, _ = await catalog_rows(
            session, draft if draft is not None else await catalog_version(session, "published")
        )
    return sorted(((c, v["title"]) for c, v in found.items()), key=lambda p: p[1])


async def save_topic(
    db: Database,
    topic: TopicRow,
    *,
    revision: int | None,
    actor: str,
    operator: Operator = None,
) -> int:
    """Add (``revision`` None) or change a topic in the draft; its new revision. Refused,
    naming the field, with nothing stored: a new topic whose code exists, an unknown category
    or region, a regional operator's topic outside their regions, and a topic changed since
    ``revision`` (``revision``: someone else saved it meanwhile)."""
    async with db.privileged_session(actor=actor) as session:
        draft = await draft_version(session, actor)
        await session.execute(
            text("SELECT 1 FROM catalog_topics WHERE version_id = :v AND code = :c FOR UPDATE"),
            {"v": draft, "c": topic.code},
        )
        have_categories, have_topics = await catalog_rows(session, draft)
        territories = await territory_parents(session)
        errors: list[FieldError] = []
        stored = have_topics.get(topic.code)
        if revision is None and (stored is not None or topic.code in have_categories):
            errors.append(FieldError("code", f"{topic.code} exists already", code="exists"))
        elif revision is not None and stored is None:
            raise NotFound("topic", topic.code)
        elif revision is not None and stored is not None and stored["revision"] != revision:
            errors.append(
                FieldError(
                    "revision",
                    f"{topic.code} was changed by someone else (revision {stored['revision']})",
                    code="stale",
                )
            )
        if topic.category not in have_categories:
            errors.append(
                FieldError(
                    "category", f"unknown category {topic.category}", code="unknown_category"
                )
            )
        if topic.region is not None and topic.region not in territories:
            errors.append(
                FieldError("region", f"unknown territory {topic.region}", code="unknown_territory")
            )
        regions = await operator_regions(session, operator)
        if regions is not None:
            errors += regional_catalog_errors(
                regions, [], [("form", topic)], have_topics, territories
            )
        if errors:
            raise InvalidInput(errors)
        await session.execute(UPSERT_TOPIC, topic_values(topic, draft))
        new_revision = (
            await session.execute(
                text("SELECT revision FROM catalog_topics WHERE version_id = :v AND code = :c"),
                {"v": draft, "c": topic.code},
            )
        ).scalar_one()
        record_audit(
            session,
            tenant_id=None,
            actor=actor,
            action="catalog.topic_added" if revision is None else "catalog.topic_changed",
            object_type="catalog",
            object_id=topic.code,
            changes={"draft": draft, "revision": new_revision},
            source="web",
        )
        return int(new_revision)


async def versions(db: Database, *, limit: int = 30) -> list[VersionRead]:
    """The draft and the versions published so far, newest first, with who published when."""
    async with db.privileged_session() as session:
        rows = await session.execute(
            text(
                "SELECT id, status, created_at, created_by, published_at, published_by "
                "FROM catalog_versions ORDER BY id DESC LIMIT :n"
            ),
            {"n": limit},
        )
        return [VersionRead(**r._mapping) for r in rows]
