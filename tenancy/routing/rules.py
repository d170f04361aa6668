"""One routing rule at a time, as the operator's pages change them: the rules of a topic or a
territory, a rule's priority and validity dates, its removal. Adding goes through
:func:`tenancy.routing.service.add_rules`, with the same checks as an import. A regional
operator reaches only the rules on their regions' territories, as the command line and the API
enforce."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tenancy.audit import record_audit
from tenancy.database import Database
from tenancy.errors import FieldError, Forbidden, InvalidInput, NotFound
from tenancy.routing.resolver import Rule
from tenancy.routing.schemas import RuleRow
from tenancy.routing.service import overlaps
from tenancy.territories.reach import Operator, operator_regions, within_regions
from tenancy.territories.tree import territory_parents


@dataclass(frozen=True)
class RuleView:
    id: int
    topic: str
    territory: str
    territory_name: str
    tenant: str
    tenant_name: str
    tenant_status: str
    priority: int
    valid_from: date | None
    valid_to: date | None

    @property
    def inactive(self) -> bool:
        return self.tenant_status != "active"


_RULES = text(
    """
    SELECT r.id, r.topic, r.territory_code, p.name AS territory_name, t.slug, t.name,
           t.status, r.priority, r.valid_from, r.valid_to
    FROM routing_rules r JOIN tenants t ON t.id = r.responsible_tenant_id
    JOIN territories p ON p.code = r.territory_code
    WHERE (CAST(:topic AS text) IS NULL OR r.topic = :topic)
      AND (CAST(:territory AS text) IS NULL OR r.territory_code = :territory)
      AND (CAST(:tenant AS text) IS NULL OR t.slug = :tenant)
    ORDER BY r.territory_code, r.topic, r.priority DESC, r.id
    LIMIT :limit
    """
)


async def rules_for(
    db: Database,
    *,
    topic: str | None = None,
    territory: str | None = None,
    tenant: str | None = None,
    operator: Operator = None,
    limit: int = 500,
) -> list[RuleView]:
    """The rules of a topic, a territory or an organization (any combination); a regional
    operator sees only those on their regions' territories."""
    async with db.privileged_session() as session:
        regions = await operator_regions(session, operator)
        parents = await territory_parents(session) if regions is not None else {}
        rows = await session.execute(
            _RULES,
            {"topic": topic, "territory": territory, "tenant": tenant, "limit": limit},
        )
        return [
            RuleView(
                id=r.id,
                topic=r.topic,
                territory=r.territory_code,
                territory_name=r.territory_name,
                tenant=r.slug,
                tenant_name=r.name,
                tenant_status=r.status,
                priority=r.priority,
                valid_from=r.valid_from,
                valid_to=r.valid_to,
            )
            for r in rows
            if regions is None or within_regions(r.territory_code, regions, parents)
        ]


async def _reachable(session: AsyncSession, rule_id: int, operator: Operator) -> Rule:
    row = (
        await session.execute(
            text(
                "SELECT r.id, r.topic, r.territory_code, t.slug, r.priority, r.valid_from, "
                "r.valid_to FROM routing_rules r JOIN tenants t ON t.id = r.responsible_tenant_id "
                "WHERE r.id = :id FOR UPDATE OF r"
            ),
            {"id": rule_id},
        )
    ).first()
    if row is None:
        raise NotFound("rule", str(rule_id))
    regions = await operator_regions(session, operator)
    if regions is not None and not within_regions(
        row.territory_code, regions, await territory_parents(session)
    ):
        raise Forbidden(f"rule {rule_id} is on a territory outside your regions")
    return Rule(*row)


async def change_rule(
    db: Database,
    rule_id: int,
    *,
    priority: int,
    valid_from: date | None,
    valid_to: date | None,
    actor: str,
    operator: Operator = None,
) -> None:
    """A rule's priority and validity dates. Refused, naming the field: dates the wrong way
    round, or a period overlapping another rule's of the same topic, territory and priority."""
    async with db.privileged_session(actor=actor) as session:
        rule = await _reachable(session, rule_id, operator)
        changed = RuleRow.model_validate(
            {
                "topic": rule.topic,
                "territory": rule.territory,
                "tenant": rule.tenant,
                "priority": priority,
                "valid_from": valid_from,
                "valid_to": valid_to,
            }
        )
        others = await session.execute(
            text(
                "SELECT id, topic, territory_code, '' AS tenant, priority, valid_from, valid_to "
                "FROM routing_rules WHERE topic = :topic AND territory_code = :territory "
                "AND priority = :priority AND id <> :id"
            ),
            {"topic": rule.topic, "territory": rule.territory, "priority": priority, "id": rule_id},
        )
        for other in others:
            if overlaps(changed, Rule(*other)):
                raise InvalidInput(
                    [
                        FieldError(
                            "priority",
                            f"overlaps rule {other.id} (same topic, territory and priority, "
                            "overlapping dates)",
                            code="overlap",
                        )
                    ]
                )
        await session.execute(
            text(
                "UPDATE routing_rules SET priority = :p, valid_from = :f, valid_to = :u "
                "WHERE id = :id"
            ),
            {"p": priority, "f": valid_from, "u": valid_to, "id": rule_id},
        )
        record_audit(
            session,
            tenant_id=None,
            actor=actor,
            action="route.changed",
            object_type="routing",
            object_id=str(rule_id),
            changes={
                "priority": [rule.priority, priority],
                "valid_from": [str(rule.valid_from or ""), str(valid_from or "")],
                "valid_to": [str(rule.valid_to or ""), str(valid_to or "")],
            },
            source="web",
        )


async def remove_rule(db: Database, rule_id: int, *, actor: str, operator: Operator = None) -> Rule:
    """Remove one rule; the removed rule, for the page to say what went."""
    async with db.privileged_session(actor=actor) as session:
        rule = await _reachable(session, rule_id, operator)
        await session.execute(text("DELETE FROM routing_rules WHERE id = :id"), {"id": rule_id})
        record_audit(
            session,
            tenant_id=None,
            actor=actor,
            action="route.removed",
            object_type="routing",
            object_id=str(rule_id),
            changes={"topic": rule.topic, "territory": rule.territory, "tenant": rule.tenant},
            source="web",
        )
        return rule
