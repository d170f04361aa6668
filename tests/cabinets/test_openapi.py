"""The OpenAPI document is honest: it validates, declares every path parameter, lists the
answers each operation's access and inputs can give, and schemathesis, run against the app
serving on a real port, finds no server error and no answer the document does not describe."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from openapi_spec_validator import validate
from starlette.routing import Route

from cabinets.app import create_app
from tenancy.database import DatabaseUrls
from tenancy.demo import seed_demo
from tenancy.settings import Settings
from tests.databases import run_in_database
from tests.test_up import serving

BIN = Path(sys.executable).parent
# What is checked of every answer; not whether made-up input is accepted (it rarely is).
CHECKS = (
    "not_a_server_error,status_code_conformance,content_type_conformance,"
    "response_headers_conformance,response_schema_conformance"
)
EXAMPLES_PER_OPERATION = 8  # about a minute for both runs on two cores


@pytest.fixture
def document(settings: Settings) -> dict[str, Any]:
    spec: dict[str, Any] = create_app(settings).state.openapi
    return spec


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            yield path, method, operation


def test_the_document_is_valid_openapi_3_1(document: dict[str, Any]) -> None:
    validate(document)  # raises, naming the first problem


def test_every_api_route_is_in_the_document_with_its_path_parameters(
    settings: Settings, document: dict[str, Any]
) -> None:
    app = create_app(settings)
    documented = {(p, m.upper()) for p, m, _ in operations(document)}
    for route in app.routes:
        if isinstance(route, Route) and route.path.startswith("/api/v1/"):
            for method in (route.methods or set()) - {"HEAD"}:
                assert (route.path, method) in documented, (route.path, method)
    for path, method, operation in operations(document):
        declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
        named = {part[1:-1] for part in path.replace(".", "/").split("/") if part[:1] == "{"}
        assert declared == named, (method, path)


def test_each_operation_lists_the_answers_its_access_and_inputs_can_give(
    document: dict[str, Any],
) -> None:
    paths = document["paths"]
    workflow = paths["/api/v1/tenants/{slug}/messages/{message_id}/assign"]["post"]
    assert {"401", "403", "404", "413", "422", "503"} <= set(workflow["responses"])
    assert workflow["security"]
    public_read = paths["/api/v1/tenants"]["get"]
    assert "403" not in public_read["responses"]
    assert "422" in public_read["responses"]  # it takes query parameters
    for path, method, operation in operations(document):
        for status, answer in operation["responses"].items():
            if int(status) >= 400:
                assert "application/problem+json" in answer["content"], (method, path, status)


@pytest.fixture
def demo(
    cli_env: Settings, clean_database: DatabaseUrls, tmp_path: Path
) -> Iterator[tuple[str, str]]:
    """The demo region served on a real port, and an API token of its ministry's admin."""
    run_in_database(clean_database, lambda db: seed_demo(db, actor="test"))
    created = subprocess.run(
        [BIN / "priemnaya", "token", "create", "--tenant", "demo-minobr", "--role",
         "admin", "--name", "schemathesis", "--json"],
        capture_output=True, check=True,
    )  # fmt: skip
    token = json.loads(created.stdout)["token"]
    env = {**os.environ, "PRIEMNAYA_LOG_LEVEL": "WARNING"}
    with serving(env, tmp_path / "serve.log") as url:
        yield url, token


@pytest.mark.parametrize("caller", ["anonymous", "admin"])
def test_schemathesis_finds_no_server_error_and_no_undocumented_answer(
    demo: tuple[str, str], caller: str, tmp_path: Path
) -> None:
    url, token = demo
    assert httpx.get(f"{url}/api/openapi.json").status_code == 200
    auth = ["-H", f"Authorization: Bearer {token}"] if caller == "admin" else []
    # The token's own tenant, so that its operations get past the tenant to their inputs.
    (tmp_path / "schemathesis.toml").write_text('[parameters]\n"path.slug" = "demo-minobr"\n')
    result = subprocess.run(
        [BIN / "schemathesis", "run", f"{url}/api/openapi.json", "--checks", CHECKS,
         "--max-examples", str(EXAMPLES_PER_OPERATION), "--phases", "examples,coverage,fuzzing",
         "--workers", "1", "--seed", "20261201", "--no-shrink", "--request-timeout", "10",
         *auth],
        capture_output=True, timeout=170, cwd=tmp_path, check=False,
    )  # fmt: skip
    report = result.stdout.decode()
    assert result.returncode == 0, report[-6000:]
    assert " passed" in report
