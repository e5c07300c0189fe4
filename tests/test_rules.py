"""docs/rules.md is honest: a rule marked tested is named by a test, and none is forgotten."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RULE = re.compile(r"\b(?:GEN|ROLE|WF|STEP|COND|END|MGR|DSB|ST|RESP|AUTH|AUD|ROLL)-\d+\b")
ROW = re.compile(r"^\| ([A-Z]+-\d+) \| (tested|deferred) \| (.*) \|$", re.M)
SECTIONS = {"GEN": 8, "ROLE": 12, "WF": 14, "STEP": 13, "COND": 13, "END": 4, "MGR": 9, "DSB": 14, "ST": 6,
            "RESP": 8, "AUD": 7}


def _rows() -> dict[str, tuple[str, str]]:
    text = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
    return {m[1]: (m[2], m[3]) for m in ROW.finditer(text)}


def test_every_rule_in_scope_is_listed() -> None:
    rows = _rows()
    expected = {f"{p}-{n}" for p, count in SECTIONS.items() for n in range(1, count + 1)}
    expected |= {"ROLL-1", "ROLL-2", "ROLL-6", "AUTH-13", "AUTH-14", "AUTH-15"}
    assert sorted(expected - set(rows)) == []


def test_rules_marked_tested_are_named_by_a_test() -> None:
    named: set[str] = set()
    for path in (ROOT / "tests").rglob("*.py"):
        if path.name != "test_rules.py":
            named.update(RULE.findall(path.read_text(encoding="utf-8")))
    untested = [r for r, (status, _) in _rows().items() if status == "tested" and r not in named]
    assert untested == []


def test_deferred_rules_say_why() -> None:
    assert [r for r, (status, note) in _rows().items() if status == "deferred" and len(note.strip()) < 20] == []
