"""Operators for the message world: a federal operator, a regional one for the northern
district, a platform admin, and the region's `*` rule removed, so that some topics have nobody
answering them (school meals in the northern district: the queue's case). Shared by the page
and browser tests."""

from __future__ import annotations

from sqlalchemy import text

from tenancy.accounts import service as accounts
from tenancy.database import Database
from tenancy.routing import rules
from tenancy.staff import service as staff
from tenancy.staff.schemas import StaffInput
from tests.cabinets.message_world import PASSWORD

OPERATOR = ("operator@priemnaya.example.ru", "Ольга Операторова")
REGIONAL = ("north-operator@priemnaya.example.ru", "Никита Северов")
ADMIN = ("admin@priemnaya.example.ru", "Пётр Платформов")
CANTEEN = {
    "topic": "canteen",
    "territory": "46701101",
    "address": "ул. Школьная, 1",
    "summary": "Холодный обед в школе",
    "text": "Третий день в школе посёлка Северный подают холодный обед.",
    "applicant": {"name": "Ирина Смирнова", "email": "irina@mail.example.ru"},
    "consent": True,
}


async def seed_operators(db: Database) -> None:
    """A federal operator, and a regional one for the northern district; the region's `*`
    rule removed."""
    await staff.add_staff(db, [StaffInput(email=e, name=n) for e, n in (OPERATOR, REGIONAL, ADMIN)],
                          actor="t")  # fmt: skip
    await staff.grant_role(db, OPERATOR[0], "platform", "operator", actor="t")
    await staff.grant_role(
        db, REGIONAL[0], "platform", "regional_operator", regions=["46701000"], actor="t"
    )
    await staff.grant_role(db, ADMIN[0], "platform", "platform_admin", actor="t")
    await accounts.set_known_password(db, [OPERATOR[0], REGIONAL[0], ADMIN[0]], PASSWORD, actor="t")
    async with db.privileged_session() as session:
        everything = (
            await session.execute(text("SELECT id FROM routing_rules WHERE topic = '*'"))
        ).scalar_one()
    await rules.remove_rule(db, everything, actor="t")
