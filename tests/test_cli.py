"""The command line: tables or JSON out, exit 2 and a named field on bad input, nothing written."""

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from cabinets.notifications.delivery import deliver_account_mail
from cli import main
from tenancy.database import DatabaseUrls
from tenancy.settings import Settings
from tests.databases import run_in_database
from tests.test_up import free_port


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


# --- staff, roles, policy, tokens ---------------------------------------------------------


def seed_school(runner: CliRunner) -> None:
    from tenancy.tenants.identifiers import inn_with_check_digits

    for slug, kind, parent in (("reg", "region", None), ("sch", "school", "reg")):
        args = ["tenant", "add", slug, "--name", slug.upper(), "--kind", kind]
        args += ["--inn", inn_with_check_digits("770000001")]
        if parent:
            args += ["--parent", parent]
        assert runner.invoke(main, args).exit_code == 0


def test_policy_check_answers_yes_or_no_with_the_chain(cli_env: Settings) -> None:
    runner = CliRunner()
    seed_school(runner)
    added = runner.invoke(
        main,
        [
            "staff",
            "add",
            "sue@example.ru",
            "--name",
            "Sue",
            "--tenant",
            "reg",
            "--role",
            "supervisor",
        ],
    )
    assert added.exit_code == 0, added.output
    assert "granted: sue@example.ru supervisor in reg" in added.output

    yes = runner.invoke(
        main, ["policy", "check", "sue@example.ru", "sch", "report:read", "--explain"]
    )
    assert yes.exit_code == 0
    assert yes.output.splitlines() == [
        "yes",
        "  grant: sue@example.ru holds role supervisor in reg",
        "  hierarchy: sch lies under reg",
        "  rule: supervisor may report:read (reach: subtree)",
    ]
    no = runner.invoke(main, ["policy", "check", "sue@example.ru", "sch", "answer:approve"])
    assert (no.exit_code, no.output) == (1, "no\n")


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["policy", "check", "ghost@example.ru", "sch", "message:read"], "email"),
        (["policy", "check", "sue@example.ru", "nowhere", "message:read"], "tenant"),
        (["policy", "check", "sue@example.ru", "sch", "message:fly"], "permission"),
        (["staff", "grant", "sue@example.ru", "sch", "boss"], "role"),
        (["role", "show", "boss"], "role"),
    ],
)
def test_staff_commands_refuse_unknown_names_with_exit_2(
    cli_env: Settings, args: list[str], named: str
) -> None:
    runner = CliRunner()
    seed_school(runner)
    assert runner.invoke(main, ["staff", "add", "sue@example.ru", "--name", "Sue"]).exit_code == 0
    result = runner.invoke(main, args)
    assert result.exit_code == 2, result.output
    assert named in result.output


