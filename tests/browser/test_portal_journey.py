"""A citizen who never used the API: signs up, confirms by the letter, writes with a photo,
sees the message in the cabinet, turns notifications to "only the answer", receives only that
letter, and rates the answer — every page checked as it goes."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import FilePayload, Page

from tenancy.database import DatabaseUrls
from tests.browser.harness import Inspector, sign_in
from tests.browser.portal_steps import answer, deliver, letters_to, link_in, served_site
from tests.storage.samples import jpeg_with_gps

EMAIL = "olga@mail.example.ru"
PASSWORD = "a long citizen password"


def test_a_citizen_signs_up_writes_chooses_notifications_and_rates_the_answer(
    site: str, page: Page, inspector: Inspector, clean_database: DatabaseUrls, tmp_path: Path
) -> None:
    served = served_site(site, clean_database, tmp_path)
    page.goto(site)
    inspector.check(page, "front")
    page.get_by_role("link", name="Зарегистрироваться").click()
    page.get_by_label("Эл. почта").fill(EMAIL)
    page.get_by_label("Имя").fill("Ольга Смирнова")
    page.get_by_label("Пароль", exact=True).fill(PASSWORD)
    page.get_by_label("Пароль ещё раз").fill(PASSWORD)
    inspector.check(page, "sign-up")
    page.get_by_role("button", name="Зарегистрироваться").click()
    assert page.get_by_role("heading", name="Проверьте почту").count() == 1
    inspector.check(page, "sign-up-sent")

    deliver(served)
    [letter] = letters_to(served, EMAIL, "Подтвердите адрес")
    page.goto(link_in(letter, "/auth/confirm/"))
    inspector.check(page, "confirm")
    page.get_by_role("button", name="Подтвердить адрес").click()
    assert page.get_by_role("heading", name="Адрес подтверждён").count() == 1

    sign_in(page, site, EMAIL, PASSWORD)
    page.goto(f"{site}/write?territory=46701101&topic=pothole")
    assert page.get_by_label("Имя").input_value() == "Ольга Смирнова"  # from the account
    page.get_by_label("Адрес (обязательно)").fill("посёлок Северный, ул. Лесная, 5")
    page.get_by_label("Кратко, в чём проблема").fill("Яма у дома 5")
    page.get_by_label("Текст обращения").fill("Глубокая яма на проезжей части у дома 5.")
    photo: FilePayload = {"name": "яма.jpg", "mimeType": "image/jpeg", "buffer": jpeg_with_gps()}
    page.get_by_label("Или сфотографируйте сейчас").set_input_files(files=[photo])
    page.get_by_label("Согласен(на)").check()
    inspector.check(page, "write-signed-in")
    page.get_by_role("button", name="Отправить").click()
    assert page.get_by_role("status").first.inner_text().startswith("Обращение отправлено")
    number = page.locator("h1").inner_text().removeprefix("Обращение № ")

    page.goto(f"{site}/my")
    assert page.get_by_role("link", name=f"№ {number}").count() == 1
    inspector.check(page, "my")
    page.get_by_role("link", name="Уведомления").click()
    page.get_by_label("Только об ответе и запросах уточнения").check()
    page.get_by_role("button", name="Сохранить").click()
    assert page.get_by_role("status").inner_text() == "Настройки уведомлений сохранены"
    inspector.check(page, "notifications")

    deliver(served)  # the receipt, written before the choice
    received = len(letters_to(served, EMAIL, "Обращение №"))
    answer(served, number)
    deliver(served)
    later = letters_to(served, EMAIL, "Обращение №")[received:]
    assert [m["Subject"] for m in later] == [f"Обращение № {number}: Рассмотрено"]

    page.goto(f"{site}/my")
    page.get_by_role("link", name=f"№ {number}").click()
    assert page.get_by_text("Яма заделана 3 июня.").count() == 1
    inspector.check(page, "my-message-answered")
    page.get_by_label("5").check()
    page.get_by_role("button", name="Оценить").click()
    assert page.get_by_role("status").inner_text() == "Спасибо: оценка сохранена"
    inspector.check(page, "my-message-rated")
