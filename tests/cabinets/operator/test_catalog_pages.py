"""The topic catalog from the browser: a topic with extra questions added to the draft, the
bad input named at its field with nothing stored, two operators on one topic (the second is
told), the diff, publishing with its confirmation, and the versions with who published."""

from __future__ import annotations

from typing import Any

from tenancy.catalog import service as catalog
from tenancy.database import Database
from tests.cabinets.operator.conftest import OperatorWorld

LIGHT = {
    "code": "streetlight",
    "category": "roads",
    "title": "Не горит фонарь",
    "deadline_days": "10",
    "calendar": "working",
    "questions": "2",
    "fields.0.code": "pole",
    "fields.0.title": "Номер опоры",
    "fields.0.type": "string",
    "fields.1.code": "since",
    "fields.1.title": "Сколько дней не горит",
    "fields.1.type": "single",
    "fields.1.choices": "день\nнеделю\nдольше",
    "fields.1.required": "yes",
}


def _draft_topics(desk: OperatorWorld) -> dict[str, Any]:
    async def listed(db: Database) -> dict[str, Any]:
        return {t["code"]: t for t in await catalog.list_topics(db, draft=True)}

    found: dict[str, Any] = desk.run(listed)
    return found


def test_an_operator_adds_a_topic_with_two_questions_to_the_draft(desk: OperatorWorld) -> None:
    added = desk.operator.post("/operator/catalog/topics/new", **LIGHT)
    assert added.status_code == 303, added.text
    topic = _draft_topics(desk)["streetlight"]
    assert [f["code"] for f in topic["fields"]] == ["pole", "since"]
    assert topic["fields"][1]["choices"] == ["день", "неделю", "дольше"]
    page = desk.operator.client.get("/operator/catalog/topics/streetlight")
    assert "Так форма гражданина спросит" in page.text
    assert "Сколько дней не горит (обязательно)" in page.text


def test_questions_are_reordered_and_a_new_one_is_added_before_saving(
    desk: OperatorWorld,
) -> None:
    form = LIGHT | {"fields.0.order": "2", "fields.1.order": "1", "do": "add-question"}
    shown = desk.operator.post("/operator/catalog/topics/new", **form)
    assert shown.status_code == 200
    assert shown.text.index("Сколько дней не горит") < shown.text.index("Номер опоры")
    assert 'name="questions" value="3"' in shown.text
    assert "streetlight" not in _draft_topics(desk)


def test_bad_topics_are_named_at_their_fields_in_russian_and_nothing_is_stored(
    desk: OperatorWorld,
) -> None:
    before = _draft_topics(desk)
    cases = [
        ({"code": "pothole"}, "Код темы: тема или категория с таким кодом уже есть"),
        ({"deadline_days": "0"}, "Срок рассмотрения, дней: не меньше 1"),
        ({"deadline_days": "400"}, "Срок рассмотрения, дней: не больше 60"),
        (
            {"fields.1.choices": ""},
            "Вопрос 2, варианты ответа: у вопроса с выбором нужны варианты ответа",
        ),
    ]
    for change, expected in cases:
        refused = desk.operator.post("/operator/catalog/topics/new", **(LIGHT | change))
        assert refused.status_code == 422, change
        assert expected in refused.text, change
        assert 'aria-invalid="true"' in refused.text
    assert _draft_topics(desk) == before


def test_the_second_of_two_operators_editing_one_topic_is_told(desk: OperatorWorld) -> None:
    page = desk.operator.client.get("/operator/catalog/topics/snow")
    assert 'name="revision" value="1"' in page.text
    form = {"category": "roads", "title": "Снег не убран", "deadline_days": "5",
            "calendar": "calendar", "address_required": "yes", "active": "yes",
            "revision": "1"}  # fmt: skip
    first = desk.operator.post("/operator/catalog/topics/snow", **form)
    assert first.status_code == 303
    second = desk.regional.post(
        "/operator/catalog/topics/snow", **(form | {"title": "Гололёд", "region": "46701000"})
    )
    assert second.status_code == 422
    assert "только что изменил другой оператор" in second.text
    assert _draft_topics(desk)["snow"]["title"] == "Снег не убран"


def test_the_diff_says_what_publishing_changes_and_publishing_says_it_again(
    desk: OperatorWorld,
) -> None:
    empty = desk.operator.post("/operator/catalog/publish")
    assert empty.status_code == 422
    assert "в черновике нет изменений" in empty.text
    desk.operator.post("/operator/catalog/topics/new", **LIGHT)
    diff = desk.operator.client.get("/operator/catalog/diff")
    assert "streetlight" in diff.text
    assert "Опубликовать: +1, изменено 0, −0" in diff.text
    refused = desk.regional.post("/operator/catalog/publish")
    assert refused.status_code == 403
    published = desk.operator.post("/operator/catalog/publish")
    assert published.status_code == 303
    catalog = desk.operator.client.get(published.headers["location"])
    assert "Справочник опубликован" in catalog.text
    assert "web:Ольга Операторова" in catalog.text
    assert "streetlight" in {t["code"] for t in _published(desk)}


def _published(desk: OperatorWorld) -> list[dict[str, Any]]:
    async def listed(db: Database) -> list[dict[str, Any]]:
        return await catalog.list_topics(db)

    found: list[dict[str, Any]] = desk.run(listed)
    return found


def test_the_catalog_tree_is_searched_by_title_code_or_keyword(desk: OperatorWorld) -> None:
    found = desk.operator.client.get("/operator/catalog", params={"q": "асфальт"})
    assert "Найдено тем: 1" in found.text
    assert "Яма на дороге" in found.text
    assert "Питание в школе" not in found.text
