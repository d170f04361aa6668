"""Message changes announced as they commit: an open inbox or card learns that someone acted.

A deferred constraint trigger on ``messages`` fires at commit, once per changed row, and
NOTIFYs ``priemnaya_messages`` with the tenant, the message, its version, status and
assignee, and who acted and when (the history event the same transaction wrote, which exists
by commit time though not yet when the row is updated). Pages subscribe through one listening
connection per process (``cabinets.messages.live``), which checks each reader's permission
before passing an event on: the payload carries ids and a name, never the message's content.

Revision ID: 0016
Revises: 0011
Create Date: 2026-12-01
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
        CREATE FUNCTION announce_message_change() RETURNS trigger
        LANGUAGE plpgsql AS $$
        DECLARE
            last record;
        BEGIN
            SELECT e.actor_name, e.kind, e.occurred_at INTO last
            FROM message_events e
            WHERE e.tenant_id = NEW.tenant_id AND e.message_id = NEW.id
            ORDER BY e.id DESC LIMIT 1;
            PERFORM pg_notify('priemnaya_messages', json_build_object(
                't', NEW.tenant_id, 'm', NEW.id, 'v', NEW.version, 's', NEW.status,
                'a', NEW.assignee_id, 'who', last.actor_name, 'kind', last.kind,
                'at', coalesce(last.occurred_at, NEW.updated_at)
            )::text);
            RETURN NULL;
        END
        $$
        """
    )
    op.execute(
        """
        CREATE CONSTRAINT TRIGGER messages_announce_change
        AFTER INSERT OR UPDATE ON messages
        DEFERRABLE INITIALLY DEFERRED
        FOR EACH ROW EXECUTE FUNCTION announce_message_change()
        """
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER messages_announce_change ON messages")
    op.execute("DROP FUNCTION announce_message_change()")
