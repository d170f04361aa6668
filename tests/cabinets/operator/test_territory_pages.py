"""Territories from the browser: the tree level by level, search by name or code, and a CSV
upload whose every problem is listed as ``file:line: field: message`` with nothing stored."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from tenancy.database import Database
from tests.cabinets.operator.conftest import OperatorWorld


def _names(desk: OperatorWorld) -> dict[str, str]:
    async def listed(db: Database) -> dict[str, str]:
        async with db.privileged_session() as session:
            rows = await session.execute(text("SELECT code, name FROM territories"))
            return {r.code: r.name for r in rows}

    found: dict[str, str] = desk.run(listed)
    return found


def _upload(desk: OperatorWorld, name: str, body: str, who: str = "operator") -> Any:
    person = desk.operator if who == "operator" else desk.regional
    return person.client.post(
        "/operator/territories/import",
        params={"csrf_token": person.csrf},
        files={"file": (name, body.encode(), "text/csv")},
        follow_redirects=False,
    )


def test_the_tree_is_browsed_level_by_level_and_searched(desk: OperatorWorld) -> None:
    top = desk.operator.client.get("/operator/territories")
    assert "Демонстрационная область" in top.text
    assert "2 территории внутри" in top.text
    district = desk.operator.client.get("/operator/territories", params={"under": "46701000"})
    assert "посёлок Северный" in district.text
    assert 'href="/operator/territories?under=46000000"' in district.text  # the way back up
    found = desk.operator.client.get("/operator/territories", params={"q": "Речн"})
    assert "Найдено: 3" in found.text  # Речной район, деревня Речная, село Заречное


def test_a_good_file_adds_and_renames_territories(desk: OperatorWorld) -> None:
    body = "code,name,parent\n46701103,деревня Новая,46701000\n46701102,село Заречье,46701000\n"
    sent = _upload(desk, "new.csv", body)
    assert sent.status_code == 303
    names = _names(desk)
    assert (names["46701103"], names["46701102"]) == ("деревня Новая", "село Заречье")


def test_every_problem_of_a_file_is_listed_by_line_and_nothing_is_stored(
    desk: OperatorWorld,
) -> None:
    before = _names(desk)
    body = (
        "code,name,parent\n"
        "46701104,деревня Первая,46701000\n"
        "4670110A,деревня Вторая,46701000\n"
        "46701105,деревня Третья,99999999\n"
        "46701104,деревня Повтор,46701000\n"
    )
    refused = _upload(desk, "bad.csv", body)
    assert refused.status_code == 422
    page = refused.text
    assert "bad.csv:3: code: код территории — от 2 до 11 цифр" in page
    assert "bad.csv:4: parent: нет такой территории ни в справочнике, ни в файле" in page
    assert "bad.csv:5: code: этот код уже встречается в файле" in page
    assert _names(desk) == before


def test_a_regional_operator_does_not_import_the_countrys_territories(
    desk: OperatorWorld,
) -> None:
    refused = _upload(desk, "new.csv", "code,name,parent\n46701103,Новая,46701000\n", "regional")
    assert refused.status_code == 403
    assert "46701103" not in _names(desk)
