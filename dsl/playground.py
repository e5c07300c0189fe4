"""The rule editor's live panel: what one `.flow` text (and optionally a sample disbursement) shows.

One call, :func:`play`, gives everything the editor page draws after each keystroke:

- the diagnostics exactly as ``payroute check --format json`` reports them
  (:func:`dsl.render.diagnostic_json`: line, column, end, severity, code, message,
  hint), each with the "did you mean" name of its hint pulled out as ``suggestion``
  so the page can offer it;
- the Mermaid text of the diagram (:mod:`dsl.diagram`), drawn only when the workflow
  has no errors (a diagram of a broken workflow would mislead, as ``payroute diagram``
  says), with the route of the first sample highlighted;
- the simulation of the sample (one disbursement document, or JSON Lines of several):
  each route with its path, end, outcome, the visits' data as ``payroute simulate
  --format json`` and ``POST /v1/evaluate`` give them, and its lines as ``payroute
  simulate`` prints them (:func:`dsl.simulate_output.route_lines`); a sample the
  disbursement model refuses gets its located problems instead.

It goes through the same pipeline as the verbs (:func:`dsl.load.load_workflow`), reads the
sample with the simulator's reader (:func:`dsl.simulate_input.read_records`) and routes with
the engine's evaluator, so the page can never disagree with the CLI or the API. Pure: no
database, nothing written (ROLL-6). The returned :attr:`Playground.source` is the
:class:`~dsl.load.LoadedWorkflow` the engine's template commands take (save draft, publish).
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from typing import Any, Mapping

from dsl.load import LoadedWorkflow, load_workflow
from engine.spec.evaluator import DEFAULT_ANSWER

__all__ = ["FLOW_LABEL", "MAX_SAMPLES", "Playground", "SimulatedRoute", "editable_text", "play", "suggestion"]

#: The file name diagnostics name (what ``POST /v1/check`` calls an inline `.flow` text).
FLOW_LABEL = "workflow.flow"
#: At most this many sample disbursements are routed (a playground, not a batch run).
MAX_SAMPLES = 20

_SUGGESTION = re.compile(r"did you mean `([^`]+)`\?")


def suggestion(hint: str | None) -> str | None:
    """The name a "did you mean `X`?" hint proposes (:func:`engine.diagnostics.did_you_mean`
    words every such hint), or None."""
    if not hint:
        return None
    found = _SUGGESTION.search(hint)
    return found.group(1) if found else None


@dataclass(frozen=True)
class SimulatedRoute:
    """One sample disbursement's route through the workflow."""

    id: str | None
    line: int | None  #: the sample's line (JSON Lines), None for one document
    path: tuple[str, ...]
    end: str | None
    outcome: str | None  #: "success", "failure", or None when the route stopped
    stopped: str | None  #: why it stopped before an end
    visits: tuple[dict[str, Any], ...]  #: each visit as ``simulate --format json`` gives it
    lines: tuple[str, ...]  #: the route as ``payroute simulate`` prints it


@dataclass(frozen=True)
class Playground:
    """What the editor shows for one text and sample."""

    source: LoadedWorkflow
    result: str  #: "ok" or "error", as ``payroute check --format json``
    summary: str  #: "2 errors, 1 warning" / "no problems"
    diagnostics: tuple[dict[str, Any], ...]
    mermaid: str | None  #: None when the workflow has errors (or cannot be drawn)
    diagram_problem: str | None = None  #: why there is no diagram, in words
    routes: tuple[SimulatedRoute, ...] = ()
    sample_problems: tuple[str, ...] = ()  #: why the sample (or an answer) was refused
    #: each response step and the answers it offers, in source order (for the answer pickers)
    responses: tuple[tuple[str, tuple[str, ...]], ...] = field(default=())

    @property
    def ok(self) -> bool:
        return self.result == "ok"


def _diagnostics(loaded: LoadedWorkflow) -> tuple[dict[str, Any], ...]:
    from dsl.render import diagnostic_json

    out = []
    for d in loaded.diagnostics:
        data = diagnostic_json(d, loaded.filename)
        data["suggestion"] = suggestion(d.hint)
        out.append(data)
    return tuple(out)


def _responses(loaded: LoadedWorkflow) -> tuple[tuple[str, tuple[str, ...]], ...]:
    from engine.spec.model import ResponseStep

    if loaded.config is None:
        return ()
    return tuple((s.name, tuple(a.response for a in s.answers))
                 for s in loaded.config.steps if isinstance(s, ResponseStep))


