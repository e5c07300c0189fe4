"""Lark tree → the engine's typed model, with a source map of every model path.

The model is the one thing the checks, compiler and formatter read; the
source map lets a diagnostic raised on a model path (``("steps", 2,
"answers", 0, "target")``) point at the exact characters of the `.flow` file.
Only problems that the model cannot hold (a setting given twice, a fractional
day count) are reported here; everything else is left to ``engine.spec.checks`` so
JSON configs get the same treatment.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lark import Token, Tree

from engine.diagnostics import MAX_EXPRESSION_DEPTH, Diagnostic, Path, Span, make, read_int
from engine.spec.model import (
    Answer,
    Branch,
    Compare,
    ConditionStep,
    DateLit,
    Due,
    EndStep,
    FactRef,
    InList,
    IntLit,
    ListLit,
    Logical,
    MoneyLit,
    Not,
    Party,
    ResponseStep,
    StringLit,
    WorkflowConfig,
)

SourceMap = dict[Path, Span]


@dataclass(frozen=True)
class Comment:
    line: int
    column: int
    text: str


@dataclass
class FlowDocument:
    """A parsed `.flow` file: the model (None after a syntax error) and where things are."""

    filename: str
    config: WorkflowConfig | None
    source_map: SourceMap = field(default_factory=dict)
    comments: list[Comment] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    #: True when the text did not parse at all (a syntax error, in ``diagnostics``).
    syntax_error: bool = False


def _unquote(tok: Token) -> str:
    body = str(tok)[1:-1]
    return body.replace('\\"', '"').replace("\\\\", "\\")


class _Lowerer:
    def __init__(self, filename: str) -> None:
        self.filename = filename
        self.smap: SourceMap = {}
        self.diags: list[Diagnostic] = []

    # -- spans -------------------------------------------------------------
    def tok_span(self, tok: Token) -> Span:
        return Span(self.filename, tok.line, tok.column, tok.end_line, tok.end_column)

    def tree_span(self, tree: Tree | Token) -> Span:
        if isinstance(tree, Token):
            return self.tok_span(tree)
        m = tree.meta
        return Span(self.filename, m.line, m.column, m.end_line, m.end_column)

    def join(self, a: Span, b: Span) -> Span:
        return Span(self.filename, a.line, a.column, b.end_line, b.end_column)

    def mark(self, path: Path, span: Span) -> None:
        self.smap[path] = span

    # -- workflow ----------------------------------------------------------
    def workflow(self, tree: Tree) -> WorkflowConfig:
        kw, name_tok, _lb, *items, _rb = tree.children
        self.mark((), self.join(self.tok_span(kw), self.tok_span(name_tok)))
        self.mark(("name",), self.tok_span(name_tok))
        fields: dict[str, Any] = {}
        steps: list[Any] = []
        seen: dict[str, Span] = {}
        for item in items:
            kind = item.data
            if kind in ("tool_decl", "manager_decl", "start_decl"):
                key = kind.removesuffix("_decl")
                if self._duplicate(key, item, seen):
                    continue
                if kind == "tool_decl":
                    fields["tool"] = str(item.children[2])
                    self.mark(("tool",), self.tok_span(item.children[2]))
                elif kind == "manager_decl":
                    fields["manager"] = self.party(item.children[2], ("manager",))
                else:
                    fields["start"] = _unquote(item.children[2])
                    self.mark(("start",), self.tok_span(item.children[2]))
                self.mark((key, "$line"), self.tree_span(item))
            else:
                index = len(steps)
                step = getattr(self, kind)(item, ("steps", index))
                steps.append(step)
        return WorkflowConfig(name=_unquote(name_tok), steps=tuple(steps), **fields)

    def _duplicate(self, key: str, item: Tree, seen: dict[str, Span]) -> bool:
        span = self.tree_span(item.children[0])
        if key in seen:
            first = seen[key]
            self.diags.append(make(
                "field_duplicate", f"`{key}:` is given twice",
                span=self.tree_span(item),
                hint=f"the first `{key}:` is on line {first.line}; keep one",
            ))
            return True
        seen[key] = span
        return False

    def party(self, tree: Tree, path: Path) -> Party:
        kind, name = tree.children
        self.mark(path, self.tree_span(tree))
        self.mark(path + ("name",), self.tok_span(name))
        return Party(kind=str(kind), name=_unquote(name))

    # -- steps -------------------------------------------------------------
    def _header(self, tree: Tree, path: Path) -> tuple[str, list[Tree]]:
        kw, name_tok = tree.children[0], tree.children[1]
        self.mark(path, self.join(self.tok_span(kw), self.tok_span(name_tok)))
        self.mark(path + ("name",), self.tok_span(name_tok))
        self.mark(path + ("$end",), self.tok_span(tree.children[-1]))
        items = [c for c in tree.children[2:] if isinstance(c, Tree)]
        return _unquote(name_tok), items

    def response(self, tree: Tree, path: Path) -> ResponseStep:
        name, items = self._header(tree, path)
        fields: dict[str, Any] = {}
        answers: list[Answer] = []
        seen: dict[str, Span] = {}
        for item in items:
            kind = item.data
            if kind == "answer":
                i = len(answers)
                _on, resp, _arrow, target = item.children
                apath = path + ("answers", i)
                self.mark(apath, self.tree_span(item))
                self.mark(apath + ("response",), self.tok_span(resp))
                self.mark(apath + ("target",), self.tok_span(target))
                answers.append(Answer(response=_unquote(resp), target=_unquote(target)))
                continue
            key = kind.removesuffix("_decl")
            if self._duplicate(key, item, seen):
                continue
            self.mark(path + (key,), self.tree_span(item))
            if kind == "assignees_decl":
                parties = [c for c in item.children if isinstance(c, Tree)]
                fields["assignees"] = tuple(
                    self.party(p, path + ("assignees", j)) for j, p in enumerate(parties)
                )
            elif kind == "requires_decl":
                fields["requires"] = str(item.children[2])
            elif kind == "status_decl":
                fields["status"] = _unquote(item.children[2])
            elif kind == "notify_decl":
                fields["notify"] = self.recipients(item, path)
            elif kind == "due_decl":
                due = self.due(item, path + ("due",))
                if due is not None:
                    fields["due"] = due
        return ResponseStep(kind="response", name=name, answers=tuple(answers), **fields)

    def recipients(self, item: Tree, path: Path) -> tuple[str, ...]:
        out: list[str] = []
        toks = [c for c in item.children if isinstance(c, Token) and c.type == "RECIPIENT"]
        for tok in toks:
            if str(tok) in out:
                self.diags.append(make(
                    "field_duplicate", f"`{tok}` is listed twice in `notify:`",
                    span=self.tok_span(tok), hint="list each recipient once",
                ))
                continue
            out.append(str(tok))
        return tuple(out)

    def due(self, item: Tree, path: Path) -> Due | None:
        _kw, _colon, number, unit, _days = item.children
        self.mark(path + ("days",), self.tok_span(number))
        text = str(number)
        if not text.lstrip("-").isdigit():
            self.diags.append(make(
                "due_days_invalid", f"`{text}` is not a whole number of days",
                span=self.tok_span(number), hint="write a positive whole number, such as `5`",
            ))
            return None
        return Due(days=read_int(text), unit=str(unit))

    def condition(self, tree: Tree, path: Path) -> ConditionStep:
        name, items = self._header(tree, path)
        branches: list[Branch] = []
        otherwise: str | None = None
        for item in items:
            if item.data == "when_branch":
                i = len(branches)
                _when, expr, _arrow, target = item.children
                bpath = path + ("branches", i)
                self.mark(bpath, self.tree_span(item))
                self.mark(bpath + ("target",), self.tok_span(target))
                branches.append(Branch(when=self.expr(expr, bpath + ("when",)),
                                       target=_unquote(target)))
            else:
                _kw, _arrow, target = item.children
                if otherwise is not None:
                    self.diags.append(make(
                        "field_duplicate", "`otherwise` is given twice",
                        span=self.tree_span(item),
                        hint=f"the first `otherwise` is on line {self.smap[path + ('otherwise', '$line')].line}; keep one",
                    ))
                    continue
                otherwise = _unquote(target)
                self.mark(path + ("otherwise",), self.tok_span(target))
                self.mark(path + ("otherwise", "$line"), self.tree_span(item))
        return ConditionStep(kind="condition", name=name, branches=tuple(branches), otherwise=otherwise)

    def end_step(self, tree: Tree, path: Path) -> EndStep:
        kw, name_tok, outcome = tree.children[:3]
        self.mark(path, self.join(self.tok_span(kw), self.tok_span(outcome)))
        self.mark(path + ("name",), self.tok_span(name_tok))
        self.mark(path + ("outcome",), self.tok_span(outcome))
        self.mark(path + ("$end",), self.tok_span(tree.children[-1]))
        fields: dict[str, Any] = {}
        seen: dict[str, Span] = {}
        for item in (c for c in tree.children[3:] if isinstance(c, Tree)):
            key = item.data.removesuffix("_decl")
            if self._duplicate(key, item, seen):
                continue
            self.mark(path + (key,), self.tree_span(item))
            if key == "status":
                fields["status"] = _unquote(item.children[2])
            else:
                fields["notify"] = self.recipients(item, path)
        return EndStep(kind="end", name=_unquote(name_tok), outcome=str(outcome), **fields)

    # -- expressions -------------------------------------------------------
    def expr(self, node: Tree | Token, path: Path, depth: int = 0, parens: int = 0) -> Any:
        """``depth`` counts and/or/not levels (the model's nesting, limited as for JSON
        configs); ``parens`` counts redundant parentheses too, to bound the recursion."""
        self.mark(path, self.tree_span(node))
        if depth > MAX_EXPRESSION_DEPTH or parens > 4 * MAX_EXPRESSION_DEPTH:
            raise _TooDeep(make(
                "nesting_too_deep",
                f"this expression is nested more than {MAX_EXPRESSION_DEPTH} levels deep",
                span=self.tree_span(node), hint="split the condition into several `when` lines or condition steps",
            ))
        if isinstance(node, Token):  # pragma: no cover - operands are always wrapped
            raise AssertionError(node)
        kind = node.data
        if kind in ("or_expr", "and_expr"):
            args = [c for c in node.children if isinstance(c, Tree)]
            op = "or" if kind == "or_expr" else "and"
            return Logical(op=op, args=tuple(self.expr(a, path + ("args", i), depth + 1, parens + 1) for i, a in enumerate(args)))
        if kind == "not_expr":
            return Not(op="not", arg=self.expr(node.children[1], path + ("arg",), depth + 1, parens + 1))
        if kind == "group":
            inner = self.expr(node.children[1], path, depth, parens + 1)
            self.mark(path, self.tree_span(node))
            return inner
        if kind == "compare":
            left, op, right = node.children
            self.mark(path + ("op",), self.tok_span(op))
            return Compare(op=str(op), left=self.expr(left, path + ("left",)),
                           right=self.expr(right, path + ("right",)))
        if kind == "in_list":
            left, in_kw, lst = node.children
            self.mark(path + ("op",), self.tok_span(in_kw))
            self.mark(path + ("right",), self.tree_span(lst))
            items = [c for c in lst.children if isinstance(c, Token) and c.type == "STRING"]
            for i, tok in enumerate(items):
                self.mark(path + ("right", "list", i), self.tok_span(tok))
            return InList(op="in", left=self.expr(left, path + ("left",)),
                          right=ListLit(list=tuple(_unquote(t) for t in items)))
        tok = node.children[0]
        text = str(tok)
        if kind == "fact":
            return FactRef(fact=text)
        if kind == "money":
            return MoneyLit(money=text[1:].replace(",", ""))
        if kind == "string":
            return StringLit(string=_unquote(tok))
        if kind == "integer":
            return IntLit(integer=read_int(text))
        if kind == "date":
            return DateLit(date=text)
        raise AssertionError(kind)  # pragma: no cover


class _TooDeep(Exception):
    def __init__(self, diagnostic: Diagnostic) -> None:
        super().__init__(diagnostic.message)
        self.diagnostic = diagnostic


def read_flow(text: str, filename: str) -> FlowDocument:
    """Parse and lower ``.flow`` text: the one way out of the Lark world.

    Lark's trees and tokens stay inside :mod:`dsl.parser` and this module; what
    leaves is the typed model, its source map, the comments and diagnostics.
    """
    from dsl.parser import parse

    parsed = parse(text, filename)
    if parsed.tree is None:
        return FlowDocument(filename=filename, config=None, diagnostics=parsed.diagnostics, syntax_error=True)
    return lower(parsed.tree, parsed.comments, filename)


def lower(tree: Tree, comments: list[Token], filename: str) -> FlowDocument:
    """Turn a parse tree into a :class:`FlowDocument`."""
    lowerer = _Lowerer(filename)
    try:
        config = lowerer.workflow(tree.children[0])
    except _TooDeep as exc:  # no model: the checks and the compiler recurse over expressions
        return FlowDocument(filename=filename, config=None, diagnostics=[exc.diagnostic])
    return FlowDocument(
        filename=filename,
        config=config,
        source_map=lowerer.smap,
        comments=[Comment(t.line, t.column, str(t)) for t in comments],
        diagnostics=lowerer.diags,
    )
