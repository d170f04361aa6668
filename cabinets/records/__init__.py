"""Records retention: closed messages kept for the tenant's period, then destroyed by a
formal record (акт) that is itself kept."""
