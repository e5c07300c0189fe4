"""Every DomainError code is registered in engine.errors.ERRORS, and docs/engine.md lists exactly those.

The engine's source is read with ``ast`` (not a text search), so a code in a
comment or a docstring counts for nothing, and a code the scan cannot read (a
variable) fails rather than slipping past. ``pytest --update-goldens``
rewrites docs/engine.md's error table from the registry.
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict

import pytest

from engine.errors import ERRORS, KINDS, DomainError, markdown_table
from engine.service import directory, templates
from tests.conftest import ROOT
from tests.world import build_world

SOURCES = ("engine", "dsl")
ENGINE_MD = ROOT / "docs" / "engine.md"
#: docs/engine.md's generated error table: its header row and every table row after it.
TABLE = re.compile(r"^\| code \| (?:kind \| )?meaning \|\n(?:\|.*\|\n?)*", re.M)


def _name(func: ast.expr) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def _trees() -> dict[str, ast.Module]:
    return {str(p.relative_to(ROOT)): ast.parse(p.read_text(encoding="utf-8"))
            for folder in SOURCES for p in sorted((ROOT / folder).rglob("*.py"))}


def _error_classes(trees: dict[str, ast.Module]) -> set[str]:
    """DomainError and every class deriving from it (by name, transitively) in the scanned source."""
    classes = {"DomainError"}
    grew = True
    while grew:
        grew = False
        for tree in trees.values():
            for node in ast.walk(tree):
                if (isinstance(node, ast.ClassDef) and node.name not in classes
                        and any(_name(b) in classes for b in node.bases)):
                    classes.add(node.name)
                    grew = True
    return classes


def _domain_error_calls() -> list[tuple[str, ast.Call]]:
    """Every ``DomainError(...)`` and every subclass's ``super().__init__(...)``, with where it is."""
    trees = _trees()
    classes = _error_classes(trees)
    calls: list[tuple[str, ast.Call]] = []
    for path, tree in trees.items():
        for cls in ast.walk(tree):
            if isinstance(cls, ast.ClassDef) and cls.name in classes - {"DomainError"}:
                calls += [(f"{path}:{node.lineno}", node) for node in ast.walk(cls)
                          if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                          and node.func.attr == "__init__" and isinstance(node.func.value, ast.Call)
                          and _name(node.func.value.func) == "super"]
        calls += [(f"{path}:{node.lineno}", node) for node in ast.walk(tree)
                  if isinstance(node, ast.Call) and _name(node.func) == "DomainError"]
    return calls


def _raised() -> tuple[dict[str, list[str]], list[str]]:
    """code -> where it is built, and the places whose code is not a literal string.

    A code is the first argument of ``DomainError(...)`` or of a subclass's
    ``super().__init__(...)``; a subclass call counts when its first argument
    is a string literal (PublishRefused takes diagnostics and sets its own)."""
    trees = _trees()
    classes = _error_classes(trees)
    codes: dict[str, list[str]] = defaultdict(list)
    unreadable: list[str] = []

    def take(call: ast.Call, where: str, *, required: bool) -> None:
        first = call.args[0] if call.args else next((k.value for k in call.keywords if k.arg == "code"), None)
        if isinstance(first, ast.Constant) and isinstance(first.value, str):
            codes[first.value].append(where)
        elif required:
            unreadable.append(f"{where}: {ast.unparse(call)[:80]}")

    for path, tree in trees.items():
        for cls in ast.walk(tree):
            if isinstance(cls, ast.ClassDef) and cls.name in classes - {"DomainError"}:
                for node in ast.walk(cls):
                    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                            and node.func.attr == "__init__" and isinstance(node.func.value, ast.Call)
                            and _name(node.func.value.func) == "super"):
                        take(node, f"{path}:{node.lineno}", required=True)
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and _name(node.func) in classes:
                take(node, f"{path}:{node.lineno}", required=_name(node.func) == "DomainError")
    return codes, unreadable


def test_every_raised_code_is_a_literal_the_scan_can_read() -> None:
    codes, unreadable = _raised()
    assert codes, "the scan found no DomainError at all; is it reading engine/?"
    assert unreadable == [], "pass DomainError's code as a string literal so this test can check it"


def test_every_raised_code_is_registered() -> None:
    codes, _ = _raised()
    missing = {code: where for code, where in codes.items() if code not in ERRORS}
    assert missing == {}, "add these codes to engine.errors.ERRORS"


