"""Notifications end to end: a citizen's message writes outbox rows, the worker delivers them
to the mail sink, a real SMTP server and real webhook receivers (signed, retried with back-off,
dead-lettered, revived), and two workers never deliver the same row twice."""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import json
import socket
import ssl
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import policy
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import anyio
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy import text

from cabinets.app import create_app
from cabinets.notifications import service as notifications
from cabinets.notifications.delivery import (
    FIRST_RETRY,
    JITTER,
    LEASE,
    DeliveryReport,
    _claim,
    deliver_account_mail,
    deliver_due,
    forget_delivered,
    retry_delay,
)
from cabinets.notifications.mail import mail_sink
from cabinets.notifications.outbox import write_notices
from cabinets.notifications.webhooks import (
    EVENT_ID_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    signature,
    verify_signature,
)
from tenancy.accounts.service import request_password_reset
from tenancy.database import Database, DatabaseUrls
from tenancy.errors import InvalidInput, NotFound
from tenancy.settings import Settings
from tests.cabinets.mailbox import letters
from tests.cabinets.message_world import World, open_world, seed_message_world
from tests.databases import run_in_database

TENANT = "north-roads"
CITIZEN = "ivan@mail.example.ru"  # the applicant of message_world.POTHOLE


@pytest.fixture
def world(
    settings: Settings, clean_database: DatabaseUrls, tenant_data: Callable[..., Any]
) -> Iterator[World]:
    seed_message_world(clean_database, tenant_data)

    async def without_photos(db: Database) -> None:
        # Notifications are about the message, not its files: the pothole needs no photo here.
        async with db.privileged_session() as session:
            await session.execute(text("UPDATE catalog_topics SET photo_required = false"))

    run_in_database(clean_database, without_photos)
    yield from open_world(create_app(settings))


# --- a webhook receiver ------------------------------------------------------------------


@dataclass
class Delivery:
    event_id: str
    body: dict[str, Any]
    signed: bool


@dataclass
class Receiver:
    """An integration's endpoint: checks each signature, may fail the first calls."""

    url: str
    secret: str = ""
    fail_first: int = 0
    pause: float = 0.0  # seconds each answer takes
    calls: int = 0
    deliveries: list[Delivery] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, headers: Any, raw: bytes) -> int:
        time.sleep(self.pause)
        with self.lock:
            self.calls += 1
            signed = verify_signature(
                self.secret, raw, headers.get(TIMESTAMP_HEADER), headers.get(SIGNATURE_HEADER)
            )
            body = json.loads(raw)
            self.deliveries.append(Delivery(headers.get(EVENT_ID_HEADER), body, signed))
            if not signed:
                return 401
            return 500 if self.calls <= self.fail_first else 204


@pytest.fixture
def receivers() -> Iterator[Callable[[], Receiver]]:
    servers: list[ThreadingHTTPServer] = []

    def start() -> Receiver:
        receiver = Receiver(url="")

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                status = receiver.answer(self.headers, raw)
                body = b"receiver is down" if status == 500 else b""
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/priemnaya"
        return receiver

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


# --- helpers ---------------------------------------------------------------------------------


def deliver(urls: DatabaseUrls, settings: Settings, **options: Any) -> DeliveryReport:
    report: DeliveryReport = run_in_database(urls, lambda db: deliver_due(db, settings, **options))
    return report


def outbox(urls: DatabaseUrls, channel: str | None = None) -> list[Any]:
    async def read(db: Database) -> list[Any]:
        async with db.privileged_session() as session:
            rows = await session.execute(
                text("SELECT * FROM outbox WHERE coalesce(:c, channel) = channel ORDER BY id"),
                {"c": channel},
            )
            return list(rows)

    rows: list[Any] = run_in_database(urls, read)
    return rows


def subscribe(urls: DatabaseUrls, receiver: Receiver, events: list[str]) -> uuid.UUID:
    async def add(db: Database) -> Any:
        return await notifications.add_subscription(
            db, TENANT, receiver.url, events, actor="cli:test"
        )

    created = run_in_database(urls, add)
    receiver.secret = created.secret
    subscription_id: uuid.UUID = created.id
    return subscription_id


