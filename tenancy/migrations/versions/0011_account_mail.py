"""Letters about people's accounts (a password reset link, an invitation), delivered by the
worker like the message outbox, but belonging to no tenant.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-24
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE account_mail (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            event_id uuid NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now(),
            kind text NOT NULL CHECK (kind IN ('account.reset', 'account.invitation')),
            recipient text NOT NULL CHECK (recipient LIKE 'mailto:%'),
            payload jsonb NOT NULL,
            attempts integer NOT NULL DEFAULT 0,
            next_attempt_at timestamptz NOT NULL DEFAULT now(),
            delivering_until timestamptz,
            delivered_at timestamptz,
            dead_at timestamptz,
            last_error text
        )
        """
    )
    op.execute(
        "CREATE INDEX account_mail_due ON account_mail (next_attempt_at) "
        "WHERE delivered_at IS NULL AND dead_at IS NULL"
    )
    # The worker forgets delivered notifications after PRIEMNAYA_OUTBOX_KEEP_DAYS: it finds
    # them by this index, without reading the whole outbox each round.
    op.execute(
        "CREATE INDEX outbox_delivered ON outbox (delivered_at) WHERE delivered_at IS NOT NULL"
    )
    # The payload carries a live link: the app may write a letter but never read one back.
    op.execute("GRANT INSERT ON account_mail TO priemnaya_app")


def downgrade() -> None:
    op.execute("DROP INDEX outbox_delivered")
    op.execute("DROP TABLE account_mail")
