"""The house's walls, read from the imports (issue #23): one direction, the floor at the bottom, the command on top.

Floor: `niochat/` (settings, database, tables, migrations, secrets, logging, vocabulary, provisioning) imports no
room. Rooms stand on the floor: `api/`, `ingest/`, `dash_app/`; `pipelines/` also on `ingest/`. `sandbox/` plays
the outside systems and imports nothing of ours. The roof, `cli/` (the `niochat` command), is the only code that
imports the rooms to start them; `bench/` and the tests' support modules reach what they need through the floor
and the rooms, never through the command (test modules that test the command import it, of course).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.support.basics import ROOT, TESTS

PACKAGES = {"niochat", "api", "ingest", "pipelines", "dash_app", "sandbox", "cli", "bench", "tests"}
# What each part may import of ours (beyond itself).
ALLOWED = {
    "niochat": set(),
    "api": {"niochat"},
    "ingest": {"niochat"},
    "dash_app": {"niochat"},
    "pipelines": {"niochat", "ingest"},
    "sandbox": set(),
    "cli": {"niochat", "api", "ingest", "pipelines", "dash_app", "sandbox"},
    "bench": {"niochat", "api", "ingest", "pipelines", "dash_app", "sandbox"},
}
# `python -m niochat` runs the command: an entry point, run and never imported.
ENTRY_POINTS = {Path("niochat/__main__.py")}
# The tests' shared helpers (servers, stacks, factories, fakes) are support, not tests of the command.
TEST_SUPPORT = [TESTS / "conftest.py", *sorted((TESTS / "support").glob("*.py"))]
TEST_KINDS = ("unit", "integration", "e2e", "browser")


def _imports(path: Path) -> set[str]:
    """The top-level packages of ours a module imports (anywhere in it: lazy imports count too)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found |= {name.split(".")[0] for name in names} & PACKAGES
    return found


def _modules(package: str) -> list[Path]:
    return sorted(path.relative_to(ROOT) for path in (ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_each_part_imports_only_what_stands_below_it(package):
    wrong = {}
    for module in _modules(package):
        if module in ENTRY_POINTS:
            continue
        upward = _imports(ROOT / module) - ALLOWED[package] - {package}
        if upward:
            wrong[str(module)] = sorted(upward)
    assert not wrong, f"{package}/ may import only {sorted(ALLOWED[package]) or 'nothing of ours'}: {wrong}"


def test_the_tests_support_modules_reach_nothing_through_the_command():
    wrong = [str(path.relative_to(ROOT)) for path in TEST_SUPPORT if "cli" in _imports(path)]
    assert len(TEST_SUPPORT) > 5 and not wrong, wrong


def test_tests_live_by_kind_and_share_only_through_support():
    """A test module sits in the folder of what it starts (docs/architecture.md, "Tests by kind") and imports no
    other test module: what two of them share is in tests/support/."""
    loose = sorted(path.name for path in TESTS.glob("test_*.py"))
    assert not loose, f"test modules outside tests/{{{','.join(TEST_KINDS)}}}/: {loose}"
    borrowing = {}
    for kind in TEST_KINDS:
        for path in sorted((TESTS / kind).glob("*.py")):
            tree = ast.parse(path.read_text(), filename=str(path))
            taken = [node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module
                     and node.module.startswith("tests.") and node.module.split(".")[-1].startswith("test_")]
            if taken:
                borrowing[str(path.relative_to(ROOT))] = taken
    assert not borrowing, f"test modules importing other test modules (move the shared part to tests/support/): " \
                          f"{borrowing}"


def test_the_checker_sees_an_upward_import(tmp_path):
    """The rule can fail: a floor module importing a room is caught, lazily imported or not."""
    module = tmp_path / "bad.py"
    module.write_text("def f():\n    from api.app import create_app\n    import cli\n")
    assert _imports(module) == {"api", "cli"}


def test_every_part_is_covered():
    top_level = {path.name for path in ROOT.iterdir() if (path / "__init__.py").exists()}
    assert top_level <= PACKAGES, f"a package the walls do not know: {sorted(top_level - PACKAGES)}"


OUTSIDE = ("../" + "shared", "/work/" + "shared")  # spelled apart: this file must not match itself


def test_the_repository_stands_alone():
    """Nothing points outside the repository (the team's shared reference set lives beside it, not in it): the
    fixtures used are copied under tests/fixtures/ with their source."""
    outside = []
    for path in ROOT.rglob("*"):
        relative = path.relative_to(ROOT)
        if not path.is_file() or relative.parts[0] in {".git", ".venv", "node_modules"} or "target" in relative.parts:
            continue
        if path.suffix not in {".py", ".md", ".toml", ".yml", ".yaml", ".cfg", ".ini", ".sh", ".sql", ""}:
            continue
        text = path.read_text(errors="ignore")
        if any(marker in text for marker in OUTSIDE):
            outside.append(str(relative))
    assert not outside, f"files that point outside the repository: {outside}"


def _module_imports(path: Path, known: set[str]) -> set[str]:
    """The modules of `known` a module imports, TYPE_CHECKING imports included (a cycle hidden there is one)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            submodules = {f"{node.module}.{alias.name}" for alias in node.names} & known
            # `from package import module` imports that module; the package's __init__ is not a neighbour
            names = sorted(submodules) if len(submodules) == len(node.names) else [node.module, *submodules]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        found |= set(names) & known
    return found


def _cycles(package: str) -> list[list[str]]:
    return _cycles_under(ROOT, package)


def _cycles_under(root: Path, package: str) -> list[list[str]]:
    """Every pair of modules of `package` that reach each other through their imports."""
    modules = {".".join(path.relative_to(root).with_suffix("").parts): path
               for path in sorted((root / package).rglob("*.py")) if path.name != "__init__.py"}
    graph = {name: _module_imports(path, set(modules)) - {name} for name, path in modules.items()}

    def reach(start: str) -> set[str]:
        seen, todo = set(), [start]
        while todo:
            for following in graph[todo.pop()] - seen:
                seen.add(following)
                todo.append(following)
        return seen

    reached = {name: reach(name) for name in graph}
    return sorted(sorted((a, b)) for a in graph for b in reached[a] if a < b and a in reached[b])


def test_the_brain_modules_import_each_other_one_way():
    """The turn's types and the toolbox once imported each other (issue #23): the shared Handoff lives apart."""
    assert _cycles("api/brain") == []


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_no_two_modules_import_each_other(package):
    """Inside each part too, imports go one way (a cycle hidden behind TYPE_CHECKING is one)."""
    assert _cycles(package) == []


def test_the_cycle_finder_sees_a_cycle(tmp_path):
    package = tmp_path / "loop"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from loop.b import B\nA = 1\n")
    (package / "b.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from loop.a import A\n")
    assert _cycles_under(tmp_path, "loop") == [["loop.a", "loop.b"]]
