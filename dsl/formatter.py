"""The canonical `.flow` text of a workflow model, with the author's comments kept.

``payroute fmt`` prints any workflow (a `.flow` file or a compiled JSON
document) in one style: the style of the reference workflow in
LANGUAGE.md, which is already canonical. The model is the truth: whatever
is printed parses back to the same model, so formatting never changes what
a workflow does (compile(fmt(x)) == compile(x)) and formatting twice
changes nothing (fmt(fmt(x)) == fmt(x)).

Style:

- 4-space indent; header settings in the order ``tool``, ``manager``,
  ``start``; a blank line before each step;
- response fields in the order assignees, requires (only when ``all``),
  status, notify, due, then the ``on`` lines; condition: ``when`` lines then
  ``otherwise``; end: status, notify;
- money as ``$1,234.56`` (more decimals are kept, never rounded: a
  ``money_precision`` error is the checker's to report, not ours to hide);
- expressions with the parentheses precedence requires (``or`` < ``and``
  < ``not`` < comparison) plus those a reader needs: around an
  ``and``/``or`` inside another and around a comparison under ``not``
  (see :mod:`engine.spec.expression_text`, the one printer).

Comments are attached to the element they belong to, found through the
source map (model path -> span) that the `.flow` front end produces:

- a comment on its own line belongs to the next element (it moves with it
  when fields are put in canonical order); before a closing brace it stays
  inside the block; before ``workflow`` it stays at the top; after the last
  brace it stays at the end;
- a comment after code on the same line trails the last element that ends
  there;
- a comment inside an element written over several lines moves to just
  before that element (the element is printed on one line).

A blank line next to a comment in the source is kept (one at most), so
section-heading comments keep their air.
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterable, Iterator, Mapping, Protocol, Sequence

from engine.diagnostics import Path, Span
from engine.spec.expression_text import ExpressionTextError, expression_text, money_text, string_text
from engine.spec.model import ConditionStep, EndStep, Party, ResponseStep, WorkflowConfig

if TYPE_CHECKING:
    from dsl.load import LoadedWorkflow

__all__ = ["FormatError", "format_config", "format_expr", "format_loaded", "format_money_literal"]

INDENT = "    "

_IDENT = re.compile(r"[a-z_][a-z0-9_]*")


class FormatError(ValueError):
    """The model holds something the language cannot spell (e.g. a fact name with spaces).

    Only a hand-written JSON config can get here; a `.flow` file always
    formats.
    """


class CommentLike(Protocol):
    line: int
    column: int
    text: str


# ---------------------------------------------------------------- atoms


def format_string(value: str) -> str:
    """A quoted string with ``"`` and ``\\`` escaped (the only escapes the grammar has)."""
    with _as_format_error():
        return string_text(value, strict=True)


def format_money_literal(digits: str) -> str:
    """``"1234.5"`` -> ``$1,234.50``: thousands commas, at least two decimals, never rounded."""
    with _as_format_error():
        return money_text(digits, strict=True)


# ---------------------------------------------------------------- expressions

def format_expr(node: object) -> str:
    """Expression text that parses back to the same tree, with the parentheses a reader needs.

    The engine's one printer (:func:`engine.spec.expression_text.expression_text`)
    in strict mode, so diagnostics, reasons and diagrams quote exactly what
    this writes.
    """
    with _as_format_error():
        return expression_text(node, strict=True)


@contextmanager
def _as_format_error() -> Iterator[None]:
    try:
        yield
    except ExpressionTextError as exc:
        raise FormatError(str(exc)) from None


# ---------------------------------------------------------------- lines


@dataclass
class _Element:
    """One output line and where it came from."""

    text: str
    depth: int
    span: Span | None = None
    #: indentation of comments placed before it (inside the block for a `}`)
    comment_depth: int | None = None
    blank_before: bool = False
    opens: bool = False
    closes: bool = False
    leading: list[tuple[CommentLike, bool, bool]] = field(default_factory=list)
    trailing: CommentLike | None = None


def _party(p: Party) -> str:
    return f"{p.kind} {format_string(p.name)}"


def _elements(config: WorkflowConfig, smap: Mapping[Path, Span]) -> list[_Element]:
    """The canonical lines, in output order, each with its source span (if known)."""
    out: list[_Element] = [
        _Element(f"workflow {format_string(config.name)} {{", 0, smap.get(()), opens=True),
    ]
    if _IDENT.fullmatch(config.tool) is None:
        raise FormatError(f"`{config.tool}` cannot be written as a tool name")
    out.append(_Element(f"tool: {config.tool}", 1, smap.get(("tool", "$line"))))
    if config.manager is not None:
        out.append(_Element(f"manager: {_party(config.manager)}", 1, smap.get(("manager", "$line"))))
    if config.start is not None:
        out.append(_Element(f"start: {format_string(config.start)}", 1, smap.get(("start", "$line"))))
    for i, step in enumerate(config.steps):
        out.extend(_step(step, ("steps", i), smap))
    out.append(_Element("}", 0, smap.get(("$end",)), comment_depth=1, closes=True))
    return out


