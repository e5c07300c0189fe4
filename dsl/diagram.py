"""Workflow diagrams as text: Mermaid ``flowchart TD`` and Graphviz ``dot``.

A diagram is what a workflow manager shows a controller or an auditor: who
answers where, which condition sends a payment where, and how it ends. The
output is deterministic (nodes and edges in source order, ids from step
positions) so it can be committed, diffed and compared with golden files.

A *path* (the ``"path"`` of ``payroute simulate --format jsonl``: every step
visited, in order) highlights the route one disbursement took. A path names
steps only, so when two routes join the same pair of steps (``Return`` and
``Reject`` both to one step) every such edge is highlighted.

Labels are escaped for each format: Mermaid quoted labels use its entity
codes (``#quot;``, ``#lt;``...), dot strings use backslash escapes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Iterable, Literal, Sequence

from engine.diagnostics import did_you_mean
from engine.spec.expression_text import ExpressionTextError, expression_text
from engine.spec.model import ConditionStep, EndStep, Party, ResponseStep, Step, WorkflowConfig

DiagramFormat = Literal["mermaid", "dot"]
EdgeKind = Literal["start", "answer", "when", "otherwise"]

ENTRY_ID = "entry"
HIGHLIGHT = "#1c7ed6"
#: the step a disbursement waits at now (``current``): filled, on top of the path's outline
CURRENT_FILL = "#d0ebff"
_FILL = {
    "condition": ("#fff3bf", "#f08c00"),
    "success": ("#d3f9d8", "#2b8a3e"),
    "failure": ("#ffe3e3", "#c92a2a"),
}


class PathError(ValueError):
    """A ``--path`` that is not a route through this workflow (a usage error)."""


class DiagramError(ValueError):
    """A workflow that cannot be drawn (an input error)."""


# ---------------------------------------------------------------- expression text

def quote(text: str) -> str:
    """A rule-language string literal."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def expr_text(expr: object) -> str:
    """An expression in rule-language syntax, exactly as ``payroute fmt`` writes it
    (money as ``$100,000.00``, nested ``and``/``or`` parenthesised): the one printer."""
    try:
        return expression_text(expr, strict=True)
    except ExpressionTextError as exc:  # only a hand-written JSON config can get here
        raise DiagramError(f"a `when` line cannot be written in the rule language: {exc}") from None


def party_text(party: Party) -> str:
    return f"{party.kind} {quote(party.name)}"


# ---------------------------------------------------------------- graph


@dataclass(frozen=True)
class Node:
    id: str
    step: Step

    @property
    def shape(self) -> str:
        if isinstance(self.step, ResponseStep):
            return "response"
        if isinstance(self.step, ConditionStep):
            return "condition"
        return self.step.outcome  # type: ignore[union-attr]

    def lines(self) -> list[str]:
        """The label, one entry per line."""
        step = self.step
        if isinstance(step, ResponseStep):
            out = [step.name]
            if step.assignees:
                out.append(", ".join(party_text(p) for p in step.assignees))
            if step.requires == "all":
                out.append("all must approve")
            if step.due is not None:
                out.append(f"due {step.due.days} {step.due.unit} day{'s' if step.due.days != 1 else ''}")
            return out
        if isinstance(step, EndStep):
            return [step.name, step.outcome]
        return [step.name]


@dataclass(frozen=True)
class Edge:
    source: str  # node id
    target: str
    label: str
    kind: EdgeKind
    source_step: str | None  # step names, for path matching (None for the entry edge)
    target_step: str


@dataclass(frozen=True)
class Graph:
    title: str
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]


def build_graph(config: WorkflowConfig) -> Graph:
    """Nodes in source order, edges in source order after the entry edge.

    Expects a workflow without errors (every target exists, names unique).
    """
    ids = {step.name: f"n{i}" for i, step in reversed(list(enumerate(config.steps)))}
    nodes = tuple(Node(f"n{i}", step) for i, step in enumerate(config.steps))
    edges: list[Edge] = []
    if config.start is not None and config.start in ids:
        edges.append(Edge(ENTRY_ID, ids[config.start], "", "start", None, config.start))
    for node in nodes:
        step = node.step
        if isinstance(step, ResponseStep):
            for a in step.answers:
                edges.append(Edge(node.id, ids[a.target], a.response, "answer", step.name, a.target))
        elif isinstance(step, ConditionStep):
            numbered = len(step.branches) > 1
            for k, b in enumerate(step.branches, 1):
                label = f"{k}. {expr_text(b.when)}" if numbered else expr_text(b.when)
                edges.append(Edge(node.id, ids[b.target], label, "when", step.name, b.target))
            if step.otherwise is not None:
                edges.append(Edge(node.id, ids[step.otherwise], "otherwise", "otherwise",
                                  step.name, step.otherwise))
    return Graph(config.name, nodes, tuple(edges))


