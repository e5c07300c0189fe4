"""Test cases for a workflow: reading ``cases.yaml``, located problems, discovery.

A case is one disbursement, the answers people give, and what must happen
(the path of steps, the end, the outcome). The file format is documented in
``templates_examples/README.md``; in short::

    workflow: workflow.flow          # optional, next to cases.yaml
    defaults:                        # optional, merged under every case
      disbursement: {project: {...}, created_by: ..., funding_account: ...}
      invoice: {vendor: ..., status: ..., approved_by: ...}
      default_answer: Approve
    cases:
      - name: exactly $100,000.00 skips the CFO
        disbursement:
          invoices: ["100000.00"]    # compact: an invoice written as its amount
        answers: {Controller Review: Approve}
        expect: {path: [...], end: Approved, outcome: success}

Every problem in a cases file (bad YAML, a missing field, an amount YAML read
as a number, a step name that does not exist) is reported with file, line,
column and a caret, all of them at once, and never as a traceback: a cases
file is input a person wrote.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dsl.located_yaml import LocatedYaml, YamlPath, YamlProblem
from engine.diagnostics import did_you_mean
from engine.spec.model import EndStep, ResponseStep, WorkflowConfig

CASES_FILE = "cases.yaml"
EXAMPLES_DIR = "templates_examples"
WORKFLOW_FILES = ("workflow.flow", "workflow.json")

_TOP_KEYS = ("workflow", "defaults", "cases")
_DEFAULT_KEYS = ("disbursement", "invoice", "default_answer")
_CASE_KEYS = ("name", "disbursement", "answers", "default_answer", "expect")
_EXPECT_KEYS = ("path", "end", "outcome")
OUTCOMES = ("success", "failure")


# ---------------------------------------------------------------- problems


class CasesError(Exception):
    """A cases file (or a directory) that cannot be run: every problem, located. Exit 2."""

    def __init__(self, problems: list[YamlProblem], text: str | None = None) -> None:
        super().__init__("; ".join(p.message for p in problems))
        self.problems = problems
        self.text = text


# ---------------------------------------------------------------- the model


@dataclass(frozen=True)
class Expect:
    path: tuple[str, ...] | None = None
    end: str | None = None
    outcome: str | None = None


@dataclass(frozen=True)
class Case:
    name: str
    index: int
    disbursement: Any  # engine.spec.disbursement.Disbursement
    answers: dict[str, str]
    default_answer: str
    expect: Expect
    line: int | None = None


@dataclass
class CaseFile:
    """A directory's cases and the workflow they test."""

    directory: Path
    cases_path: Path
    workflow_path: Path
    cases: list[Case] = field(default_factory=list)


# ---------------------------------------------------------------- reading


def _check_keys(doc: LocatedYaml, value: dict[str, Any], path: YamlPath, allowed: tuple[str, ...],
                what: str) -> None:
    for key in value:
        if key not in allowed:
            hint = did_you_mean(key, allowed) or f"{what} takes {', '.join(allowed)}"
            doc.problem((*path, key), f"unknown key `{key}` in {what}", hint, key=True)


def _merge(base: Any, base_path: YamlPath | None, over: Any, over_path: YamlPath,
           rel: tuple[object, ...], origin: dict[tuple[object, ...], YamlPath]) -> Any:
    """``over`` merged onto ``base`` (mappings recursively), remembering where each value came from."""
    if isinstance(base, dict) and isinstance(over, dict):
        out: dict[str, Any] = {}
        origin[rel] = over_path
        for key in [*base, *(k for k in over if k not in base)]:
            if key in over:
                bp = (*base_path, key) if base_path is not None and key in base else None
                out[key] = _merge(base.get(key), bp, over[key], (*over_path, key), (*rel, key), origin)
            else:
                out[key] = _record(base[key], (*base_path, key), (*rel, key), origin)  # type: ignore[misc]
        return out
    return _record(over, over_path, rel, origin)


def _record(value: Any, path: YamlPath, rel: tuple[object, ...],
            origin: dict[tuple[object, ...], YamlPath]) -> Any:
    origin[rel] = path
    if isinstance(value, dict):
        for k, v in value.items():
            _record(v, (*path, k), (*rel, k), origin)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _record(v, (*path, i), (*rel, i), origin)
    return value


