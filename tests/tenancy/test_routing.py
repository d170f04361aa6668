"""Territories, the versioned catalog and the routing table: imports with file:line errors,
draft → diff → publish, resolution with explanations, and a gap report that names exactly
the uncovered pairs."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from tenancy.catalog import service as catalog
from tenancy.database import Database
from tenancy.errors import Forbidden, InvalidInput
from tenancy.routing import service
from tenancy.routing.resolver import RoutingIndex, Rule
from tenancy.routing.schemas import RuleRow
from tenancy.staff import service as staff
from tenancy.staff.schemas import StaffInput
from tenancy.tenants import service as tenants
from tenancy.tenants.service import Lifecycle
from tenancy.territories import service as territories
from tests.tenancy.routing_world import seed_routing_region

TODAY = date(2026, 11, 23)


@pytest.fixture
async def region(db: Database, tenant_data: Callable[..., Any]) -> Database:
    await seed_routing_region(db, tenant_data)
    return db


async def test_the_most_specific_territory_then_topic_wins(region: Database) -> None:
    cases = {
        ("pothole", "46701101"): "north-roads",  # topic rule on the settlement
        ("pothole", "46701102"): "north",  # category rule on the district
        ("snow", "46701101"): "north",  # category on the district beats * on the region
        ("canteen", "46701101"): "region",  # only * on the region
        ("canteen", "46702101"): "river",
        ("pothole", "46702101"): "region",
    }
    for (topic, territory), tenant in cases.items():
        assert (await service.resolve(region, topic, territory, TODAY)).tenant == tenant


async def test_explain_lists_every_candidate_and_why(region: Database) -> None:
    result = await service.resolve(region, "pothole", "46701101", TODAY)
    assert [(c.tenant, c.verdict) for c in result.candidates] == [
        ("north-roads", "winner"),
        ("north", f"outranked by rule {result.rule}"),
        ("region", f"outranked by rule {result.rule}"),
    ]
    assert "most specific valid rule" in result.reason


async def test_suspended_tenants_are_passed_over(region: Database) -> None:
    await tenants.change_status(region, "north-roads", Lifecycle.SUSPEND, reason="x", actor="t")
    result = await service.resolve(region, "pothole", "46701101", TODAY)
    assert result.tenant == "north"
    assert result.candidates[0].verdict == "passed over: tenant north-roads is suspended"


async def test_validity_dates_and_priority_decide_between_rules(region: Database) -> None:
    rows = [
        ("a", RuleRow(topic="canteen", territory="46702101", tenant="north", priority=5,
                      valid_to=date(2026, 12, 31))),
        ("b", RuleRow(topic="canteen", territory="46702101", tenant="region", priority=1)),
    ]  # fmt: skip
    await service.add_rules(region, rows, actor="t", source="test")
    assert (await service.resolve(region, "canteen", "46702101", TODAY)).tenant == "north"
    later = await service.resolve(region, "canteen", "46702101", date(2027, 1, 1))
    assert later.tenant == "region"


async def test_bad_rules_are_refused_with_file_and_line_and_nothing_changes(
    region: Database, tmp_path: Path
) -> None:
    bad = tmp_path / "routes.csv"
    bad.write_text(
        "topic,territory,tenant,priority\n"
        "nothing,46000000,region,0\n"
        "snow,99999999,region,0\n"
        "snow,46000000,ghost,0\n"
        "pothole,46701101,north,0\n"
    )
    with pytest.raises(InvalidInput) as caught:
        await service.import_rules(region, bad, actor="t")
    found = {(e.location, e.field) for e in caught.value.errors}
    assert found == {
        (f"{bad}:2", "topic"),
        (f"{bad}:3", "territory"),
        (f"{bad}:4", "tenant"),
        (f"{bad}:5", "priority"),  # overlaps the stored rule for pothole on 46701101
    }
    assert "overlaps rule" in str(caught.value)
    assert len((await service.export_rules(region)).splitlines()) == 5


@pytest.fixture
async def north_operator(region: Database) -> str:
    """A regional operator whose region is the northern district (46701000)."""
    email = "olga@north.example.ru"
    await staff.add_staff(region, [StaffInput(email=email, name="Olga")], actor="t")
    await staff.grant_role(
        region, email, "platform", "regional_operator", regions=["46701000"], actor="t"
    )
    return email


async def test_a_regional_operator_changes_routes_only_on_their_region(
    region: Database, north_operator: str, tmp_path: Path
) -> None:
    outside = tmp_path / "routes.csv"
    outside.write_text(
        "topic,territory,tenant\nsnow,46701102,north-roads\nsnow,46702101,river\n"
        "snow,46000000,region\n"
    )
    with pytest.raises(InvalidInput) as caught:
        await service.import_rules(region, outside, actor="t", operator=north_operator)
    assert [str(e) for e in caught.value.errors] == [
        f"{outside}:3: territory: 46702101 is outside your regions (46701000)",
        f"{outside}:4: territory: 46000000 is outside your regions (46701000)",
    ]
    assert len((await service.export_rules(region)).splitlines()) == 5  # nothing applied

    # Replacing replaces the rules on the operator's territories only.
    mine = tmp_path / "north.csv"
    mine.write_text("topic,territory,tenant\nsnow,46701102,north-roads\n")
    counts = await service.import_rules(
        region, mine, replace=True, actor="t", operator=north_operator
    )
    assert counts == {"added": 1, "removed": 2}  # roads on 46701000, pothole on 46701101
    rules = (await service.export_rules(region)).splitlines()[1:]
    assert sorted(r.split(",")[1] for r in rules) == ["46000000", "46701102", "46702000"]


async def test_a_regional_operator_adds_only_their_regions_topics_and_cannot_publish(
    region: Database, north_operator: str, tmp_path: Path
) -> None:
    topics = tmp_path / "topics.csv"
    topics.write_text(
        "code,category,title,deadline_days,calendar,region\n"
        "north-ice,roads,Наледь на тротуаре,5,calendar,46701000\n"
        "pothole,roads.repair,Яма,10,working,46701000\n"  # a federal topic
        "river-ice,roads,Наледь у реки,5,calendar,46702000\n"  # another region
        "no-region,roads,Без региона,5,calendar,\n"
    )
    categories = tmp_path / "categories.csv"
    categories.write_text("code,parent,title\nnorth-only,,Своя категория\n")
    with pytest.raises(InvalidInput) as caught:
        await catalog.import_catalog(
            region, [topics, categories], actor="t", operator=north_operator
        )
    assert {(e.location, e.field) for e in caught.value.errors} == {
        (f"{topics}:3", "code"),
        (f"{topics}:4", "region"),
        (f"{topics}:5", "region"),
        (f"{categories}:2", "code"),
    }
    assert "pothole belongs to the federal catalog" in str(caught.value)

    topics.write_text(
        "code,category,title,deadline_days,calendar,region\n"
        "north-ice,roads,Наледь на тротуаре,5,calendar,46701101\n"
    )
    await catalog.import_catalog(region, [topics], actor="t", operator=north_operator)
    with pytest.raises(Forbidden):
        await catalog.publish_catalog(region, actor="t", operator=north_operator)
    await catalog.publish_catalog(region, actor="t")  # the federal operator publishes
    assert "north-ice" in [
        t["code"] for t in await catalog.list_topics(region, territory="46701101")
    ]
    assert "north-ice" not in [
        t["code"] for t in await catalog.list_topics(region, territory="46701102")
    ]


async def test_regional_operators_are_granted_per_region_and_never_widen(
    region: Database, north_operator: str
) -> None:
    with pytest.raises(InvalidInput, match="region: name at least one region"):
        await staff.grant_role(region, north_operator, "platform", "regional_operator", actor="t")
    with pytest.raises(InvalidInput, match="region: unknown territory 99000000"):
        await staff.grant_role(
            region, north_operator, "platform", "regional_operator", regions=["99000000"], actor="t"
        )
    with pytest.raises(InvalidInput, match="only regional_operator is granted per region"):
        await staff.grant_role(
            region, north_operator, "platform", "operator", regions=["46000000"], actor="t"
        )
    added = await staff.grant_role(
        region, north_operator, "platform", "regional_operator", regions=["46702000"], actor="t"
    )
    assert (added.changed, added.regions) == (True, ["46701000", "46702000"])
    await staff.revoke_role(
        region, north_operator, "platform", "regional_operator", regions=["46701000"], actor="t"
    )
    rule = RuleRow(topic="snow", territory="46701102", tenant="north")
    with pytest.raises(InvalidInput, match="outside your regions \\(46702000\\)"):
        await service.add_rules(
            region, [("r", rule)], actor="t", source="t", operator=north_operator
        )
    last = await staff.revoke_role(
        region, north_operator, "platform", "regional_operator", regions=["46702000"], actor="t"
    )
    assert (last.changed, last.regions) == (True, [])
    # Losing the last region ends the role; it never turns into a federal reach.
    person = next(p for p in await staff.list_staff(region) if p.email == north_operator)
    assert person.grants == []


async def test_territory_cycles_and_unknown_parents_are_refused(
    region: Database, tmp_path: Path
) -> None:
    bad = tmp_path / "territories.csv"
    bad.write_text("code,name,parent\n46000000,Область,46701101\n11000000,Другая,12000000\n")
    with pytest.raises(InvalidInput) as caught:
        await territories.import_territories(region, bad, actor="t")
    messages = [str(e) for e in caught.value.errors]
    assert any("makes a cycle: 46000000 → 46701101 → 46701000 → 46000000" in m for m in messages)
    assert any(f"{bad}:3: parent: unknown territory 12000000" == m for m in messages)


async def test_catalog_draft_diff_publish_and_a_kept_old_version(
    region: Database, tmp_path: Path
) -> None:
    changed = tmp_path / "topics.csv"
    changed.write_text(
        "code,category,title,deadline_days,calendar\n"
        "pothole,roads.repair,Яма на дороге,7,working\n"
        "graffiti,roads,Надписи на стенах,30,calendar\n"
    )
    await catalog.import_catalog(region, [changed], actor="t")
    diff = await catalog.diff_catalog(region)
    assert [(t.code, t.change) for t in diff.topics] == [
        ("graffiti", "added"),
        ("pothole", "changed"),
    ]
    assert diff.topics[1].fields["deadline_days"] == [10, 7]
    assert [t["code"] for t in await catalog.list_topics(region)] == [
        "canteen", "local-fair", "pothole", "snow",
    ]  # fmt: skip
    version = await catalog.publish_catalog(region, actor="t")
    assert version == diff.draft
    assert "graffiti" in [t["code"] for t in await catalog.list_topics(region)]
    async with region.privileged_session() as session:
        statuses = (
            (await session.execute(text("SELECT status FROM catalog_versions ORDER BY id")))
            .scalars()
            .all()
        )
    assert statuses == ["superseded", "published"]


async def test_regional_topics_show_only_on_their_region(region: Database, tmp_path: Path) -> None:
    other = tmp_path / "territories.csv"
    other.write_text("code,name,parent\n47000000,Соседняя область,\n")
    await territories.import_territories(region, other, actor="t")
    here = [t["code"] for t in await catalog.list_topics(region, territory="46701101")]
    there = [t["code"] for t in await catalog.list_topics(region, territory="47000000")]
    assert "local-fair" in here
    assert "local-fair" not in there


async def test_the_gap_report_names_exactly_the_uncovered_pairs(region: Database) -> None:
    await tenants.change_status(region, "river", Lifecycle.SUSPEND, reason="x", actor="t")
    await service.add_rules(
        region,
        [("x", RuleRow(topic="snow", territory="46702000", tenant="river"))],
        actor="t",
        source="test",
    )
    report = await service.gaps(region, TODAY)
    # Only the region's * rule makes everything covered; drop it to see real gaps.
    assert report.pairs == 0
    assert {r["tenant"] for r in report.rules_with_inactive_tenants} == {"river"}

    index = await service.load_index(region)
    index = RoutingIndex(
        index.parents,
        index.topic_category,
        index.category_parent,
        [r for r in index.rules if r.topic != "*"],
        index.tenant_status,
        index.topic_regions,
    )
    expected = {
        (topic, leaf)
        for topic, leaf in itertools.product(
            index.topic_category, ["46701101", "46701102", "46702101"]
        )
        if index.visible(topic, leaf) and index.resolve(topic, leaf, TODAY) is None
    }
    gaps = index.gaps(TODAY)
    children = {code: [c for c, p in index.parents.items() if p == code] for code in index.parents}

    def leaves(code: str) -> list[str]:
        return [code] if not children[code] else [x for kid in children[code] for x in leaves(kid)]

    reported = {(t, leaf) for g in gaps.groups for t in g.topics for leaf in leaves(g.territory)}
    assert reported == expected
    assert gaps.pairs == len(expected)
    # Grouped where a person acts: nobody answers about school canteens anywhere in the
    # region (river is suspended), so that is one line for the region, not three.
    assert any(
        g.territory == "46000000" and g.leaves == 3 and "canteen" in g.topics for g in gaps.groups
    )
    assert not any("canteen" in g.topics for g in gaps.groups if g.territory != "46000000")


def test_in_memory_resolution_agrees_with_brute_force() -> None:
    """Random trees, catalogs and rules: the index equals a direct reading of the rules."""
    import random

    rng = random.Random(5)
    territories: dict[str, str | None] = {"t0": None}
    for i in range(1, 40):
        territories[f"t{i}"] = f"t{rng.randrange(i)}"
    categories = {"c0": None, "c1": "c0", "c2": None}
    topics = {f"p{i}": rng.choice(list(categories)) for i in range(12)}
    tenants_ = {f"o{i}": rng.choice(["active", "active", "suspended"]) for i in range(6)}
    keys = ["*", *categories, *topics]
    rules = [
        Rule(i, rng.choice(keys), rng.choice(list(territories)), rng.choice(list(tenants_)),
             rng.randrange(3), None, date(2026, 12, 1) if rng.random() < 0.2 else None)
        for i in range(60)
    ]  # fmt: skip
    index = RoutingIndex(territories, topics, categories, rules, tenants_)
    for topic, place in itertools.product(topics, territories):
        chain_t = index.territory_chain(place)
        chain_k = index.topic_keys(topic)
        valid = [r for r in rules if tenants_[r.tenant] == "active" and r.valid_on(TODAY)
                 and r.territory in chain_t and r.topic in chain_k]  # fmt: skip
        valid.sort(
            key=lambda r: (chain_t.index(r.territory), chain_k.index(r.topic), -r.priority, r.id)
        )
        assert index.resolve(topic, place, TODAY) == (valid[0].tenant if valid else None)
        assert index.explain(topic, place, TODAY).tenant == index.resolve(topic, place, TODAY)


async def test_the_demo_region_routes_and_shows_its_gaps(db: Database) -> None:
    from tenancy.demo import seed_demo

    assert await seed_demo(db, actor="test") == 12
    assert (await service.resolve(db, "pothole", "99701101", TODAY)).tenant == "demo-severny"
    assert (await service.resolve(db, "canteen", "99702101", TODAY)).tenant == "demo-minobr"
    report = await service.gaps(db, TODAY)
    assert [(g.territory, g.leaves, g.topics) for g in report.groups] == [
        ("99703000", 1, ["heating", "yard"])
    ]
    assert await seed_demo(db, actor="test") == 0
