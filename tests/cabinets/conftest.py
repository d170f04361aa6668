"""The message world most cabinet tests share: a region whose road service has a full staff,
each signed in, and a citizen (modules needing other settings define their own ``world``)."""

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from cabinets.app import create_app
from tenancy.database import DatabaseUrls
from tenancy.settings import Settings
from tests.cabinets.message_world import World, open_world, seed_message_world


@pytest.fixture
def world(
    settings: Settings, clean_database: DatabaseUrls, tenant_data: Callable[..., Any]
) -> Iterator[World]:
    seed_message_world(clean_database, tenant_data)
    yield from open_world(create_app(settings))