# ---------------------------------------------------------------- paths


def split_path_arg(text: str, step_names: Iterable[str]) -> list[str]:
    """Split ``--path "A,B,C"`` into step names.

    Step names may themselves contain commas (``"> $100,000.00"``), so the
    text is segmented against the workflow's names first; only when that is
    impossible is it split on every comma (and the unknown names reported).
    """
    names = sorted(set(step_names), key=len, reverse=True)
    text = text.strip()
    memo: dict[int, list[str] | None] = {}

    def seg(i: int) -> list[str] | None:
        while i < len(text) and text[i] == " ":
            i += 1
        if i in memo:
            return memo[i]
        memo[i] = None
        for name in names:
            j = i + len(name)
            if not text.startswith(name, i):
                continue
            if j == len(text):
                memo[i] = [name]
                break
            rest = seg(j + 1) if text[j] == "," and j + 1 < len(text) else None
            if rest is not None:
                memo[i] = [name, *rest]
                break
        return memo[i]

    found = seg(0) if text else []
    return found if found is not None else [part.strip() for part in text.split(",")]


def path_from_json_line(text: str, label: str) -> list[str]:
    """The step names of one ``simulate --format jsonl`` line (or a bare JSON list)."""
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if len(lines) != 1:
        raise PathError(f"{label}: expected one JSON line with a \"path\", found {len(lines)} lines"
                        " (pick one, e.g. `sed -n 3p simulated.jsonl`)")
    try:
        value = json.loads(lines[0])
    except json.JSONDecodeError as exc:
        raise PathError(f"{label}: not JSON ({exc.msg} at column {exc.colno})") from None
    if isinstance(value, dict):
        if "path" not in value:
            raise PathError(f"{label}: the JSON object has no \"path\" field")
        value = value["path"]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise PathError(f"{label}: \"path\" must be a list of step names")
    return value


def highlighted(graph: Graph, path: Sequence[str]) -> tuple[set[str], set[int]]:
    """Node ids and edge indices on ``path``; :class:`PathError` if it is no route."""
    by_name = {node.step.name: node.id for node in graph.nodes}
    for name in path:
        if name not in by_name:
            hint = did_you_mean(name, by_name)
            raise PathError(f"the path names unknown step `{name}`" + (f"; {hint}" if hint else ""))
    nodes = {by_name[name] for name in path}
    edges: set[int] = set()
    if path:
        edges |= {i for i, e in enumerate(graph.edges) if e.kind == "start" and e.target_step == path[0]}
    for a, b in zip(path, path[1:]):
        found = {i for i, e in enumerate(graph.edges) if e.source_step == a and e.target_step == b}
        if not found:
            raise PathError(f"the path goes from `{a}` to `{b}`, but no route of the workflow does")
        edges |= found
    return nodes, edges


# ---------------------------------------------------------------- mermaid

_MERMAID_ENTITIES = {
    "&": "#amp;", '"': "#quot;", "#": "#35;", "<": "#lt;", ">": "#gt;",
    "|": "#124;", "`": "#96;", "\\": "#92;", "\r": "", "\n": "<br/>",
}


def mermaid_escape(text: str) -> str:
    """Text safe inside a Mermaid double-quoted label."""
    return "".join(_MERMAID_ENTITIES.get(ch, ch) for ch in text)


def _mermaid_label(lines: list[str]) -> str:
    return '"' + "<br/>".join(mermaid_escape(line) for line in lines) + '"'


