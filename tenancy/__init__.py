"""The multi-tenant substrate: settings, database, migrations, tenants, catalog and routing."""
