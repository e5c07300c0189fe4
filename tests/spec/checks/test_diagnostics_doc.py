"""`docs/diagnostics.md` is generated from the code registry and the golden cases.

The page lists every code of :data:`engine.diagnostics.CODES` with its severity
and sentence, and shows the golden output of its main case as the example,
so the documentation cannot drift from what `payroute check` prints.
``pytest tests/checks --update-goldens`` rewrites the page.
"""

from __future__ import annotations

from pathlib import Path

from engine.diagnostics import CODES

ROOT = Path(__file__).resolve().parents[3]
DOC = ROOT / "docs" / "diagnostics.md"
CASES = ROOT / "tests" / "golden" / "diagnostics"

INTRO = """\
# Diagnostics

Every problem `payroute check` reports has a stable code, a severity, a
one-line message, a location (line and column in a `.flow` file; a JSON
Pointer and line and column in a JSON config) and, where it helps, a hint.
Errors fail `payroute check` (exit 1); warnings do not, unless `--strict`.
A JSON config gets exactly the same checks as a `.flow` file (WF-5).

`payroute check --format json` prints
`{"result": "ok"|"error", "diagnostics": [{"code", "severity", "message",
"file", "line", "column", "end_line", "end_column", "hint"}]}` (lines and
columns 1-based, `end_column` exclusive, `hint` may be null; JSON configs
also get `pointer`).

This page is generated from the code registry (`engine/diagnostics.py`) and the
golden cases in `tests/golden/diagnostics/`; regenerate it with
`pytest tests/checks --update-goldens`.

## One mistake, one diagnostic

Every error of a file is reported, sorted by position, but a check stays
quiet when its complaint would only repeat one already made:

- a value out of bounds (`text_invalid`, `text_too_long`,
  `due_days_too_large`, `number_too_large`) is reported alone: every other
  check quotes names and computes with values, and would repeat it or
  stumble on it; `payroute fmt` does not rewrite such a file;

- a comparison that reads an unknown fact is not type-checked, and a `when`
  line with an unknown fact, a bad literal or a type error is not analysed
  for shadowing;
- a step whose routes are incomplete (an unknown target, a response step
  with no answers, a condition step without `otherwise`) is assumed to be
  able to reach an end, so neither it nor the steps before it get
  `graph_no_end_reachable`: the step already has its own error;
- an unknown target with a close match ("did you mean") counts as a route to
  that step when deciding what is reachable; when the start is missing or
  unknown, or a reachable step's routes are unknown, `graph_unreachable_step`
  is not reported at all;
- a dead end is reported once, at the step where the route enters it, and
  not when it is a loop of condition steps (that is `graph_condition_loop`);
  unreachable steps are reported once per unreachable region;
- a `requires: all` step with no answers at all gets `response_no_answers`
  only; a step sharing an earlier step's name gets `name_duplicate_step`
  only (`->` can never reach it).

## Codes

"""


def render_doc() -> str:
    rows = ["| code | severity | meaning |", "| --- | --- | --- |"]
    rows += [f"| [`{code}`](#{code}) | {info.severity} | {info.summary} |" for code, info in CODES.items()]
    parts = [INTRO + "\n".join(rows) + "\n"]
    for code, info in CODES.items():
        case = CASES / f"{code}.txt"
        source = next(p for p in (CASES / f"{code}.flow", CASES / f"{code}.json") if p.exists())
        example = case.read_text(encoding="utf-8").rstrip("\n")
        parts.append(
            f"\n### {code}\n\n"
            f"**{info.severity}**: {info.summary}.\n\n"
            f"Example (`{source.relative_to(ROOT)}`):\n\n"
            f"```text\n{example}\n```\n"
        )
    return "".join(parts)


def test_diagnostics_doc_is_generated_from_the_registry(request) -> None:
    expected = render_doc()
    if request.config.getoption("--update-goldens"):
        DOC.write_text(expected, encoding="utf-8")
    assert DOC.read_text(encoding="utf-8") == expected, \
        "docs/diagnostics.md is stale; run pytest tests/checks --update-goldens"


def test_every_code_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    for code, info in CODES.items():
        assert f"\n### {code}\n" in text
        assert f"**{info.severity}**: {info.summary}." in text
