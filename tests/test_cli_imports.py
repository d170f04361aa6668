"""The command line answers at once: importing it loads neither the schema migrations, nor the
web app, nor the policy enforcer; the commands that need them import them."""

import subprocess
import sys

import pytest

HEAVY = ("alembic", "sqlalchemy", "starlette", "cabinets.app", "casbin", "rbac.enforcer")


def modules_loaded_by(statement: str) -> set[str]:
    # A fresh interpreter: this one has long imported everything.
    probe = f"import sys\n{statement}\nprint('\\n'.join(sys.modules))"
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    return set(result.stdout.split())


@pytest.mark.parametrize("heavy", HEAVY)
def test_importing_the_cli_does_not_load(heavy: str) -> None:
    loaded = modules_loaded_by("import cli")
    assert heavy not in loaded
    assert not {m for m in loaded if m.startswith(heavy + ".")}


def test_printing_the_help_loads_nothing_heavy() -> None:
    loaded = modules_loaded_by(
        "import cli\n"
        "try:\n    cli.main(['tenant', 'apply', '--help'])\n"
        "except SystemExit:\n    pass"
    )
    assert not {m for m in loaded if m.split(".")[0] in {"alembic", "sqlalchemy", "starlette"}}


def test_the_head_read_from_the_scripts_is_alembics() -> None:
    from alembic.script import ScriptDirectory

    from tenancy import migrate

    alembic_head = ScriptDirectory.from_config(migrate.alembic_config("")).get_current_head()
    assert migrate.head_revision() == alembic_head
