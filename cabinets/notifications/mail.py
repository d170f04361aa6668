"""E-mail to citizens: the letter for a message event, and its way out.

With ``PRIEMNAYA_SMTP_HOST`` set, letters go to that server (STARTTLS unless turned off);
without it (the embedded default) each letter is written as an ``.eml`` file into the mail
sink ``HOME/mail/``, where a person can open it with any mail reader, so nothing is lost.
"""

from __future__ import annotations

import os
import smtplib
import ssl
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from uuid import UUID

from cabinets.notifications.outbox import MAILTO
from cabinets.notifications.unsubscribe import unsubscribe_url
from tenancy.settings import Settings

SMTP_TIMEOUT_SECONDS = 30.0
MAIL_SINK = "mail"  # under PRIEMNAYA_HOME


class PermanentMailFailure(Exception):
    """The server refused the recipient for good (5xx): retrying cannot help."""


@dataclass(frozen=True)
class Letter:
    """One outbox e-mail row, as much of it as the letter needs."""

    outbox_id: int
    event_id: UUID
    created_at: datetime
    recipient: str  # mailto:<address>
    payload: dict[str, Any]
    kind: str = "message"  # ``account.reset`` or ``account.invitation`` for a one-time link


def mail_sink(settings: Settings) -> Path:
    """Where letters are kept when there is no mail server."""
    return settings.home.resolve() / MAIL_SINK


def _date(value: Any) -> str | None:
    """A deadline from the payload (ISO 8601) as the citizen reads dates: 31.12.2026."""
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value)).strftime("%d.%m.%Y")
    except ValueError:
        return str(value)


def _official(value: Any) -> str | None:
    if not isinstance(value, dict) or not value.get("name"):
        return None
    return ", ".join(str(part) for part in (value["name"], value.get("position")) if part)


def letter_text(payload: dict[str, Any], unsubscribe: str | None = None) -> tuple[str, str]:
    """The subject and plain-text body of the letter about one event of a message."""
    number = payload.get("number") or "—"
    title = payload.get("title") or "Изменился статус"
    lines = ["Здравствуйте!", "", f"Обращение № {number}: {title}."]
    facts = [
        ("Организация", payload.get("organization")),
        ("Регистрационный номер", payload.get("registration_number")),
        ("Срок ответа", _date(payload.get("due_at"))),
        ("Исполнитель", _official(payload.get("executor"))),
        ("Направлено по компетенции в", payload.get("to")),
        ("Объединено с обращением №", payload.get("primary_number")),
        ("Причина", payload.get("reason")),
        ("Вопрос", payload.get("question")),
        ("Ответить на вопрос до", _date(payload.get("until"))),
    ]
    present = [(label, value) for label, value in facts if value]
    if present:
        lines.append("")
        lines.extend(f"{label}: {value}" for label, value in present)
    if payload.get("answer"):
        lines += ["", "Ответ:", str(payload["answer"])]
    if payload.get("status_url"):
        lines += ["", f"Следить за обращением: {payload['status_url']}"]
    lines += ["", "--", "Письмо отправлено автоматически, отвечать на него не нужно."]
    if unsubscribe:
        lines.append(f"Выбрать, о чём писать, или отписаться: {unsubscribe}")
    return f"Обращение № {number}: {title}", "\n".join(lines) + "\n"


