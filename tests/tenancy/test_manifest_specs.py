"""The plain checks of manifest rows agree with the edges' pydantic models: whatever they
accept, the model accepts as the same value; whatever the model refuses, they refuse (and the
model then names the problem)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from tenancy.provisioning.specs import StaffFields, TenantFields, staff_spec, tenant_spec
from tenancy.tenants.identifiers import inn_with_check_digits

INN = inn_with_check_digits("100000001")
VALID: dict[str, str | None] = {
    "slug": "school-7",
    "name": "Школа № 7",
    "kind": "school",
    "inn": INN,
}

TENANT_ROWS: list[dict[str, str | None]] = [
    VALID,
    {**VALID, "parent": "demo-oblast", "territory": "46701000", "status": "suspended"},
    {**VALID, "timezone": "Asia/Yekaterinburg", "calendar": "ru-tatarstan", "short_name": "Ш7"},
    {**VALID, "slug": "School-7"},
    {**VALID, "slug": "-school"},
    {**VALID, "slug": "s" * 64},
    {**VALID, "name": None},
    {**VALID, "name": "Ш" * 501},
    {**VALID, "kind": "university"},
    {**VALID, "kind": None},
    {**VALID, "inn": "1234567890"},
    {**VALID, "inn": None},
    {**VALID, "parent": "Parent"},
    {**VALID, "territory": "4"},
    {**VALID, "territory": "46701000x"},
    {**VALID, "ogrn": "1027700132195"},
    {**VALID, "ogrn": "123"},
    {**VALID, "short_name": "Ш" * 201},
    {**VALID, "timezone": "Mars/Olympus"},
    {**VALID, "calendar": "RU"},
    {**VALID, "calendar": "ru-"},
    {**VALID, "status": "deleted"},
]


def _model(fields: dict[str, str | None]) -> object:
    try:
        return TenantFields.model_validate({k: v for k, v in fields.items() if v is not None})
    except ValidationError:
        return None


@pytest.mark.parametrize("fields", TENANT_ROWS)
def test_a_tenant_row_is_accepted_only_as_the_model_accepts_it(
    fields: dict[str, str | None],
) -> None:
    model = _model(fields)
    fast = tenant_spec(fields)
    if model is None:
        assert fast is None
    elif fast is not None:
        assert isinstance(model, TenantFields)
        assert fast == model.spec()


@pytest.mark.parametrize(
    ("email", "name"),
    [
        ("Head@School7.ru", "Мария Соколова"),
        ("head@school7", "Мария Соколова"),
        ("head school7.ru", "Мария"),
        (None, "Мария"),
        ("a@b.ru", None),
        ("a" * 250 + "@b.ru", "Мария"),
        ("a@b.ru", "М" * 301),
    ],
)
def test_a_staff_row_is_accepted_only_as_the_model_accepts_it(
    email: str | None, name: str | None
) -> None:
    fields = {k: v for k, v in {"email": email, "name": name}.items() if v is not None}
    try:
        model = StaffFields.model_validate({**fields, "roles": ["admin"]}).spec()
    except ValidationError:
        model = None
    fast = staff_spec(email, name, ["admin"])
    if model is None:
        assert fast is None
    elif fast is not None:
        assert fast == model


def test_valid_rows_take_the_plain_path() -> None:
    assert all(tenant_spec(fields) is not None for fields in TENANT_ROWS[:3])
    assert staff_spec("Head@School7.ru", "Мария", []) is not None
