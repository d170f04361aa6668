"""The command line: tables or JSON out, exit 2 and a named field on bad input, nothing written."""

import json

import pytest
from click.testing import CliRunner

from cli import main
from tenancy.settings import Settings


@pytest.fixture
def run(cli_env: Settings) -> CliRunner:
    return CliRunner()


def invoke(runner: CliRunner, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_add_then_show_list_and_tree_as_json(run: CliRunner) -> None:
    code, out, _ = invoke(
        run, "tenant", "add", "region", "--name", "Область", "--kind", "region",
        "--inn", "7707083893", "--territory", "45000000", "--json",
    )  # fmt: skip
    assert code == 0
    assert json.loads(out)["slug"] == "region"
    code, out, _ = invoke(
        run, "tenant", "add", "school", "--name", "Школа", "--kind", "school",
        "--parent", "region", "--inn", "500100732259",
    )  # fmt: skip
    assert code == 0
    assert "created tenant school" in out

    code, out, _ = invoke(run, "tenant", "show", "school", "--json")
    assert code == 0
    assert json.loads(out)["parent"] == "region"

    code, out, _ = invoke(run, "tenant", "list", "--json")
    assert [t["slug"] for t in json.loads(out)] == ["region", "school"]

    code, out, _ = invoke(run, "tenant", "tree", "--json")
    (root,) = json.loads(out)
    assert root["children"][0]["slug"] == "school"

    code, out, _ = invoke(run, "tenant", "tree")
    assert out.splitlines() == ["Область (region, region)", "└── Школа (school, school)"]

    code, out, _ = invoke(run, "tenant", "list")
    assert out.splitlines()[0].split() == ["SLUG", "KIND", "STATUS", "PARENT", "TERRITORY", "NAME"]


def test_bad_input_exits_2_naming_every_field(run: CliRunner) -> None:
    code, out, err = invoke(
        run, "tenant", "add", "Bad_Slug", "--name", "X", "--kind", "church", "--inn", "123",
    )  # fmt: skip
    assert code == 2
    assert "slug:" in err
    assert "kind:" in err
    assert "inn:" in err
    code, out, _ = invoke(run, "tenant", "list", "--json")
    assert json.loads(out) == []


def test_unknown_parent_and_duplicate_slug_exit_2(run: CliRunner) -> None:
    base = ["tenant", "add", "s", "--name", "S", "--kind", "school", "--inn", "7707083893"]
    code, _, err = invoke(run, *base, "--parent", "ghost")
    assert code == 2
    assert "parent: unknown tenant 'ghost'" in err
    assert invoke(run, *base)[0] == 0
    code, _, err = invoke(run, *base)
    assert code == 2
    assert "slug: 's' is already taken" in err


def test_cycle_on_move_exits_2(run: CliRunner) -> None:
    add = ["--kind", "municipality", "--inn", "7707083893"]
    assert invoke(run, "tenant", "add", "a", "--name", "A", *add)[0] == 0
    assert invoke(run, "tenant", "add", "b", "--name", "B", "--parent", "a", *add)[0] == 0
    code, _, err = invoke(run, "tenant", "move", "a", "--parent", "b")
    assert code == 2
    assert "cycle" in err


def test_unknown_tenant_exits_2(run: CliRunner) -> None:
    code, _, err = invoke(run, "tenant", "show", "ghost")
    assert code == 2
    assert "tenant 'ghost' not found" in err


def test_bad_setting_exits_2_naming_it(run: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRIEMNAYA_BASE_URL", "nonsense")
    code, _, err = invoke(run, "tenant", "list")
    assert code == 2
    assert "PRIEMNAYA_BASE_URL" in err


def test_db_status_reports_the_schema_revision(run: CliRunner) -> None:
    code, out, _ = invoke(run, "db", "status", "--json")
    report = json.loads(out)
    assert code == 0
    assert report["schema_revision"] == report["head_revision"]
    assert report["embedded"] is False
    assert "secret" not in out
