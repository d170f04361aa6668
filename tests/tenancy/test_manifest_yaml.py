"""YAML manifests are read from the parser's events: plain text values with their lines, and
what a manifest never needs (aliases, NUL characters, lone surrogates, endless nesting)
refused at its line before anything is looked up."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import main
from tenancy.errors import InvalidInput
from tenancy.provisioning.manifest import read_manifests
from tenancy.settings import Settings

TENANT = """tenants:
  - slug: school-7
    name: Школа № 7
    kind: school
    territory: "046701000"
    inn: "5003052479"
    short_name: ~
    staff:
      - email: head@school7.ru
        name: Мария Соколова
        roles: [admin, approver]
"""

# Nine levels of ten aliases each: about a kilobyte that expands to a billion values.
ALIAS_BOMB = "tenants:\n  - &a0 [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"  - &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]\n" for i in range(1, 10)
)


def problems(tmp_path: Path, content: str | bytes, name: str = "region.yaml") -> str:
    path = tmp_path / name
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_bytes(content)
    with pytest.raises(InvalidInput) as caught:
        read_manifests([path])
    return str(caught.value)


def test_values_stay_text_and_every_entry_knows_its_line(tmp_path: Path) -> None:
    path = tmp_path / "region.yaml"
    path.write_text(TENANT, encoding="utf-8")
    manifest = read_manifests([path])
    (tenant,) = manifest.tenants
    assert tenant.spec.territory == "046701000"
    assert tenant.spec.short_name is None
    assert tenant.location == f"{path}:2"
    (person,) = manifest.staff
    assert (person.spec.roles, person.tenant, person.location) == (
        ["admin", "approver"],
        "school-7",
        f"{path}:9",
    )


def test_an_alias_bomb_is_refused_at_its_first_alias(tmp_path: Path) -> None:
    assert len(ALIAS_BOMB) < 1024
    assert f"{tmp_path / 'region.yaml'}:3: tenants: alias not allowed" in problems(
        tmp_path, ALIAS_BOMB
    )


def test_a_merge_key_is_an_alias_too(tmp_path: Path) -> None:
    content = TENANT + "  - &base {kind: school}\n  - <<: *base\n    slug: school-8\n"
    assert ":13: <<: alias not allowed" in problems(tmp_path, content)


def test_a_nul_character_is_refused_naming_its_field_and_line(tmp_path: Path) -> None:
    content = TENANT.replace("name: Мария Соколова", 'name: "Мария\\0Соколова"')
    assert f"{tmp_path / 'region.yaml'}:10: name: contains a NUL character" in problems(
        tmp_path, content
    )


def test_a_nul_character_in_a_list_is_refused_naming_the_list(tmp_path: Path) -> None:
    content = TENANT.replace("roles: [admin, approver]", 'roles: [admin, "appr\\0over"]')
    assert ":11: roles: contains a NUL character" in problems(tmp_path, content)


def test_a_nul_character_in_csv_is_refused_naming_its_column_and_line(tmp_path: Path) -> None:
    rows = "".join(f"school-{i},Школа № {i},school,,46000000,5003052479\n" for i in range(60))
    content = "slug,name,kind,parent,territory,inn\n" + rows + "school-x,Шк\0ола,school,,1,2\n"
    assert f"{tmp_path / 'tenants.csv'}:62: name: contains a NUL character" in problems(
        tmp_path, content, "tenants.csv"
    )


def test_an_escaped_lone_surrogate_is_refused_at_its_line(tmp_path: Path) -> None:
    content = TENANT.replace("name: Школа № 7", 'name: "Школа \\ud800"')
    assert ":3: yaml: found invalid Unicode character escape code" in problems(tmp_path, content)


def test_a_second_document_is_refused(tmp_path: Path) -> None:
    assert ":12: yaml: expected a single document" in problems(tmp_path, TENANT + "---\n" + TENANT)


def test_nesting_deeper_than_any_manifest_is_refused(tmp_path: Path) -> None:
    assert "nested deeper than" in problems(tmp_path, "tenants: " + "[" * 500 + "]" * 500)


def test_a_key_must_be_a_plain_value(tmp_path: Path) -> None:
    assert ":2: tenants: a key must be a plain value" in problems(
        tmp_path, "tenants:\n  - {[slug]: x}\n"
    )


def test_tenant_apply_exits_2_naming_the_line_and_field(cli_env: Settings, tmp_path: Path) -> None:
    path = tmp_path / "region.yaml"
    path.write_text(TENANT.replace("kind: school", 'kind: "sch\\0ool"'), encoding="utf-8")
    result = CliRunner().invoke(main, ["tenant", "apply", str(path)])
    assert result.exit_code == 2
    assert f"{path}:4: kind: contains a NUL character" in result.output


def test_tenant_apply_refuses_an_alias_bomb_with_exit_2(cli_env: Settings, tmp_path: Path) -> None:
    path = tmp_path / "region.yaml"
    path.write_text(ALIAS_BOMB, encoding="utf-8")
    result = CliRunner().invoke(main, ["tenant", "apply", str(path)])
    assert result.exit_code == 2
    assert f"{path}:3: tenants: alias not allowed" in result.output
