"""The administrator runs the organization's integrations from its cabinet: a webhook
subscription shows its signing secret once, a test event goes through the outbox and the
worker to a real receiver, signed; a dead delivery is sent again; API tokens are issued with a
role until a day (shown once) and revoked. Bad input is named at its field in Russian and
stores nothing; another organization's integrations are not found."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from cabinets.app import create_app
from cabinets.notifications import delivery
from cabinets.notifications import service as notifications
from cabinets.notifications.webhooks import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify_signature
from tenancy.database import Database, DatabaseUrls
from tenancy.settings import Settings
from tenancy.staff import tokens
from tests.cabinets.message_world import Desk, World, open_world, seed_message_world
from tests.cabinets.webhook_receiver import webhook_receiver
from tests.databases import run_in_database

PAGE = "/cabinet/north-roads/integrations"


@pytest.fixture
def private_settings(settings: Settings) -> Settings:
    """A deployment whose receivers may live on its own network (the test's is on loopback)."""
    return settings.model_copy(update={"webhook_private_addresses": True})


@pytest.fixture
def world(
    private_settings: Settings, clean_database: DatabaseUrls, tenant_data: Callable[..., Any]
) -> Iterator[World]:
    seed_message_world(clean_database, tenant_data)
    yield from open_world(create_app(private_settings))


def _post(desk: Desk, path: str, data: dict[str, Any] | None = None) -> Any:
    return desk.client.post(
        path, data={"csrf_token": desk.csrf, **(data or {})}, follow_redirects=False
    )


def _count(urls: DatabaseUrls, sql: str, **params: Any) -> int:
    async def read(db: Database) -> int:
        async with db.privileged_session() as session:
            return int((await session.execute(text(sql), params)).scalar_one())

    found: int = run_in_database(urls, read)
    return found


def _deliver(urls: DatabaseUrls, settings: Settings, **options: Any) -> delivery.DeliveryReport:
    async def work(db: Database) -> delivery.DeliveryReport:
        return await delivery.deliver_due(db, settings, **options)

    report: delivery.DeliveryReport = run_in_database(urls, work)
    return report


def test_the_secret_is_shown_once_and_the_test_event_reaches_the_receiver_signed(
    world: World, clean_database: DatabaseUrls, private_settings: Settings
) -> None:
    admin = world.desks["admin"]
    with webhook_receiver() as receiver:
        created = _post(admin, PAGE + "/webhooks", {"url": receiver.url, "events": "*"})
        assert created.status_code == 201
        assert created.headers["cache-control"] == "no-store"
        secret = re.search(r"whsec_[A-Za-z0-9_-]+", created.text)
        assert secret is not None
        page = admin.client.get(PAGE)
        assert receiver.url in page.text
        assert "whsec_" not in page.text

        [subscription] = run_in_database(
            clean_database, lambda db: notifications.list_subscriptions(db, "north-roads")
        )
        tested = _post(admin, f"{PAGE}/webhooks/{subscription.id}/test")
        assert tested.status_code == 303
        assert "ждёт отправки" in admin.client.get(PAGE).text
        report = _deliver(clean_database, private_settings)
        assert report.delivered == 1

    [got] = receiver.received
    assert got.path == "/hooks/priemnaya"
    assert verify_signature(
        secret.group(), got.body, got.headers[TIMESTAMP_HEADER], got.headers[SIGNATURE_HEADER]
    )
    event = json.loads(got.body)
    assert event["kind"] == "webhook.test"
    assert event["tenant"] == "north-roads"
    log = admin.client.get(PAGE).text
    assert "Проверка доставки" in log
    assert "доставлено" in log


def test_a_dead_delivery_is_named_with_its_error_and_sent_again(
    world: World, clean_database: DatabaseUrls, private_settings: Settings
) -> None:
    admin = world.desks["admin"]
    with webhook_receiver() as receiver:
        receiver.status = 500
        _post(admin, PAGE + "/webhooks", {"url": receiver.url, "events": "message.accept"})
        [subscription] = run_in_database(
            clean_database, lambda db: notifications.list_subscriptions(db, "north-roads")
        )
        _post(admin, f"{PAGE}/webhooks/{subscription.id}/test")
        assert _deliver(clean_database, private_settings, max_attempts=1).dead == 1
        page = admin.client.get(PAGE).text
        assert "не доставлено" in page
        assert "HTTP 500" in page
        [outbox_id] = re.findall(r"/integrations/deliveries/(\d+)/retry", page)

        receiver.status = 200
        assert _post(admin, f"{PAGE}/deliveries/{outbox_id}/retry").status_code == 303
        assert _deliver(clean_database, private_settings).delivered == 1
    assert len(receiver.received) == 2
    assert "/retry" not in admin.client.get(PAGE).text


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("ftp://files.example.ru/in", "начинающийся с http:// или https://"),
        ("http://127.0.0.1:8080/hook", "локальный или внутренний адрес"),
        ("https://10.20.30.40/hook", "локальный или внутренний адрес"),
        ("http://localhost/hook", "локальный или внутренний адрес"),
        ("http://[::1]/hook", "локальный или внутренний адрес"),
    ],
)
def test_a_webhook_address_outside_the_internet_is_refused_at_its_field(
    settings: Settings,
    clean_database: DatabaseUrls,
    tenant_data: Callable[..., Any],
    url: str,
    words: str,
) -> None:
    seed_message_world(clean_database, tenant_data)
    for world in open_world(create_app(settings)):  # loopback and private not allowed here
        answer = _post(world.desks["admin"], PAGE + "/webhooks", {"url": url, "events": "*"})
        assert answer.status_code == 422
        assert "Адрес получателя: " in answer.text
        assert words in answer.text
        assert 'aria-invalid="true"' in answer.text
    assert _count(clean_database, "SELECT count(*) FROM webhook_subscriptions") == 0