def submit_and_accept(world: World) -> tuple[dict[str, Any], dict[str, Any]]:
    receipt = world.submit()
    desk = world.desks["moderator"]
    accepted = desk.act(world.message_of(receipt), "accept")
    assert accepted.status_code == 200, accepted.text
    message: dict[str, Any] = accepted.json()
    return receipt, message


def write_events(urls: DatabaseUrls, message_id: str, count: int, *, emails: bool) -> None:
    """``count`` events of the message, as the workflow writes them (each in its own
    transaction); the delivery tests step them through retries, leases and races."""

    async def write(db: Database) -> None:
        async with db.privileged_session() as session:
            tenant_id = (
                await session.execute(text("SELECT id FROM tenants WHERE slug = :s"), {"s": TENANT})
            ).scalar_one()
        for n in range(count):
            async with db.tenant_session([tenant_id]) as session:
                await write_notices(
                    session,
                    tenant_id,
                    uuid.UUID(message_id),
                    "message.extend",
                    {"number": f"event-{n}", "title": "Срок продлён", "reason": "проверка"},
                    [CITIZEN] if emails else [],
                    now=dt.datetime.now(dt.UTC),
                )

    run_in_database(urls, write)


def moment(value: str | dt.datetime) -> dt.datetime:
    return value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(value)


# --- e-mail ----------------------------------------------------------------------------------


def test_the_citizen_reads_each_step_in_the_mail_sink(
    world: World, settings: Settings, clean_database: DatabaseUrls
) -> None:
    receipt, message = submit_and_accept(world)

    report = deliver(clean_database, settings)
    assert (report.claimed, report.delivered, report.retried, report.dead) == (2, 2, 0, 0)
    assert deliver(clean_database, settings).claimed == 0  # delivered once, not again
    assert all(row.delivered_at and row.attempts == 1 for row in outbox(clean_database))

    received, registered = letters(settings)
    assert mail_sink(settings) == settings.home.resolve() / "mail"
    for letter in (received, registered):
        assert letter["To"] == CITIZEN
        assert letter["From"] == settings.smtp_from
        assert receipt["number"] in letter["Subject"]
    assert received["Subject"] == f"Обращение № {receipt['number']}: Поступило"
    assert registered["Subject"] == f"Обращение № {receipt['number']}: Зарегистрировано"
    body = registered.get_content()
    assert f"Обращение № {receipt['number']}: Зарегистрировано." in body
    assert "Организация: Organization north-roads" in body
    assert f"Регистрационный номер: {message['registration_number']}" in body
    due = moment(message["due_at"]).strftime("%d.%m.%Y")
    assert f"Срок ответа: {due}" in body
    event_ids = {row.event_id for row in outbox(clean_database, "email")}
    assert {uuid.UUID(letter["X-Priemnaya-Event-Id"]) for letter in (received, registered)} == (
        event_ids
    )


