from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from storage.errors import KeyOutsideTenant
from storage.keys import ensure_tenant_key, is_tenant_key, object_key, tenant_prefix


def test_a_key_is_tenant_year_month_and_a_random_hex_part() -> None:
    tenant = uuid.UUID("0b1f3f5e-8c1a-4a43-9a51-4b0e0c6f8e21")

    key = object_key(tenant, now=datetime(2025, 2, 7, 23, 30, tzinfo=UTC))

    assert re.fullmatch(rf"{tenant}/2025/02/[0-9a-f]{{32}}", key)
    assert key.startswith(tenant_prefix(tenant))


def test_keys_do_not_repeat() -> None:
    tenant = uuid.uuid4()

    assert len({object_key(tenant) for _ in range(1000)}) == 1000


def test_a_key_of_the_tenant_is_accepted() -> None:
    tenant = uuid.uuid4()
    key = object_key(tenant)

    assert ensure_tenant_key(key, tenant) == key


@pytest.mark.parametrize(
    "make_key",
    [
        pytest.param(lambda own, other: object_key(other), id="another tenant's key"),
        pytest.param(
            lambda own, other: f"{own}/../{object_key(other)}", id="traversal out of the prefix"
        ),
        pytest.param(lambda own, other: f"{own}/2025/01", id="the prefix only"),
        pytest.param(lambda own, other: f"{own}/2025/01/{'a' * 32}/x", id="longer than a key"),
        pytest.param(lambda own, other: f" {object_key(own)}", id="leading space"),
    ],
)
def test_a_key_outside_the_tenants_prefix_is_refused(
    make_key: Callable[[uuid.UUID, uuid.UUID], str],
) -> None:
    own, other = uuid.uuid4(), uuid.uuid4()
    key = make_key(own, other)

    assert not is_tenant_key(key, own)
    with pytest.raises(KeyOutsideTenant, match="does not belong to tenant"):
        ensure_tenant_key(key, own)
