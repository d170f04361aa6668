"""The topic catalog (versioned), territories and the routing table; shared reference data.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLES = (
    "territories",
    "catalog_versions",
    "catalog_categories",
    "catalog_topics",
    "routing_rules",
)


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE territories (
            code text PRIMARY KEY CHECK (code ~ '^[0-9]{2,11}$'),
            name text NOT NULL CHECK (length(btrim(name)) > 0),
            parent_code text REFERENCES territories (code) CHECK (parent_code <> code),
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now()
        )
        """
    )
    op.execute("CREATE INDEX ix_territories_parent ON territories (parent_code)")

    # One draft and one published version at most; a message keeps the version it was filed
    # under, so superseded versions stay.
    op.execute(
        """
        CREATE TABLE catalog_versions (
            id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            status text NOT NULL CHECK (status IN ('draft', 'published', 'superseded')),
            created_at timestamptz NOT NULL DEFAULT now(),
            created_by text NOT NULL,
            published_at timestamptz,
            published_by text
        )
        """
    )
    op.execute(
        "CREATE UNIQUE INDEX ux_catalog_versions_current ON catalog_versions (status) "
        "WHERE status IN ('draft', 'published')"
    )
    op.execute(
        """
        CREATE TABLE catalog_categories (
            version_id integer NOT NULL REFERENCES catalog_versions (id),
            code text NOT NULL CHECK (code ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$'),
            parent_code text,
            title text NOT NULL CHECK (length(btrim(title)) > 0),
            PRIMARY KEY (version_id, code)
        )
        """
    )
    op.execute(
        """
        CREATE TABLE catalog_topics (
            version_id integer NOT NULL REFERENCES catalog_versions (id),
            code text NOT NULL CHECK (code ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$'),
            category_code text NOT NULL,
            title text NOT NULL CHECK (length(btrim(title)) > 0),
            description text NOT NULL DEFAULT '',
            keywords text[] NOT NULL DEFAULT '{}',
            deadline_days integer NOT NULL CHECK (deadline_days BETWEEN 1 AND 60),
            calendar text NOT NULL CHECK (calendar IN ('calendar', 'working')),
            moderation_days integer NOT NULL DEFAULT 1 CHECK (moderation_days >= 0),
            registration_days integer NOT NULL DEFAULT 3 CHECK (registration_days >= 0),
            photo_required boolean NOT NULL DEFAULT false,
            address_required boolean NOT NULL DEFAULT false,
            fields jsonb NOT NULL DEFAULT '[]'::jsonb,
            active boolean NOT NULL DEFAULT true,
            region_code text REFERENCES territories (code),
            PRIMARY KEY (version_id, code)
        )
        """
    )
    op.execute(
        """
        CREATE TABLE routing_rules (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            topic text NOT NULL,
            territory_code text NOT NULL REFERENCES territories (code),
            -- the tenant that must answer; not an owner: rules are shared reference data
            responsible_tenant_id uuid NOT NULL REFERENCES tenants (id),
            priority integer NOT NULL DEFAULT 0,
            valid_from date,
            valid_to date,
            created_at timestamptz NOT NULL DEFAULT now(),
            created_by text NOT NULL,
            CHECK (valid_to IS NULL OR valid_from IS NULL OR valid_to >= valid_from)
        )
        """
    )
    op.execute("CREATE INDEX ix_routing_rules_place ON routing_rules (territory_code, topic)")
    op.execute("CREATE INDEX ix_routing_rules_tenant ON routing_rules (responsible_tenant_id)")
    for table in _TABLES:
        op.execute(f"GRANT SELECT ON {table} TO priemnaya_app")

    # Every process's routing index goes stale when any of these change.
    op.execute(
        """
        CREATE FUNCTION announce_routing_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('priemnaya_routing', TG_TABLE_NAME);
            RETURN NULL;
        END
        $$
        """
    )
    for table in ("territories", "catalog_versions", "routing_rules", "tenants"):
        op.execute(
            f"CREATE TRIGGER announce_routing_{table} AFTER INSERT OR UPDATE OR DELETE "
            f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION announce_routing_change()"
        )


def downgrade() -> None:
    for table in ("territories", "catalog_versions", "routing_rules", "tenants"):
        op.execute(f"DROP TRIGGER announce_routing_{table} ON {table}")
    op.execute("DROP FUNCTION announce_routing_change()")
    for table in reversed(_TABLES):
        op.execute(f"DROP TABLE {table}")
