"""What a supervisor oversees: the tenants of a subtree whose reports they may read. The
roll-up and the reports both read it; each says for itself when what is left is too little."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.engine import Row

from cabinets.messages.actors import Staff
from tenancy.database import Database
from tenancy.tenants.tree import subtree

OVERSIGHT_PERMISSION = "report:read"


async def readable_subtree(db: Database, staff: Staff, root_id: uuid.UUID) -> list[Row[Any]]:
    """The tenant ``root_id`` and the tenants below it whose reports ``staff`` may read, in
    tree order (``tenancy.tenants.tree.subtree``'s rows); possibly none."""
    async with db.read_session(()) as session:
        tenants = await subtree(session, root_id)
    return [t for t in tenants if staff.may(t.id, OVERSIGHT_PERMISSION, assigned=False)]
