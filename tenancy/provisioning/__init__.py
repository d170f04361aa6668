"""Provisioning: declarative manifests of tenants and their staff, planned and applied."""