def _rule_is_given(call: ast.Call) -> bool:
    """A ``rule=`` keyword that is a rule ID literal or a name/expression (a variable the caller
    passes on); absent, ``None`` or an empty string does not count."""
    rule = next((k.value for k in call.keywords if k.arg == "rule"), None)
    if rule is None:
        return any(k.arg is None for k in call.keywords)  # **kwargs forwarded by a helper
    if isinstance(rule, ast.Constant):
        return isinstance(rule.value, str) and re.fullmatch(r"[A-Z]+-\d+", rule.value) is not None
    return True


def test_every_domain_error_names_the_rule_it_enforces() -> None:
    """A refusal without a domain.md rule cannot be explained to a client or traced to a decision."""
    calls = _domain_error_calls()
    assert calls, "the scan found no DomainError at all; is it reading engine/?"
    missing = [f"{where}: {ast.unparse(call)[:80]}" for where, call in calls if not _rule_is_given(call)]
    assert missing == [], "give each DomainError the rule it enforces: rule=\"ID\""


def test_every_registered_code_is_raised_somewhere() -> None:
    codes, _ = _raised()
    assert sorted(set(ERRORS) - set(codes)) == [], "dead entries in engine.errors.ERRORS"


def test_every_entry_has_one_sentence_and_a_known_kind() -> None:
    for code, spec in ERRORS.items():
        assert re.fullmatch(r"[a-z][a-z_]*[a-z]", code), code
        assert spec.kind in KINDS, code
        words = spec.meaning.split()
        assert len(words) >= 3, f"{code}: the meaning is a sentence"
        assert spec.meaning == spec.meaning.strip() and "\n" not in spec.meaning, code
        assert not re.search(r"[.!?](\s|$)", spec.meaning), f"{code}: one sentence, no full stop"
        assert "|" not in spec.meaning, f"{code}: the meaning sits in a markdown table"


def test_an_unregistered_code_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="'no_such_code' is not registered"):
        DomainError("no_such_code", "refused")
    with pytest.raises(ValueError, match="'Not_Found' is not registered"):
        DomainError("Not_Found", "codes are exact")


def test_a_refusal_knows_its_kind() -> None:
    assert DomainError("not_found", "no such disbursement", rule="GEN-5").kind == "not_found"
    assert DomainError("permission_denied", "x needs y", rule="ROLE-4").kind == "forbidden"
    assert DomainError("state_conflict", "reload and retry", rule="GEN-7").kind == "conflict"
    assert DomainError("invalid_amount", "amount: not a number", rule="GEN-2").kind == "invalid"


def _refusal(call, *args: object) -> DomainError:
    with pytest.raises(DomainError) as e:
        call(*args)
    return e.value


@pytest.mark.rule("GEN-5", "ROLE-7", "WF-14", "WF-2")
def test_engine_refusals_carry_the_kind_the_http_layer_maps(svc) -> None:
    """One refusal of each kind, through the engine's commands: another company's template is
    not found (GEN-5), a Controller may not archive (ROLE-7), the default is not archived
    (WF-14), a blank name is refused (WF-2)."""
    w = build_world(svc)
    boss = directory.create_user(svc, "boss@other.example", "Boss").id
    other = directory.create_company(svc, "Other GC", first_admin=boss).id
    cases = {
        "not_found": _refusal(templates.archive, svc, boss, other, w.template),
        "forbidden": _refusal(templates.archive, svc, w.controller, w.company, w.template),
        "conflict": _refusal(templates.archive, svc, w.admin, w.company, w.template),
        "invalid": _refusal(templates.create_template, svc, w.admin, w.company, "   "),
    }
    assert {kind: (e.code, e.rule, e.kind) for kind, e in cases.items()} == {
        "not_found": ("not_found", "GEN-5", "not_found"),
        "forbidden": ("permission_denied", "ROLE-7", "forbidden"),
        "conflict": ("template_is_default", "WF-14", "conflict"),
        "invalid": ("invalid_name", "WF-2", "invalid"),
    }


def test_engine_md_error_table_is_generated_from_the_registry(request: pytest.FixtureRequest) -> None:
    text = ENGINE_MD.read_text(encoding="utf-8")
    found = TABLE.search(text)
    assert found is not None, "docs/engine.md has no `| code | kind | meaning |` table"
    if request.config.getoption("--update-goldens"):
        ENGINE_MD.write_text(text[:found.start()] + markdown_table() + text[found.end():], encoding="utf-8")
        return
    assert found.group(0) == markdown_table(), \
        "docs/engine.md's error table is stale; run pytest tests/engine/test_error_registry.py --update-goldens"
