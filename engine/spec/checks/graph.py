"""Graph checks: can every route end, do conditions loop, is every step reachable.

Steps are nodes; `on`, `when` and `otherwise` targets are edges. These
checks must not repeat, in graph terms, a mistake another check already
reported, so three rules keep them quiet where a fix elsewhere would change
the answer (issue 3: "without cascades of follow-on errors"):

- A step whose routes are incomplete (an unknown target, a response step
  with no answers, a condition step without `otherwise`) is *open*: it is
  assumed it could reach an end once fixed, so neither it nor the steps that
  lead to it get ``graph_no_end_reachable``. The step itself already has an
  error; the "no end" it implies is the same problem.
- An unknown target with a close match ("did you mean") counts as an edge to
  that match when deciding reachability. A missing or unknown ``start``, or
  a reachable step whose routes are unknown (an unknown target with no close
  match, no answers, no `otherwise`), turns ``graph_unreachable_step`` off:
  nothing can be said about what the author meant to reach.
- A dead end is reported once, where the route enters it (not at every step
  inside it), and not at all when it consists of a reported condition loop.
  Unreachable steps are likewise reported once per unreachable region.

Only the first of several steps sharing a name takes part: `->` can never
reach the others, which ``name_duplicate_step`` already reports.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Iterable

from engine.diagnostics import Diagnostic, make
from engine.spec.model import ConditionStep, EndStep, ResponseStep, WorkflowConfig, step_targets


@dataclass
class StepGraph:
    """The routing graph of a workflow, over step indexes."""

    nodes: list[int]
    succ: dict[int, list[int]]
    #: Edges assumed for unknown targets with a close match (reachability only).
    guessed: dict[int, list[int]] = field(default_factory=dict)
    open: set[int] = field(default_factory=set)
    #: Open steps whose missing routes could lead anywhere (no close match to guess).
    unknown_routes: set[int] = field(default_factory=set)
    start: int | None = None
    #: False when the start is missing or unknown with no close match.
    start_known: bool = False

    def preds(self, *, with_guesses: bool = False) -> dict[int, list[int]]:
        out: dict[int, list[int]] = {n: [] for n in self.nodes}
        for n in self.nodes:
            for m in self.succ[n] + (self.guessed.get(n, []) if with_guesses else []):
                out[m].append(n)
        return out


def _close(name: str, names: list[str]) -> str | None:
    match = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
    if match:
        return match[0]
    lowered = {n.lower(): n for n in names}
    return lowered.get(name.lower())


def build_graph(config: WorkflowConfig) -> StepGraph:
    index = config.step_index()
    names = list(index)
    nodes = sorted(index.values())
    g = StepGraph(nodes=nodes, succ={n: [] for n in nodes})
    for n in nodes:
        step = config.steps[n]
        if (isinstance(step, ResponseStep) and not step.answers) or \
                (isinstance(step, ConditionStep) and step.otherwise is None):
            g.open.add(n)
            g.unknown_routes.add(n)
        for _rel, target in step_targets(step):
            if target in index:
                if index[target] not in g.succ[n]:
                    g.succ[n].append(index[target])
                continue
            g.open.add(n)
            guess = _close(target, names)
            if guess is None:
                g.unknown_routes.add(n)
            else:
                g.guessed.setdefault(n, []).append(index[guess])
    if config.start is not None:
        if config.start in index:
            g.start = index[config.start]
        else:
            guess = _close(config.start, names)
            g.start = index[guess] if guess is not None else None
    g.start_known = g.start is not None
    return g


def _reach(roots: Iterable[int], succ: dict[int, list[int]], within: set[int] | None = None) -> set[int]:
    seen: set[int] = set()
    stack = [r for r in roots if within is None or r in within]
    while stack:
        n = stack.pop()
        if n in seen:
            continue
        seen.add(n)
        stack.extend(m for m in succ.get(n, ()) if m not in seen and (within is None or m in within))
    return seen


def _names(config: WorkflowConfig, idxs: Iterable[int]) -> str:
    return ", ".join(f"`{config.steps[i].name}`" for i in sorted(idxs))


# ---------------------------------------------------------------- condition loops


def condition_loops(config: WorkflowConfig, g: StepGraph) -> list[list[int]]:
    """One cycle (as a list of step indexes, first step first) per loop of condition steps."""
    conds = {n for n in g.nodes if isinstance(config.steps[n], ConditionStep)}
    csucc = {n: [m for m in g.succ[n] if m in conds] for n in conds}
    loops: list[list[int]] = []
    for comp in _sccs(sorted(conds), csucc):
        first = min(comp)
        if len(comp) == 1 and first not in csucc[first]:
            continue
        loops.append(_cycle_through(first, csucc, comp))
    return sorted(loops, key=lambda c: c[0])


def _sccs(nodes: list[int], succ: dict[int, list[int]]) -> list[set[int]]:
    """Tarjan's strongly connected components, iteratively (no recursion limit)."""
    index: dict[int, int] = {}
    low: dict[int, int] = {}
    on_stack: set[int] = set()
    stack: list[int] = []
    out: list[set[int]] = []
    counter = 0
    for root in nodes:
        if root in index:
            continue
        work = [(root, 0)]
        while work:
            node, i = work.pop()
            if i == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            children = succ[node]
            if i < len(children):
                work.append((node, i + 1))
                child = children[i]
                if child not in index:
                    work.append((child, 0))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            if low[node] == index[node]:
                comp: set[int] = set()
                while True:
                    m = stack.pop()
                    on_stack.discard(m)
                    comp.add(m)
                    if m == node:
                        break
                out.append(comp)
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return out


