"""The administrator reads the organization's audit log: who changed what and when, filtered
by person, kind of change and period, a page at a time, and as CSV; another organization's log
is not found."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from html import unescape
from typing import Any
from urllib.parse import unquote_plus

from sqlalchemy import text

from tenancy.database import Database, DatabaseUrls
from tests.cabinets.message_world import Desk, World
from tests.databases import run_in_database

PAGE = "/cabinet/north-roads/audit"


def _settings_changed(desk: Desk) -> None:
    answer = desk.client.post(
        "/cabinet/north-roads/settings",
        data={"csrf_token": desk.csrf, "timezone": "Asia/Omsk", "contact_phone": "8 800 1000"},
        follow_redirects=False,
    )
    assert answer.status_code == 303


def _many_entries(urls: DatabaseUrls, count: int) -> None:
    """Entries spread over the last ``count`` minutes, as a busy organization accumulates."""

    async def seed(db: Database) -> None:
        async with db.privileged_session() as session:
            await session.execute(
                text(
                    "INSERT INTO audit_log (tenant_id, occurred_at, actor, action, object_type, "
                    "object_id, changes) SELECT t.id, now() - n * interval '1 minute', 'cli:ops', "
                    "'role.changed', 'role', 'role-' || n, '{}'::jsonb "
                    "FROM tenants t, generate_series(1, :count) n WHERE t.slug = 'north-roads'"
                ),
                {"count": count},
            )

    run_in_database(urls, seed)


def test_the_log_names_who_changed_what_before_and_after(world: World) -> None:
    admin = world.desks["admin"]
    _settings_changed(admin)
    page = admin.client.get(PAGE)
    assert page.status_code == 200
    assert "Изменены настройки" in page.text
    assert "Алла Админова" in page.text
    assert "Часовой пояс: Europe/Moscow → Asia/Omsk" in unescape(page.text)
    assert "Выдана роль" in page.text  # the staff as they were given their roles

    only_settings = admin.client.get(PAGE, params={"kind": "settings"}).text
    assert "Изменены настройки" in only_settings
    assert "Выдана роль" not in only_settings
    actor = re.search(r'<option value="([^"]+)">Алла Админова</option>', page.text)
    assert actor is not None
    by_admin = admin.client.get(PAGE, params={"actor": actor.group(1)}).text
    assert "Изменены настройки" in by_admin
    assert "Выдана роль" not in by_admin
    tomorrow = (datetime.now(UTC) + timedelta(days=2)).date().isoformat()
    assert "Записей нет по этому отбору" in admin.client.get(PAGE, params={"since": tomorrow}).text


def test_a_wrong_period_is_named_at_its_field(world: World) -> None:
    answer = world.desks["admin"].client.get(
        PAGE, params={"since": "2026-12-10", "until": "2026-12-01"}
    )
    assert answer.status_code == 422
    assert "По: конец периода раньше начала" in answer.text
    answer = world.desks["admin"].client.get(PAGE, params={"since": "вчера"})
    assert "С: укажите дату" in answer.text


def test_pages_follow_each_other_without_gaps_or_repeats(
    world: World, clean_database: DatabaseUrls
) -> None:
    _many_entries(clean_database, 70)
    admin = world.desks["admin"]
    seen: list[str] = []
    query: dict[str, Any] = {"kind": "staff"}
    pages = 0
    while True:
        page = admin.client.get(PAGE, params=query).text
        seen += re.findall(r'<span class="muted wrap">(role-\d+)</span>', page)
        pages += 1
        following = re.search(r'href="/cabinet/north-roads/audit\?([^"]+)" rel="next"', page)
        if following is None:
            break
        query = dict(pair.split("=", 1) for pair in unescape(following.group(1)).split("&"))
        query = {k: unquote_plus(v) for k, v in query.items()}
    assert pages == 2
    assert seen == [f"role-{n}" for n in range(1, 71)]  # newest first, each once


def test_the_selection_downloads_as_csv(world: World, clean_database: DatabaseUrls) -> None:
    _many_entries(clean_database, 3)
    answer = world.desks["admin"].client.get(PAGE + ".csv", params={"kind": "staff"})
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    assert "attachment" in answer.headers["content-disposition"]
    assert answer.text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(answer.text.lstrip("\ufeff"))))
    assert rows[0][:3] == ["Когда", "Кто", "Действие"]
    assert {row[2] for row in rows[1:]} == {"Изменена роль", "Выдана роль"}
    assert sum(row[2] == "Изменена роль" for row in rows[1:]) == 3


def test_another_organizations_log_is_not_found(world: World) -> None:
    assert world.desks["admin"].client.get("/cabinet/river/audit").status_code == 404
    assert world.desks["admin"].client.get("/cabinet/river/audit.csv").status_code == 404
    assert world.desks["coordinator"].client.get(PAGE).status_code == 403