def account_letter_text(kind: str, payload: dict[str, Any]) -> tuple[str, str]:
    """The subject and body of a letter carrying a one-time link: a password reset
    (``account.reset``) or an invitation to the staff (``account.invitation``)."""
    greeting = f"Здравствуйте, {payload['name']}!" if payload.get("name") else "Здравствуйте!"
    until = payload.get("expires_at")
    valid = f"Ссылка действует один раз{f' до {_time(until)} (UTC)' if until else ''}."
    link = str(payload.get("link", ""))
    if kind == "account.confirmation":
        subject = "Подтвердите адрес почты в Приёмной"
        text = [
            "Вы зарегистрировались в Приёмной. Чтобы войти, подтвердите адрес почты:",
            link,
            "",
            valid,
            "Если вы не регистрировались, ничего не делайте: учётная запись без "
            "подтверждения не работает.",
        ]
    elif kind == "account.taken":
        subject = "Попытка регистрации в Приёмной"
        text = [
            "Кто-то, возможно вы, пытался зарегистрироваться в Приёмной с этим адресом, "
            "но учётная запись с ним уже есть. Войти:",
            link,
            "",
            "Если забыли пароль, смените его на странице входа. Если это были не вы, "
            "ничего не делайте.",
        ]
    elif kind == "account.invitation":
        subject = "Приглашение в Приёмную"
        text = [
            "Вас пригласили работать с обращениями в Приёмной. Задайте пароль для входа:",
            link,
            "",
            valid,
        ]
    else:
        subject = "Смена пароля в Приёмной"
        text = [
            "Кто-то, возможно вы, попросил сменить пароль в Приёмной. Задать новый пароль:",
            link,
            "",
            valid,
            "Если вы не просили сменить пароль, ничего не делайте: старый пароль продолжает "
            "работать.",
        ]
    lines = [
        greeting,
        "",
        *text,
        "",
        "--",
        "Письмо отправлено автоматически, отвечать на него не нужно.",
    ]
    return subject, "\n".join(lines) + "\n"


def _time(value: Any) -> str:
    try:
        return datetime.fromisoformat(str(value)).strftime("%d.%m.%Y %H:%M")
    except ValueError:
        return str(value)


def compose(letter: Letter, sender: str, unsubscribe: str | None = None) -> EmailMessage:
    """The letter; ``unsubscribe``: the one-click link of a letter about a message."""
    subject, body = (
        account_letter_text(letter.kind, letter.payload)
        if letter.kind.startswith("account.")
        else letter_text(letter.payload, unsubscribe)
    )
    message = EmailMessage()
    message["From"] = sender
    message["To"] = letter.recipient.removeprefix(MAILTO)
    message["Subject"] = subject
    message["Date"] = format_datetime(letter.created_at)
    domain = sender.rpartition("@")[2] or "localhost"
    # Stable across resends, so a mail client shows a repeated delivery once.
    message["Message-ID"] = f"<{letter.event_id}.{letter.outbox_id}@{domain}>"
    message["X-Priemnaya-Event-Id"] = str(letter.event_id)
    if unsubscribe and not letter.kind.startswith("account."):
        message["List-Unsubscribe"] = f"<{unsubscribe}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(body)
    return message


def send_letter(settings: Settings, letter: Letter) -> str:
    """Deliver one letter (blocking: run it in a thread); returns where it went."""
    unsubscribe = (
        None
        if letter.kind.startswith("account.")
        else unsubscribe_url(settings, letter.recipient.removeprefix(MAILTO))
    )
    message = compose(letter, settings.smtp_from, unsubscribe)
    if settings.smtp_host is None:
        return str(_keep_in_sink(mail_sink(settings), letter, message))
    _send_smtp(settings, message)
    return f"smtp://{settings.smtp_host}:{settings.smtp_port}"


def _keep_in_sink(sink: Path, letter: Letter, message: EmailMessage) -> Path:
    sink.mkdir(mode=0o700, parents=True, exist_ok=True)
    # Named by creation time and outbox row: a resend overwrites the same file.
    name = f"{letter.created_at:%Y%m%dT%H%M%S}-{letter.outbox_id}-{letter.event_id}.eml"
    path = sink / name
    partial = path.with_suffix(".part")
    partial.write_bytes(message.as_bytes())
    os.replace(partial, path)  # a reader never sees half a letter
    return path


def _send_smtp(settings: Settings, message: EmailMessage) -> None:
    assert settings.smtp_host is not None
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=SMTP_TIMEOUT_SECONDS) as smtp:
        if settings.smtp_starttls:
            smtp.starttls(context=ssl.create_default_context())
        if settings.smtp_username:
            smtp.login(settings.smtp_username, settings.smtp_password or "")
        try:
            smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            if all(500 <= code < 600 for code in codes):
                raise PermanentMailFailure(f"recipient refused: {exc.recipients}") from exc
            raise
