"""The message card in a real browser: a citizen writes, the road service works the message
through every stage from its cards, and the citizen reads the answer; a forward, an extension,
a merge, and two people racing on one message. Every page passes the inspector."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import text

from cabinets.messages import answer_templates
from tenancy.database import Database, DatabaseUrls
from tenancy.tenants import service as tenants
from tests.browser.harness import Inspector, beside_the_browser, sign_in
from tests.cabinets.message_world import PASSWORD, POTHOLE, STAFF
from tests.databases import run_in_database
from tests.storage.samples import jpeg_with_gps, utf8_text

SLUG = "north-roads"
Desk = Callable[[str], Page]


@pytest.fixture
def desk(browser: Browser, site: str) -> Iterator[Desk]:
    """A signed-in browser of one member of staff (each in a context of their own)."""
    with ExitStack() as stack:
        opened: dict[str, Page] = {}

        def open_desk(role: str) -> Page:
            if role not in opened:
                context = browser.new_context(viewport={"width": 1280, "height": 900},
                                              locale="ru-RU")  # fmt: skip
                stack.callback(context.close)
                page = context.new_page()
                sign_in(page, site, STAFF[role][0], PASSWORD)
                opened[role] = page
            return opened[role]

        yield open_desk


def write_in(page: Page, site: str, tmp_path: Path, summary: str = "Яма на дороге у дома 5") -> str:
    """The citizen writes on /write about a pothole (its photo is required); the status page's
    address: /track/{number}?token=..."""
    photo = tmp_path / "яма.jpg"
    photo.write_bytes(jpeg_with_gps())
    page.goto(f"{site}/write?territory={POTHOLE['territory']}&topic={POTHOLE['topic']}")
    page.get_by_label("Адрес").fill(str(POTHOLE["address"]))
    page.get_by_label("Кратко, в чём проблема").fill(summary)
    page.get_by_label("Текст обращения").fill(str(POTHOLE["text"]))
    page.get_by_label("Фотографии и документы").set_input_files(str(photo))
    page.get_by_label("Имя").fill("Иван Петров")
    page.get_by_label("Эл. почта").fill("ivan@mail.example.ru")
    page.get_by_label("Согласен(на)").check()
    page.get_by_role("button", name="Отправить", exact=True).click()
    page.wait_for_url(re.compile(r"/track/"))
    return page.url


def message_id(urls: DatabaseUrls, status_url: str) -> str:
    number = re.search(r"/track/([^?]+)", status_url)
    assert number

    async def lookup(db: Database) -> Any:
        async with db.public_session() as session:
            found = await session.execute(
                text("SELECT holder_message_id FROM message_tracking WHERE number = :n"),
                {"n": number[1]},
            )
            return found.scalar_one()

    return str(beside_the_browser(run_in_database, urls, lookup))


def add_template(urls: DatabaseUrls) -> None:
    async def add(db: Database) -> None:
        tenant = await tenants.get_tenant(db, SLUG)
        body = "Уважаемый(ая) {applicant}! По обращению № {number} ({address}) сообщаем: "
        await answer_templates.save_template(
            db,
            tenant.id,
            answer_templates.TemplateInput(title="Ремонт дороги", body=body),
            actor="t",
        )

    beside_the_browser(run_in_database, urls, add)


def open_card(page: Page, site: str, message: str) -> None:
    page.goto(f"{site}/cabinet/{SLUG}/messages/{message}")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Обращение №")


def section(page: Page, action: str) -> Any:
    return page.locator(f"#action-{action}")


def done(page: Page, words: str) -> None:
    expect(page.get_by_role("status").filter(has_text="Готово")).to_contain_text(words)


def test_a_message_goes_from_the_citizen_through_every_desk_and_back_with_its_answer(
    site: str,
    page: Page,
    desk: Desk,
    inspector: Inspector,
    clean_database: DatabaseUrls,
    tmp_path: Path,
) -> None:
    status_url = write_in(page, site, tmp_path)
    inspector.check(page, "citizen-sent")
    message = message_id(clean_database, status_url)
    add_template(clean_database)

    moderator = desk("moderator")
    open_card(moderator, site, message)
    expect(moderator.locator(".thumbnail img")).to_have_count(1)
    inspector.check(moderator, "card-new")
    section(moderator, "accept").get_by_role("button", name="Зарегистрировать", exact=True).click()
    done(moderator, "зарегистрировано")
    inspector.check(moderator, "card-registered")

    coordinator = desk("coordinator")
    open_card(coordinator, site, message)
    assign = section(coordinator, "assign")
    assign.get_by_label("Исполнитель").select_option("exec@roads.example.ru")
    assign.get_by_role("button", name="Назначить", exact=True).click()
    done(coordinator, "рассматривается")
    inspector.check(coordinator, "card-assigned")

    executor = desk("executor")
    open_card(executor, site, message)
    answer = section(executor, "save_answer")
    answer.get_by_label("Шаблон ответа").select_option(label="Ремонт дороги")
    answer.get_by_role("button", name="Подставить шаблон", exact=True).click()
    text_box = section(executor, "save_answer").get_by_label("Текст ответа")
    expect(text_box).to_have_value(re.compile(r"Уважаемый\(ая\) Иван Петров! По обращению № "))
    inspector.check(executor, "card-template-preview")
    text_box.fill(text_box.input_value() + "яма будет заделана до 1 июля.")
    section(executor, "save_answer").get_by_role(
        "button", name="Сохранить черновик", exact=True
    ).click()
    done(executor, "черновик ответа")
    document = tmp_path / "акт.txt"
    document.write_bytes(utf8_text())
    section(executor, "save_answer").get_by_label("Файл к ответу").set_input_files(str(document))
    section(executor, "save_answer").get_by_role(
        "button", name="Приложить файл", exact=True
    ).click()
    expect(executor.get_by_role("status").first).to_contain_text("«акт.txt» приложен")
    inspector.check(executor, "card-answer-file")
    section(executor, "save_answer").get_by_role(
        "button", name="Отправить на согласование", exact=True
    ).click()
    done(executor, "ответ на согласовании")

    approver = desk("approver")
    open_card(approver, site, message)
    expect(approver.locator("#answer-title")).to_have_text("Текст ответа сейчас")
    back = section(approver, "return_answer")
    back.get_by_label("Нет сроков: когда и что будет сделано").check()
    back.get_by_label("Замечания исполнителю").fill("Укажите подрядчика.")
    back.get_by_role("button", name="Вернуть на доработку", exact=True).click()
    done(approver, "возвращён на доработку")
    inspector.check(approver, "card-returned")

    open_card(executor, site, message)
    expect(executor.locator(".event-return_answer")).to_contain_text("Укажите подрядчика.")
    box = section(executor, "save_answer").get_by_label("Текст ответа")
    box.fill(box.input_value() + " Работы выполнит ООО «Дорстрой».")
    section(executor, "save_answer").get_by_role(
        "button", name="Отправить на согласование", exact=True
    ).click()
    done(executor, "ответ на согласовании")

    open_card(approver, site, message)
    section(approver, "approve_answer").get_by_role(
        "button", name="Утвердить и опубликовать"
    ).click()
    done(approver, "рассмотрено")
    inspector.check(approver, "card-answered")

    page.goto(status_url)
    expect(page.locator(".answer")).to_contain_text("ООО «Дорстрой»")
    inspector.check(page, "citizen-answer")


def registered_message(
    site: str, page: Page, desk: Desk, urls: DatabaseUrls, tmp_path: Path, summary: str
) -> str:
    message = message_id(urls, write_in(page, site, tmp_path, summary))
    moderator = desk("moderator")
    open_card(moderator, site, message)
    section(moderator, "accept").get_by_role("button", name="Зарегистрировать", exact=True).click()
    done(moderator, "зарегистрировано")
    return message


def test_the_coordinator_forwards_extends_and_merges_from_the_card(
    site: str,
    page: Page,
    desk: Desk,
    inspector: Inspector,
    clean_database: DatabaseUrls,
    tmp_path: Path,
) -> None:
    first = registered_message(site, page, desk, clean_database, tmp_path, "Яма у дома 5")
    second = registered_message(site, page, desk, clean_database, tmp_path, "Снова яма у дома 5")
    coordinator = desk("coordinator")

    open_card(coordinator, site, first)
    extend = section(coordinator, "extend")
    extend.get_by_label("На сколько дней продлить").fill("45")
    extend.get_by_label("Основание продления").fill("Нужна экспертиза покрытия")
    extend.get_by_role("button", name="Продлить срок", exact=True).click()
    summary = coordinator.get_by_role("alert").filter(has_text="Исправьте")
    expect(summary).to_contain_text("На сколько дней продлить: не больше 30")
    expect(section(coordinator, "extend").get_by_label("На сколько дней продлить")).to_have_value(
        "45"
    )
    inspector.check(coordinator, "card-extend-refused")
    section(coordinator, "extend").get_by_label("На сколько дней продлить").fill("30")
    section(coordinator, "extend").get_by_role("button", name="Продлить срок", exact=True).click()
    done(coordinator, "срок продлён")
    expect(section(coordinator, "extend")).to_contain_text("только один раз")

    open_card(coordinator, site, second)
    merge = section(coordinator, "merge")
    merge.get_by_label(re.compile("Яма у дома 5")).check()
    merge.get_by_role("button", name="Объединить", exact=True).click()
    done(coordinator, "объединено")
    inspector.check(coordinator, "card-merged")

    open_card(coordinator, site, first)
    forward = section(coordinator, "forward")
    forward.get_by_label("Найти организацию").fill("river")
    forward.get_by_role("button", name="Найти", exact=True).click()
    forward = section(coordinator, "forward")
    forward.get_by_label("Organization river").check()
    forward.get_by_label("Почему не наша компетенция").fill("Дорога на балансе района")
    inspector.check(coordinator, "card-forward-search")
    forward.get_by_role("button", name="Направить", exact=True).click()
    done(coordinator, "направлено по компетенции")
    expect(coordinator.locator(".status")).to_have_text("Направлено по компетенции")
    inspector.check(coordinator, "card-forwarded")


def test_of_two_people_on_one_card_the_second_is_told_who_acted_first(
    site: str,
    page: Page,
    desk: Desk,
    browser: Browser,
    inspector: Inspector,
    clean_database: DatabaseUrls,
    tmp_path: Path,
) -> None:
    message = message_id(clean_database, write_in(page, site, tmp_path))
    moderator = desk("moderator")
    other = browser.new_context(viewport={"width": 1280, "height": 900}, locale="ru-RU")
    try:
        colleague = other.new_page()
        sign_in(colleague, site, STAFF["coordinator"][0], PASSWORD)
        open_card(moderator, site, message)
        open_card(colleague, site, message)
        comment = section(colleague, "comment")
        comment.get_by_label("Комментарий").fill("Похоже на дубль")
        forward = section(colleague, "forward")
        forward.get_by_label("Найти организацию").fill("river")
        forward.get_by_role("button", name="Найти", exact=True).click()
        forward = section(colleague, "forward")
        forward.get_by_label("Organization river").check()
        forward.get_by_label("Почему не наша компетенция").fill("Не наша дорога")

        section(moderator, "accept").get_by_role(
            "button", name="Зарегистрировать", exact=True
        ).click()
        done(moderator, "зарегистрировано")

        section(colleague, "forward").get_by_role("button", name="Направить", exact=True).click()
        stale = colleague.get_by_role("alert").filter(has_text="Обращение уже изменили")
        expect(stale).to_contain_text("Мария Модерова")
        expect(stale).to_contain_text("«Зарегистрировано»")
        reason = section(colleague, "forward").get_by_label("Почему не наша компетенция")
        expect(reason).to_have_value("Не наша дорога")
        expect(colleague.locator("[data-live-message]")).to_have_attribute("data-version", "2")
        inspector.check(colleague, "card-stale")
    finally:
        other.close()