def _cycle_through(first: int, succ: dict[int, list[int]], comp: set[int]) -> list[int]:
    """Shortest cycle from ``first`` back to itself inside ``comp`` (breadth first)."""
    came: dict[int, int] = {}
    frontier = [first]
    while frontier:
        nxt = []
        for n in frontier:
            for m in succ[n]:
                if m not in comp:
                    continue
                if m == first:
                    path = [n]
                    while path[-1] != first:
                        path.append(came[path[-1]])
                    return list(reversed(path))
                if m not in came:
                    came[m] = n
                    nxt.append(m)
        frontier = nxt
    return [first]  # pragma: no cover - comp is a cycle by construction


def graph_condition_loop(config: WorkflowConfig) -> Iterable[Diagnostic]:
    """Condition steps are decided at once with the same facts: a loop among them never ends."""
    g = build_graph(config)
    for cycle in condition_loops(config, g):
        names = [config.steps[i].name for i in cycle]
        route = " -> ".join(f"`{n}`" for n in names + names[:1])
        if len(cycle) == 1:
            message = f"condition step `{names[0]}` routes to itself"
        else:
            message = f"condition steps route to each other in a loop: {route}"
        yield make(
            "graph_condition_loop",
            message,
            path=("steps", cycle[0], "name"),
            hint="condition steps decide at once, with the same facts, so a route around this loop "
                 "would never end; send one of its routes to a response or end step",
        )


# ---------------------------------------------------------------- ends


def graph_no_end_reachable(config: WorkflowConfig) -> Iterable[Diagnostic]:
    g = build_graph(config)
    if not g.nodes:
        return
    ends = [n for n in g.nodes if isinstance(config.steps[n], EndStep)]
    preds = g.preds()
    can_end = _reach(ends + sorted(g.open), preds)
    trapped = set(g.nodes) - can_end
    if not trapped:
        return
    reachable = _reach([g.start], g.succ) if g.start is not None else set(g.nodes)
    looping = {n for cycle in condition_loops(config, g) for n in cycle}
    candidates = sorted(trapped & reachable)
    entries = [n for n in candidates
               if n == g.start or any(p in reachable and p not in trapped for p in preds[n])]
    covered: set[int] = set()
    regions: list[tuple[int, set[int]]] = []
    for n in entries + candidates:
        if n in covered:
            continue
        region = _reach([n], g.succ, trapped)
        covered |= region
        regions.append((n, region))
    for n, region in regions:
        if region & looping:
            continue  # the loop is the problem, reported by graph_condition_loop
        name = config.steps[n].name
        if not ends:
            hint = 'this workflow has no `end` step; add one, such as `end "Approved" success { }`, ' \
                   "and route to it"
        elif region == {n}:
            hint = f"every route from `{name}` leads back to it; route one answer or `otherwise` to an end step"
        else:
            hint = (f"every route from `{name}` stays among {_names(config, region)}; "
                    "route one of their answers or `otherwise` lines to an end step")
        yield make("graph_no_end_reachable", f"no end step can be reached from `{name}`",
                   path=("steps", n, "name"), hint=hint)


# ---------------------------------------------------------------- reachability


def graph_unreachable_step(config: WorkflowConfig) -> Iterable[Diagnostic]:
    """A warning: an unreachable step is harmless but usually a forgotten route."""
    g = build_graph(config)
    if not g.start_known or g.start is None:
        return
    succ = {n: g.succ[n] + g.guessed.get(n, []) for n in g.nodes}
    reachable = _reach([g.start], succ)
    if reachable & g.unknown_routes:
        return  # a reachable step's missing routes could lead to any of the others
    unreachable = set(g.nodes) - reachable
    if not unreachable:
        return
    preds = g.preds(with_guesses=True)
    order = sorted(unreachable)
    roots = [n for n in order if not any(p in unreachable and p != n for p in preds[n])]
    covered: set[int] = set()
    for n in roots + order:
        if n in covered:
            continue
        region = _reach([n], succ, unreachable)
        covered |= region
        name = config.steps[n].name
        led_by = [p for p in preds[n] if p != n]
        hint = ("only unreachable steps route to it" if led_by else
                "no `on`, `when` or `otherwise` routes to it") + "; add a route to it or remove it"
        others = region - {n}
        if others:
            hint += f"; the steps it leads to are unreachable too: {_names(config, others)}"
        yield make("graph_unreachable_step", f"step `{name}` can never be reached from the start",
                   path=("steps", n, "name"), hint=hint)


CHECKS = (
    graph_no_end_reachable,
    graph_condition_loop,
    graph_unreachable_step,
)