def play(text: str, sample: str | None = None, *, answers: Mapping[str, str] | None = None,
         default_answer: str = DEFAULT_ANSWER, known_steps_only: bool = False) -> Playground:
    """Check ``text``, draw it and, with a ``sample`` (a disbursement JSON document or JSON
    Lines), route each disbursement, response steps answering from ``answers`` (step → answer)
    or ``default_answer``. An answer naming no response step is refused, as ``simulate --answer``
    refuses it, unless ``known_steps_only``: then it is dropped (the editor's answer pickers were
    drawn from the text before the edit that renamed the step). Never raises for anything a
    user types."""
    from dsl.render import summary_line

    loaded = load_workflow(text, FLOW_LABEL, kind="flow", compile=True)
    result, summary = ("ok" if loaded.ok else "error"), summary_line(loaded.diagnostics)
    diagnostics, responses = _diagnostics(loaded), _responses(loaded)
    if loaded.compiled is None or loaded.config is None:
        return Playground(loaded, result, summary, diagnostics, None, "Fix the errors to see the diagram.",
                          responses=responses)
    given = dict(answers or {})
    if known_steps_only:
        given = {step: answer for step, answer in given.items() if step in dict(responses)}
    routes, problems = _simulate(loaded, sample, given, default_answer)
    mermaid, diagram_problem = _diagram(loaded, routes[0].path if routes else None)
    return Playground(loaded, result, summary, diagnostics, mermaid, diagram_problem, tuple(routes),
                      tuple(problems), responses)


def _diagram(loaded: LoadedWorkflow, path: tuple[str, ...] | None) -> tuple[str | None, str | None]:
    from dsl.diagram import DiagramError, PathError, render

    assert loaded.config is not None
    try:
        return render(loaded.config, "mermaid", path), None
    except PathError:  # never for a route the evaluator walked; drawn without it rather than not at all
        return render(loaded.config, "mermaid"), None
    except DiagramError as exc:
        return None, str(exc)


def _simulate(loaded: LoadedWorkflow, sample: str | None, answers: Mapping[str, str],
              default_answer: str) -> tuple[list[SimulatedRoute], list[str]]:
    from dsl.simulate_input import read_records
    from dsl.simulate_output import route_lines
    from engine.spec.evaluator import answer_problem, evaluate

    compiled = loaded.compiled
    assert compiled is not None
    if sample is None or not sample.strip():
        return [], []
    problems = [f"answer for {step}: {problem}" for step, answer in answers.items()
                if (problem := answer_problem(compiled, step, answer)) is not None]
    if problems:
        return [], problems
    if not default_answer:
        return [], ["the default answer is empty"]
    stream = io.BytesIO(sample.encode("utf-8", "surrogatepass"))
    routes: list[SimulatedRoute] = []
    for record in read_records(stream, compiled.facts_used):
        if len(routes) + len(problems) >= MAX_SAMPLES:
            problems.append(f"only the first {MAX_SAMPLES} disbursements are simulated here;"
                            " use `payroute simulate` for more")
            break
        if record.problems:
            where = f"line {record.line}: " if record.line is not None else ""
            problems += [f"{where}{p}" for p in record.problems]
            continue
        assert record.facts is not None
        route = evaluate(compiled, record.facts, answers, default_answer)
        data = route.to_data()
        routes.append(SimulatedRoute(record.id, record.line, route.path, route.end, route.outcome, route.stopped,
                                     tuple(data["visits"]), tuple(route_lines(record.id, record.line, route))))
    if not routes and not problems:
        problems.append("no disbursement found in the sample")
    return routes, problems


def editable_text(text: str, kind: str) -> str | None:
    """The `.flow` text the editor opens for a stored version: a `.flow` text as it was saved; a JSON
    config written in the rule language (``payroute fmt``'s canonical text of its model); None when a
    JSON config cannot be read or spelt in the language (a draft may be broken, WF-3)."""
    if kind == "flow":
        return text
    from dsl.formatter import FormatError, format_loaded

    loaded = load_workflow(text, "workflow.json", kind="json")
    if loaded.front_end_failed or loaded.config is None:
        return None
    try:
        return format_loaded(loaded)
    except FormatError:
        return None
