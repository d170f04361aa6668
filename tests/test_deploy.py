"""The deploy files are checked: the Kubernetes manifests against the Kubernetes schemas
(kubernetes-validate, strict: no unknown field), the compose file against the Compose
Specification's JSON schema (as vendored by check-jsonschema), and both against what the app
reads (every PRIEMNAYA_ variable they set is a real setting)."""

from __future__ import annotations

import json
import re
from importlib.resources import files
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from tenancy.settings import ENV_PREFIX, Settings

DEPLOY = Path(__file__).parent.parent / "deploy"
KUBERNETES_VERSION = "1.30.0"
MANIFESTS = sorted((DEPLOY / "kubernetes").glob("*.yaml"))


def resources() -> list[dict[str, Any]]:
    found = []
    for path in MANIFESTS:
        found += [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
    return found


def named(kind: str, name: str) -> dict[str, Any]:
    for resource in resources():
        if resource["kind"] == kind and resource["metadata"]["name"] == name:
            return resource
    raise AssertionError(f"no {kind} {name} in deploy/kubernetes")


def containers(resource: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = resource["spec"]["template"]["spec"]["containers"]
    return found


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: p.name)
def test_every_kubernetes_manifest_is_valid_against_the_kubernetes_schemas(path: Path) -> None:
    for resource in yaml.safe_load_all(path.read_text()):
        kubernetes_validate.validate(resource, KUBERNETES_VERSION, strict=True)


def test_web_and_worker_are_separate_deployments_with_probes_and_requests() -> None:
    web = named("Deployment", "priemnaya-web")
    (serve,) = containers(web)
    assert serve["command"][:2] == ["priemnaya", "serve"]
    assert serve["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert serve["readinessProbe"]["httpGet"]["path"] == "/readyz"
    (work,) = containers(named("Deployment", "priemnaya-worker"))
    assert work["command"][:2] == ["priemnaya", "worker"]
    assert work["livenessProbe"]["exec"]["command"]
    for resource in resources():
        if resource["kind"] in ("Deployment", "Job"):
            for container in containers(resource):
                assert {"cpu", "memory"} <= set(container["resources"]["requests"])


def test_the_migration_job_runs_directly_against_postgresql_and_pgbouncer_is_in_front() -> None:
    (migrate,) = containers(named("Job", "priemnaya-migrate"))
    assert migrate["command"] == ["priemnaya", "db", "upgrade"]
    direct = {e["name"]: e for e in migrate["env"]}["PRIEMNAYA_DATABASE_URL"]
    assert direct["valueFrom"]["secretKeyRef"]["key"] == "MIGRATE_DATABASE_URL"
    ini = named("ConfigMap", "priemnaya-pgbouncer")["data"]["pgbouncer.ini"]
    assert re.search(r"^pool_mode = transaction$", ini, re.MULTILINE)
    assert named("ConfigMap", "priemnaya")["data"]["TRANSACTION_POOLER"] == "true"
    named("Service", "priemnaya-pgbouncer")


def test_secrets_come_from_a_secret_and_nothing_secret_sits_in_a_config_map() -> None:
    for resource in resources():
        if resource["kind"] == "Deployment" and resource["metadata"]["name"] != (
            "priemnaya-pgbouncer"
        ):
            for container in containers(resource):
                assert {"secretRef": {"name": "priemnaya"}, "prefix": ENV_PREFIX} in container[
                    "envFrom"
                ]
    config = named("ConfigMap", "priemnaya")["data"]
    assert not {key for key in config if re.search("SECRET|PASSWORD|KEY|DATABASE_URL", key)}


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    return loaded


def test_the_compose_file_is_valid_against_the_compose_specification() -> None:
    schema_file = files("check_jsonschema") / "builtin_schemas/vendor/compose-spec.json"
    schema = json.loads(schema_file.read_text())
    validator = jsonschema.validators.validator_for(schema)
    validator.check_schema(schema)
    errors = [
        f"{list(e.absolute_path)}: {e.message}" for e in validator(schema).iter_errors(compose())
    ]
    assert errors == []


def variables_set() -> set[str]:
    names = set()
    for resource in resources():
        if resource["kind"] == "ConfigMap" and resource["metadata"]["name"] == "priemnaya":
            names |= {ENV_PREFIX + key for key in resource["data"]}
        if resource["kind"] in ("Deployment", "Job"):
            for container in containers(resource):
                names |= {e["name"] for e in container.get("env", [])}
    for service in compose()["services"].values():
        names |= set(service.get("environment", {}))
    anchor = compose()["x-priemnaya"]["environment"]
    return {n for n in names | set(anchor) if n.startswith(ENV_PREFIX)}


def test_every_priemnaya_variable_the_deploy_files_set_is_a_setting() -> None:
    known = {ENV_PREFIX + name.upper() for name in Settings.model_fields}
    assert variables_set() - known == set()
