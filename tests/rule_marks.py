"""A pytest plugin for the rules ledger (tests/test_rules.py): after collection it writes,
for every collected test carrying ``@pytest.mark.rule(...)`` (on the function, its class
or the module's ``pytestmark``), the rule IDs it asserts.

The ledger runs ``python -m pytest --collect-only -q -p tests.rule_marks`` in a subprocess
with ``PAYROUTE_RULE_MARKS_OUT`` naming the JSON file to write, so what counts is the
collection pytest really makes — never a text search, which a docstring or a comment
could fool.
"""

from __future__ import annotations

import json
import os
import re

import pytest

OUT = "PAYROUTE_RULE_MARKS_OUT"
_PARAMS = re.compile(r"\[.*\]$")


def base_id(nodeid: str) -> str:
    """A test's id without its parametrization: one row per test function, whatever backends
    (SQLite, PostgreSQL) or cases it runs with, so the ledger reads the same everywhere."""
    return _PARAMS.sub("", nodeid)


def pytest_collection_finish(session: pytest.Session) -> None:
    path = os.environ.get(OUT)
    if not path:
        return
    marks: dict[str, set[str]] = {}
    problems: list[str] = []
    for item in session.items:
        for mark in item.iter_markers(name="rule"):
            if not mark.args or mark.kwargs or not all(isinstance(a, str) for a in mark.args):
                problems.append(f"{base_id(item.nodeid)}: rule(...) takes one or more rule IDs as strings")
                continue
            marks.setdefault(base_id(item.nodeid), set()).update(mark.args)
    with open(path, "w", encoding="utf-8") as f:
        json.dump({"marks": {k: sorted(v) for k, v in sorted(marks.items())},
                   "problems": sorted(set(problems))}, f, indent=1)