def _expand_disbursement(doc: LocatedYaml, raw: dict[str, Any], path: YamlPath, defaults: dict[str, Any],
                         index: int) -> tuple[dict[str, Any], dict[tuple[object, ...], YamlPath]]:
    """The full disbursement document of a case: defaults merged, compact invoices expanded."""
    origin: dict[tuple[object, ...], YamlPath] = {}
    base = defaults.get("disbursement") if isinstance(defaults.get("disbursement"), dict) else {}
    merged = _merge(base, ("defaults", "disbursement"), raw, path, (), origin)
    merged.setdefault("id", f"case-{index + 1}")
    invoices = merged.get("invoices")
    if isinstance(invoices, list):
        inv_base = defaults.get("invoice") if isinstance(defaults.get("invoice"), dict) else {}
        expanded = []
        for i, item in enumerate(invoices):
            item_path = origin.get(("invoices", i), (*path, "invoices", i))
            if isinstance(item, str):  # compact: the invoice payment amount alone
                item = {"amount": item}
                origin[("invoices", i, "amount")] = item_path
            if isinstance(item, dict):
                item = _merge(inv_base, ("defaults", "invoice"), item, item_path, ("invoices", i), origin)
                item.setdefault("id", f"INV-{i + 1}")
            expanded.append(item)
        merged["invoices"] = expanded
    return merged, origin


def _disbursement_problems(doc: LocatedYaml, exc: Any, case_label: str,
                           origin: dict[tuple[object, ...], YamlPath], case_path: YamlPath) -> None:
    from engine.spec.disbursement import format_location

    located = {format_location(rel): yp for rel, yp in origin.items()}
    for loc, message in exc.problems:
        best = ""
        for key in located:
            if (loc == key or loc.startswith(key + ".") or loc.startswith(key + "[")) and len(key) > len(best):
                best = key
        yp = located.get(best, (*case_path, "disbursement"))
        hint = None
        number = doc.unquoted_number(yp) if best == loc else None
        if number is not None:
            hint = f'quote it: "{number}" (YAML reads an unquoted {number} as a number)'
            if "JSON number" in message:
                message = 'money must be a decimal string such as "100.00", not a YAML number (GEN-2)'
        elif message == "required field is missing":
            where = "defaults.invoice" if loc.startswith("invoices[") else "defaults.disbursement"
            hint = f"give `{loc.rsplit('.', 1)[-1]}` in the case or in `{where}`"
        # A problem inside a mapping that has no node of its own (a missing
        # field) points at the mapping's key: `disbursement:` rather than its whole body.
        doc.problem(yp, f"{case_label}: disbursement.{loc}: {message}" if loc else
                    f"{case_label}: disbursement: {message}", hint,
                    key=best != loc or message.startswith("unknown field"))


def _string(doc: LocatedYaml, value: Any, path: YamlPath, what: str) -> str | None:
    if isinstance(value, str) and value:
        return value
    doc.problem(path, f"{what} must be a non-empty string")
    return None


def _step_name(doc: LocatedYaml, name: str, path: YamlPath, config: WorkflowConfig, what: str,
               *, key: bool = False) -> bool:
    names = [s.name for s in config.steps]
    if name in names:
        return True
    doc.problem(path, f"{what} names unknown step `{name}`", did_you_mean(name, names), key=key)
    return False


