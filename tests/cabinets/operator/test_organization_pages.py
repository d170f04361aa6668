"""Organizations, for platform admins: the tenant tree with status and counts, a tenant's page
with its history and the manifest each change came from, and suspend / resume / archive /
restore with a reason."""

from __future__ import annotations

from pathlib import Path

from tenancy.provisioning import service as provisioning
from tenancy.provisioning.manifest import parse_manifests
from tests.cabinets.operator.conftest import OperatorWorld

MANIFEST = Path(__file__).parents[2] / "tenancy" / "manifests" / "region.yaml"


def test_the_tree_shows_every_organization_with_its_status_and_counts(
    desk: OperatorWorld,
) -> None:
    page = desk.admin.client.get("/operator/organizations")
    assert page.status_code == 200
    assert 'href="/operator/organizations/north-roads"' in page.text
    assert "сотрудников 6, обращений в работе 0 из 0, правил маршрутизации 1" in page.text
    assert "работает" in page.text


def test_operators_do_not_manage_organizations(desk: OperatorWorld) -> None:
    assert desk.operator.client.get("/operator/organizations").status_code == 403
    home = desk.operator.client.get("/operator")
    assert ">Организации</a>" not in home.text


def test_a_suspension_needs_a_reason_and_lands_in_the_history(desk: OperatorWorld) -> None:
    silent = desk.admin.post("/operator/organizations/river/status", action="suspend")
    assert silent.status_code == 422
    assert "Причина: напишите, почему" in silent.text
    suspended = desk.admin.post(
        "/operator/organizations/river/status", action="suspend", reason="реорганизация"
    )
    assert suspended.status_code == 303
    page = desk.admin.client.get(suspended.headers["location"])
    assert "Организация приостановлена" in page.text
    assert "reason: реорганизация" in page.text
    assert "приостановлена" in page.text
    assert "страница оператора" in page.text
    assert "Возобновить" in page.text
    assert "Приостановить" not in page.text
    resumed = desk.admin.post(
        "/operator/organizations/river/status", action="resume", reason="проверка окончена"
    )
    assert resumed.status_code == 303


def test_archiving_a_parent_with_living_children_is_refused(desk: OperatorWorld) -> None:
    refused = desk.admin.post(
        "/operator/organizations/north/status", action="archive", reason="слияние"
    )
    assert refused.status_code == 409
    assert "Сначала отправьте в архив подчинённые организации (north-roads)" in refused.text


def test_each_change_names_the_manifest_it_came_from(desk: OperatorWorld) -> None:
    desk.run(
        lambda db: provisioning.apply_manifest(
            db, parse_manifests([MANIFEST]), actor="cli:admin", source="manifests/region.yaml"
        )
    )
    page = desk.admin.client.get("/operator/organizations/demo-oblast")
    assert page.status_code == 200
    assert "manifests/region.yaml" in page.text
