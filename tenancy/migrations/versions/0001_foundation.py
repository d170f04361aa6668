"""Foundation: the app role, tenants, the audit log, worker heartbeats.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from collections.abc import Sequence

from alembic import op

from tenancy.rls import APP_TENANT_IDS_FUNCTION, tenant_isolation

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The role is cluster-wide; several databases on one server share it.
    op.execute(
        """
        DO $$
        BEGIN
            IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'priemnaya_app') THEN
                CREATE ROLE priemnaya_app LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
            END IF;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
        END
        $$
        """
    )
    op.execute("GRANT USAGE ON SCHEMA public TO priemnaya_app")
    op.execute(APP_TENANT_IDS_FUNCTION)

    op.execute(
        """
        CREATE TABLE tenants (
            id uuid PRIMARY KEY,
            slug text NOT NULL UNIQUE
                CHECK (slug ~ '^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$'),
            name text NOT NULL CHECK (length(btrim(name)) > 0),
            short_name text,
            kind text NOT NULL CHECK (kind IN ('federal', 'region', 'ministry', 'municipality',
                                               'school', 'clinic', 'social', 'culture', 'other')),
            parent_id uuid REFERENCES tenants (id) CHECK (parent_id <> id),
            territory_code text,
            inn text NOT NULL CHECK (inn ~ '^([0-9]{10}|[0-9]{12})$'),
            ogrn text CHECK (ogrn ~ '^([0-9]{13}|[0-9]{15})$'),
            timezone text NOT NULL DEFAULT 'Europe/Moscow',
            status text NOT NULL DEFAULT 'active'
                CHECK (status IN ('active', 'suspended', 'archived')),
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now()
        )
        """
    )
    op.execute("CREATE INDEX ix_tenants_parent_id ON tenants (parent_id)")
    op.execute("GRANT SELECT ON tenants TO priemnaya_app")

    op.execute(
        """
        CREATE TABLE audit_log (
            tenant_id uuid NOT NULL REFERENCES tenants (id),
            id bigint GENERATED ALWAYS AS IDENTITY,
            occurred_at timestamptz NOT NULL DEFAULT now(),
            actor text NOT NULL,
            action text NOT NULL,
            object_type text NOT NULL,
            object_id text NOT NULL,
            changes jsonb NOT NULL DEFAULT '{}'::jsonb,
            source text,
            PRIMARY KEY (tenant_id, id)
        )
        """
    )
    op.execute("CREATE INDEX ix_audit_log_tenant_time ON audit_log (tenant_id, occurred_at DESC)")
    for statement in tenant_isolation("audit_log"):
        op.execute(statement)
    # Append-only for the app: no UPDATE, no DELETE.
    op.execute("GRANT SELECT, INSERT ON audit_log TO priemnaya_app")

    op.execute(
        """
        CREATE TABLE worker_heartbeats (
            worker_id text PRIMARY KEY,
            hostname text NOT NULL,
            pid integer NOT NULL,
            started_at timestamptz NOT NULL,
            seen_at timestamptz NOT NULL
        )
        """
    )
    op.execute("GRANT SELECT ON worker_heartbeats TO priemnaya_app")
    op.execute("GRANT SELECT ON alembic_version TO priemnaya_app")


def downgrade() -> None:
    op.execute("DROP TABLE worker_heartbeats")
    op.execute("DROP TABLE audit_log")
    op.execute("DROP TABLE tenants")
    op.execute("DROP FUNCTION app_tenant_ids()")
