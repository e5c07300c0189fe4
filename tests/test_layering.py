"""The data flows one way (DESIGN.md §1, docs/architecture.md): a table of import
rules, each checked over every module it covers.

A rule names the modules it covers (a dotted prefix) and the imports they must
not have (dotted prefixes too); ``except_`` lists prefixes still allowed inside
a forbidden one. Imports are read with ``ast`` (absolute and relative, at any
depth, including imports inside functions), so a lazy import counts too.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("dsl", "engine", "schemas", "web")
#: Libraries that do I/O or hold a database: the pure wings import none of them.
IO_LIBRARIES = ("sqlalchemy", "alembic", "psycopg", "smtplib", "socket", "flask", "requests")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Every module ``path`` imports, relative imports resolved to absolute names."""
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                prefix = ".".join(base + ([node.module] if node.module else []))
            else:
                prefix = node.module or ""
            found.add(prefix)
            found.update(f"{prefix}.{a.name}" for a in node.names)  # `from engine import audit`
    return found


MODULES: dict[str, set[str]] = {_module_name(p): _imports(p) for pkg in PACKAGES
                                for p in (ROOT / pkg).rglob("*.py") if "__pycache__" not in p.parts}


def _under(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


@dataclass(frozen=True)
class Rule:
    covers: str
    forbids: tuple[str, ...]
    why: str
    except_: tuple[str, ...] = ()


RULES = (
    Rule("engine", ("dsl", "web"), "the engine never imports the language front end nor the web edge"),
    Rule("engine.spec", ("engine.store", "engine.service", "engine.outbox", "engine.security", "engine.payments",
                         "engine.services", *IO_LIBRARIES),
         "the specification is pure: no database, no commands, no I/O"),
    Rule("engine.runtime", ("engine.store", "engine.service", "engine.outbox", "engine.security",
                            "engine.payments", "engine.services", *IO_LIBRARIES),
         "the machines are pure: (state, command, now) -> new state + effects"),
    Rule("engine.diagnostics", ("engine", "dsl", "web"), "the diagnostics vocabulary is a leaf"),
    Rule("engine.errors", ("engine", "dsl", "web"), "the domain error registry is a leaf"),
    Rule("dsl", ("engine", "web", "sqlalchemy", "alembic"),
         "the language imports only the pure engine and its vocabulary",
         except_=("engine.spec", "engine.diagnostics")),
    Rule("schemas", ("engine", "dsl", "web"), "schemas/ is data plus a loader: no engine <-> schemas loop"),
    Rule("engine.outbox.lease", ("engine.outbox.smtp", "smtplib", "ssl"),
         "a row's life (claim, lease, retry) knows no transport: the sender is handed to it"),
    Rule("engine.store", ("engine.service", "engine.outbox", "engine.payments", "engine.security"),
         "the store is the bottom of the stateful wings (its data migrations may reuse the engine)"),
)


def _violations(rule: Rule) -> dict[str, list[str]]:
    out = {}
    for module, imports in MODULES.items():
        if not _under(module, rule.covers) or (rule.covers == "engine.store"
                                               and _under(module, "engine.store.migrations")):
            continue
        bad = sorted(m for m in imports if any(_under(m, f) for f in rule.forbids)
                     and not any(_under(m, e) for e in rule.except_)
                     and not _under(m, module))
        if bad:
            out[module] = bad
    return out


@pytest.mark.parametrize("rule", RULES, ids=[r.covers for r in RULES])
def test_import_rule(rule: Rule) -> None:
    assert _violations(rule) == {}, rule.why


def test_the_rules_cover_real_modules() -> None:
    """A rule over a package that was renamed away would pass vacuously."""
    for rule in RULES:
        assert any(_under(m, rule.covers) for m in MODULES), rule.covers


def test_lark_stays_inside_the_parser_and_transformer() -> None:
    users = {m for m, imports in MODULES.items() if any(_under(i, "lark") for i in imports)}
    assert users <= {"dsl.parser", "dsl.transformer"}


def test_no_lark_object_leaves_the_transformer() -> None:
    """Only :func:`dsl.transformer.read_flow` is called from outside: no other module
    names the parser or the Lark-typed ``lower``."""
    callers = {m for m, imports in MODULES.items()
               if m not in ("dsl.parser", "dsl.transformer")
               and ({"dsl.parser", "dsl.transformer.lower", "dsl.parser.parse"} & imports)}
    assert callers == set()


def test_every_engine_package_declares_its_public_modules() -> None:
    """``__all__`` of each engine package names exactly its public submodules."""
    for init in (ROOT / "engine").rglob("__init__.py"):
        if "migrations" in init.parts:
            continue
        package = init.parent
        public = {p.stem for p in package.glob("*.py") if not p.stem.startswith("_")} | {
            d.name for d in package.iterdir() if (d / "__init__.py").exists()}
        tree = ast.parse(init.read_text(encoding="utf-8"))
        declared = next((ast.literal_eval(n.value) for n in tree.body if isinstance(n, ast.Assign)
                         and any(isinstance(t, ast.Name) and t.id == "__all__" for t in n.targets)), None)
        assert declared is not None, f"{init.relative_to(ROOT)} has no __all__"
        if package.name == "checks":  # a façade of functions, not of modules
            continue
        assert set(declared) == public, init.relative_to(ROOT)
