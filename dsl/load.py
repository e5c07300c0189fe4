"""The language's pipeline, once: load → checks → compile → locate.

Every tool that turns a workflow's text into something that runs goes through
here (check, fmt, compile, diagram, simulate, test, and the service's inline
workflows): it picks the front end (``.flow`` through :func:`dsl.transformer.read_flow`,
JSON through :mod:`engine.spec.loader`), runs :func:`engine.spec.checks.run_checks`
on the model, optionally compiles it, and maps each diagnostic's model path to
a line:column span (and, for JSON, a JSON Pointer). A user's mistake is never
raised: it comes back in :attr:`LoadedWorkflow.diagnostics`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path as FsPath
from typing import TYPE_CHECKING, Callable, Literal

from dsl.transformer import Comment, SourceMap
from engine.diagnostics import Diagnostic, Path, Span, has_errors, sort_diagnostics
from engine.spec.model import WorkflowConfig

if TYPE_CHECKING:
    from engine.spec.compiler import CompiledWorkflow

__all__ = ["LoadedWorkflow", "SourceKind", "detect_kind", "flow_span", "load_workflow", "load_workflow_file"]

SourceKind = Literal["flow", "json"]


@dataclass
class LoadedWorkflow:
    filename: str
    text: str
    kind: SourceKind
    config: WorkflowConfig | None
    diagnostics: list[Diagnostic] = field(default_factory=list)
    source_map: SourceMap = field(default_factory=dict)
    comments: list[Comment] = field(default_factory=list)
    #: True when the front end itself failed (syntax, schema, a setting given
    #: twice): the model is missing or incomplete, so tools that rewrite the
    #: file (fmt) must not run.
    front_end_failed: bool = False
    #: The compiled workflow, when asked for (``compile=True``) and the checks passed.
    compiled: "CompiledWorkflow | None" = None
    #: Locates a model-path diagnostic in this text (span, and pointer for JSON).
    locate: Callable[[Diagnostic], Diagnostic] = field(default=lambda d: d, repr=False)

    @property
    def ok(self) -> bool:
        return self.config is not None and not has_errors(self.diagnostics)

    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.is_error]


def detect_kind(text: str, filename: str) -> SourceKind:
    if filename.endswith(".json"):
        return "json"
    if filename.endswith(".flow"):
        return "flow"
    return "json" if text.lstrip().startswith("{") else "flow"


def flow_span(source_map: SourceMap, path: Path) -> Span | None:
    """The span of ``path`` or, failing that, of its nearest mapped ancestor."""
    probe = tuple(path)
    while True:
        span = source_map.get(probe)
        if span is not None:
            return span
        if not probe:
            return None
        probe = probe[:-1]


def load_workflow(text: str, filename: str = "<input>", *, kind: SourceKind | None = None,
                  compile: bool = False) -> LoadedWorkflow:
    """Parse, lower and check ``text`` (and with ``compile``, compile it); never raises
    for a user's mistake."""
    from engine.spec.checks import BOUND_CODES, run_checks

    if text.startswith("\ufeff"):  # a byte-order mark, as editors write it, is not text
        text = text[1:]
    kind = kind or detect_kind(text, filename)
    if kind == "json":
        from engine.spec.loader import load_json_config

        jdoc = load_json_config(text, filename)
        loaded = LoadedWorkflow(filename, text, "json", jdoc.config, list(jdoc.diagnostics),
                                front_end_failed=bool(jdoc.diagnostics), locate=jdoc.locate)
    else:
        from dsl.transformer import read_flow

        doc = read_flow(text, filename)
        source_map = doc.source_map

        def locate(d: Diagnostic) -> Diagnostic:
            return replace(d, span=d.span or flow_span(source_map, d.path or ()))

        loaded = LoadedWorkflow(filename, text, "flow", doc.config, list(doc.diagnostics),
                                doc.source_map, doc.comments, front_end_failed=bool(doc.diagnostics),
                                locate=locate)
    if loaded.config is not None:
        loaded.diagnostics += [loaded.locate(d) for d in run_checks(loaded.config)]
    loaded.diagnostics = sort_diagnostics(_dedupe(loaded.diagnostics))
    if any(d.code in BOUND_CODES for d in loaded.diagnostics):
        # A value out of bounds (a lone surrogate, a 5,000-digit number) cannot be
        # written back as text: tools that rewrite the file must not run.
        loaded.front_end_failed = True
    if compile:
        _compile(loaded)
    return loaded


def _compile(loaded: LoadedWorkflow) -> None:
    """Compile a loaded workflow that checked clean; a refusal replaces the
    diagnostics with the compiler's, located like the checks' (WF-5)."""
    if not loaded.ok or loaded.config is None:
        return
    from engine.spec.compiler import WorkflowCompileError, compile_workflow

    try:
        loaded.compiled = compile_workflow(loaded.config, checked=loaded.diagnostics)
    except WorkflowCompileError as exc:
        loaded.diagnostics = sort_diagnostics([loaded.locate(d) for d in exc.diagnostics])


def _dedupe(diags: list[Diagnostic]) -> list[Diagnostic]:
    seen: set[tuple[object, ...]] = set()
    out = []
    for d in diags:
        key = (d.code, d.message, d.span, d.pointer)
        if key not in seen:
            seen.add(key)
            out.append(d)
    return out


def load_workflow_file(path: str | FsPath, *, compile: bool = False) -> LoadedWorkflow:
    """Read and load a file; I/O errors propagate as ``OSError`` (a usage error, exit 2)."""
    p = FsPath(path)
    text = p.read_text(encoding="utf-8")
    return load_workflow(text, str(path), compile=compile)