def _read_case(doc: LocatedYaml, raw: Any, path: YamlPath, index: int, defaults: dict[str, Any],
               config: WorkflowConfig, seen: dict[str, YamlPath]) -> Case | None:
    from engine.spec.disbursement import DisbursementError, parse_disbursement

    if not isinstance(raw, dict):
        doc.problem(path, f"case {index + 1} must be a mapping with name, disbursement and expect")
        return None
    _check_keys(doc, raw, path, _CASE_KEYS, "a case")
    name = _string(doc, raw.get("name"), (*path, "name") if "name" in raw else path, "a case's `name`")
    label = f"case \"{name}\"" if name else f"case {index + 1}"
    if name is not None:
        if name in seen:
            doc.problem((*path, "name"), f"two cases are named \"{name}\"", "give every case its own name")
        seen[name] = path
    ok = name is not None

    disbursement = None
    raw_d = raw.get("disbursement")
    if not isinstance(raw_d, dict):
        doc.problem((*path, "disbursement") if "disbursement" in raw else path,
                    f"{label}: `disbursement` must be a mapping (the disbursement document)")
        ok = False
    else:
        full, origin = _expand_disbursement(doc, raw_d, (*path, "disbursement"), defaults, index)
        try:
            disbursement = parse_disbursement(full)
        except DisbursementError as exc:
            _disbursement_problems(doc, exc, label, origin, path)
            ok = False

    answers: dict[str, str] = {}
    raw_a = raw.get("answers", {})
    if not isinstance(raw_a, dict):
        doc.problem((*path, "answers"), f"{label}: `answers` must map step names to answers")
        ok = False
        raw_a = {}
    for step_name, answer in raw_a.items():
        ap = (*path, "answers", step_name)
        if not _step_name(doc, step_name, ap, config, f"{label}: `answers`", key=True):
            ok = False
            continue
        step = config.step_named(step_name)
        if not isinstance(step, ResponseStep):
            doc.problem(ap, f"{label}: `{step_name}` is a {step.kind} step; only response steps take answers",
                        key=True)
            ok = False
            continue
        offered = [a.response for a in step.answers]
        if not isinstance(answer, str) or answer not in offered:
            doc.problem(ap, f"{label}: `{step_name}` does not offer the answer `{answer}`",
                        " ".join(filter(None, [did_you_mean(str(answer), offered),
                                               f"it offers {', '.join(offered)}"])))
            ok = False
            continue
        answers[step_name] = answer

    default_answer = raw.get("default_answer", defaults.get("default_answer", "Approve"))
    if _string(doc, default_answer, (*path, "default_answer"), f"{label}: `default_answer`") is None:
        ok = False

    expect = _read_expect(doc, raw.get("expect"), (*path, "expect"), label, config, path)
    node = doc.nodes.get(path)
    if not ok or expect is None:
        return None
    return Case(name, index, disbursement, answers, default_answer, expect,  # type: ignore[arg-type]
                node.start_mark.line + 1 if node is not None else None)


def _read_expect(doc: LocatedYaml, raw: Any, path: YamlPath, label: str, config: WorkflowConfig,
                 case_path: YamlPath) -> Expect | None:
    if not isinstance(raw, dict) or not any(k in raw for k in _EXPECT_KEYS):
        doc.problem(path if raw is not None else case_path,
                    f"{label}: `expect` must give `path`, `end` or `outcome`")
        return None
    _check_keys(doc, raw, path, _EXPECT_KEYS, "`expect`")
    ok = True
    steps = None
    if "path" in raw:
        value = raw["path"]
        if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
            doc.problem((*path, "path"), f"{label}: `expect.path` must be a list of step names")
            ok = False
        else:
            for i, name in enumerate(value):
                ok &= _step_name(doc, name, (*path, "path", i), config, f"{label}: `expect.path`")
            steps = tuple(value)
    end = raw.get("end")
    if "end" in raw:
        ends = [s.name for s in config.steps if isinstance(s, EndStep)]
        if not isinstance(end, str) or end not in ends:
            doc.problem((*path, "end"), f"{label}: `expect.end` must name an end step, not `{end}`",
                        did_you_mean(str(end), ends) or f"the end steps are {', '.join(ends)}")
            ok = False
    outcome = raw.get("outcome")
    if "outcome" in raw and outcome not in OUTCOMES:
        doc.problem((*path, "outcome"), f"{label}: `expect.outcome` must be success or failure, not `{outcome}`")
        ok = False
    return Expect(steps, end, outcome) if ok else None


