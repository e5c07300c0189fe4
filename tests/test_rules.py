"""docs/rules.md is honest: a rule it calls tested has a test marked ``@pytest.mark.rule(ID)``
that asserts it, the tests column is what pytest collects, and no rule is forgotten.

Marks are read from a real ``pytest --collect-only`` run (tests/rule_marks.py), never from a
text search: a rule named only in a docstring or a comment counts for nothing.
``pytest tests/test_rules.py --update-goldens`` rewrites the tests column of docs/rules.md.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from functools import lru_cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RULES_MD = ROOT / "docs" / "rules.md"
ROW = re.compile(r"^\| ([A-Z]+-\d+) \| ([a-z]+) \| ([^|]*) \| ([^|]*) \|$", re.M)
OTHER = re.compile(r"^Other domain\.md rules: (.*)$", re.M)
RANGE = re.compile(r"\b([A-Z]+)-(\d+)(?:\.\.\1-(\d+))?\b")
STATUSES = ("tested", "partial", "deferred")
SECTIONS = {"GEN": 8, "ROLE": 12, "WF": 14, "STEP": 13, "COND": 13, "END": 4, "MGR": 9, "DSB": 14, "ST": 6,
            "RESP": 8, "AUD": 7, "BANK": 15, "MFA": 15, "AUTH": 15, "FLOW": 9}
SENTENCE = re.compile(r"\w+(?:\W+\w+){4,}")  # at least five words


def _text() -> str:
    return RULES_MD.read_text(encoding="utf-8")


def _rows(text: str) -> dict[str, tuple[str, str, str]]:
    """rule -> (status, tests column, note)."""
    return {m[1]: (m[2], m[3].strip(), m[4].strip()) for m in ROW.finditer(text)}


def _other_rules(text: str) -> set[str]:
    """domain.md's rules outside the table (the line under it), ranges like MFA-1..MFA-15 expanded."""
    m = OTHER.search(text)
    assert m, "docs/rules.md lists the other domain.md rules on a line `Other domain.md rules: ...`"
    ids: set[str] = set()
    for prefix, first, last in RANGE.findall(m[1]):
        ids.update(f"{prefix}-{n}" for n in range(int(first), int(last or first) + 1))
    return ids


@lru_cache(maxsize=1)
def _collected() -> tuple[dict[str, tuple[str, ...]], tuple[str, ...]]:
    """(test id -> rule IDs it is marked with, problems) from a real collection of tests/."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "rule-marks.json"
        env = {**os.environ, "PAYROUTE_RULE_MARKS_OUT": str(out)}
        run = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
                              "-p", "tests.rule_marks", "tests"],
                             cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
        assert run.returncode == 0 and out.exists(), \
            f"collecting the tests failed:\n{run.stdout[-3000:]}{run.stderr[-3000:]}"
        data = json.loads(out.read_text(encoding="utf-8"))
    return {k: tuple(v) for k, v in data["marks"].items()}, tuple(data["problems"])


def _tests_by_rule() -> dict[str, list[str]]:
    by_rule: dict[str, list[str]] = {}
    for test, rules in _collected()[0].items():
        for rule in rules:
            by_rule.setdefault(rule, []).append(test.removeprefix("tests/"))
    return {r: sorted(t) for r, t in by_rule.items()}


def _column(tests: list[str]) -> str:
    return "<br>".join(f"`{t}`" for t in tests)


def test_every_rule_in_scope_is_listed_once_with_a_known_status() -> None:
    text = _text()
    rows = _rows(text)
    expected = {f"{p}-{n}" for p, count in SECTIONS.items() for n in range(1, count + 1)}
    expected |= {"ROLL-1", "ROLL-2", "ROLL-3", "ROLL-4", "ROLL-5", "ROLL-6", "AUTH-13", "AUTH-14", "AUTH-15"}
    assert sorted(expected - set(rows)) == []
    assert len(ROW.findall(text)) == len(rows), "a rule is listed twice"
    assert {r: s for r, (s, _, _) in rows.items() if s not in STATUSES} == {}
    assert sorted(set(rows) & _other_rules(text)) == [], "a rule is both in the table and in the other list"


def test_marks_name_rules_of_domain_md() -> None:
    marks, problems = _collected()
    text = _text()
    known = set(_rows(text)) | _other_rules(text)
    assert list(problems) == []
    unknown = sorted(f"{test}: {rule}" for test, rules in marks.items() for rule in rules if rule not in known)
    assert unknown == [], "marked with a rule ID that domain.md does not have"


def test_tested_rules_have_a_marked_test() -> None:
    by_rule = _tests_by_rule()
    untested = [r for r, (status, _, _) in _rows(_text()).items() if status == "tested" and not by_rule.get(r)]
    assert untested == []


def test_partial_and_deferred_rules_say_what_is_missing() -> None:
    vague = [r for r, (status, _, note) in _rows(_text()).items()
             if status in ("partial", "deferred") and not SENTENCE.search(note)]
    assert vague == []


def test_the_tests_column_is_what_pytest_collects(request: pytest.FixtureRequest) -> None:
    """Generated: run ``pytest tests/test_rules.py --update-goldens`` after marking a test."""
    by_rule = _tests_by_rule()
    text = _text()

    def regenerate(m: re.Match[str]) -> str:
        return f"| {m[1]} | {m[2]} | {_column(by_rule.get(m[1], []))} | {m[4].strip()} |"

    fresh = ROW.sub(regenerate, text)
    if request.config.getoption("--update-goldens"):
        RULES_MD.write_text(fresh, encoding="utf-8")
        return
    stale = [m[1] for m, n in zip(ROW.finditer(text), ROW.finditer(fresh)) if m[0] != n[0]]
    assert stale == [], "docs/rules.md's tests column is stale: run pytest tests/test_rules.py --update-goldens"
