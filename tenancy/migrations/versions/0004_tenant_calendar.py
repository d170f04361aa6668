"""Tenants: the working calendar their deadlines count in.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # 'ru' is the federal production calendar; regions with their own holidays add a suffix
    # (for example 'ru-tatarstan').
    op.execute(
        "ALTER TABLE tenants ADD COLUMN calendar text NOT NULL DEFAULT 'ru' "
        "CHECK (calendar ~ '^[a-z]{2}(-[a-z0-9]+)*$')"
    )


def downgrade() -> None:
    op.execute("ALTER TABLE tenants DROP COLUMN calendar")
