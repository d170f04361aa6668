"""The operator's pages: a revision on each draft topic, so that the second of two operators
editing one topic is told instead of overwriting the first; and the operator's queue marks a
message dispatched (to whom, when) from the app, which files it in the organization.

Revision ID: 0015
Revises: 0011
Create Date: 2026-12-01
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("ALTER TABLE catalog_topics ADD COLUMN revision integer NOT NULL DEFAULT 1")
    op.execute("GRANT UPDATE (dispatched_at, dispatched_to) ON operator_queue TO priemnaya_app")
    # The queue page lists what still waits, oldest first.
    op.execute(
        "CREATE INDEX operator_queue_waiting ON operator_queue (received_at) "
        "WHERE dispatched_at IS NULL"
    )


def downgrade() -> None:
    op.execute("DROP INDEX operator_queue_waiting")
    op.execute("REVOKE UPDATE (dispatched_at, dispatched_to) ON operator_queue FROM priemnaya_app")
    op.execute("ALTER TABLE catalog_topics DROP COLUMN revision")
