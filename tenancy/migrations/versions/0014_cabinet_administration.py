"""Integrations work messages: a history step may be signed by an integration (an API
token's system), and an integration pulls what changed since its last pull by ``updated_at``.

Revision ID: 0014
Revises: 0011
Create Date: 2026-12-01
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("ALTER TABLE message_events DROP CONSTRAINT message_events_actor_kind_check")
    op.execute(
        "ALTER TABLE message_events ADD CONSTRAINT message_events_actor_kind_check "
        "CHECK (actor_kind IN ('staff', 'citizen', 'system', 'integration'))"
    )
    # The inbox's ``sort=updated`` pages (tenant, updated_at, id) by keyset.
    op.execute("CREATE INDEX messages_updated ON messages (tenant_id, updated_at, id)")


def downgrade() -> None:
    op.execute("DROP INDEX messages_updated")
    # History is kept: an integration's steps stay, signed by its name, as the system's.
    op.execute("UPDATE message_events SET actor_kind = 'system' WHERE actor_kind = 'integration'")
    op.execute("ALTER TABLE message_events DROP CONSTRAINT message_events_actor_kind_check")
    op.execute(
        "ALTER TABLE message_events ADD CONSTRAINT message_events_actor_kind_check "
        "CHECK (actor_kind IN ('staff', 'citizen', 'system'))"
    )
