"""The data flows one way (DESIGN.md §1): engine/ never imports dsl/ (but its leaf
dsl/diagnostics.py), and Lark never leaves dsl/parser.py and dsl/transformer.py."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
    return found


def test_engine_does_not_import_the_language() -> None:
    offenders = {str(p.relative_to(ROOT)): sorted(m for m in _imports(p)
                                                   if m.split(".")[0] == "dsl" and m != "dsl.diagnostics")
                 for p in (ROOT / "engine").rglob("*.py")}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_lark_stays_inside_the_parser_and_transformer() -> None:
    allowed = {"dsl/parser.py", "dsl/transformer.py"}
    users = {str(p.relative_to(ROOT)) for folder in ("dsl", "engine", "schemas")
             for p in (ROOT / folder).rglob("*.py") if any(m.split(".")[0] == "lark" for m in _imports(p))}
    assert users <= allowed


def test_diagnostics_leaf_imports_neither_package() -> None:
    assert not {m for m in _imports(ROOT / "dsl" / "diagnostics.py") if m.split(".")[0] in ("dsl", "engine")}