@dataclass
class MailServer:
    """A real SMTP server in-process: STARTTLS required before login, one account."""

    port: int
    certificate: Path
    envelopes: list[Envelope] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.envelopes.append(envelope)
        return "250 Message accepted"

    def __call__(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        assert isinstance(data, LoginPassword)
        if (data.login, data.password) != (b"mailer", b"mail password"):
            return AuthResult(success=False, handled=False)
        self.logins.append(data.login.decode())
        return AuthResult(success=True)


def _self_signed(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "smtp.crt", directory / "smtp.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.fixture
def mail_server(tmp_path: Path) -> Iterator[MailServer]:
    cert_path, key_path = _self_signed(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_path, key_path)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = MailServer(port, cert_path)
    controller = Controller(
        server,
        hostname="127.0.0.1",
        port=port,
        tls_context=context,
        require_starttls=True,
        authenticator=server,
    )
    controller.start()
    try:
        yield server
    finally:
        controller.stop()


def test_mail_goes_out_through_smtp_with_starttls_and_login(
    world: World,
    settings: Settings,
    clean_database: DatabaseUrls,
    mail_server: MailServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The client verifies the server's certificate as in production, trusting only ours.
    monkeypatch.setenv("SSL_CERT_FILE", str(mail_server.certificate))
    smtp = settings.model_copy(
        update={
            "smtp_host": "127.0.0.1",
            "smtp_port": mail_server.port,
            "smtp_username": "mailer",
            "smtp_password": "mail password",
            "smtp_from": "noreply@priemnaya.example.ru",
        }
    )
    receipt, _ = submit_and_accept(world)

    report = deliver(clean_database, smtp)
    assert report.delivered == 2
    assert mail_server.logins == ["mailer", "mailer"]
    assert [e.rcpt_tos for e in mail_server.envelopes] == [[CITIZEN], [CITIZEN]]
    assert all(e.mail_from == "noreply@priemnaya.example.ru" for e in mail_server.envelopes)
    subjects = set()
    for envelope in mail_server.envelopes:
        assert isinstance(envelope.content, bytes)
        subjects.add(BytesParser(policy=policy.default).parsebytes(envelope.content)["Subject"])
    number = receipt["number"]
    assert subjects == {
        f"Обращение № {number}: Поступило",
        f"Обращение № {number}: Зарегистрировано",
    }
    assert not mail_sink(settings).exists()  # with a server, nothing goes to the sink

    # A wrong password is a failure like any other: retried, with the server's reason.
    write_events(clean_database, world.message_of(receipt)["id"], 1, emails=True)
    wrong = smtp.model_copy(update={"smtp_password": "wrong"})
    assert deliver(clean_database, wrong).retried == 1
    failed = outbox(clean_database, "email")[-1]
    assert failed.delivered_at is None
    assert failed.last_error.startswith("SMTPAuthenticationError")


# --- webhooks --------------------------------------------------------------------------------


def test_a_subscribed_integration_gets_each_event_it_asked_for_signed(
    world: World,
    settings: Settings,
    clean_database: DatabaseUrls,
    receivers: Callable[[], Receiver],
) -> None:
    acceptances, rejections, everything = receivers(), receivers(), receivers()
    accept_id = subscribe(clean_database, acceptances, ["message.accept"])
    subscribe(clean_database, rejections, ["message.reject"])
    subscribe(clean_database, everything, ["*"])
    receipt, message = submit_and_accept(world)

    report = deliver(clean_database, settings)
    assert (report.delivered, report.retried, report.dead) == (5, 0, 0)  # 2 mails, 3 webhooks

    assert rejections.calls == 0  # subscribed to other events: nothing, not even rows
    assert {row.recipient for row in outbox(clean_database, "webhook")} == {
        acceptances.url,
        everything.url,
    }
    [delivery] = acceptances.deliveries
    assert delivery.signed
    body = delivery.body
    assert body["id"] == delivery.event_id
    assert body["kind"] == "message.accept"
    assert body["tenant"] == TENANT
    assert body["message_id"] == message["id"]
    assert moment(body["created_at"]).tzinfo is not None
    assert body["data"]["number"] == receipt["number"]
    assert body["data"]["registration_number"] == message["registration_number"]
    assert body["data"]["organization"] == "Organization north-roads"
    hooks = outbox(clean_database, "webhook")
    assert sorted((r.kind, r.subscription_id == accept_id) for r in hooks) == [
        ("message.accept", False),
        ("message.accept", True),
        ("message.submit", False),
    ]
    # The event the citizen was mailed about is the same event, with the same id.
    mailed = {row.kind: row.event_id for row in outbox(clean_database, "email")}
    assert {r.kind: r.event_id for r in hooks} == mailed
    assert uuid.UUID(delivery.event_id) == mailed["message.accept"]
    # Deliveries run side by side: events arrive in no promised order.
    assert sorted(d.body["kind"] for d in everything.deliveries) == [
        "message.accept",
        "message.submit",
    ]
    assert all(d.signed for d in everything.deliveries)


def test_a_failing_receiver_is_retried_with_back_off_then_dead_lettered_and_revived(
    world: World,
    settings: Settings,
    clean_database: DatabaseUrls,
    receivers: Callable[[], Receiver],
) -> None:
    receiver = receivers()
    receiver.fail_first = 1000
    subscribe(clean_database, receiver, ["message.extend"])
    receipt = world.submit()
    write_events(clean_database, world.message_of(receipt)["id"], 1, emails=False)
    [row] = outbox(clean_database, "webhook")

    now = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)
    delays = []
    for attempt in range(1, 9):
        report = deliver(clean_database, settings, now=now)
        [row] = outbox(clean_database, "webhook")
        assert row.attempts == attempt
        assert row.last_error == "WebhookRefused: HTTP 500: receiver is down"
        if attempt < 8:
            assert report.retried == 1
            delay = row.next_attempt_at - now
            expected = FIRST_RETRY * 2**attempt
            assert expected * (1 - JITTER) <= delay <= expected * (1 + JITTER)
            delays.append(delay)
            # Not due a second before: no worker touches it.
            early = now + delay - dt.timedelta(seconds=1)
            assert deliver(clean_database, settings, now=early).claimed == 0
            now = row.next_attempt_at
    assert delays == sorted(delays)
    assert report.dead == 1
    assert row.dead_at == now
    assert receiver.calls == 8
    assert {d.event_id for d in receiver.deliveries} == {str(row.event_id)}  # one event
    assert all(d.signed for d in receiver.deliveries)
    later = now + dt.timedelta(days=1)
    assert deliver(clean_database, settings, now=later).claimed == 0  # dead stays dead

    async def revive(db: Database) -> Any:
        dead = await notifications.list_outbox(db, state="dead", tenant=TENANT)
        assert [e.id for e in dead] == [row.id]
        assert dead[0].last_error == row.last_error
        with pytest.raises(InvalidInput) as refused:
            await notifications.retry_outbox(db, actor="cli:test")
        assert refused.value.errors[0].field == "ids"
        return await notifications.retry_outbox(db, all_dead=True, tenant=TENANT, actor="cli:test")

    receiver.fail_first = 0
    [revived] = run_in_database(clean_database, revive)
    assert (revived.id, revived.attempts, revived.dead_at) == (row.id, 0, None)
    report = deliver(clean_database, settings, now=later)
    assert report.delivered == 1
    assert receiver.deliveries[-1].signed
    assert receiver.deliveries[-1].event_id == str(row.event_id)

    async def after(db: Database) -> None:
        delivered = await notifications.list_outbox(db, state="delivered")
        assert [(e.id, e.attempts) for e in delivered if e.channel == "webhook"] == [(row.id, 1)]
        assert await notifications.list_outbox(db, state="dead") == []
        with pytest.raises(InvalidInput, match="was delivered"):
            await notifications.retry_outbox(db, [row.id], actor="cli:test")
        with pytest.raises(NotFound):
            await notifications.retry_outbox(db, [row.id + 1000], actor="cli:test")

    run_in_database(clean_database, after)


def test_delivered_notifications_are_forgotten_after_the_keep_days_and_dead_ones_stay(
    world: World, settings: Settings, clean_database: DatabaseUrls
) -> None:
    receipt = world.submit()  # the citizen's receipt by mail
    write_events(clean_database, world.message_of(receipt)["id"], 2, emails=True)
    now = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)
    assert deliver(clean_database, settings, limit=2, now=now).delivered == 2
    assert deliver(clean_database, settings, max_attempts=0, now=now).dead == 1
    run_in_database(
        clean_database,
        lambda db: request_password_reset(db, "mod@roads.example.ru", base_url="http://x"),
    )
    mailed = run_in_database(clean_database, lambda db: deliver_account_mail(db, settings))
    assert mailed.delivered == 1

    def forget(days_later: int) -> int:
        later = now + dt.timedelta(days=days_later)
        keep = dt.timedelta(days=settings.outbox_keep_days)
        forgotten: int = run_in_database(
            clean_database, lambda db: forget_delivered(db, keep=keep, now=later)
        )
        return forgotten

    assert settings.outbox_keep_days == 30
    assert forget(29) == 0
    assert len(outbox(clean_database)) == 3
    assert forget(31) == 3  # two notifications and the account letter
    [dead] = outbox(clean_database)
    assert dead.dead_at is not None  # stays until someone retries it
    assert forget(400) == 0


def test_a_receiver_that_recovers_gets_the_event_on_a_later_attempt(
    world: World,
    settings: Settings,
    clean_database: DatabaseUrls,
    receivers: Callable[[], Receiver],
) -> None:
    receiver = receivers()
    receiver.fail_first = 2
    subscribe(clean_database, receiver, ["message.extend"])
    receipt = world.submit()
    deliver(clean_database, settings)  # the submission's own mail, out of the way
    write_events(clean_database, world.message_of(receipt)["id"], 1, emails=False)
    now = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)
    outcomes = []
    for _ in range(3):
        report = deliver(clean_database, settings, now=now)
        outcomes.append((report.retried, report.delivered))
        now += dt.timedelta(hours=6)
    assert outcomes == [(1, 0), (1, 0), (0, 1)]
    [row] = outbox(clean_database, "webhook")
    assert (row.attempts, row.last_error) == (3, "WebhookRefused: HTTP 500: receiver is down")
    assert row.delivered_at is not None
    assert [d.event_id for d in receiver.deliveries] == [str(row.event_id)] * 3


