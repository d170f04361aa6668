"""API tokens for integrations: one tenant, one role, hashed, expiring, revocable.

A token is a policy subject of its own (``token:<id>``), so issuing and revoking one is
announced on ``priemnaya_policy`` like any grant.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from collections.abc import Sequence

from alembic import op

from tenancy.rls import tenant_isolation

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE api_tokens (
            tenant_id uuid NOT NULL REFERENCES tenants (id),
            id uuid NOT NULL,
            name text NOT NULL CHECK (length(btrim(name)) > 0),
            role text NOT NULL,
            secret_hash bytea NOT NULL,
            created_by text NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now(),
            expires_at timestamptz,
            revoked_at timestamptz,
            last_used_at timestamptz,
            PRIMARY KEY (tenant_id, id)
        )
        """
    )
    # Authentication finds a token by its id before it knows the tenant.
    op.execute("CREATE INDEX ix_api_tokens_id ON api_tokens (id)")
    for statement in tenant_isolation("api_tokens"):
        op.execute(statement)
    op.execute("CREATE POLICY policy_readable ON api_tokens FOR SELECT USING (true)")
    op.execute("GRANT SELECT, UPDATE (last_used_at) ON api_tokens TO priemnaya_app")

    # Issuing adds the token's grant; revoking removes it. Other updates (last use) say nothing.
    op.execute(
        """
        CREATE FUNCTION announce_token_change() RETURNS trigger
        LANGUAGE plpgsql AS $$
        DECLARE
            chunk json;
            op text;
        BEGIN
            FOR op, chunk IN
                SELECT CASE WHEN revoked THEN 'remove' ELSE 'add' END,
                       json_agg(json_build_array('token:' || id, role, tenant_id))
                FROM (
                    SELECT id, role, tenant_id, revoked_at IS NOT NULL AS revoked,
                           (row_number() OVER () - 1) / 50 AS part
                    FROM changed
                    WHERE TG_OP = 'INSERT' OR revoked_at IS NOT NULL
                ) numbered
                GROUP BY revoked, part
            LOOP
                PERFORM pg_notify('priemnaya_policy', json_build_object(
                    'kind', 'grant', 'op', op, 'rows', chunk)::text);
            END LOOP;
            RETURN NULL;
        END
        $$
        """
    )
    for event in ("INSERT", "UPDATE"):
        op.execute(
            f"CREATE TRIGGER announce_token_{event.lower()} AFTER {event} ON api_tokens "
            "REFERENCING NEW TABLE AS changed "
            "FOR EACH STATEMENT EXECUTE FUNCTION announce_token_change()"
        )


def downgrade() -> None:
    op.execute("DROP TABLE api_tokens")
    op.execute("DROP FUNCTION announce_token_change()")
