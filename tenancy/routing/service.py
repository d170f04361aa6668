"""The routing table: who answers which topic on which territory. Add, import (all or
nothing, every problem with its ``file:line``), export; the in-memory index built from it, a
resolution explained, and the gaps where nobody answers."""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tenancy.audit import record_audit
from tenancy.catalog.service import catalog_rows, catalog_version
from tenancy.database import Database
from tenancy.errors import FieldError, InvalidInput
from tenancy.file_rows import read_rows
from tenancy.routing.place_check import check_place
from tenancy.routing.resolver import ANY_TOPIC, RoutingIndex, Rule
from tenancy.routing.schemas import (
    CandidateRead,
    GapGroupRead,
    GapsRead,
    ResolutionRead,
    RuleRow,
)
from tenancy.territories.reach import Operator, operator_regions, outside_regions, within_regions
from tenancy.territories.tree import territory_parents

RULE_COLUMNS = ("topic", "territory", "tenant")
RULE_OPTIONAL = ("priority", "valid_from", "valid_to")


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
                        location=where,
                        code="unknown_topic",
                    )
                )
            if row.territory not in territories:
                errors.append(
                    FieldError(
                        "territory",
                        f"unknown territory {row.territory}",
                        location=where,
                        code="unknown_territory",
                    )
                )
            elif regions is not None and not within_regions(row.territory, regions, territories):
                errors.append(
                    FieldError(
                        "territory",
                        f"{row.territory} is {outside_regions(regions)}",
                        location=where,
                        code="outside_regions",
                    )
                )
            if row.tenant not in tenants:
                errors.append(
                    FieldError(
                        "tenant",
                        f"unknown tenant {row.tenant!r}",
                        location=where,
                        code="unknown_tenant",
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
    rows, errors = read_rows(path, RULE_COLUMNS, RULE_OPTIONAL, RuleRow)
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


async def resolve(
    db: Database, topic: str, territory: str, day: date | None = None
) -> ResolutionRead:
    index = await load_index(db)
    check_place(index, topic, territory, offered=False)
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