def test_a_worker_that_dies_while_delivering_only_delays_the_row(
    world: World,
    settings: Settings,
    clean_database: DatabaseUrls,
    receivers: Callable[[], Receiver],
) -> None:
    receiver = receivers()
    subscribe(clean_database, receiver, ["message.extend"])
    receipt = world.submit()
    deliver(clean_database, settings)  # the submission's own mail, out of the way
    write_events(clean_database, world.message_of(receipt)["id"], 1, emails=False)
    now = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)

    async def claim_and_die(db: Database) -> int:
        claimed, _ = await _claim(db, 10, now)  # what a worker does first; then it is killed
        return len(claimed)

    assert run_in_database(clean_database, claim_and_die) == 1
    assert deliver(clean_database, settings, now=now).claimed == 0  # leased to the dead one
    report = deliver(clean_database, settings, now=now + LEASE)
    assert report.delivered == 1
    [row] = outbox(clean_database, "webhook")
    assert (row.attempts, row.delivering_until) == (2, None)
    assert receiver.calls == 1


def test_two_workers_never_deliver_the_same_row(
    world: World,
    settings: Settings,
    clean_database: DatabaseUrls,
    receivers: Callable[[], Receiver],
) -> None:
    receiver = receivers()
    receiver.pause = 0.02  # keeps both workers busy at once
    subscribe(clean_database, receiver, ["message.extend"])
    receipt = world.submit()
    deliver(clean_database, settings)  # the submission's own mail, out of the way
    write_events(clean_database, world.message_of(receipt)["id"], 30, emails=True)

    async def two_workers() -> list[DeliveryReport]:
        first, second = Database(clean_database), Database(clean_database)
        try:
            return list(
                await asyncio.gather(
                    deliver_due(first, settings, batch=4),
                    deliver_due(second, settings, batch=4),
                )
            )
        finally:
            await first.dispose()
            await second.dispose()

    reports = anyio.run(two_workers)
    assert all(r.delivered > 0 for r in reports)  # both took part
    assert sum(r.delivered for r in reports) == 60
    assert sum(r.claimed for r in reports) == 60
    event_ids = [d.event_id for d in receiver.deliveries]
    assert len(event_ids) == len(set(event_ids)) == 30
    assert all(d.signed for d in receiver.deliveries)
    assert len(letters(settings)) == 31
    assert all(row.attempts == 1 and row.delivered_at for row in outbox(clean_database))


