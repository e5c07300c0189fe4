"""``payroute test [DIR...]``: run each workflow's ``cases.yaml`` and measure coverage.

With no DIR, runs every ``templates_examples/*/cases.yaml`` under the current
directory. For each case: compute the disbursement's facts, route it through
the compiled workflow with the case's answers (nothing is written, ROLL-6),
compare with what the case expects, and count which steps, answers, ``when``
lines and ``otherwise`` routes were exercised.

Exit codes: 0 all cases pass (and coverage meets ``--threshold``); 1 a case
failed, coverage is below the threshold, or a workflow has errors; 2 a
usage problem: a missing directory, or a cases file that cannot be read
(every problem located by line and column).
"""

from __future__ import annotations

import argparse
import json
import sys
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

HELP = "run the cases.yaml of workflow examples and report coverage"


def register(p: argparse.ArgumentParser) -> None:
    from dsl.verbs import add_format_option

    p.add_argument("dirs", nargs="*", metavar="DIR",
                   help="directories with a cases.yaml (default: every templates_examples/*/)")
    add_format_option(p)
    p.add_argument("--threshold", metavar="N", default=None,
                   help="fail (exit 1) when total coverage is below N percent")


class _WorkflowErrors(Exception):
    def __init__(self, loaded: Any) -> None:
        super().__init__(loaded.filename)
        self.loaded = loaded


def _threshold(raw: str | None) -> Decimal | None:
    from dsl.verbs import UsageError

    if raw is None:
        return None
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise UsageError(f"--threshold must be a number from 0 to 100, not `{raw}`") from None
    if not value.is_finite() or not 0 <= value <= 100:
        raise UsageError(f"--threshold must be a number from 0 to 100, not `{raw}`")
    return value


def _arrow(path: Any) -> str:
    return " → ".join(path) if path else "(nothing)"


def mismatches(expect: Any, route: Any) -> list[str]:
    """What differs between a case's expectation and the route taken, as readable lines."""
    out: list[str] = []
    actual = tuple(route.path)
    if expect.path is not None and actual != expect.path:
        at = next((i for i, (a, b) in enumerate(zip(expect.path, actual)) if a != b),
                  min(len(expect.path), len(actual)))
        out += [f"path differs at step {at + 1}:",
                f"  expected: {_arrow(expect.path)}",
                f"  actual:   {_arrow(actual)}"]
    if expect.end is not None and route.end != expect.end:
        got = f"\"{route.end}\"" if route.end is not None else "no end"
        out.append(f"end: expected \"{expect.end}\", got {got}")
    if expect.outcome is not None and route.outcome != expect.outcome:
        out.append(f"outcome: expected {expect.outcome}, got {route.outcome or 'none'}")
    if out and route.stopped:
        out.append(f"the route stopped: {route.stopped}")
    return out


def _run_file(directory: Path, cases_path: Path) -> dict[str, Any]:
    """Run one cases file; raises CasesError or _WorkflowErrors."""
    from dsl.cases import read_cases
    from dsl.coverage import measure
    from dsl.load import load_workflow_file
    from engine.spec.evaluator import evaluate
    from engine.spec.facts import compute_facts

    holder: dict[str, Any] = {}

    def load(path: Path) -> Any:
        loaded = load_workflow_file(path, compile=True)
        if loaded.compiled is None:
            raise _WorkflowErrors(loaded)
        holder["loaded"] = loaded
        return loaded.config

    text = cases_path.read_text(encoding="utf-8")
    case_file = read_cases(directory, cases_path, text, load)
    loaded = holder["loaded"]
    compiled = loaded.compiled

    cases, routes = [], []
    for case in case_file.cases:
        route = evaluate(compiled, compute_facts(case.disbursement), case.answers, case.default_answer)
        routes.append(route)
        diff = mismatches(case.expect, route)
        cases.append({"case": case, "route": route, "mismatches": diff})
    return {"file": case_file, "config": loaded.config, "cases": cases,
            "coverage": measure(loaded.config, routes)}