def read_cases(directory: Path, cases_path: Path, text: str, load_workflow_for: Any) -> CaseFile:
    """Parse and validate ``cases.yaml`` against its workflow.

    ``load_workflow_for(path)`` returns the checked :class:`WorkflowConfig`
    (the caller decides how workflow errors are reported). Raises
    :class:`CasesError` with every problem found.
    """
    doc = LocatedYaml(text, str(cases_path))
    data = doc.load()
    if doc.problems:
        raise CasesError(doc.problems, text)
    top: dict[str, Any] = {"cases": data} if isinstance(data, list) else data
    if not isinstance(top, dict):
        doc.problem((), "a cases file is a list of cases, or a mapping with `cases:`")
        raise CasesError(doc.problems, text)
    base: YamlPath = () if isinstance(data, list) else ("cases",)
    if not isinstance(data, list):
        _check_keys(doc, top, (), _TOP_KEYS, "a cases file")

    workflow_name = top.get("workflow")
    if workflow_name is not None and not isinstance(workflow_name, str):
        doc.problem(("workflow",), "`workflow` must be a file name such as workflow.flow")
        raise CasesError(doc.problems, text)
    workflow_path = _workflow_path(directory, workflow_name)
    if workflow_path is None or not workflow_path.is_file():
        msg = (f"workflow file `{workflow_name}` not found next to {cases_path.name}" if workflow_name
               else f"no {' or '.join(WORKFLOW_FILES)} next to {cases_path.name}")
        doc.problem(("workflow",) if workflow_name else None, msg)
        raise CasesError(doc.problems, text)

    defaults = top.get("defaults", {})
    if not isinstance(defaults, dict):
        doc.problem(("defaults",), "`defaults` must be a mapping")
        defaults = {}
    _check_keys(doc, defaults, ("defaults",), _DEFAULT_KEYS, "`defaults`")
    for key in ("disbursement", "invoice"):
        if key in defaults and not isinstance(defaults[key], dict):
            doc.problem(("defaults", key), f"`defaults.{key}` must be a mapping")

    raw_cases = top.get("cases")
    if not isinstance(raw_cases, list) or not raw_cases:
        doc.problem(("cases",) if "cases" in top else (), "`cases` must be a non-empty list of cases")
        raise CasesError(doc.problems, text)
    if doc.problems:
        raise CasesError(doc.problems, text)

    config = load_workflow_for(workflow_path)
    result = CaseFile(directory, cases_path, workflow_path)
    seen: dict[str, YamlPath] = {}
    for i, raw in enumerate(raw_cases):
        case = _read_case(doc, raw, (*base, i), i, defaults, config, seen)
        if case is not None:
            result.cases.append(case)
    if doc.problems:
        raise CasesError(sorted(doc.problems, key=lambda p: (p.line or 0, p.column or 0)), text)
    return result


def _workflow_path(directory: Path, name: str | None) -> Path | None:
    if name:
        return directory / name
    for candidate in WORKFLOW_FILES:
        if (directory / candidate).is_file():
            return directory / candidate
    return None


# ---------------------------------------------------------------- discovery


def discover(args: list[str], cwd: Path) -> list[tuple[Path, Path]]:
    """``(directory, cases.yaml)`` pairs to run, in a stable order.

    No arguments: every ``templates_examples/*/`` under ``cwd`` with a
    cases file. An argument may be a directory holding ``cases.yaml``, a
    directory of such directories, or a cases file itself. Anything else is
    a usage error (``FileNotFoundError`` with the argument's name).
    """
    if not args:
        root = cwd / EXAMPLES_DIR
        found = sorted(root.glob(f"*/{CASES_FILE}")) if root.is_dir() else []
        if not found:
            raise FileNotFoundError(f"no {EXAMPLES_DIR}/*/{CASES_FILE} under {cwd}; name a directory")
        rel = [f.relative_to(cwd) for f in found]
        return [(f.parent, f) for f in rel]
    out: list[tuple[Path, Path]] = []
    for arg in args:
        p = Path(arg)
        if p.is_file():
            out.append((p.parent, p))
        elif (p / CASES_FILE).is_file():
            out.append((p, p / CASES_FILE))
        elif p.is_dir() and (found := sorted(p.glob(f"*/{CASES_FILE}"))):
            out += [(f.parent, f) for f in found]
        elif p.exists():
            raise FileNotFoundError(f"{arg}: no {CASES_FILE} in this directory or its subdirectories")
        else:
            raise FileNotFoundError(f"{arg}: no such file or directory")
    return out
