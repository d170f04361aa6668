"""Sign-in: passwords, browser sessions, identities at OpenID providers, one-time links and
failed attempts (the throttle).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Citizens are people too: they sign in through a provider and follow their own messages.
    op.execute(
        "ALTER TABLE users ADD COLUMN kind text NOT NULL DEFAULT 'staff' "
        "CHECK (kind IN ('staff', 'citizen'))"
    )
    op.execute("ALTER TABLE users ADD COLUMN password_hash text")
    op.execute("ALTER TABLE users ADD COLUMN password_changed_at timestamptz")
    # The web app creates citizens on their first sign-in and stores passwords set through a
    # one-time link; everything else about people stays with provisioning.
    op.execute("GRANT INSERT (id, email, name, kind) ON users TO priemnaya_app")
    op.execute(
        "GRANT UPDATE (password_hash, password_changed_at, updated_at) ON users TO priemnaya_app"
    )

    op.execute(
        """
        CREATE TABLE web_sessions (
            id uuid PRIMARY KEY,
            secret_hash bytea NOT NULL,
            user_id uuid NOT NULL REFERENCES users (id),
            created_at timestamptz NOT NULL DEFAULT now(),
            last_seen_at timestamptz NOT NULL DEFAULT now(),
            expires_at timestamptz NOT NULL,
            ended_at timestamptz,
            ip text,
            user_agent text,
            provider text,
            id_token text
        )
        """
    )
    op.execute("CREATE INDEX web_sessions_user ON web_sessions (user_id) WHERE ended_at IS NULL")
    op.execute(
        "GRANT SELECT, INSERT, UPDATE (last_seen_at, expires_at, ended_at) ON web_sessions "
        "TO priemnaya_app"
    )

    op.execute(
        """
        CREATE TABLE user_identities (
            issuer text NOT NULL,
            subject text NOT NULL,
            user_id uuid NOT NULL REFERENCES users (id),
            email text,
            linked_at timestamptz NOT NULL DEFAULT now(),
            last_sign_in_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (issuer, subject)
        )
        """
    )
    op.execute("CREATE INDEX user_identities_user ON user_identities (user_id)")
    op.execute(
        "GRANT SELECT, INSERT, UPDATE (email, last_sign_in_at) ON user_identities TO priemnaya_app"
    )

    op.execute(
        """
        CREATE TABLE account_links (
            id uuid PRIMARY KEY,
            secret_hash bytea NOT NULL,
            user_id uuid NOT NULL REFERENCES users (id),
            purpose text NOT NULL CHECK (purpose IN ('reset', 'invitation')),
            created_at timestamptz NOT NULL DEFAULT now(),
            created_by text NOT NULL,
            expires_at timestamptz NOT NULL,
            used_at timestamptz
        )
        """
    )
    op.execute("CREATE INDEX account_links_user ON account_links (user_id)")
    op.execute("GRANT SELECT, INSERT, UPDATE (used_at) ON account_links TO priemnaya_app")

    op.execute(
        """
        CREATE TABLE sign_in_failures (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            scope text NOT NULL CHECK (scope IN ('account', 'ip')),
            key text NOT NULL,
            failed_at timestamptz NOT NULL DEFAULT now(),
            reason text NOT NULL
        )
        """
    )
    op.execute("CREATE INDEX sign_in_failures_key ON sign_in_failures (scope, key, failed_at)")
    op.execute("GRANT SELECT, INSERT, DELETE ON sign_in_failures TO priemnaya_app")
    op.execute("GRANT USAGE ON SEQUENCE sign_in_failures_id_seq TO priemnaya_app")


def downgrade() -> None:
    for table in ("sign_in_failures", "account_links", "user_identities", "web_sessions"):
        op.execute(f"DROP TABLE {table}")
    for column in ("password_changed_at", "password_hash", "kind"):
        op.execute(f"ALTER TABLE users DROP COLUMN {column}")
