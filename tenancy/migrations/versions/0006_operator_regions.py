"""Regional operators: the regions whose topics and routing rules each one may change.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("ALTER TABLE platform_grants DROP CONSTRAINT platform_grants_role_check")
    op.execute(
        "ALTER TABLE platform_grants ADD CONSTRAINT platform_grants_role_check "
        "CHECK (role IN ('operator', 'regional_operator', 'platform_admin'))"
    )
    # A regional operator's reach is data, not policy: the enforcer answers "may edit routing",
    # the routing service narrows it to these regions. Deleting the grant deletes the regions.
    op.execute(
        """
        CREATE TABLE operator_regions (
            user_id uuid NOT NULL,
            role text NOT NULL DEFAULT 'regional_operator'
                CHECK (role = 'regional_operator'),
            region_code text NOT NULL REFERENCES territories (code),
            granted_at timestamptz NOT NULL DEFAULT now(),
            granted_by text NOT NULL,
            PRIMARY KEY (user_id, region_code),
            FOREIGN KEY (user_id, role) REFERENCES platform_grants (user_id, role)
                ON DELETE CASCADE
        )
        """
    )
    op.execute("GRANT SELECT ON operator_regions TO priemnaya_app")


def downgrade() -> None:
    op.execute("DROP TABLE operator_regions")
    op.execute("DELETE FROM platform_grants WHERE role = 'regional_operator'")
    op.execute("ALTER TABLE platform_grants DROP CONSTRAINT platform_grants_role_check")
    op.execute(
        "ALTER TABLE platform_grants ADD CONSTRAINT platform_grants_role_check "
        "CHECK (role IN ('operator', 'platform_admin'))"
    )
