"""A small region with territories, a catalog and routes, shared by the routing tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from tenancy.catalog import service as catalog
from tenancy.database import Database
from tenancy.routing import service
from tenancy.tenants import service as tenants
from tenancy.tenants.models import TenantKind
from tenancy.territories import service as territories

FILES = Path(__file__).with_name("routing_files")


async def seed_routing_region(db: Database, tenant_data: Callable[..., Any]) -> None:
    await tenants.create_tenants(
        db,
        [
            tenant_data("region", kind=TenantKind.REGION),
            tenant_data("north", kind=TenantKind.MUNICIPALITY, parent="region"),
            tenant_data("north-roads", kind=TenantKind.OTHER, parent="north"),
            tenant_data("river", kind=TenantKind.MUNICIPALITY, parent="region"),
        ],
        actor="test",
    )
    await territories.import_territories(db, FILES / "territories.csv", actor="t")
    await catalog.import_catalog(db, [FILES / "categories.csv", FILES / "topics.csv"], actor="t")
    await catalog.publish_catalog(db, actor="t")
    await service.import_rules(db, FILES / "routes.csv", actor="t")
