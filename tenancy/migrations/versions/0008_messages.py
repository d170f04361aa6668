"""Messages: the citizen's message in the responsible tenant, its append-only history, the
per-tenant registration numbers, the public tracking numbers, the operator's queue of messages
nobody is responsible for, and the notification outbox.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23
"""

from collections.abc import Sequence

from alembic import op

from tenancy.rls import tenant_isolation

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATUSES = (
    "new", "clarification", "rejected", "registered", "assigned", "on_approval", "answered",
    "closed", "forwarded", "merged",
)  # fmt: skip


def upgrade() -> None:
    statuses = ", ".join(f"'{s}'" for s in STATUSES)
    op.execute("ALTER TABLE users ADD COLUMN position text")
    op.execute(
        f"""
        CREATE TABLE messages (
            tenant_id uuid NOT NULL REFERENCES tenants (id),
            id uuid NOT NULL,
            tracking_number text NOT NULL,
            topic_code text NOT NULL,
            catalog_version_id integer NOT NULL REFERENCES catalog_versions (id),
            territory_code text NOT NULL REFERENCES territories (code),
            address text,
            latitude double precision CHECK (latitude BETWEEN -90 AND 90),
            longitude double precision CHECK (longitude BETWEEN -180 AND 180),
            summary text NOT NULL,
            body text NOT NULL,
            fields jsonb NOT NULL DEFAULT '{{}}'::jsonb,
            applicant jsonb NOT NULL,
            citizen_id uuid REFERENCES users (id),
            consent_at timestamptz NOT NULL,
            status text NOT NULL CHECK (status IN ({statuses})),
            version integer NOT NULL DEFAULT 1,
            received_at timestamptz NOT NULL DEFAULT now(),
            stage_due_at timestamptz,
            registration_number text,
            registered_at timestamptz,
            assignee_id uuid REFERENCES users (id),
            due_at timestamptz,
            extensions integer NOT NULL DEFAULT 0,
            reopened_count integer NOT NULL DEFAULT 0,
            answer_body text,
            answer_author_id uuid REFERENCES users (id),
            answered_at timestamptz,
            rating smallint CHECK (rating BETWEEN 1 AND 5),
            rating_comment text,
            closed_at timestamptz,
            forwarded_from_tenant_id uuid,
            forwarded_from_id uuid,
            forwarded_to_tenant_id uuid REFERENCES tenants (id),
            merged_into_id uuid,
            escalated_at timestamptz,
            updated_at timestamptz NOT NULL DEFAULT now(),
            search tsvector GENERATED ALWAYS AS (
                setweight(to_tsvector('russian', summary), 'A') ||
                setweight(to_tsvector('russian', body), 'B')
            ) STORED,
            PRIMARY KEY (tenant_id, id),
            UNIQUE (tenant_id, registration_number)
        )
        """
    )
    op.execute(
        "CREATE INDEX messages_inbox ON messages (tenant_id, status, received_at DESC, id DESC)"
    )
    op.execute("CREATE INDEX messages_recent ON messages (tenant_id, received_at DESC, id DESC)")
    op.execute(
        "CREATE INDEX messages_assignee ON messages (tenant_id, assignee_id, status) "
        "WHERE assignee_id IS NOT NULL"
    )
    op.execute(
        "CREATE INDEX messages_due ON messages (tenant_id, due_at) "
        "WHERE status IN ('registered', 'assigned', 'on_approval')"
    )
    op.execute("CREATE INDEX messages_search ON messages USING gin (search)")
    op.execute(
        "CREATE INDEX messages_citizen ON messages (citizen_id) WHERE citizen_id IS NOT NULL"
    )

    # History is append-only: the app role may add events, never change them.
    op.execute(
        """
        CREATE TABLE message_events (
            tenant_id uuid NOT NULL REFERENCES tenants (id),
            id bigint GENERATED ALWAYS AS IDENTITY,
            message_id uuid NOT NULL,
            occurred_at timestamptz NOT NULL DEFAULT now(),
            kind text NOT NULL,
            actor_kind text NOT NULL CHECK (actor_kind IN ('staff', 'citizen', 'system')),
            actor_id uuid,
            actor_name text,
            actor_position text,
            from_status text,
            to_status text,
            reason text,
            payload jsonb NOT NULL DEFAULT '{}'::jsonb,
            public boolean NOT NULL,
            PRIMARY KEY (tenant_id, id),
            FOREIGN KEY (tenant_id, message_id) REFERENCES messages (tenant_id, id)
        )
        """
    )
    op.execute("CREATE INDEX message_events_message ON message_events (tenant_id, message_id, id)")

    op.execute(
        """
        CREATE TABLE registration_counters (
            tenant_id uuid NOT NULL REFERENCES tenants (id),
            year integer NOT NULL,
            last_number integer NOT NULL,
            PRIMARY KEY (tenant_id, year)
        )
        """
    )

    op.execute(
        """
        CREATE TABLE outbox (
            tenant_id uuid NOT NULL REFERENCES tenants (id),
            id bigint GENERATED ALWAYS AS IDENTITY,
            event_id uuid NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now(),
            kind text NOT NULL,
            channel text NOT NULL CHECK (channel IN ('email', 'webhook')),
            recipient text NOT NULL,
            message_id uuid,
            payload jsonb NOT NULL,
            attempts integer NOT NULL DEFAULT 0,
            next_attempt_at timestamptz NOT NULL DEFAULT now(),
            delivered_at timestamptz,
            dead_at timestamptz,
            last_error text,
            PRIMARY KEY (tenant_id, id)
        )
        """
    )
    op.execute(
        "CREATE INDEX outbox_due ON outbox (next_attempt_at) "
        "WHERE delivered_at IS NULL AND dead_at IS NULL"
    )

    for table in ("messages", "message_events", "registration_counters", "outbox"):
        for statement in tenant_isolation(table):
            op.execute(statement)
    op.execute("GRANT SELECT, INSERT, UPDATE ON messages TO priemnaya_app")
    op.execute("GRANT SELECT, INSERT ON message_events TO priemnaya_app")
    op.execute("GRANT SELECT, INSERT, UPDATE ON registration_counters TO priemnaya_app")
    op.execute("GRANT SELECT, INSERT ON outbox TO priemnaya_app")
    op.execute("GRANT USAGE ON SEQUENCE message_events_id_seq, outbox_id_seq TO priemnaya_app")

    # Files: a citizen's photos (uploaded before the message is sent, so "pending" until the
    # message takes them) and staff's answer documents. Objects live under the tenant's prefix.
    op.execute(
        """
        CREATE TABLE attachments (
            tenant_id uuid NOT NULL REFERENCES tenants (id),
            id uuid NOT NULL,
            message_id uuid,
            purpose text NOT NULL CHECK (purpose IN ('request', 'answer')),
            status text NOT NULL CHECK (status IN ('uploading', 'pending', 'attached')),
            object_key text NOT NULL,
            filename text NOT NULL,
            content_type text NOT NULL,
            size bigint,
            declared_size bigint,
            sha256 bytea,
            secret_hash bytea,
            uploaded_by text NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now(),
            attached_at timestamptz,
            PRIMARY KEY (tenant_id, id),
            UNIQUE (tenant_id, object_key),
            FOREIGN KEY (tenant_id, message_id) REFERENCES messages (tenant_id, id),
            CHECK ((status = 'attached') = (message_id IS NOT NULL))
        )
        """
    )
    op.execute(
        "CREATE INDEX attachments_message ON attachments (tenant_id, message_id) "
        "WHERE message_id IS NOT NULL"
    )
    op.execute(
        "CREATE INDEX attachments_unattached ON attachments (created_at) WHERE status <> 'attached'"
    )
    for statement in tenant_isolation("attachments"):
        op.execute(statement)
    op.execute(
        "GRANT SELECT, INSERT, UPDATE (status, message_id, attached_at, size, sha256, "
        "content_type, filename) ON attachments TO priemnaya_app"
    )
    # Per-tenant limits (the defaults are 10 MiB a file and 5 files a message).
    op.execute(
        "ALTER TABLE tenants ADD COLUMN attachment_max_mb integer NOT NULL DEFAULT 10 "
        "CHECK (attachment_max_mb BETWEEN 1 AND 100)"
    )
    op.execute(
        "ALTER TABLE tenants ADD COLUMN attachment_max_files integer NOT NULL DEFAULT 5 "
        "CHECK (attachment_max_files BETWEEN 0 AND 20)"
    )

    # Answer templates per tenant (and optionally per topic), with placeholders.
    op.execute(
        """
        CREATE TABLE answer_templates (
            tenant_id uuid NOT NULL REFERENCES tenants (id),
            id uuid NOT NULL,
            topic_code text,
            title text NOT NULL CHECK (length(btrim(title)) > 0),
            body text NOT NULL CHECK (length(btrim(body)) > 0),
            created_by text NOT NULL,
            updated_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (tenant_id, id),
            UNIQUE (tenant_id, title)
        )
        """
    )
    for statement in tenant_isolation("answer_templates"):
        op.execute(statement)
    op.execute("GRANT SELECT, INSERT, UPDATE, DELETE ON answer_templates TO priemnaya_app")

    # Shared: the public number a citizen follows, wherever the message now lives. The token's
    # secret is stored as a hash; forwarding moves the pointer to the receiving tenant's copy.
    op.execute("CREATE SEQUENCE tracking_numbers")
    op.execute(
        """
        CREATE TABLE message_tracking (
            number text PRIMARY KEY,
            secret_hash bytea NOT NULL,
            holder_tenant_id uuid REFERENCES tenants (id),
            holder_message_id uuid,
            citizen_id uuid REFERENCES users (id),
            created_at timestamptz NOT NULL DEFAULT now(),
            CHECK ((holder_tenant_id IS NULL) = (holder_message_id IS NULL))
        )
        """
    )
    op.execute(
        "GRANT SELECT, INSERT, UPDATE (holder_tenant_id, holder_message_id) "
        "ON message_tracking TO priemnaya_app"
    )
    op.execute(
        "CREATE INDEX message_tracking_citizen ON message_tracking (citizen_id) "
        "WHERE citizen_id IS NOT NULL"
    )
    op.execute("GRANT USAGE ON SEQUENCE tracking_numbers TO priemnaya_app")

    # Messages that no tenant is responsible for wait here, whole, for the operator: never lost.
    op.execute(
        """
        CREATE TABLE operator_queue (
            id uuid PRIMARY KEY,
            tracking_number text NOT NULL REFERENCES message_tracking (number),
            received_at timestamptz NOT NULL DEFAULT now(),
            topic_code text NOT NULL,
            territory_code text NOT NULL,
            submission jsonb NOT NULL,
            reason text NOT NULL,
            dispatched_at timestamptz,
            dispatched_to uuid REFERENCES tenants (id)
        )
        """
    )
    op.execute("GRANT SELECT, INSERT ON operator_queue TO priemnaya_app")

    # A retried submission returns the first result.
    op.execute(
        """
        CREATE TABLE intake_requests (
            idempotency_key text PRIMARY KEY,
            request_hash bytea NOT NULL,
            tracking_number text NOT NULL,
            response jsonb NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now()
        )
        """
    )
    op.execute("GRANT SELECT, INSERT ON intake_requests TO priemnaya_app")

    # Intake rate limits, per address and per applicant, counted over a sliding hour.
    op.execute(
        """
        CREATE TABLE intake_attempts (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            scope text NOT NULL CHECK (scope IN ('ip', 'applicant')),
            key text NOT NULL,
            at timestamptz NOT NULL DEFAULT now()
        )
        """
    )
    op.execute("CREATE INDEX intake_attempts_key ON intake_attempts (scope, key, at)")
    op.execute("CREATE INDEX intake_attempts_at ON intake_attempts (at)")
    op.execute("GRANT SELECT, INSERT, DELETE ON intake_attempts TO priemnaya_app")
    op.execute("GRANT USAGE ON SEQUENCE intake_attempts_id_seq TO priemnaya_app")


def downgrade() -> None:
    for table in (
        "intake_attempts", "intake_requests", "operator_queue", "message_tracking", "outbox",
        "registration_counters", "message_events", "attachments", "answer_templates",
        "messages",
    ):  # fmt: skip
        op.execute(f"DROP TABLE {table}")
    op.execute("ALTER TABLE tenants DROP COLUMN attachment_max_files")
    op.execute("ALTER TABLE tenants DROP COLUMN attachment_max_mb")
    op.execute("DROP SEQUENCE tracking_numbers")
    op.execute("ALTER TABLE users DROP COLUMN position")
