"""Records retention: each tenant keeps closed messages for a period within legal bounds, then
destroys them by a formal record (акт) that is itself kept; the public number then says when.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01
"""

from collections.abc import Sequence

from alembic import op

from tenancy.rls import tenant_isolation

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Appeals are kept five years (the typical list of records); an organization may keep
    # them longer, never shorter.
    op.execute(
        "ALTER TABLE tenants ADD COLUMN retention_years integer NOT NULL DEFAULT 5 "
        "CHECK (retention_years BETWEEN 5 AND 75)"
    )
    op.execute(
        """
        CREATE TABLE destruction_records (
            tenant_id uuid NOT NULL REFERENCES tenants (id),
            number integer NOT NULL,
            closed_before date NOT NULL,
            executed_at timestamptz NOT NULL DEFAULT now(),
            executed_by text NOT NULL,
            message_count integer NOT NULL CHECK (message_count > 0),
            first_closed_at timestamptz NOT NULL,
            last_closed_at timestamptz NOT NULL,
            tracking_numbers text[] NOT NULL,
            registration_numbers text[] NOT NULL,
            PRIMARY KEY (tenant_id, number)
        )
        """
    )
    for statement in tenant_isolation("destruction_records"):
        op.execute(statement)
    # Kept: the app role may read the records, and nobody but the owner may change them.
    op.execute("GRANT SELECT ON destruction_records TO priemnaya_app")
    op.execute("ALTER TABLE message_tracking ADD COLUMN destroyed_at timestamptz")
    op.execute(
        "ALTER TABLE message_tracking ADD CONSTRAINT message_tracking_destroyed_nowhere "
        "CHECK (destroyed_at IS NULL OR holder_tenant_id IS NULL)"
    )


def downgrade() -> None:
    op.execute("ALTER TABLE message_tracking DROP CONSTRAINT message_tracking_destroyed_nowhere")
    op.execute("ALTER TABLE message_tracking DROP COLUMN destroyed_at")
    op.execute("DROP TABLE destruction_records")
    op.execute("ALTER TABLE tenants DROP COLUMN retention_years")
