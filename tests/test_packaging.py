"""The wheel holds every package and data file of the source tree.

The package list used to be written by hand in pyproject.toml, so a new
folder (``engine/checks`` once, the wings of issue 9 next) could be left out
of the wheel while every test, run from the source tree, still passed. The
list is now ``packages.find``; this test builds the real wheel and compares
it with the tree, so a package or a data file (the grammar, the JSON
schemas, the migration template) that does not ship fails here.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: The top-level packages pyproject.toml ships (``packages.find`` includes ``name*``).
PACKAGE_ROOTS = tuple(sorted(pattern.rstrip("*") for pattern in tomllib.loads(
    (ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]["packages"]["find"]["include"]))
DATA_SUFFIXES = (".lark", ".json", ".mako")


def _source_packages() -> set[str]:
    return {str(init.parent.relative_to(ROOT)).replace("/", ".")
            for top in PACKAGE_ROOTS for init in (ROOT / top).rglob("__init__.py")}


#: Folders shipped whole: the pages' templates and static files (every file in them)
DATA_FOLDERS = ("web/templates", "web/static")


def _source_data_files() -> set[str]:
    return {p.relative_to(ROOT).as_posix()
            for top in PACKAGE_ROOTS for p in (ROOT / top).rglob("*")
            if p.is_file() and "__pycache__" not in p.parts
            and (p.name.endswith(DATA_SUFFIXES) or p.relative_to(ROOT).as_posix().startswith(DATA_FOLDERS))}


def _build_wheel(tmp: Path) -> Path:
    """Build from a copy of the tree, so the build leaves no build/ or egg-info behind."""
    src = tmp / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    for top in PACKAGE_ROOTS:
        shutil.copytree(ROOT / top, src / top, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    out = tmp / "dist"
    command = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-index", "-w", str(out)]
    # The test extras bring setuptools and wheel, so the build needs no network.
    offline = importlib.util.find_spec("wheel") is not None and importlib.util.find_spec("setuptools") is not None
    if offline:
        command.append("--no-build-isolation")
    done = subprocess.run([*command, str(src)], capture_output=True, text=True, timeout=300)
    if done.returncode != 0 and not offline:
        pytest.skip("cannot build a wheel offline: setuptools and wheel are not installed "
                    "(install the test extras: pip install -e '.[test]')")
    assert done.returncode == 0, done.stderr
    (wheel,) = out.glob("payroute-*.whl")
    return wheel


def test_the_wheel_holds_every_package_and_data_file(tmp_path: Path) -> None:
    wheel = _build_wheel(tmp_path)
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
    shipped = {n.rsplit("/", 1)[0].replace("/", ".") for n in names if n.endswith("/__init__.py")}
    packages = _source_packages()
    assert packages >= {"dsl", "dsl.commands", "engine", "engine.spec", "engine.spec.checks", "engine.runtime",
                        "engine.service", "engine.security", "engine.payments", "engine.outbox", "engine.store",
                        "engine.store.migrations.versions", "schemas", "web", "web.commands"}
    assert sorted(packages - shipped) == []
    assert sorted(_source_data_files() - names) == []
    modules = {p.relative_to(ROOT).as_posix() for top in PACKAGE_ROOTS for p in (ROOT / top).rglob("*.py")
               if "__pycache__" not in p.parts}
    assert sorted(modules - names) == []
    assert not any(n.startswith("tests/") for n in names)


def test_every_top_level_package_is_included() -> None:
    """A new top-level package (web/ was one) is shipped only if pyproject names it."""
    on_disk = {d.name for d in ROOT.iterdir() if (d / "__init__.py").is_file() and d.name != "tests"}
    assert on_disk == set(PACKAGE_ROOTS)