def run(args: argparse.Namespace) -> int:
    from dsl.cases import CasesError, discover
    from dsl.coverage import Coverage
    from dsl.verbs import EXIT_INPUT, EXIT_OK, EXIT_USAGE, UsageError

    threshold = _threshold(args.threshold)
    try:
        pairs = discover(list(args.dirs), Path.cwd())
    except FileNotFoundError as exc:
        raise UsageError(str(exc)) from None

    results: list[dict[str, Any]] = []
    problems: list[tuple[CasesError, Path]] = []
    broken: list[Any] = []
    for directory, cases_path in pairs:
        try:
            results.append(_run_file(directory, cases_path))
        except CasesError as exc:
            problems.append((exc, cases_path))
        except _WorkflowErrors as exc:
            broken.append(exc.loaded)
        except UnicodeDecodeError as exc:
            problems.append((CasesError([_problem(cases_path, f"not a UTF-8 text file ({exc.reason})")]),
                             cases_path))

    total = Coverage()
    for r in results:
        total.add(r["coverage"])
    failed = sum(1 for r in results for c in r["cases"] if c["mismatches"])
    count = sum(len(r["cases"]) for r in results)
    below = threshold is not None and bool(results) and not total.overall.meets(threshold)

    if args.format == "json":
        _print_json(results, problems, broken, total, threshold, failed, count, below)
    else:
        _print_text(results, problems, broken, total, threshold, failed, count, below)
    if problems:
        return EXIT_USAGE
    return EXIT_INPUT if failed or broken or below else EXIT_OK


def _problem(path: Path, message: str) -> Any:
    from dsl.located_yaml import YamlProblem

    return YamlProblem(str(path), message)


# ---------------------------------------------------------------- output


def _print_text(results: list[dict[str, Any]], problems: list[Any], broken: list[Any], total: Any,
                threshold: Decimal | None, failed: int, count: int, below: bool) -> None:
    from dsl.render import render_text
    from dsl.safe_text import one_line

    out, err = sys.stdout, sys.stderr
    for exc, _path in problems:
        for p in exc.problems:
            err.write(p.render(exc.text) + "\n\n")
    for loaded in broken:
        for d in loaded.errors():
            err.write(render_text(d, {loaded.filename: loaded.text}) + "\n\n")
        err.write(f"payroute test: {loaded.filename} has errors; its cases were not run\n\n")
    for r in results:
        case_file = r["file"]
        out.write(f"{case_file.directory} — {r['config'].name}\n")
        for c in r["cases"]:
            case = c["case"]
            if not c["mismatches"]:
                out.write(f"  ok    {one_line(case.name)}\n")
                continue
            where = f"{case_file.cases_path}:{case.line}" if case.line else str(case_file.cases_path)
            out.write(f"  FAIL  {one_line(case.name)}  ({where})\n")
            for line in c["mismatches"]:
                out.write(f"          {line}\n")
            out.write("          route taken:\n")
            for visit in c["route"].visits:
                for line in visit.lines():
                    out.write(f"            {one_line(line)}\n")
        cov = r["coverage"]
        out.write(f"  coverage: {cov.text()}\n")
        if cov.missed:
            out.write(f"  not covered: {'; '.join(cov.missed)}\n")
        out.write("\n")
    passed = count - failed
    summary = f"{count} case{'s' if count != 1 else ''}: {passed} passed, {failed} failed"
    if results:
        summary += f" · coverage {total.text()}"
    out.write(summary + "\n")
    if below:
        out.write(f"coverage {total.overall.percent}% is below the threshold of {threshold}%\n")
    if problems:
        n = sum(len(exc.problems) for exc, _ in problems)
        out.write(f"{n} problem{'s' if n != 1 else ''} in cases files (see above); those files were not run\n")


def _print_json(results: list[dict[str, Any]], problems: list[Any], broken: list[Any], total: Any,
                threshold: Decimal | None, failed: int, count: int, below: bool) -> None:
    from dsl.render import diagnostic_json

    workflows = []
    for r in results:
        cases = []
        for c in r["cases"]:
            case, route = c["case"], c["route"]
            expect = {k: (list(v) if isinstance(v, tuple) else v)
                      for k, v in vars(case.expect).items() if v is not None}
            cases.append({
                "name": case.name, "line": case.line, "result": "fail" if c["mismatches"] else "pass",
                "expected": expect,
                "actual": {"path": list(route.path), "end": route.end, "outcome": route.outcome,
                           "stopped": route.stopped},
                "mismatches": c["mismatches"],
            })
        workflows.append({"directory": str(r["file"].directory), "cases_file": str(r["file"].cases_path),
                          "workflow": str(r["file"].workflow_path), "name": r["config"].name,
                          "cases": cases, "coverage": r["coverage"].as_json()})
    errors = [p.as_json() for exc, _ in problems for p in exc.problems]
    errors += [diagnostic_json(d, loaded.filename) for loaded in broken for d in loaded.errors()]
    result = "error" if problems or broken else "fail" if failed or below else "pass"
    total_json = total.as_json()
    del total_json["missed"]
    body = {"result": result, "threshold": float(threshold) if threshold is not None else None,
            "summary": {"cases": count, "passed": count - failed, "failed": failed,
                        "below_threshold": below},
            "coverage": total_json, "workflows": workflows, "errors": errors}
    json.dump(body, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")