def _step(step: object, path: Path, smap: Mapping[Path, Span]) -> list[_Element]:
    def el(text: str, *key: object) -> _Element:
        return _Element(text, 2, smap.get(path + key))

    if isinstance(step, ResponseStep):
        head = f"response {format_string(step.name)} {{"
        body: list[_Element] = []
        if step.assignees:
            body.append(el("assignees: " + ", ".join(_party(p) for p in step.assignees), "assignees"))
        if step.requires == "all":
            body.append(el("requires: all", "requires"))
        if step.status is not None:
            body.append(el(f"status: {format_string(step.status)}", "status"))
        if step.notify:
            body.append(el("notify: " + ", ".join(step.notify), "notify"))
        if step.due is not None:
            unit = "day" if step.due.days == 1 else "days"
            body.append(el(f"due: {step.due.days} {step.due.unit} {unit}", "due"))
        for j, a in enumerate(step.answers):
            body.append(el(f"on {format_string(a.response)} -> {format_string(a.target)}", "answers", j))
    elif isinstance(step, ConditionStep):
        head = f"condition {format_string(step.name)} {{"
        body = [
            el(f"when {format_expr(b.when)} -> {format_string(b.target)}", "branches", k)
            for k, b in enumerate(step.branches)
        ]
        if step.otherwise is not None:
            body.append(el(f"otherwise -> {format_string(step.otherwise)}", "otherwise", "$line"))
    elif isinstance(step, EndStep):
        head = f"end {format_string(step.name)} {step.outcome} {{"
        body = []
        if step.status is not None:
            body.append(el(f"status: {format_string(step.status)}", "status"))
        if step.notify:
            body.append(el("notify: " + ", ".join(step.notify), "notify"))
    else:
        raise FormatError(f"{type(step).__name__} is not a step")
    return [
        _Element(head, 1, smap.get(path), blank_before=True, opens=True),
        *body,
        _Element("}", 1, smap.get(path + ("$end",)), comment_depth=2, closes=True),
    ]


# ---------------------------------------------------------------- comments


def _workflow_end(comments: Sequence[CommentLike], text: str, filename: str) -> Span | None:
    """The workflow's closing brace: the last code character of the file."""
    cut = {c.line: c.column for c in comments}
    lines = text.split("\n")
    for number in range(len(lines), 0, -1):
        code = lines[number - 1]
        if number in cut:
            code = code[: cut[number] - 1]
        code = code.rstrip()
        if code:
            return Span(filename, number, len(code), number, len(code) + 1)
    return None


def _attach(elements: list[_Element], comments: Sequence[CommentLike], text: str | None) -> list:
    """Give every comment an element (leading or trailing); return the file's trailing comments."""
    placed = sorted((e for e in elements if e.span is not None), key=lambda e: (e.span.line, e.span.column))
    lines = text.split("\n") if text is not None else None

    def blank(number: int) -> bool:
        return lines is not None and 1 <= number <= len(lines) and not lines[number - 1].strip()

    tail: list[tuple[CommentLike, bool, bool]] = []
    for c in sorted(comments, key=lambda c: (c.line, c.column)):
        inside = [e for e in placed
                  if (e.span.line, e.span.column) < (c.line, c.column) and c.line < e.span.end_line]
        if inside:
            inside[0].leading.append((c, False, False))
            continue
        ending = [e for e in placed if e.span.end_line == c.line and e.span.end_column <= c.column]
        if ending:
            owner = max(ending, key=lambda e: e.span.end_column)
            if owner.trailing is None:
                owner.trailing = c
                continue
        after = [e for e in placed if (e.span.line, e.span.column) > (c.line, c.column)]
        entry = (c, blank(c.line - 1), blank(c.line + 1))
        if after:
            after[0].leading.append(entry)
        elif placed or text is not None:
            tail.append(entry)
        else:  # nothing is located: keep the comment, at the top
            elements[0].leading.append((c, False, False))
    if text is None and placed:
        # Without the text we cannot tell where the workflow's `}` was:
        # indented comments after the last element were inside it.
        inner = [t for t in tail if t[0].column > 1]
        elements[-1].leading.extend(inner)
        tail = [t for t in tail if t[0].column == 1]
    return tail


def _render(elements: list[_Element], tail: list) -> str:
    out: list[str] = []
    after_open = False

    def blank() -> None:
        if out and out[-1] != "":
            out.append("")

    for e in elements:
        if e.blank_before:
            blank()
        depth = e.comment_depth if e.comment_depth is not None else e.depth
        for c, blank_above, blank_below in e.leading:
            if blank_above and not after_open:
                blank()
            out.append(INDENT * depth + c.text)
            after_open = False
            if blank_below and not e.closes:
                blank()
        line = INDENT * e.depth + e.text
        if e.trailing is not None:
            line += "  " + e.trailing.text
        out.append(line)
        after_open = e.opens
    for c, blank_above, _below in tail:
        if blank_above:
            blank()
        out.append(c.text)
    return "\n".join(out) + "\n"


def format_config(
    config: WorkflowConfig,
    comments: Iterable[CommentLike] = (),
    source_map: Mapping[Path, Span] | None = None,
    *,
    source_text: str | None = None,
) -> str:
    """The canonical `.flow` text of ``config``.

    ``comments`` and ``source_map`` come from the `.flow` front end
    (:class:`dsl.load.LoadedWorkflow`); ``source_text`` tells where the
    workflow's closing brace and the blank lines were. Without a source map,
    comments cannot be located and are kept at the top.

    Raises :class:`FormatError` when the model holds something the language
    cannot spell (only possible for a hand-written JSON config).
    """
    comments = [c for c in comments]
    smap = dict(source_map or {})
    if source_text is not None and ("$end",) not in smap and comments:
        filename = next(iter(smap.values())).file if smap else "<input>"
        end = _workflow_end(comments, source_text, filename)
        if end is not None:
            smap[("$end",)] = end
    elements = _elements(config, smap)
    tail = _attach(elements, comments, source_text if smap else None) if comments else []
    return _render(elements, tail)


def format_loaded(loaded: LoadedWorkflow) -> str:
    """Format a loaded `.flow` file or JSON config whose front end succeeded (what ``payroute fmt`` does)."""
    if loaded.config is None:
        raise FormatError("the workflow could not be read")
    return format_config(loaded.config, loaded.comments, loaded.source_map,
                         source_text=loaded.text if loaded.kind == "flow" else None)
