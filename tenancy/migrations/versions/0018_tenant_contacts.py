"""Tenants: the contact details an organization shows citizens (address of its reception,
telephone, e-mail, reception hours), set by its administrator in the cabinet.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-01
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ("contact_address", "contact_phone", "contact_email", "contact_hours")


def upgrade() -> None:
    for column in COLUMNS:
        op.execute(f"ALTER TABLE tenants ADD COLUMN {column} text")


def downgrade() -> None:
    for column in COLUMNS:
        op.execute(f"ALTER TABLE tenants DROP COLUMN {column}")
