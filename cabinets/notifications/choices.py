"""The notifications a person chooses, per channel and by address: every stage of their
messages, only the answer and requests for clarification, or none. The outbox honours the
choice where it writes the letters (``outbox.write_notices``)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import text

from rbac.store import normalise_email
from tenancy.accounts.models import Channel, NotificationChoice
from tenancy.database import Database

# The letters "only the answer" still sends: the answer itself, and a question the
# organization waits for (the message is rejected if it goes unanswered).
ANSWER_KINDS = frozenset(
    {"message.approve_answer", "message.answer_with_primary", "message.request_clarification"}
)
CHOICE_LABELS = {
    NotificationChoice.EVERY_STAGE: "О каждом этапе рассмотрения",
    NotificationChoice.ANSWERS: "Только об ответе и запросах уточнения",
    NotificationChoice.NONE: "Не присылать",
}
CHANNEL_LABELS = {Channel.EMAIL: "Электронная почта"}


async def choices_of(db: Database, address: str) -> dict[Channel, NotificationChoice]:
    """What an address chose on each channel (every stage where it chose nothing)."""
    async with db.public_session() as session:
        rows = await session.execute(
            text("SELECT channel, choice FROM notification_choices WHERE address = :a"),
            {"a": normalise_email(address)},
        )
        chosen = {Channel(r.channel): NotificationChoice(r.choice) for r in rows}
    return {c: chosen.get(c, NotificationChoice.EVERY_STAGE) for c in Channel}


async def choose(db: Database, address: str, channel: Channel, choice: NotificationChoice) -> None:
    async with db.public_session() as session:
        await session.execute(
            text(
                """
                INSERT INTO notification_choices (address, channel, choice, updated_at)
                VALUES (:a, :c, :choice, :now)
                ON CONFLICT (address, channel)
                DO UPDATE SET choice = excluded.choice, updated_at = excluded.updated_at
                """
            ),
            {
                "a": normalise_email(address),
                "c": channel.value,
                "choice": choice.value,
                "now": datetime.now(UTC),
            },
        )
