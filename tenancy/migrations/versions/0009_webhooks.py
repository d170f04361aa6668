"""Webhooks: each tenant's subscriptions of its integrations to message events, and what the
outbox needs to deliver them (the subscription a row goes to, the delivery lease).

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30
"""

from collections.abc import Sequence

from alembic import op

from tenancy.rls import tenant_isolation

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The secret is the HMAC key deliveries are signed with, so it is kept as given (a hash
    # could not sign); it is shown once, when the subscription is created.
    op.execute(
        """
        CREATE TABLE webhook_subscriptions (
            tenant_id uuid NOT NULL REFERENCES tenants (id),
            id uuid NOT NULL,
            url text NOT NULL CHECK (url ~ '^https?://'),
            secret text NOT NULL,
            events text[] NOT NULL CHECK (cardinality(events) > 0),
            active boolean NOT NULL DEFAULT true,
            created_at timestamptz NOT NULL DEFAULT now(),
            created_by text NOT NULL,
            PRIMARY KEY (tenant_id, id)
        )
        """
    )
    for statement in tenant_isolation("webhook_subscriptions"):
        op.execute(statement)
    # The app writes a webhook row per matching subscription in the message's transaction; it
    # never reads the secret (only the worker, on the owner connection, signs).
    op.execute(
        "GRANT SELECT (tenant_id, id, url, events, active) ON webhook_subscriptions "
        "TO priemnaya_app"
    )

    # A webhook row names its subscription, whose current URL and secret deliver it; e-mail
    # rows have none. A worker that claims a row leases it until ``delivering_until`` (and
    # moves ``next_attempt_at`` there), so a worker that dies mid-delivery only delays it.
    op.execute("ALTER TABLE outbox ADD COLUMN subscription_id uuid")
    op.execute("ALTER TABLE outbox ADD COLUMN delivering_until timestamptz")
    op.execute(
        "ALTER TABLE outbox ADD CONSTRAINT outbox_webhook_subscription "
        "CHECK ((channel = 'webhook') = (subscription_id IS NOT NULL))"
    )
    op.execute(
        "CREATE INDEX outbox_dead ON outbox (tenant_id, dead_at DESC) WHERE dead_at IS NOT NULL"
    )


def downgrade() -> None:
    op.execute("DROP INDEX outbox_dead")
    op.execute("DELETE FROM outbox WHERE channel = 'webhook'")
    op.execute("ALTER TABLE outbox DROP CONSTRAINT outbox_webhook_subscription")
    op.execute("ALTER TABLE outbox DROP COLUMN delivering_until")
    op.execute("ALTER TABLE outbox DROP COLUMN subscription_id")
    op.execute("DROP TABLE webhook_subscriptions")
