"""Coverage at a glance: topics (or categories) × the territories of one level, each cell
covered (someone answers every topic of the row on every settlement of the column), partly, or
nobody; and the gap report of one cell. Computed from the routing index's bit masks
(:meth:`RoutingIndex.coverage`), so a matrix costs one pass over the cells."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from sqlalchemy import text

from tenancy.database import Database
from tenancy.errors import InvalidInput
from tenancy.routing.resolver import ANY_TOPIC, Coverage, RoutingIndex, Rule, topic_names


class CellState(StrEnum):
    COVERED = "covered"
    PARTLY = "partly"
    NOBODY = "nobody"
    NONE = "none"  # no topic of the row exists there (a region's own topics elsewhere)


class RowKind(StrEnum):
    CATEGORIES = "categories"
    TOPICS = "topics"


@dataclass(frozen=True)
class Named:
    code: str
    title: str


@dataclass(frozen=True)
class Matrix:
    day: date
    kind: RowKind
    within: Named | None  # the territory whose children are the columns; None: the top level
    category: Named | None  # topics of one category only
    rows: list[Named]
    columns: list[Named]
    cells: dict[tuple[str, str], CellState]
    inactive_rules: list[Rule]  # rules on these territories whose organization takes nothing


@dataclass(frozen=True)
class GapLine:
    territory: str
    name: str
    leaves: int  # settlements lacking the topics there
    topics: list[Named]


@dataclass(frozen=True)
class CellGaps:
    day: date
    row: Named
    column: Named
    state: CellState
    lines: list[GapLine]
    inactive_rules: list[Rule]


Titles = tuple[dict[str, str], dict[str, str | None], dict[str, str]]


async def _titles(db: Database, index: RoutingIndex) -> Titles:
    """Category titles and parents, and topic titles, of the published catalog; read once per
    index (publishing rebuilds it)."""
    found = index.memo.get("coverage:titles")
    if found is not None:
        titles: Titles = found
        return titles
    async with db.public_session() as session:
        categories = (
            await session.execute(
                text(
                    "SELECT c.code, c.title, c.parent_code FROM catalog_categories c "
                    "JOIN catalog_versions v ON v.id = c.version_id WHERE v.status = 'published'"
                )
            )
        ).all()
        topics = (
            await session.execute(
                text(
                    "SELECT c.code, c.title FROM catalog_topics c "
                    "JOIN catalog_versions v ON v.id = c.version_id WHERE v.status = 'published'"
                )
            )
        ).all()
    titles = (
        {c.code: c.title for c in categories},
        {c.code: c.parent_code for c in categories},
        {t.code: t.title for t in topics},
    )
    index.memo["coverage:titles"] = titles
    return titles


async def _names(db: Database, index: RoutingIndex, codes: list[str]) -> dict[str, str]:
    """Territory names, kept with the index (a change to territories rebuilds it)."""
    known: dict[str, str] = index.memo.setdefault("coverage:names", {})
    wanted = [c for c in codes if c not in known]
    if wanted:
        async with db.public_session() as session:
            rows = await session.execute(
                text("SELECT code, name FROM territories WHERE code = ANY(:c)"), {"c": wanted}
            )
            known.update({r.code: r.name for r in rows})
    return {c: known.get(c, "") for c in codes}


def _row_masks(
    index: RoutingIndex,
    day: date,
    kind: RowKind,
    category: str | None,
    category_parents: dict[str, str | None],
) -> dict[str, int]:
    found = index.coverage(day).bit
    if kind is RowKind.TOPICS:
        return {
            code: found[code]
            for code in index.topic_category
            if category is None or category in index.topic_keys(code)
        }
    masks: dict[str, int] = {}
    for code in index.topic_category:
        for key in index.topic_keys(code)[:-1]:
            if key in category_parents and category_parents[key] is None:
                masks[key] = masks.get(key, 0) | found[code]
    return masks


def _mask_of(index: RoutingIndex, coverage: Coverage, key: str) -> int:
    """The topics a rule's or a row's key stands for: a topic, a category's topics, or all."""
    if key == ANY_TOPIC:
        return (1 << len(coverage.topics)) - 1
    if key in coverage.bit:
        return coverage.bit[key]
    mask = 0
    for code in index.topic_category:
        if key in index.topic_keys(code):
            mask |= coverage.bit[code]
    return mask


def _state(mask: int, somewhere_missing: int, somewhere_covered: int) -> CellState:
    missing, covered = somewhere_missing & mask, somewhere_covered & mask
    if not missing and not covered:
        return CellState.NONE
    if not missing:
        return CellState.COVERED
    return CellState.NOBODY if not covered else CellState.PARTLY


