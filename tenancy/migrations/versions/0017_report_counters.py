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

Two coarser tables answer the commonest question, a report over all time, from fewer rows:
``report_totals`` per (tenant, topic, territory) and ``report_weeks`` (received, answered, on
time) per tenant and week, for the trend. The same triggers keep all three.

Each primary key carries its counters (INCLUDE): a report reads a subtree's rows from the
index alone, in key order, wherever in the table time put them.

Days are the database's days (its TimeZone), as the report's period has always been read.
"Overdue now" depends on the clock, so it is not kept here: the report counts it from
``messages_deadline`` (migration 0010).

``recount_report_counters()`` rebuilds the three from ``messages``: the upgrade fills it with
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
DAY = "m.received_at::date"
# The Monday of the day's week (2000-01-03 was one), in integer arithmetic.
WEEK = "m.received_at::date - ((m.received_at::date - DATE '2000-01-03') % 7 + 7) % 7"


def _counts() -> dict[str, str]:
    """Each counter and what one message row (aliased m) adds to it. (Functions, not
    constants: the migration runner reads module-level assignments as literals.)"""
    return {
        "received": "1",
        **{f"status_{s}": f"(m.status = '{s}')::int" for s in STATUSES},
        "answers": "(m.answered_at IS NOT NULL)::int",
        "answers_on_time": "coalesce(m.answered_at <= m.due_at, false)::int",
        "answers_timed": "(m.answered_at IS NOT NULL AND m.registered_at IS NOT NULL)::int",
        "ratings": "(m.rating IS NOT NULL)::int",
        "rating_sum": "coalesce(m.rating, 0)",
        "reopened": "(m.reopened_count > 0)::int",
        # The days to answer, summed exactly as avg() summed them (numeric).
        "answer_days": "coalesce(extract(epoch FROM m.answered_at - m.registered_at) / 86400.0, 0)",
    }


def _tables() -> dict[str, tuple[dict[str, str], tuple[str, ...]]]:
    """Each table of counters: its key (column → what a message gives it) and its counters."""
    every = tuple(_counts())
    place = {"topic_code": "m.topic_code", "territory_code": "m.territory_code"}
    return {
        "report_counters": ({"tenant_id": "m.tenant_id", "day": DAY, **place}, every),
        "report_totals": ({"tenant_id": "m.tenant_id", **place}, every),
        "report_weeks": (
            {"tenant_id": "m.tenant_id", "week": WEEK},
            ("received", "answers", "answers_on_time"),
        ),
    }


def _sums(table: str, rows: str, sign: str) -> str:
    """Per key of ``table``, the counters of ``rows`` (aliased m) times ``sign``."""
    key, columns = _tables()[table]
    counts = _counts()
    keys = ", ".join(f"{expression} AS {name}" for name, expression in key.items())
    sums = ", ".join(f"sum({sign} * {counts[name]}) AS {name}" for name in columns)
    return f"SELECT {keys}, {sums} FROM {rows} m GROUP BY {', '.join(key)}"


def _changes(table: str, event: str) -> str:
    """What one statement's ``event`` changed, per key of ``table``."""
    if event == "insert":
        return _sums(table, "new_rows", "1")
    if event == "delete":
        return _sums(table, "old_rows", "-1")
    key, columns = _tables()[table]
    return f"""
        SELECT {", ".join(key)}, {", ".join(f"sum({c}) AS {c}" for c in columns)}
        FROM ({_sums(table, "new_rows", "1")} UNION ALL {_sums(table, "old_rows", "-1")}) s
        GROUP BY {", ".join(key)}
    """


def _upsert(table: str, event: str) -> str:
    """Add what ``event`` changed to ``table``, key by key in order (so concurrent statements
    lock in one order), skipping keys where nothing changed."""
    key, columns = _tables()[table]
    names = ", ".join((*key, *columns))
    nonzero = " OR ".join(f"d.{c} <> 0" for c in columns)
    added = ", ".join(f"{c} = c.{c} + EXCLUDED.{c}" for c in columns)
    return f"""
        INSERT INTO {table} AS c ({names})
        SELECT {", ".join(f"d.{c}" for c in (*key, *columns))} FROM ({_changes(table, event)}) d
        WHERE {nonzero}
        ORDER BY {", ".join(f"d.{c}" for c in key)}
        ON CONFLICT ({", ".join(key)}) DO UPDATE SET {added}
    """


def _create(table: str) -> str:
    key, columns = _tables()[table]
    types = {"tenant_id": "uuid NOT NULL REFERENCES tenants (id)", "day": "date NOT NULL",
             "week": "date NOT NULL", "topic_code": "text NOT NULL",
             "territory_code": "text NOT NULL"}  # fmt: skip
    definitions = [f"{name} {types[name]}" for name in key] + [
        f"{name} {'numeric' if name == 'answer_days' else 'integer'} NOT NULL DEFAULT 0"
        for name in columns
    ]
    return f"""
        CREATE TABLE {table} (
            {", ".join(definitions)},
            PRIMARY KEY ({", ".join(key)}) INCLUDE ({", ".join(columns)})
        )
    """


def upgrade() -> None:
    for table in _tables():
        op.execute(_create(table))
        for statement in tenant_isolation(table):
            op.execute(statement)
        # The app role writes counters only through the triggers, which run as it (under RLS).
        op.execute(f"GRANT SELECT, INSERT, UPDATE ON {table} TO priemnaya_app")

    for event in ("insert", "update", "delete"):
        upserts = ";\n".join(_upsert(table, event) for table in _tables())
        op.execute(
            f"""
            CREATE FUNCTION report_counters_after_{event}() RETURNS trigger
            LANGUAGE plpgsql AS $$
            BEGIN
                {upserts};
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

    recounts = "\n".join(
        f"DELETE FROM {table}; INSERT INTO {table} ({', '.join((*key, *columns))}) "
        f"{_sums(table, 'messages', '1')} ORDER BY {', '.join(key)};"
        for table, (key, columns) in _tables().items()
    )
    op.execute(
        f"""
        CREATE FUNCTION recount_report_counters() RETURNS void
        LANGUAGE sql AS $$
            {recounts}
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
    op.execute("DROP TABLE report_weeks, report_totals, report_counters")
