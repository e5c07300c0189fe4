"""Syntax errors: located, in words, never a Lark terminal name, never a traceback."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dsl.load import load_workflow

HEADER = 'workflow "W" {\n    tool: payments\n    manager: role "M"\n    start: "A"\n'

CASES = [
    # (source, line, column, message fragment, hint fragment or None)
    (HEADER + '    response "A" {\n        on "Approve" "Done"\n    }\n}\n', 6, 22,
     "expected `->` and a step name in quotes, found `\"Done\"`", None),
    (HEADER + '    respnse "A" {\n    }\n}\n', 5, 5, "found `respnse`", "did you mean `response`?"),
    (HEADER + '    response "A" {\n        requires: most\n    }\n}\n', 6, 19,
     "expected `any` or `all`", None),
    (HEADER + '    response "A" {\n        due: 5 weekdays\n    }\n}\n', 6, 16,
     "expected `calendar` or `business`", None),
    (HEADER + '    end "A" sucess {\n    }\n}\n', 5, 13, "expected `success` or `failure`", "did you mean `success`?"),
    (HEADER + '    condition "C" {\n        when disbursement_amount > -> "A"\n    }\n}\n', 6, 36,
     "expected", None),
    (HEADER + '    response "A" {\n        status: "Under Review\n    }\n}\n', 6, 17,
     "unterminated string", None),
    (HEADER + '    response "A" {\n', 5, 19, "found the end of the file", None),
    ('workflow W {}\n', 1, 10, "expected a name in quotes, found `W`", None),
    ('', 1, 1, "expected `workflow`", None),
]

TERMINAL_NAMES = re.compile(r"\b(ARROW|STRING|LBRACE|RBRACE|COLON|FACT|MONEY|COMP_OP|__ANON|\$END)\b")


@pytest.mark.parametrize("source,line,column,fragment,hint", CASES)
def test_syntax_error_is_located_and_worded(source: str, line: int, column: int, fragment: str,
                                            hint: str | None) -> None:
    loaded = load_workflow(source, "w.flow")
    assert [d.code for d in loaded.diagnostics] == ["syntax_error"]
    diag = loaded.diagnostics[0]
    assert diag.span is not None
    assert (diag.span.line, diag.span.column) == (line, column), diag
    assert fragment in diag.message
    assert not TERMINAL_NAMES.search(diag.message), diag.message
    if hint is not None:
        assert diag.hint == hint


def test_syntax_error_through_cli_exit_1(cli, tmp_path) -> None:
    f = tmp_path / "w.flow"
    f.write_text(CASES[0][0])
    result = cli("check", str(f))
    assert result.code == 1
    assert "error[syntax_error]: expected `->` and a step name in quotes" in result.out
    assert "Traceback" not in result.out + result.err


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list('workflw"{}:->$0123456789,. \n#responsdiagtm()[]')), max_size=200))
def test_arbitrary_text_gives_diagnostics_never_exceptions(text: str) -> None:
    loaded = load_workflow(text, "fuzz.flow")
    assert loaded.config is not None or loaded.diagnostics
    for d in loaded.diagnostics:
        assert d.span is not None and d.span.line >= 1 and d.span.column >= 1
        assert not TERMINAL_NAMES.search(d.message), d.message
