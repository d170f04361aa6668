"""How citizens reach an organization: the contact details its administrator set, read for the
portal's pages where the organization is named (the status page of a message it holds)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text

from tenancy.database import Database


@dataclass(frozen=True)
class Contacts:
    name: str
    address: str | None
    phone: str | None
    email: str | None
    hours: str | None

    def __bool__(self) -> bool:
        return any((self.address, self.phone, self.email, self.hours))


async def contacts_of_holder(db: Database, number: str) -> Contacts | None:
    """The contacts of the organization holding message ``number`` now (none while it waits in
    the operator's queue). Ask only once the caller has shown the message's token."""
    async with db.public_session() as session:
        row = (
            await session.execute(
                text(
                    "SELECT t.name, t.contact_address, t.contact_phone, t.contact_email, "
                    "t.contact_hours FROM message_tracking m "
                    "JOIN tenants t ON t.id = m.holder_tenant_id WHERE m.number = :n"
                ),
                {"n": number},
            )
        ).first()
    if row is None:
        return None
    return Contacts(
        row.name, row.contact_address, row.contact_phone, row.contact_email, row.contact_hours
    )
