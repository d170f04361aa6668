"""The layers: ``rbac`` and ``storage`` stand alone, ``tenancy`` builds on them, ``cabinets`` on
all three, and ``cli.py`` assembles everything (so nothing imports it).

The imports are read from the source with ``ast``, not by importing it: an import inside a
function, under ``TYPE_CHECKING`` or through ``importlib.import_module("...")`` counts as much
as one at the top of a file.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
OURS = frozenset({"cabinets", "cli", "rbac", "storage", "tenancy"})


@dataclass(frozen=True)
class Import:
    path: str
    line: int
    module: str  # as written, made absolute

    @property
    def package(self) -> str:
        return self.module.partition(".")[0]

    def __str__(self) -> str:
        return f"{self.path}:{self.line} imports {self.module}"


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_in(source: str, module: str, *, path: str = "<source>") -> list[Import]:
    """Every module ``source`` (the text of ``module``) imports, wherever the import is."""
    is_package = path.endswith("__init__.py")
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [Import(path, node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            found.append(Import(path, node.lineno, _absolute(node, module, is_package)))
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute | ast.Name)
            and (node.func.attr if isinstance(node.func, ast.Attribute) else node.func.id)
            in {"import_module", "__import__"}
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            found.append(Import(path, node.lineno, node.args[0].value))
    return found


def _absolute(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    if node.level == 0:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def our_imports(*packages: str) -> list[Import]:
    """The imports of our own code found in ``packages`` (directories, or ``cli`` for
    ``cli.py``)."""
    found = []
    for package in packages:
        paths = [ROOT / "cli.py"] if package == "cli" else sorted((ROOT / package).rglob("*.py"))
        for path in paths:
            relative = str(path.relative_to(ROOT))
            found += [
                found_import
                for found_import in imports_in(
                    path.read_text(encoding="utf-8"), module_name(path), path=relative
                )
                if found_import.package in OURS
            ]
    return found


@pytest.mark.parametrize("package", ["rbac", "storage"])
def test_rbac_and_storage_import_nothing_of_ours(package: str) -> None:
    crossing = [str(i) for i in our_imports(package) if i.package != package]
    assert crossing == [], f"{package} must stand alone:\n" + "\n".join(crossing)


def test_tenancy_never_imports_cabinets() -> None:
    crossing = [str(i) for i in our_imports("tenancy") if i.package == "cabinets"]
    assert crossing == [], "tenancy must not know cabinets:\n" + "\n".join(crossing)


def test_nothing_imports_the_cli() -> None:
    crossing = [
        str(i)
        for i in our_imports("cabinets", "rbac", "storage", "tenancy", "cli")
        if i.package == "cli"
    ]
    assert crossing == [], "the CLI assembles the rest; nothing may import it:\n" + "\n".join(
        crossing
    )


def test_the_layers_are_read_from_every_file_of_each_package() -> None:
    for package in ("cabinets", "rbac", "storage", "tenancy"):
        assert any(i.package == package for i in our_imports(package)), package
    assert our_imports("cli"), "cli.py imports the packages it assembles"


def test_an_import_inside_a_function_counts() -> None:
    source = "def later():\n    from cabinets.worker import run_worker\n    return run_worker\n"
    assert [i.module for i in imports_in(source, "tenancy.migrate")] == ["cabinets.worker"]


def test_a_dynamic_import_by_name_counts() -> None:
    source = "import importlib\nimportlib.import_module('cabinets.messages.models')\n"
    modules = [i.module for i in imports_in(source, "tenancy.migrate")]
    assert modules == ["importlib", "cabinets.messages.models"]


def test_a_relative_import_counts_as_the_package_it_reaches() -> None:
    source = "from . import service\nfrom ..tenants.models import Tenant\nfrom .. import errors\n"
    modules = [i.module for i in imports_in(source, "tenancy.routing.endpoints")]
    assert modules == ["tenancy.routing", "tenancy.tenants.models", "tenancy"]
    in_init = imports_in("from .models import Tenant\n", "tenancy.tenants", path="x/__init__.py")
    assert [i.module for i in in_init] == ["tenancy.tenants.models"]