def _check_territory(index: RoutingIndex, code: str | None, field: str) -> None:
    if code is not None and code not in index.parents:
        raise InvalidInput.one(field, f"unknown territory {code}", code="unknown_territory")


async def matrix(
    db: Database,
    index: RoutingIndex,
    *,
    kind: RowKind = RowKind.CATEGORIES,
    within: str | None = None,
    category: str | None = None,
    day: date,
) -> Matrix:
    """Rows: the top-level categories, or the topics (of ``category``); columns: the children
    of ``within`` (the top-level territories without it). With topics as rows and ``within``,
    only the topics that exist there (federal ones and that region's own)."""
    _check_territory(index, within, "within")
    coverage = index.coverage(day)
    titles, category_parents, topic_titles = await _titles(db, index)
    if category is not None and category not in titles:
        raise InvalidInput.one("category", f"unknown category {category}", code="unknown_category")
    masks = _row_masks(index, day, kind, category, category_parents)
    columns = sorted(coverage.children.get(within, []))
    cells: dict[tuple[str, str], CellState] = {}
    shown: list[str] = []
    for row in sorted(masks):
        mask = masks[row]
        states = {
            column: _state(
                mask, coverage.somewhere_missing[column], coverage.somewhere_covered[column]
            )
            for column in columns
        }
        if kind is RowKind.TOPICS and all(s is CellState.NONE for s in states.values()):
            continue  # a region's own topic, shown with its region
        shown.append(row)
        for column, state in states.items():
            cells[row, column] = state
    names = await _names(db, index, [*columns, *([within] if within else [])])
    rows_named = [
        Named(r, titles.get(r, "") if kind is RowKind.CATEGORIES else topic_titles.get(r, ""))
        for r in shown
    ]
    scope = [within] if within else columns
    return Matrix(
        day=day,
        kind=kind,
        within=Named(within, names.get(within, "")) if within else None,
        category=Named(category, titles[category]) if category else None,
        rows=rows_named,
        columns=[Named(c, names.get(c, "")) for c in columns],
        cells=cells,
        inactive_rules=[
            r
            for r in index.rules
            if index.tenant_status.get(r.tenant) != "active" and index.within(r.territory, scope)
        ],
    )


async def cell_gaps(
    db: Database, index: RoutingIndex, *, row: str, column: str, day: date
) -> CellGaps:
    """What nobody answers in one cell: each territory (at the highest level where every
    settlement below lacks them) with the topics of the row missing there."""
    _check_territory(index, column, "column")
    titles, _, topic_titles = await _titles(db, index)
    if row in topic_titles:
        row_title = topic_titles[row]
    elif row in titles:
        row_title = titles[row]
    else:
        raise InvalidInput.one("row", f"unknown topic or category {row}", code="unknown_topic")
    coverage = index.coverage(day)
    mask = _mask_of(index, coverage, row)
    state = _state(mask, coverage.somewhere_missing[column], coverage.somewhere_covered[column])
    found: list[tuple[str, int, int]] = []  # territory, leaves, topic mask
    below_column = {column}
    for code in coverage.order:  # parents before children: the column's subtree in order
        parent = index.parents[code]
        if code != column and parent not in below_column:
            continue
        below_column.add(code)
        above = coverage.missing[parent] if code != column and parent is not None else 0
        here = coverage.missing[code] & ~above & mask
        if here:
            found.append((code, coverage.leaves[code], here))
    names = await _names(db, index, [code for code, _, _ in found] + [column])
    lines = [
        GapLine(
            code,
            names.get(code, ""),
            leaves,
            [Named(t, topic_titles.get(t, "")) for t in topic_names(here, coverage.topics)],
        )
        for code, leaves, here in found
    ]
    lines.sort(key=lambda g: (-g.leaves * len(g.topics), g.territory))
    return CellGaps(
        day=day,
        row=Named(row, row_title),
        column=Named(column, names.get(column, "")),
        state=state,
        lines=lines,
        inactive_rules=[
            r
            for r in index.rules
            if index.tenant_status.get(r.tenant) != "active"
            and (index.within(r.territory, [column]) or index.within(column, [r.territory]))
            and _mask_of(index, coverage, r.topic) & mask
        ],
    )


def cell_gaps_csv(report: CellGaps) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["territory", "name", "settlements", "topic", "title"])
    for line in report.lines:
        for topic in line.topics:
            writer.writerow([line.territory, line.name, line.leaves, topic.code, topic.title])
    return out.getvalue()
