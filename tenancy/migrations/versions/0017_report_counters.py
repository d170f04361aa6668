"""Report counters: the reports' figures kept per tenant, day of receipt, topic and territory,
so that a report sums counter rows instead of reading every message of a region.

``report_counters`` holds, for each (tenant, day, topic, territory) cell, how many messages
were received, how many are in each status now, how many are answered, answered on time and
timed (answered with a registration date, and the sum of their days to answer), how many are
rated (and the sum of ratings) and how many were ever reopened — exactly what the report used
to count from ``messages``. Statement-level triggers on ``messages`` keep it in the
transaction that changes a message, whichever code changes it: each statement's rows before
and after are summed per cell and added (one upsert per cell, in key order, so concurrent
statements lock cells in one order). An update that changes nothing counted adds nothing.

The primary key carries every counter (INCLUDE): a report reads a subtree's cells from the
index alone, in key order, wherever in the table time put them.

Days are the database's days (its TimeZone), as the report's period has always been read.
"Overdue now" depends on the clock, so it is not kept here: the report counts it from
``messages_deadline`` (migration 0010).

``recount_report_counters()`` rebuilds the table from ``messages``: the upgrade fills it with
it, and a bulk load that bypasses triggers (the benchmarks' COPY) calls it afterwards. Only the
schema's owner may call it.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02
"""

from collections.abc import Sequence

from alembic import op

from tenancy.rls import tenant_isolation

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATUSES = (
    "new", "clarification", "rejected", "registered", "assigned", "on_approval", "answered",
    "closed", "forwarded", "merged",
)  # fmt: skip
KEY = ("tenant_id", "day", "topic_code", "territory_code")


def _counts() -> dict[str, str]:
    """Each counter and what one message row (aliased m) adds to it. (A function: the
    migration runner reads module-level assignments as literals.)"""
    return {
        "received": "1",
        **{f"status_{s}": f"(m.status = '{s}')::int" for s in STATUSES},
        "answers": "(m.answered_at IS NOT NULL)::int",
        "answers_on_time": "coalesce(m.answered_at <= m.due_at, false)::int",
        "answers_timed": "(m.answered_at IS NOT NULL AND m.registered_at IS NOT NULL)::int",
        "ratings": "(m.rating IS NOT NULL)::int",
        "rating_sum": "coalesce(m.rating, 0)",
        "reopened": "(m.reopened_count > 0)::int",
    }


# The days to answer, summed exactly as avg() summed them (numeric).
ANSWER_DAYS = "coalesce(extract(epoch FROM m.answered_at - m.registered_at) / 86400.0, 0)"


def _columns() -> tuple[str, ...]:
    return (*_counts(), "answer_days")


def _sums(rows: str, sign: str) -> str:
    """Per cell, the counters of ``rows`` (aliased m) times ``sign``."""
    counts = ", ".join(f"sum({sign} * {counted}) AS {name}" for name, counted in _counts().items())
    return f"""
        SELECT m.tenant_id, m.received_at::date AS day, m.topic_code, m.territory_code,
               {counts}, sum({sign} * {ANSWER_DAYS}) AS answer_days
        FROM {rows} m GROUP BY 1, 2, 3, 4
    """


def _upsert(changes: str) -> str:
    """Add the per-cell ``changes`` (a query with every column) to the counters, skipping cells
    where nothing changed."""
    names = ", ".join((*KEY, *_columns()))
    nonzero = " OR ".join(f"d.{c} <> 0" for c in _columns())
    added = ", ".join(f"{c} = c.{c} + EXCLUDED.{c}" for c in _columns())
    return f"""
        INSERT INTO report_counters AS c ({names})
        SELECT {", ".join(f"d.{c}" for c in (*KEY, *_columns()))} FROM ({changes}) d
        WHERE {nonzero}
        ORDER BY d.tenant_id, d.day, d.topic_code, d.territory_code
        ON CONFLICT ({", ".join(KEY)}) DO UPDATE SET {added}
    """


def upgrade() -> None:
    counters = ",\n".join(f"{name} integer NOT NULL DEFAULT 0" for name in _counts())
    op.execute(
        f"""
        CREATE TABLE report_counters (
            tenant_id uuid NOT NULL REFERENCES tenants (id),
            day date NOT NULL,
            topic_code text NOT NULL,
            territory_code text NOT NULL,
            {counters},
            answer_days numeric NOT NULL DEFAULT 0,
            PRIMARY KEY ({", ".join(KEY)}) INCLUDE ({", ".join(_columns())})
        )
        """
    )
    for statement in tenant_isolation("report_counters"):
        op.execute(statement)
    # The app role writes counters only through the triggers, which run as it (under RLS).
    op.execute("GRANT SELECT, INSERT, UPDATE ON report_counters TO priemnaya_app")

    both = f"""
        SELECT tenant_id, day, topic_code, territory_code,
               {", ".join(f"sum({c}) AS {c}" for c in _columns())}
        FROM ({_sums("new_rows", "1")} UNION ALL {_sums("old_rows", "-1")}) s
        GROUP BY 1, 2, 3, 4
    """
    for event, changes in (
        ("insert", _sums("new_rows", "1")),
        ("update", both),
        ("delete", _sums("old_rows", "-1")),
    ):
        op.execute(
            f"""
            CREATE FUNCTION report_counters_after_{event}() RETURNS trigger
            LANGUAGE plpgsql AS $$
            BEGIN
                {_upsert(changes)};
                RETURN NULL;
            END
            $$
            """
        )
    op.execute(
        "CREATE TRIGGER messages_count_inserted AFTER INSERT ON messages "
        "REFERENCING NEW TABLE AS new_rows "
        "FOR EACH STATEMENT EXECUTE FUNCTION report_counters_after_insert()"
    )
    op.execute(
        "CREATE TRIGGER messages_count_updated AFTER UPDATE ON messages "
        "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows "
        "FOR EACH STATEMENT EXECUTE FUNCTION report_counters_after_update()"
    )
    op.execute(
        "CREATE TRIGGER messages_count_deleted AFTER DELETE ON messages "
        "REFERENCING OLD TABLE AS old_rows "
        "FOR EACH STATEMENT EXECUTE FUNCTION report_counters_after_delete()"
    )

    names = ", ".join((*KEY, *_columns()))
    op.execute(
        f"""
        CREATE FUNCTION recount_report_counters() RETURNS void
        LANGUAGE sql AS $$
            DELETE FROM report_counters;
            INSERT INTO report_counters ({names}) {_sums("messages", "1")} ORDER BY 1, 2, 3, 4;
        $$
        """
    )
    op.execute("REVOKE ALL ON FUNCTION recount_report_counters() FROM PUBLIC")
    op.execute("SELECT recount_report_counters()")


def downgrade() -> None:
    for trigger in ("inserted", "updated", "deleted"):
        op.execute(f"DROP TRIGGER messages_count_{trigger} ON messages")
    for event in ("insert", "update", "delete"):
        op.execute(f"DROP FUNCTION report_counters_after_{event}()")
    op.execute("DROP FUNCTION recount_report_counters()")
    op.execute("DROP TABLE report_counters")