# --- subscriptions ---------------------------------------------------------------------------


def test_subscriptions_are_checked_listed_without_secrets_and_removed(
    world: World,
    settings: Settings,
    clean_database: DatabaseUrls,
    receivers: Callable[[], Receiver],
) -> None:
    receiver = receivers()
    receiver.fail_first = 1000

    async def refusals(db: Database) -> list[tuple[str, str]]:
        found = []
        for url, events, tenant in [
            ("ftp://example.ru/hook", ["*"], TENANT),
            ("https://user:pw@example.ru/hook", ["*"], TENANT),
            ("https:///hook", ["*"], TENANT),
            ("https://example.ru:99999/hook", ["*"], TENANT),
            ("https://example.ru/hook", [], TENANT),
            ("https://example.ru/hook", ["message.comment"], TENANT),
            ("https://example.ru/hook", ["*"], "nowhere"),
        ]:
            with pytest.raises(InvalidInput) as refused:
                await notifications.add_subscription(db, tenant, url, events, actor="t")
            found.append((refused.value.errors[0].field, refused.value.errors[0].message))
        return found

    fields = [f for f, _ in run_in_database(clean_database, refusals)]
    assert fields == ["url", "url", "url", "url", "events", "events", "tenant"]

    subscription_id = subscribe(clean_database, receiver, ["message.extend", "message.extend"])
    assert receiver.secret.startswith("whsec_")
    assert len(receiver.secret) > 40
    receipt = world.submit()
    write_events(clean_database, world.message_of(receipt)["id"], 1, emails=False)
    assert deliver(clean_database, settings).retried == 1  # the receiver is down

    async def listed_then_removed(db: Database) -> None:
        [listed] = await notifications.list_subscriptions(db, TENANT)
        assert (listed.id, listed.url, listed.events) == (
            subscription_id,
            receiver.url,
            ["message.extend"],
        )
        assert listed.created_by == "cli:test"
        assert receiver.secret not in listed.model_dump_json()
        assert await notifications.list_subscriptions(db, "river") == []
        removed = await notifications.remove_subscription(db, str(subscription_id), actor="t")
        assert removed.id == subscription_id
        assert await notifications.list_subscriptions(db) == []
        with pytest.raises(NotFound):
            await notifications.remove_subscription(db, subscription_id, actor="t")
        with pytest.raises(InvalidInput) as refused:
            await notifications.remove_subscription(db, "not-an-id", actor="t")
        assert refused.value.errors[0].field == "subscription"
        [dead] = await notifications.list_outbox(db, state="dead")
        assert dead.last_error == "the webhook subscription was removed"
        # Revived, it cannot go anywhere: dead again, with the reason.
        await notifications.retry_outbox(db, [dead.id], actor="t")

    run_in_database(clean_database, listed_then_removed)
    assert deliver(clean_database, settings).dead == 1
    [row] = outbox(clean_database, "webhook")
    assert row.last_error == "Undeliverable: the webhook subscription was removed"


# --- pieces ----------------------------------------------------------------------------------


def test_a_receiver_refuses_forged_altered_and_old_deliveries() -> None:
    secret, body, now = "whsec_test", b'{"id":"1"}', 1_800_000_000
    good = signature(secret, now, body)
    assert good.startswith("sha256=")
    assert len(good) == len("sha256=") + 64
    assert verify_signature(secret, body, str(now), good, now=now + 10)
    assert not verify_signature("whsec_other", body, str(now), good, now=now)
    assert not verify_signature(secret, body + b" ", str(now), good, now=now)
    assert not verify_signature(secret, body, str(now + 1), good, now=now)  # timestamp is signed
    assert not verify_signature(secret, body, str(now), good, now=now + 301)  # a replay
    assert not verify_signature(secret, body, None, good, now=now)
    assert not verify_signature(secret, body, "soon", good, now=now)


def test_back_off_doubles_with_jitter_up_to_six_hours() -> None:
    for attempts in range(1, 8):
        expected = FIRST_RETRY * 2**attempts
        assert expected * (1 - JITTER) <= retry_delay(attempts) <= expected * (1 + JITTER)
    assert retry_delay(30) == dt.timedelta(hours=6)
    assert retry_delay(1000) == dt.timedelta(hours=6)