def test_new_staff_get_invitation_links_to_set_a_password(cli_env: Settings) -> None:
    runner = CliRunner()
    seed_school(runner)
    added = runner.invoke(
        main, ["staff", "add", "ann@example.ru", "--name", "Ann", "--tenant", "sch",
               "--role", "viewer"],
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    assert "invitation (until " in added.output
    assert "/auth/invitation/" in added.output
    pending = runner.invoke(main, ["staff", "invite", "--pending", "--tenant", "sch", "--json"])
    [invitation] = json.loads(pending.output)
    assert invitation["email"] == "ann@example.ru"
    assert invitation["link"].startswith(f"{cli_env.base_url}/auth/invitation/")
    unknown = runner.invoke(main, ["staff", "invite", "ghost@example.ru"])
    assert unknown.exit_code == 2
    assert "email: no staff member with e-mail 'ghost@example.ru'" in unknown.output
    never = runner.invoke(main, ["staff", "invite", "ann@example.ru", "--expires", "never"])
    assert never.exit_code == 2


def test_letters_about_accounts_are_listed_by_state_without_their_links(
    cli_env: Settings, clean_database: DatabaseUrls
) -> None:
    runner = CliRunner()
    seed_school(runner)
    invited = runner.invoke(main, ["staff", "add", "ann@example.ru", "--name", "Ann"])
    assert invited.exit_code == 0, invited.output
    pending = runner.invoke(main, ["outbox", "accounts", "--json"])
    assert pending.exit_code == 0, pending.output
    [letter] = json.loads(pending.output)
    assert (letter["kind"], letter["recipient"]) == ("account.invitation", "mailto:ann@example.ru")
    assert "/auth/invitation/" not in pending.output
    assert "payload" not in letter

    # The mail server refuses for good: the letter dies at once.
    failing = cli_env.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": free_port()})
    run_in_database(clean_database, lambda db: deliver_account_mail(db, failing, max_attempts=1))
    assert json.loads(runner.invoke(main, ["outbox", "accounts", "--json"]).output) == []
    dead = runner.invoke(main, ["outbox", "accounts", "--state", "dead"])
    assert dead.exit_code == 0, dead.output
    assert "account.invitation" in dead.output
    assert "mailto:ann@example.ru" in dead.output
    bad = runner.invoke(main, ["outbox", "accounts", "--limit", "0"])
    assert bad.exit_code == 2
    assert "limit" in bad.output


def test_grant_revoke_and_list_staff(cli_env: Settings) -> None:
    runner = CliRunner()
    seed_school(runner)
    runner.invoke(main, ["staff", "add", "ann@example.ru", "--name", "Ann"])
    assert (
        runner.invoke(main, ["staff", "grant", "ann@example.ru", "sch", "executor"]).exit_code == 0
    )
    assert runner.invoke(main, ["staff", "grant", "ann@example.ru", "sch", "viewer"]).exit_code == 0
    again = runner.invoke(main, ["staff", "grant", "ann@example.ru", "sch", "viewer"])
    assert "unchanged" in again.output
    revoked = runner.invoke(main, ["staff", "revoke", "ann@example.ru", "sch", "viewer"])
    assert revoked.output == "revoked: ann@example.ru viewer in sch\n"
    listed = json.loads(runner.invoke(main, ["staff", "list", "--tenant", "sch", "--json"]).output)
    assert listed[0]["grants"] == [{"tenant": "sch", "role": "executor", "regions": []}]
    shown = runner.invoke(main, ["role", "show", "executor"])
    assert "message:read (own)" in shown.output


def test_token_create_prints_the_secret_once_and_revoke_stops_it(cli_env: Settings) -> None:
    runner = CliRunner()
    seed_school(runner)
    created = runner.invoke(
        main, ["token", "create", "--tenant", "sch", "--role", "viewer", "--name", "edms", "--json"]
    )
    assert created.exit_code == 0, created.output
    body = json.loads(created.stdout)
    assert body["token"].startswith("prn_")
    listed = runner.invoke(main, ["token", "list", "--tenant", "sch", "--json"])
    assert "prn_" not in listed.output
    assert runner.invoke(main, ["token", "revoke", body["id"]]).exit_code == 0
    bad = runner.invoke(
        main,
        [
            "token",
            "create",
            "--tenant",
            "sch",
            "--role",
            "viewer",
            "--name",
            "x",
            "--expires",
            "soon",
        ],
    )
    assert bad.exit_code == 2
    assert "--expires" in bad.output


# --- provisioning --------------------------------------------------------------------------

REGION_MANIFEST = Path(__file__).parent / "tenancy" / "manifests" / "region.yaml"


def test_tenant_apply_plans_applies_and_then_has_nothing_to_do(cli_env: Settings) -> None:
    runner = CliRunner()
    planned = runner.invoke(main, ["tenant", "apply", str(REGION_MANIFEST), "--plan"])
    assert planned.exit_code == 0, planned.output
    assert "14 changes planned; nothing applied" in planned.output
    applied = runner.invoke(main, ["tenant", "apply", str(REGION_MANIFEST), "--json"])
    assert json.loads(applied.stdout)["applied"] is True
    again = runner.invoke(main, ["tenant", "apply", str(REGION_MANIFEST)])
    assert "no changes: the database already matches the manifest" in again.output
    exported = runner.invoke(main, ["tenant", "export", "--subtree", "minobr"])
    assert exported.exit_code == 0
    assert "slug: school-1" in exported.output


def test_tenant_apply_reports_bad_lines_with_exit_2(cli_env: Settings, tmp_path: Path) -> None:
    bad = tmp_path / "tenants.csv"
    bad.write_text("slug,name,kind,parent,territory,inn\nSchool!,X,school,,46000000,123\n")
    result = CliRunner().invoke(main, ["tenant", "apply", str(bad)])
    assert result.exit_code == 2
    assert f"{bad}:2: slug:" in result.output
    assert f"{bad}:2: inn:" in result.output


def test_prune_without_yes_refuses_when_nobody_can_confirm(
    cli_env: Settings, tmp_path: Path
) -> None:
    runner = CliRunner()
    runner.invoke(main, ["tenant", "apply", str(REGION_MANIFEST)])
    only_root = tmp_path / "tenants.csv"
    only_root.write_text(
        "slug,name,kind,parent,territory,inn,ogrn,short_name\n"
        "demo-oblast,Правительство Демонстрационной области,region,,46000000,7707083893,"
        "1027700132195,Правительство области\n"
    )
    refused = runner.invoke(main, ["tenant", "apply", str(only_root), "--prune"])
    assert refused.exit_code == 1
    assert "--yes" in refused.output
    pruned = runner.invoke(main, ["tenant", "apply", str(only_root), "--prune", "--yes"])
    assert pruned.exit_code == 0, pruned.output
    assert "! tenant minobr: active → suspended (pruned)" in pruned.output


def test_lifecycle_commands_and_history(cli_env: Settings) -> None:
    runner = CliRunner()
    runner.invoke(main, ["tenant", "apply", str(REGION_MANIFEST)])
    done = runner.invoke(main, ["tenant", "suspend", "school-1", "--reason", "inspection"])
    assert done.output == "school-1 is now suspended\n"
    no_reason = runner.invoke(main, ["tenant", "resume", "school-1"])
    assert no_reason.exit_code == 2
    wrong = runner.invoke(main, ["tenant", "restore", "school-1", "--reason", "x"])
    assert wrong.exit_code == 1
    assert "restore applies to an archived tenant" in wrong.output
    history = runner.invoke(main, ["tenant", "history", "school-1", "--json"])
    assert [e["action"] for e in json.loads(history.output)][-1] == "tenant.suspended"


# --- territories, catalog, routing ---------------------------------------------------------

ROUTING_FILES = Path(__file__).parent / "tenancy" / "routing_files"


def test_a_region_routes_from_csv_files_and_explains(cli_env: Settings) -> None:
    runner = CliRunner()
    for slug, kind, parent in (
        ("region", "region", None),
        ("north", "municipality", "region"),
        ("north-roads", "other", "north"),
        ("river", "municipality", "region"),
    ):
        args = ["tenant", "add", slug, "--name", slug, "--kind", kind, "--inn", "7707083893"]
        runner.invoke(main, args + (["--parent", parent] if parent else []))
    steps = [
        ["territory", "import", str(ROUTING_FILES / "territories.csv")],
        [
            "catalog",
            "import",
            str(ROUTING_FILES / "categories.csv"),
            str(ROUTING_FILES / "topics.csv"),
        ],
        ["catalog", "publish"],
        ["route", "import", str(ROUTING_FILES / "routes.csv")],
    ]
    for step in steps:
        result = runner.invoke(main, step)
        assert result.exit_code == 0, (step, result.output)
    widget = runner.invoke(main, ["tenant", "widget", "north-roads"])
    assert widget.exit_code == 0, widget.output
    script = f'<script src="{cli_env.base_url}/widget/north-roads.js" async></script>'
    assert widget.stdout.splitlines()[0] == script
    assert f'href="{cli_env.base_url}/write?to=north-roads"' in widget.stdout
    assert widget.stderr == ""
    lonely = ["tenant", "add", "lonely", "--name", "L", "--kind", "school", "--inn", "7707083893"]
    assert runner.invoke(main, lonely).exit_code == 0
    nowhere = runner.invoke(main, ["tenant", "widget", "lonely"])
    assert "lonely answers nowhere yet" in nowhere.stderr
    assert runner.invoke(main, ["tenant", "widget", "ghost"]).exit_code != 0
    resolved = runner.invoke(main, ["route", "resolve", "pothole", "46701102", "--explain"])
    assert resolved.exit_code == 0
    assert resolved.output.splitlines()[0] == "north"
    assert "outranked by rule" in resolved.output
    tree = runner.invoke(main, ["territory", "tree"])
    assert "  46701000  Северный городской округ" in tree.output
    gaps = runner.invoke(main, ["route", "gaps", "--json"])
    assert json.loads(gaps.output)["pairs"] == 0
    unknown = runner.invoke(main, ["route", "resolve", "ufo", "46701102"])
    assert unknown.exit_code == 2
    assert "topic" in unknown.output

    # A regional operator's reach: rules outside their region are refused, naming the line.
    runner.invoke(main, ["staff", "add", "olga@north.example.ru", "--name", "Olga"])
    granted = runner.invoke(
        main,
        ["staff", "grant", "olga@north.example.ru", "platform", "regional_operator",
         "--region", "46701000"],
    )  # fmt: skip
    assert granted.output.strip() == (
        "granted: olga@north.example.ru regional_operator in platform (regions: 46701000)"
    )
    outside = runner.invoke(
        main,
        ["route", "set", "snow", "46702101", "river", "--as", "olga@north.example.ru"],
    )
    assert outside.exit_code == 2
    assert "rule: territory: 46702101 is outside your regions (46701000)" in outside.output
    inside = runner.invoke(
        main, ["route", "set", "snow", "46701102", "north", "--as", "olga@north.example.ru"]
    )
    assert inside.exit_code == 0, inside.output


def test_the_storage_sweeper_and_retention_report_what_they_do(cli_env: Settings) -> None:
    runner = CliRunner()
    swept = runner.invoke(main, ["storage", "sweep", "--dry-run", "--json"])
    assert swept.exit_code == 0, swept.output
    assert json.loads(swept.output) == {
        "abandoned_removed": 0, "orphaned_objects": [], "missing_objects": [], "dry_run": True
    }  # fmt: skip
    purged = runner.invoke(main, ["storage", "purge", "--older-than", "5y"])
    assert purged.output.strip() == "removed 0 files (0 bytes) of 0 messages"
    bad = runner.invoke(main, ["storage", "purge", "--older-than", "5 years"])
    assert bad.exit_code == 2
    assert "--older-than: '5 years' is not like 5y" in bad.output


def test_webhooks_are_added_listed_and_removed_and_the_outbox_is_listed(
    cli_env: Settings,
) -> None:
    runner = CliRunner()
    seed_school(runner)
    bad = runner.invoke(main, ["webhook", "add", "sch", "ftp://x.example.ru/h", "--event", "*"])
    assert bad.exit_code == 2
    assert "url" in bad.output
    added = runner.invoke(
        main,
        ["webhook", "add", "sch", "https://edms.example.ru/hook", "--event", "message.accept",
         "--json"],
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    created = json.loads(added.output)
    assert created["secret"].startswith("whsec_")
    listed = json.loads(runner.invoke(main, ["webhook", "list", "--json"]).output)
    assert [(s["url"], s["events"]) for s in listed] == [
        ("https://edms.example.ru/hook", ["message.accept"])
    ]
    assert "secret" not in str(listed)
    removed = runner.invoke(main, ["webhook", "remove", created["id"]])
    assert removed.exit_code == 0
    dead = runner.invoke(main, ["outbox", "list", "--state", "dead", "--json"])
    assert json.loads(dead.output) == []
    nothing = runner.invoke(main, ["outbox", "retry"])
    assert nothing.exit_code == 2


def test_a_nul_in_a_csv_exits_2_naming_the_line_and_field(run: CliRunner, tmp_path: Path) -> None:
    territories = tmp_path / "territories.csv"
    territories.write_bytes(
        "code,name,parent\n46000000,Область,\n46701000,Север\x00ный,46000000\n".encode()
    )
    code, out, err = invoke(run, "territory", "import", str(territories))
    assert code == 2, out + err
    assert f"{territories}:3: name: contains a NUL character" in err
    assert "Traceback" not in out + err
    listed = invoke(run, "territory", "tree")
    assert "Область" not in listed[1]  # all or nothing
