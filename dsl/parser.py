"""Text → Lark tree, and Lark's exceptions → located diagnostics in words.

Lark objects (`Tree`, `Token`, `UnexpectedInput`) never leave this module and
:mod:`dsl.transformer`. A syntax error names what was expected in the words a
workflow manager uses ("`->` and a step name in quotes"), never a terminal
name such as ``ARROW``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from engine.diagnostics import Diagnostic, Span, did_you_mean, make

# What each terminal means to a reader. Order here is the order of listing.
_WORDS: dict[str, str] = {
    "WORKFLOW": "`workflow`",
    "TOOL": "`tool:`",
    "MANAGER": "`manager:`",
    "START": "`start:`",
    "RESPONSE": "`response`",
    "CONDITION": "`condition`",
    "END": "`end`",
    "ASSIGNEES": "`assignees:`",
    "REQUIRES": "`requires:`",
    "STATUS": "`status:`",
    "NOTIFY": "`notify:`",
    "DUE": "`due:`",
    "ON": "`on`",
    "WHEN": "`when`",
    "OTHERWISE": "`otherwise`",
    "ARROW": "`->` and a step name in quotes",
    "COLON": "`:`",
    "STRING": "a name in quotes",
    "PARTY_KIND": "`role`, `user` or `group` and a name in quotes",
    "REQUIRES_MODE": "`any` or `all`",
    "RECIPIENT": "`assignees`, `manager` or `creator`",
    "NUMBER": "a whole number of days",
    "DAY_UNIT": "`calendar` or `business`",
    "DAYS": "`days`",
    "OUTCOME": "`success` or `failure`",
    "IDENT": "a tool name such as `payments`",
    "FACT": "a fact such as `disbursement_amount`",
    "MONEY": "an amount such as `$100,000.00`",
    "INT": "a whole number",
    "DATE": "a date such as `2025-01-31`",
    "NOT": "`not`",
    "LPAR": "`(`",
    "RPAR": "`)`",
    "COMP_OP": "a comparison (`>`, `>=`, `<`, `<=`, `==`, `!=`)",
    "IN": "`in`",
    "AND": "`and`",
    "OR": "`or`",
    "LSQB": "`[`",
    "RSQB": "`]`",
    "COMMA": "`,`",
    "LBRACE": "`{`",
    "RBRACE": "`}`",
    "$END": "the end of the file",
}

# Terminals that stand for fixed words, used for "did you mean" on a typo.
_KEYWORDS: dict[str, tuple[str, ...]] = {
    "WORKFLOW": ("workflow",), "TOOL": ("tool",), "MANAGER": ("manager",),
    "START": ("start",), "RESPONSE": ("response",), "CONDITION": ("condition",),
    "END": ("end",), "ASSIGNEES": ("assignees",), "REQUIRES": ("requires",),
    "STATUS": ("status",), "NOTIFY": ("notify",), "DUE": ("due",), "ON": ("on",),
    "WHEN": ("when",), "OTHERWISE": ("otherwise",), "NOT": ("not",), "IN": ("in",),
    "AND": ("and",), "OR": ("or",), "DAYS": ("days",),
    "PARTY_KIND": ("role", "user", "group"), "REQUIRES_MODE": ("any", "all"),
    "RECIPIENT": ("assignees", "manager", "creator"), "DAY_UNIT": ("calendar", "business"),
    "OUTCOME": ("success", "failure"),
}


@dataclass
class ParseResult:
    tree: Tree | None
    comments: list[Token] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)


@lru_cache(maxsize=1)
def _parser() -> Lark:
    grammar = resources.files("dsl").joinpath("grammar.lark").read_text(encoding="utf-8")
    return Lark(
        grammar,
        parser="lalr",
        lexer="contextual",
        propagate_positions=True,
        maybe_placeholders=False,
        cache=True,
    )


def parse(text: str, filename: str) -> ParseResult:
    """Parse `.flow` text; a syntax error comes back as a diagnostic, never raised."""
    try:
        tree = _parser().parse(text)
    except UnexpectedInput as exc:
        return ParseResult(None, [], [_syntax_diagnostic(exc, text, filename)])
    # Lark's lexer callbacks are fixed when the (shared, cached) parser is
    # built, so comments are collected by a separate scan of the text.
    return ParseResult(tree, _scan_comments(text), [])


def _scan_comments(text: str) -> list[Token]:
    """Comments with positions. A `#` inside a quoted string is not a comment."""
    out: list[Token] = []
    line = 1
    for raw in text.split("\n"):
        in_string = False
        escaped = False
        for col, ch in enumerate(raw):
            if in_string:
                if escaped:
                    escaped = False
                elif ch == "\\":
                    escaped = True
                elif ch == '"':
                    in_string = False
            elif ch == '"':
                in_string = True
            elif ch == "#":
                body = raw[col:].rstrip()
                out.append(Token("COMMENT", body, line=line, column=col + 1,
                                 end_line=line, end_column=col + 1 + len(body)))
                break
        line += 1
    return out


def _describe_expected(expected: set[str]) -> str:
    names = [n for n in _WORDS if n in expected]
    words: list[str] = []
    for n in names:
        w = _WORDS[n]
        if w not in words:
            words.append(w)
    if not words:
        return "something else"
    if len(words) == 1:
        return words[0]
    return ", ".join(words[:-1]) + " or " + words[-1]


def _found(token: Token) -> str:
    if token.type == "$END":
        return "the end of the file"
    return f"`{token.value}`"


def _syntax_diagnostic(exc: UnexpectedInput, text: str, filename: str) -> Diagnostic:
    hint: str | None = None
    if isinstance(exc, UnexpectedToken) and not isinstance(exc, UnexpectedEOF):
        tok = exc.token
        expected = set(exc.expected)
        if tok.type == "$END":
            line, column = _end_position(text)
            span = Span(filename, line, column, line, column + 1)
        else:
            span = Span(filename, tok.line, tok.column, tok.end_line or tok.line,
                        tok.end_column or tok.column + len(tok.value))
        message = f"expected {_describe_expected(expected)}, found {_found(tok)}"
        found = "" if tok.type == "$END" else str(tok.value)
        hint = _situation_hint(found, expected, text, getattr(tok, "start_pos", None)) \
            or _keyword_hint(found, expected)
    elif isinstance(exc, UnexpectedCharacters):
        expected = set(exc.allowed or ())
        word = _word_at(text, exc.pos_in_stream)
        span = Span(filename, exc.line, exc.column, exc.line, exc.column + max(1, len(word)))
        if word.startswith('"'):
            message = "unterminated string: a name in quotes must end with `\"` on the same line"
            hint = "add the closing `\"`"
        else:
            message = f"expected {_describe_expected(expected)}, found `{word}`"
            hint = _situation_hint(word, expected, text, exc.pos_in_stream) or _keyword_hint(word, expected)
            if word.startswith("$"):
                hint = "write amounts like `$100,000.00` or `$100000.00`"
    else:  # UnexpectedEOF
        line, column = _end_position(text)
        span = Span(filename, line, column, line, column + 1)
        expected = set(getattr(exc, "expected", ()) or ())
        message = f"expected {_describe_expected(expected)}, found the end of the file"
        hint = _situation_hint("", expected, text, None)
    return make("syntax_error", message, span=span, hint=hint)


# A mistyped comparison operator and the one the author most likely meant.
_OPERATOR_TYPOS = {"=>": ">=", "=<": "<=", "=": "==", "<>": "!=", "=!": "!="}


def _situation_hint(found: str, expected: set[str], text: str, pos: int | None) -> str | None:
    """A hint for the common mistakes whose fix the expected set alone does not show."""
    if found == "" and "RBRACE" in expected:
        return "a block opened with `{` is not closed; add the missing `}`"
    if "COMP_OP" in expected and found[:1] in "=<>!" and found:
        probe = text[pos:pos + 2] if pos is not None else found
        for typo in (probe, probe[:1]):
            if typo in _OPERATOR_TYPOS:
                return f"did you mean `{_OPERATOR_TYPOS[typo]}`?"
    if found == "," and "ARROW" in expected and pos is not None and text[:pos].rstrip()[-1:].isdigit():
        return "write amounts with a dollar sign, such as `$100,000.00`"
    if found.startswith('"') and "PARTY_KIND" in expected:
        return f"say whether {found} is a `role`, `user` or `group`, such as `role {found}`"
    if expected == {"ARROW"} and found.startswith('"'):
        return f"add `->` before {found}, the step it leads to"
    if "DAY_UNIT" in expected:
        return "say which days count: `calendar days` or `business days`"
    if "LSQB" in expected and found.startswith('"'):
        return f"list the values in brackets, such as `in [{found}]`"
    if "FACT" in expected and found[:1].isalpha() and found != found.lower():
        from engine.spec.facts import known_fact_names

        close = did_you_mean(found.lower(), known_fact_names())
        return f"facts are written in lowercase; {close}" if close else "facts are written in lowercase"
    return None


def _keyword_hint(word: str, expected: set[str]) -> str | None:
    candidates = [kw for name in expected for kw in _KEYWORDS.get(name, ())]
    if not candidates or word in candidates:
        return None
    return did_you_mean(word, candidates)


def _word_at(text: str, pos: int) -> str:
    if pos >= len(text):
        return ""
    if text[pos] == '"':
        end = text.find("\n", pos)
        return text[pos: end if end != -1 else len(text)]
    end = pos
    while end < len(text) and not text[end].isspace() and (end == pos or text[end].isalnum() or text[end] in "_.,$"):
        end += 1
    return text[pos:end]


def _end_position(text: str) -> tuple[int, int]:
    lines = text.split("\n")
    if len(lines) > 1 and lines[-1] == "":
        lines.pop()
    return len(lines), len(lines[-1]) + 1 if lines else 1
