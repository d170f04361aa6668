"""Coverage at a glance: each cell of topics (or categories) × territories is covered only
when someone answers every topic of the row on every settlement of the column, nobody when no
one answers any, partly otherwise; a cell's gap report names the territories and topics."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from sqlalchemy import text

from tenancy.database import Database
from tenancy.routing import coverage, rules, service
from tenancy.routing.coverage import CellState, RowKind
from tenancy.routing.schemas import RuleRow
from tests.tenancy.routing_world import seed_routing_region

TODAY = date(2026, 11, 23)


@pytest.fixture
async def region(db: Database, tenant_data: Callable[..., Any]) -> Database:
    """The routing world without the region's `*` rule: schools in the north lack an owner."""
    await seed_routing_region(db, tenant_data)
    async with db.privileged_session() as session:
        everything = (
            await session.execute(text("SELECT id FROM routing_rules WHERE topic = '*'"))
        ).scalar_one()
    await rules.remove_rule(db, everything, actor="t")
    return db


async def test_categories_by_district_are_covered_or_nobody(region: Database) -> None:
    index = await service.load_index(region)
    found = await coverage.matrix(region, index, within="46000000", day=TODAY)
    assert [c.code for c in found.columns] == ["46701000", "46702000"]
    assert [r.code for r in found.rows] == ["roads", "schools"]
    assert found.cells["roads", "46701000"] is CellState.COVERED
    assert found.cells["roads", "46702000"] is CellState.NOBODY
    assert found.cells["schools", "46702000"] is CellState.COVERED
    assert found.cells["schools", "46701000"] is CellState.NOBODY


async def test_a_row_answered_on_some_settlements_only_is_partly_covered(
    region: Database,
) -> None:
    await service.add_rules(
        region, [("t", RuleRow(topic="canteen", territory="46701101", tenant="north"))],
        actor="t", source="t",
    )  # fmt: skip
    index = await service.load_index(region)
    by_district = await coverage.matrix(region, index, within="46000000", day=TODAY)
    assert by_district.cells["schools", "46701000"] is CellState.PARTLY
    topics = await coverage.matrix(
        region, index, kind=RowKind.TOPICS, within="46701000", category="schools", day=TODAY
    )
    assert topics.cells["canteen", "46701101"] is CellState.COVERED
    assert topics.cells["canteen", "46701102"] is CellState.NOBODY
    # The region's own topic (the fair) is a topic there, and nobody answers it.
    assert topics.cells["local-fair", "46701101"] is CellState.NOBODY


async def test_a_cells_gap_report_names_where_and_what(region: Database) -> None:
    await service.add_rules(
        region, [("t", RuleRow(topic="canteen", territory="46701101", tenant="north"))],
        actor="t", source="t",
    )  # fmt: skip
    index = await service.load_index(region)
    report = await coverage.cell_gaps(region, index, row="schools", column="46701000", day=TODAY)
    lines = {(g.territory, tuple(t.code for t in g.topics)) for g in report.lines}
    assert lines == {("46701000", ("local-fair",)), ("46701102", ("canteen",))}
    assert coverage.cell_gaps_csv(report).splitlines()[1:] == [
        "46701000,Северный городской округ,2,local-fair,Ярмарка (областная тема)",
        "46701102,село Заречное,1,canteen,Питание в школе",
    ]
