"""Inbox indexes: deadlines, reopened messages, numbers, and full-text search that row-level
security does not defeat.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-23
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The statuses whose deadline runs, and the message's running deadline: the answer's due date
# once registered, the stage's before (as ``message_read`` computes its ``sla``). Written as
# CASE, not coalesce(): under row-level security PostgreSQL only turns quals it knows to be
# leakproof into index conditions, and it does not know that of COALESCE. The inbox queries
# repeat this expression verbatim (``cabinets.messages.inbox.conditions.DEADLINE``).
CLOCK_STATUSES = "'new', 'registered', 'assigned', 'on_approval'"
DEADLINE = "CASE WHEN due_at IS NULL THEN stage_due_at ELSE due_at END"


def upgrade() -> None:
    # Plans for this tenant's values, always: psycopg prepares statements it runs often, and a
    # generic plan chosen once serves a 58,000-message tenant and a 17-message one alike (and
    # an intake limit check with no key at all) badly. Planning anew costs a fraction of a
    # millisecond; a wrong generic plan costs tens.
    op.execute(
        """
        DO $$ BEGIN
            EXECUTE format('ALTER ROLE priemnaya_app IN DATABASE %I '
                           'SET plan_cache_mode = force_custom_plan', current_database());
        END $$
        """
    )
    # Overdue and due-soon counts and the inbox sorted by deadline read only this index.
    op.execute(
        f"CREATE INDEX messages_deadline ON messages (tenant_id, ({DEADLINE}), id) "
        f"INCLUDE (due_at, stage_due_at) WHERE status IN ({CLOCK_STATUSES})"
    )
    # Messages back in work after a low rating: few, so found without reading the rest.
    op.execute(
        "CREATE INDEX messages_reopened ON messages (tenant_id, received_at DESC, id DESC) "
        "WHERE reopened_count > 0 AND status IN ('registered', 'assigned', 'on_approval')"
    )
    # Staff look a message up by the number the citizen quotes.
    op.execute("CREATE INDEX messages_tracking ON messages (tenant_id, tracking_number)")

    # Search in one tenant: with the tenant in the GIN index too (btree_gin), one index scan
    # intersects the tenant's rows with the words' instead of reading either whole.
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gin")
    op.execute("DROP INDEX messages_search")
    op.execute("CREATE INDEX messages_search ON messages USING gin (tenant_id, search)")

    # Row-level security makes PostgreSQL check a row's tenant before any qual that is not
    # leakproof, and the text-search match (@@) is not: under the app role the GIN index is
    # never used and a search reads every message of the tenant. This function, owned by the
    # schema's owner (who bypasses RLS), applies the same tenant condition as the policy as an
    # ordinary qual, so both go into one index scan. It returns only ids, arrival times and
    # ranks, within the transaction's tenants; callers read the messages themselves, under
    # RLS. (Migrations run as a superuser or a BYPASSRLS role, which ``migrate`` checks; under
    # an owner bound by RLS the function would still answer rightly, only without the index.)
    op.execute(
        """
        CREATE FUNCTION message_search(tenant uuid, query tsquery)
        RETURNS TABLE (id uuid, received_at timestamptz, rank real)
        LANGUAGE sql STABLE SECURITY DEFINER
        SET search_path = pg_catalog, public
        AS $$
            SELECT m.id, m.received_at, ts_rank(m.search, query)
            FROM public.messages m
            WHERE m.tenant_id = tenant
              AND tenant = ANY (public.app_tenant_ids())
              AND m.search @@ query
        $$
        """
    )
    op.execute("REVOKE ALL ON FUNCTION message_search(uuid, tsquery) FROM PUBLIC")
    op.execute("GRANT EXECUTE ON FUNCTION message_search(uuid, tsquery) TO priemnaya_app")


def downgrade() -> None:
    op.execute(
        """
        DO $$ BEGIN
            EXECUTE format('ALTER ROLE priemnaya_app IN DATABASE %I RESET plan_cache_mode',
                           current_database());
        END $$
        """
    )
    op.execute("DROP FUNCTION message_search(uuid, tsquery)")
    op.execute("DROP INDEX messages_search")
    op.execute("CREATE INDEX messages_search ON messages USING gin (search)")
    op.execute("DROP EXTENSION IF EXISTS btree_gin")
    for index in ("messages_tracking", "messages_reopened", "messages_deadline"):
        op.execute(f"DROP INDEX {index}")
