"""Load a workflow from `.flow` text or a JSON config, run every check, locate every problem.

This is the one entry point the CLI verbs (and later the service) use to turn
a file into a checked :class:`WorkflowConfig`: it picks the front end, runs
:func:`engine.checks.run_checks` on the model, and maps each diagnostic's
model path to a line:column span (and, for JSON, a JSON Pointer).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path as FsPath
from typing import Literal

from engine.model import WorkflowConfig

from .diagnostics import Diagnostic, Path, Span, has_errors, sort_diagnostics
from .transformer import Comment, SourceMap

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


def load_workflow(text: str, filename: str = "<input>", *, kind: SourceKind | None = None) -> LoadedWorkflow:
    """Parse, lower and check ``text``; never raises for a user's mistake."""
    from engine.checks import BOUND_CODES, run_checks

    if text.startswith("\ufeff"):  # a byte-order mark, as editors write it, is not text
        text = text[1:]
    kind = kind or detect_kind(text, filename)
    if kind == "json":
        from engine.loader import load_json_config

        jdoc = load_json_config(text, filename)
        loaded = LoadedWorkflow(filename, text, "json", jdoc.config, list(jdoc.diagnostics),
                                front_end_failed=bool(jdoc.diagnostics))
        if jdoc.config is not None:
            loaded.diagnostics += [jdoc.locate(d) for d in run_checks(jdoc.config)]
    else:
        from .parser import parse
        from .transformer import lower

        parsed = parse(text, filename)
        if parsed.tree is None:
            return LoadedWorkflow(filename, text, "flow", None, parsed.diagnostics, front_end_failed=True)
        doc = lower(parsed.tree, parsed.comments, filename)
        loaded = LoadedWorkflow(filename, text, "flow", doc.config, list(doc.diagnostics),
                                doc.source_map, doc.comments, front_end_failed=bool(doc.diagnostics))
        if doc.config is not None:
            loaded.diagnostics += [
                replace(d, span=d.span or flow_span(doc.source_map, d.path or ()))
                for d in run_checks(doc.config)
            ]
    loaded.diagnostics = sort_diagnostics(_dedupe(loaded.diagnostics))
    if any(d.code in BOUND_CODES for d in loaded.diagnostics):
        # A value out of bounds (a lone surrogate, a 5,000-digit number) cannot be
        # written back as text: tools that rewrite the file must not run.
        loaded.front_end_failed = True
    return loaded


def _dedupe(diags: list[Diagnostic]) -> list[Diagnostic]:
    seen: set[tuple[object, ...]] = set()
    out = []
    for d in diags:
        key = (d.code, d.message, d.span, d.pointer)
        if key not in seen:
            seen.add(key)
            out.append(d)
    return out


def load_workflow_file(path: str | FsPath) -> LoadedWorkflow:
    """Read and load a file; I/O errors propagate as ``OSError`` (a usage error, exit 2)."""
    p = FsPath(path)
    text = p.read_text(encoding="utf-8")
    return load_workflow(text, str(path))
