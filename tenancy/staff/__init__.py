"""Staff of tenants: global identities and the roles they hold where."""
