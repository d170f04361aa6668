"""The citizen's form without any script: find the place by name, choose the topic, write
with a photo; a refused form comes back filled in with every problem named."""

from __future__ import annotations

import re
from typing import Any

import httpx2 as httpx

from tests.cabinets.message_world import POTHOLE, World
from tests.storage.samples import jpeg_with_gps

PLACE = "46701101"
# What a browser sends for a file input left empty (and the form stays multipart).
NO_FILE = [("files", ("", b"", "application/octet-stream"))]


def form_action(page: Any) -> str:
    found = re.search(
        r'<form method="post" enctype="multipart/form-data"\s+action="([^"]+)"', page.text
    )
    assert found, page.text
    return found[1].replace("&amp;", "&")


def pothole_form(**changes: str) -> dict[str, str]:
    return {
        "address": str(POTHOLE["address"]), "summary": str(POTHOLE["summary"]),
        "text": str(POTHOLE["text"]),
        "name": "Иван Петров", "email": "ivan@mail.example.ru", "consent": "yes",
    } | changes  # fmt: skip


def test_the_citizen_finds_the_place_chooses_the_topic_and_writes_with_a_photo(
    world: World,
) -> None:
    citizen = world.citizen
    where = citizen.get("/write", params={"q": "северный"})
    assert where.status_code == 200
    assert f'href="/write?territory={PLACE}"' in where.text
    assert "посёлок Северный" in where.text
    what = citizen.get("/write", params={"territory": PLACE})
    assert "Яма на дороге" in what.text
    form = citizen.get("/write", params={"territory": PLACE, "topic": "pothole"})
    assert "нужна фотография" in form.text
    sent = citizen.post(
        form_action(form),
        data=pothole_form(),
        files=[("files", ("яма.jpg", jpeg_with_gps(), "image/jpeg"))],
        follow_redirects=False,
    )
    assert sent.status_code == 303, sent.text
    status_page = citizen.get(sent.headers["location"])
    assert "Обращение отправлено" in status_page.text
    number = re.search(r"Обращение № ([0-9-]+)", status_page.text)
    assert number
    message = world.message_of({"number": number[1]})
    assert message["topic"] == "pothole"
    assert message["applicant"]["email"] == "ivan@mail.example.ru"
    files = world.desks["moderator"].client.get(
        f"/api/v1/tenants/north-roads/messages/{message['id']}/files"
    )
    assert [f["filename"] for f in files.json()] == ["яма.jpg"]


def test_a_refused_form_names_every_problem_and_keeps_what_was_written(world: World) -> None:
    form = world.citizen.get("/write", params={"territory": PLACE, "topic": "pothole"})
    refused = world.citizen.post(
        form_action(form),
        data=pothole_form(consent="", email="not an address"),
        files=NO_FILE,
    )
    assert refused.status_code == 422
    # In the citizen's language, each at the form's own label.
    assert "Согласие на обработку персональных данных: без согласия" in refused.text
    assert "Эл. почта: это не адрес электронной почты" in refused.text
    assert "consent" not in problems_of(refused)
    assert str(POTHOLE["text"]) in refused.text  # kept for the next try
    no_photo = world.citizen.post(form_action(refused), data=pothole_form(), files=NO_FILE)
    assert no_photo.status_code == 422
    assert "Фотографии и документы: по этой теме нужна фотография проблемы" in no_photo.text
    disguised = world.citizen.post(
        form_action(no_photo),
        data=pothole_form(),
        files=[("files", ("яма.jpg", b"MZ\x90\x00" + b"\x00" * 100, "image/jpeg"))],
    )
    assert disguised.status_code == 422
    assert "«яма.jpg»: такие файлы не принимаются" in disguised.text


def problems_of(page: httpx.Response) -> str:
    found = re.search(r'<ul class="error" role="alert">(.*?)</ul>', page.text, re.S)
    return found.group(1) if found else ""


def test_the_form_needs_its_csrf_token_and_a_known_place(world: World) -> None:
    form = world.citizen.get("/write", params={"territory": PLACE, "topic": "pothole"})
    action = form_action(form)
    forged = world.citizen.post(action.split("&csrf_token=")[0], data=pothole_form(), files=NO_FILE)
    assert forged.status_code == 403
    unknown = world.citizen.get("/write", params={"territory": "99999999"})
    assert unknown.status_code == 404
    assert "Такой территории нет" in unknown.text
    nothing = world.citizen.get("/write", params={"q": "Атлантида"})
    assert "Ничего не нашлось" in nothing.text


def test_files_larger_than_the_organization_takes_are_refused_before_reading(
    world: World,
) -> None:
    form = world.citizen.get("/write", params={"territory": PLACE, "topic": "pothole"})
    huge = b"%PDF-1.4\n" + b"0" * (60 * 1024 * 1024)  # beyond 5 files of 10 MiB
    refused = world.citizen.post(
        form_action(form),
        data=pothole_form(),
        files=[("files", ("scan.pdf", huge, "application/pdf"))],
    )
    assert refused.status_code == 413
    assert "не больше 51 МБ" in refused.text
