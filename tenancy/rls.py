"""Row-level security for tenant-owned tables, used by migrations.

Every table with a ``tenant_id`` gets FORCE ROW LEVEL SECURITY and one policy: a row is
visible and writable only when its ``tenant_id`` is among the transaction's ``app.tenant_ids``.
"""

from __future__ import annotations

APP_TENANT_IDS_FUNCTION = """
CREATE OR REPLACE FUNCTION app_tenant_ids() RETURNS uuid[]
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT coalesce(
        string_to_array(nullif(current_setting('app.tenant_ids', true), ''), ',')::uuid[],
        '{}'::uuid[]
    )
$$
"""


def tenant_isolation(table: str) -> list[str]:
    """Statements that put ``table`` under tenant isolation."""
    return [
        f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
        f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY",
        f"CREATE POLICY tenant_isolation ON {table} "
        "USING (tenant_id = ANY (app_tenant_ids())) "
        "WITH CHECK (tenant_id = ANY (app_tenant_ids()))",
    ]
