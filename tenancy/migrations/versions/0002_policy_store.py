"""The policy store: global users, staff grants per tenant, platform grants, custom roles.

Every change to these tables, and to a tenant's parent or status, is announced on the
``priemnaya_policy`` channel by statement-level triggers in the writing transaction, so every
web and worker process applies it within moments of the commit, whoever wrote it.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from collections.abc import Sequence

from alembic import op

from tenancy.rls import tenant_isolation

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# One notification carries at most this many rows; PostgreSQL caps a payload at 8000 bytes.
_ROWS_PER_NOTIFICATION = 50

# kind, table, the JSON of one row (from the transition table "rows").
_ANNOUNCED = {
    "grant": (
        "staff_grants",
        "json_build_array(rows.user_id, rows.role, rows.tenant_id)",
    ),
    "platform_grant": (
        "platform_grants",
        "json_build_array(rows.user_id, rows.role, 'platform')",
    ),
    "role": (
        "custom_roles",
        "json_build_array(rows.tenant_id, rows.name, rows.permissions)",
    ),
    "user": ("users", "json_build_array(rows.id, rows.status)"),
    "tenant": ("tenants", "json_build_array(rows.id, rows.parent_id, rows.status, rows.slug)"),
}


def _announce_function(kind: str, row_json: str) -> str:
    return f"""
    CREATE FUNCTION announce_{kind}_change() RETURNS trigger
    LANGUAGE plpgsql AS $$
    DECLARE
        chunk json;
        op text := TG_ARGV[0];
    BEGIN
        FOR chunk IN
            SELECT json_agg(item) FROM (
                SELECT {row_json} AS item,
                       (row_number() OVER () - 1) / {_ROWS_PER_NOTIFICATION} AS part
                FROM changed AS rows
            ) numbered
            GROUP BY part
        LOOP
            PERFORM pg_notify('priemnaya_policy', json_build_object(
                'kind', '{kind}', 'op', op, 'rows', chunk)::text);
        END LOOP;
        RETURN NULL;
    END
    $$
    """


def _announce_triggers(kind: str, table: str) -> list[str]:
    statements = []
    for event, transition, op_name in (
        ("INSERT", "NEW", "add"),
        ("UPDATE", "NEW", "add"),
        ("DELETE", "OLD", "remove"),
    ):
        statements.append(
            f"CREATE TRIGGER announce_{kind}_{event.lower()} AFTER {event} ON {table} "
            f"REFERENCING {transition} TABLE AS changed "
            f"FOR EACH STATEMENT EXECUTE FUNCTION announce_{kind}_change('{op_name}')"
        )
    return statements


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE users (
            id uuid PRIMARY KEY,
            email text NOT NULL CHECK (email = lower(email) AND email ~ '^[^@\\s]+@[^@\\s]+$'),
            name text NOT NULL CHECK (length(btrim(name)) > 0),
            status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'deactivated')),
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now(),
            UNIQUE (email)
        )
        """
    )
    op.execute("GRANT SELECT ON users TO priemnaya_app")

    # The policy store proper: the casbin ``g`` rules of tenant roles, one row per grant.
    op.execute(
        """
        CREATE TABLE staff_grants (
            tenant_id uuid NOT NULL REFERENCES tenants (id),
            user_id uuid NOT NULL REFERENCES users (id),
            role text NOT NULL CHECK (role ~ '^[a-z][a-z0-9_-]{1,39}$'),
            granted_at timestamptz NOT NULL DEFAULT now(),
            granted_by text NOT NULL,
            PRIMARY KEY (tenant_id, user_id, role)
        )
        """
    )
    op.execute("CREATE INDEX ix_staff_grants_user ON staff_grants (user_id)")

    op.execute(
        """
        CREATE TABLE custom_roles (
            tenant_id uuid NOT NULL REFERENCES tenants (id),
            name text NOT NULL CHECK (name ~ '^[a-z][a-z0-9_-]{1,39}$'),
            description text NOT NULL DEFAULT '',
            permissions text[] NOT NULL CHECK (cardinality(permissions) > 0),
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (tenant_id, name)
        )
        """
    )

    for table in ("staff_grants", "custom_roles"):
        for statement in tenant_isolation(table):
            op.execute(statement)
        # Every process must be able to authorise a request for any tenant, so the policy is
        # readable across tenants; writes stay confined to the transaction's tenants.
        op.execute(f"CREATE POLICY policy_readable ON {table} FOR SELECT USING (true)")
        op.execute(f"GRANT SELECT, INSERT, DELETE ON {table} TO priemnaya_app")
    op.execute(
        "GRANT UPDATE (description, permissions, updated_at) ON custom_roles TO priemnaya_app"
    )

    op.execute(
        """
        CREATE TABLE platform_grants (
            user_id uuid NOT NULL REFERENCES users (id),
            role text NOT NULL CHECK (role IN ('operator', 'platform_admin')),
            granted_at timestamptz NOT NULL DEFAULT now(),
            granted_by text NOT NULL,
            PRIMARY KEY (user_id, role)
        )
        """
    )
    op.execute("GRANT SELECT ON platform_grants TO priemnaya_app")

    # Changes that belong to no tenant: users, platform grants.
    op.execute(
        """
        CREATE TABLE platform_audit_log (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            occurred_at timestamptz NOT NULL DEFAULT now(),
            actor text NOT NULL,
            action text NOT NULL,
            object_type text NOT NULL,
            object_id text NOT NULL,
            changes jsonb NOT NULL DEFAULT '{}'::jsonb,
            source text
        )
        """
    )
    op.execute("CREATE INDEX ix_platform_audit_log_time ON platform_audit_log (occurred_at DESC)")
    op.execute("GRANT SELECT ON platform_audit_log TO priemnaya_app")

    for kind, (table, row_json) in _ANNOUNCED.items():
        op.execute(_announce_function(kind, row_json))
        for statement in _announce_triggers(kind, table):
            op.execute(statement)


def downgrade() -> None:
    for kind, (table, _) in _ANNOUNCED.items():
        for event in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER announce_{kind}_{event} ON {table}")
        op.execute(f"DROP FUNCTION announce_{kind}_change()")
    op.execute("DROP TABLE platform_audit_log")
    op.execute("DROP TABLE platform_grants")
    op.execute("DROP TABLE custom_roles")
    op.execute("DROP TABLE staff_grants")
    op.execute("DROP TABLE users")