def render_mermaid(graph: Graph, path: Sequence[str] | None = None, current: str | None = None) -> str:
    """Mermaid text; ``path`` highlights a route, ``current`` (a step name) the step waiting now."""
    on_nodes, on_edges = highlighted(graph, path) if path is not None else (set(), set())
    out = ["---", f"title: {json.dumps(graph.title, ensure_ascii=False)}", "---", "flowchart TD"]
    out.append(f'    {ENTRY_ID}(("start"))')
    for node in graph.nodes:
        label = _mermaid_label(node.lines())
        shape = {"response": "[{}]", "condition": "{{{}}}"}.get(node.shape, "([{}])")
        out.append(f"    {node.id}{shape.format(label)}")
    for edge in graph.edges:
        arrow = "-.->" if edge.kind == "otherwise" else "-->"
        label = f'|{_mermaid_label([edge.label])}|' if edge.label else ""
        out.append(f"    {edge.source} {arrow}{label} {edge.target}")
    out.append("    classDef response fill:#ffffff,stroke:#495057")
    for cls, (fill, stroke) in _FILL.items():
        out.append(f"    classDef {cls} fill:{fill},stroke:{stroke}")
    for cls in ("response", "condition", "success", "failure"):
        ids = [n.id for n in graph.nodes if n.shape == cls]
        if ids:
            out.append(f"    class {','.join(ids)} {cls}")
    if path is not None:
        for node in graph.nodes:
            if node.id in on_nodes:
                out.append(f"    style {node.id} stroke:{HIGHLIGHT},stroke-width:4px")
        if on_edges:
            out.append(f"    linkStyle {','.join(str(i) for i in sorted(on_edges))} "
                       f"stroke:{HIGHLIGHT},stroke-width:4px")
    for node in graph.nodes:
        if current is not None and node.step.name == current:
            out.append(f"    style {node.id} fill:{CURRENT_FILL},stroke:{HIGHLIGHT},stroke-width:4px")
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------- dot


def dot_escape(text: str) -> str:
    """Text safe inside a dot double-quoted string (label escapes like ``\\n`` neutralised)."""
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\r", "").replace("\n", "\\n")


def _dot_attrs(attrs: dict[str, str]) -> str:
    return "[" + ", ".join(f'{k}="{v}"' for k, v in attrs.items()) + "]"


def render_dot(graph: Graph, path: Sequence[str] | None = None) -> str:
    on_nodes, on_edges = highlighted(graph, path) if path is not None else (set(), set())
    title = dot_escape(graph.title)
    out = [f'digraph "{title}" {{',
           f'    graph [rankdir="TB", label="{title}", labelloc="t", fontname="Helvetica"];',
           '    node [fontname="Helvetica"];',
           '    edge [fontname="Helvetica"];',
           f'    {ENTRY_ID} {_dot_attrs({"label": "start", "shape": "circle"})};']
    for node in graph.nodes:
        attrs = {"label": "\\n".join(dot_escape(line) for line in node.lines())}
        if node.shape == "response":
            attrs["shape"] = "box"
        else:
            fill, stroke = _FILL[node.shape]
            attrs["shape"] = "diamond" if node.shape == "condition" else "box"
            attrs["style"] = "filled" if node.shape == "condition" else "rounded,filled"
            attrs["fillcolor"], attrs["color"] = fill, stroke
        if node.id in on_nodes:
            attrs["color"], attrs["penwidth"] = HIGHLIGHT, "3"
        out.append(f"    {node.id} {_dot_attrs(attrs)};")
    for i, edge in enumerate(graph.edges):
        attrs = {}
        if edge.label:
            attrs["label"] = dot_escape(edge.label)
        if edge.kind == "otherwise":
            attrs["style"] = "dashed"
        if i in on_edges:
            attrs["color"], attrs["penwidth"] = HIGHLIGHT, "3"
        suffix = f" {_dot_attrs(attrs)}" if attrs else ""
        out.append(f"    {edge.source} -> {edge.target}{suffix};")
    out.append("}")
    return "\n".join(out) + "\n"


def render(config: WorkflowConfig, fmt: DiagramFormat = "mermaid",
           path: Sequence[str] | None = None, current: str | None = None) -> str:
    """The diagram of ``config`` in ``fmt``; ``path`` highlights a route (PathError if none), and
    ``current`` the step waiting now (Mermaid only: a page shows it)."""
    graph = build_graph(config)
    return render_mermaid(graph, path, current) if fmt == "mermaid" else render_dot(graph, path)