def test_a_subscription_needs_an_event(world: World, clean_database: DatabaseUrls) -> None:
    answer = _post(world.desks["admin"], PAGE + "/webhooks", {"url": "https://edms.example.ru/"})
    assert answer.status_code == 422
    assert "События: отметьте хотя бы одно событие" in answer.text
    assert "https://edms.example.ru/" in answer.text  # what was typed is kept
    assert _count(clean_database, "SELECT count(*) FROM webhook_subscriptions") == 0


def test_a_token_is_shown_once_works_and_is_revoked(
    world: World, clean_database: DatabaseUrls
) -> None:
    admin = world.desks["admin"]
    created = _post(
        admin, PAGE + "/tokens", {"name": "СЭД Дело", "role": "executor", "until": "2099-01-01"}
    )
    assert created.status_code == 422  # five years at most
    assert "Действует до: не дальше чем на пять лет вперёд" in created.text
    until = _in_days(30)
    created = _post(admin, PAGE + "/tokens", {"name": "СЭД Дело", "role": "viewer", "until": until})
    assert created.status_code == 201
    token = re.search(r'id="shown-token"[^>]*>([^<]+)</textarea>', created.text)
    assert token is not None
    page = admin.client.get(PAGE).text
    assert "СЭД Дело" in page
    assert token.group(1) not in page

    bearer = {"Authorization": f"Bearer {token.group(1)}"}
    assert _answers(world, bearer) == 200
    [issued] = run_in_database(clean_database, lambda db: tokens.list_tokens(db, "north-roads"))
    assert _post(admin, f"{PAGE}/tokens/{issued.id}/revoke").status_code == 303
    assert _answers(world, bearer, until=401) == 401
    assert "отозван" in admin.client.get(PAGE).text


def _answers(world: World, headers: dict[str, str], until: int = 200) -> int:
    """The status of the token's first API call, once the policy every process holds has
    heard of the change (within a few seconds)."""
    deadline = time.monotonic() + 10
    while True:
        status: int = world.citizen.get(
            "/api/v1/tenants/north-roads/messages", headers=headers
        ).status_code
        if status == until or time.monotonic() > deadline:
            return status
        time.sleep(0.1)


def _in_days(days: int) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).date().isoformat()


def test_a_token_with_a_past_day_or_a_made_up_role_is_refused_at_its_field(
    world: World, clean_database: DatabaseUrls
) -> None:
    answer = _post(
        world.desks["admin"],
        PAGE + "/tokens",
        {"name": "", "role": "made-up", "until": "2020-05-01"},
    )
    assert answer.status_code == 422
    for words in (
        "Название: укажите, что будет пользоваться токеном",
        "Роль: такой роли в организации нет",
        "Действует до: этот день уже прошёл",
    ):
        assert words in answer.text
    assert _count(clean_database, "SELECT count(*) FROM api_tokens") == 0


def test_another_organizations_integrations_are_not_found(
    world: World, clean_database: DatabaseUrls
) -> None:
    async def river_things(db: Database) -> tuple[str, str]:
        made = await notifications.add_subscription(
            db, "river", "https://river.example.ru/hook", ["*"], actor="t"
        )
        token = await tokens.create_token(
            db, "river", "viewer", name="river", expires_at=None, actor="t"
        )
        return str(made.id), token.id

    subscription_id, token_id = run_in_database(clean_database, river_things)
    admin = world.desks["admin"]
    assert admin.client.get("/cabinet/river/integrations").status_code == 404
    for path in (
        f"{PAGE}/webhooks/{subscription_id}/test",
        f"{PAGE}/webhooks/{subscription_id}/remove",
        f"{PAGE}/tokens/{token_id}/revoke",
        f"{PAGE}/deliveries/1/retry",
        "/cabinet/river/integrations/webhooks",
    ):
        assert (
            _post(admin, path, {"url": "https://x.example.ru/", "events": "*"}).status_code == 404
        ), path
    assert _count(clean_database, "SELECT count(*) FROM outbox") == 0
    assert (
        _count(clean_database, "SELECT count(*) FROM api_tokens WHERE revoked_at IS NOT NULL") == 0
    )
    assert _count(clean_database, "SELECT count(*) FROM webhook_subscriptions") == 1


def test_integrations_are_listed_only_for_those_who_may_change_settings(world: World) -> None:
    coordinator = world.desks["coordinator"]
    assert coordinator.client.get(PAGE).status_code == 403
    assert (
        'href="/cabinet/north-roads/integrations"'
        not in coordinator.client.get("/cabinet/north-roads").text
    )
    assert 'href="/cabinet/north-roads/integrations"' in world.desks["admin"].client.get(PAGE).text
