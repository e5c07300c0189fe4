"""Formatter laws under Hypothesis.

1. On generated models (valid-ish: any names, any expression trees, values
   the checker would refuse, such as three-decimal money or mismatched
   types): the formatted text parses without a front-end error, compiles to
   the same document as the model, and formats to itself.
2. On the reference workflow with comments inserted at random lines: every
   comment survives exactly once, formatting is idempotent and the compiled
   document does not change.
3. On generated expression trees: the one expression printer (what fmt,
   diagnostics, COND-13 reasons and diagrams quote) prints text that parses
   back to the same tree, in both of its modes.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dsl.formatter import format_config, format_loaded
from dsl.load import load_workflow
from engine.spec.export import config_to_document
from engine.spec.expression_text import expression_text
from engine.spec.facts import FACTS, PROJECT_FIELDS
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
from tests.conftest import REFERENCE_FLOW

REFERENCE = REFERENCE_FLOW.read_text(encoding="utf-8")

# ---------------------------------------------------------------- strategies

# Any text a quoted name can hold: quotes, backslashes and `#` included; no control or
# bidirectional-control characters, which the checks refuse (issue 8, `text_invalid`).
names = st.text(st.characters(blacklist_categories=("Cs", "Cc"),
                              blacklist_characters="\u2028\u2029\u202a\u202b\u202c\u202d\u202e"
                                                   "\u2066\u2067\u2068\u2069"), max_size=12)
identifiers = st.from_regex(r"[a-z_][a-z0-9_]{0,8}", fullmatch=True)
facts = st.one_of(
    st.sampled_from(sorted(FACTS)),
    st.sampled_from([f"project.{f}" for f in PROJECT_FIELDS]),
    identifiers.filter(lambda s: s != "not"),
    identifiers.map(lambda s: f"project.{s}"),
)
money = st.from_regex(r"[0-9]{1,10}(\.[0-9]{1,4})?", fullmatch=True)
dates = st.from_regex(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", fullmatch=True)
operands = st.one_of(
    facts.map(FactRef),
    money.map(MoneyLit),
    names.map(StringLit),
    st.integers(min_value=0, max_value=10**12).map(IntLit),
    dates.map(DateLit),
)
leaves = st.one_of(
    operands,
    st.builds(Compare, op=st.sampled_from([">", ">=", "<", "<=", "==", "!="]), left=operands, right=operands),
    st.builds(InList, op=st.just("in"), left=operands,
              right=st.lists(names, max_size=3).map(lambda xs: ListLit(tuple(xs)))),
)
expressions = st.recursive(
    leaves,
    lambda inner: st.one_of(
        st.builds(Logical, op=st.sampled_from(["and", "or"]),
                  args=st.lists(inner, min_size=2, max_size=3).map(tuple)),
        st.builds(Not, op=st.just("not"), arg=inner),
    ),
    max_leaves=8,
)
parties = st.builds(Party, kind=st.sampled_from(["role", "user", "group"]), name=names)
recipients = st.lists(st.sampled_from(["assignees", "manager", "creator"]), unique=True).map(tuple)

response_steps = st.builds(
    ResponseStep,
    kind=st.just("response"),
    name=names,
    assignees=st.lists(parties, max_size=3).map(tuple),
    requires=st.sampled_from(["any", "all"]),
    status=st.none() | names,
    notify=recipients,
    due=st.none() | st.builds(Due, days=st.integers(-3, 400), unit=st.sampled_from(["calendar", "business"])),
    answers=st.lists(st.builds(Answer, response=names, target=names), max_size=3).map(tuple),
)
condition_steps = st.builds(
    ConditionStep,
    kind=st.just("condition"),
    name=names,
    branches=st.lists(st.builds(Branch, when=expressions, target=names), max_size=3).map(tuple),
    otherwise=st.none() | names,
)
end_steps = st.builds(
    EndStep, kind=st.just("end"), name=names, outcome=st.sampled_from(["success", "failure"]),
    status=st.none() | names, notify=recipients,
)
workflows = st.builds(
    WorkflowConfig,
    name=names,
    tool=identifiers,
    manager=st.none() | parties,
    start=st.none() | names,
    steps=st.lists(st.one_of(response_steps, condition_steps, end_steps), max_size=5).map(tuple),
)

# ---------------------------------------------------------------- laws


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(workflows)
def test_formatted_models_parse_back_to_the_same_document(config: WorkflowConfig) -> None:
    text = format_config(config)
    loaded = load_workflow(text, "generated.flow")
    assert not loaded.front_end_failed, (text, loaded.diagnostics)
    assert config_to_document(loaded.config) == config_to_document(config)
    assert format_loaded(loaded) == text


@settings(max_examples=150, deadline=None)
@given(st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=REFERENCE.count("\n")),  # line position
        st.booleans(),  # own line (True) or trailing the line (False)
        st.text(st.characters(blacklist_categories=("Cs", "Zl", "Zp", "Cc")), max_size=10),
        st.integers(min_value=0, max_value=12),  # indentation of an own-line comment
    ),
    max_size=8,
))
def test_comments_inserted_anywhere_survive_and_formatting_is_idempotent(inserts: list) -> None:
    lines = REFERENCE.split("\n")
    markers = []
    for n, (position, own_line, body, indent) in enumerate(inserts):
        marker = f"#c{n}:{body}".rstrip()
        markers.append(marker)
        if own_line:
            lines.insert(position, " " * indent + marker)
        else:
            lines[min(position, len(lines) - 1)] += "  " + marker
    text = "\n".join(lines)
    loaded = load_workflow(text, "commented.flow")
    assert not loaded.front_end_failed
    once = format_loaded(loaded)
    for marker in markers:
        assert once.count(marker) == text.count(marker), (marker, text, once)
    again = load_workflow(once, "commented.flow")
    assert format_loaded(again) == once, (text, once)
    assert config_to_document(again.config) == config_to_document(loaded.config)


def _amounts_as_printed(node: object) -> object:
    """The tree with each amount spelled as the parser reads ``$1,234.50`` back: no leading
    zeros, at least two decimals (the same tree otherwise)."""
    if isinstance(node, MoneyLit):
        whole, _, frac = node.money.partition(".")
        return MoneyLit(f"{int(whole)}.{frac.ljust(2, '0')}")
    if isinstance(node, Compare):
        return Compare(op=node.op, left=_amounts_as_printed(node.left), right=_amounts_as_printed(node.right))
    if isinstance(node, InList):
        return InList(op=node.op, left=_amounts_as_printed(node.left), right=node.right)
    if isinstance(node, Logical):
        return Logical(op=node.op, args=tuple(_amounts_as_printed(a) for a in node.args))
    if isinstance(node, Not):
        return Not(op=node.op, arg=_amounts_as_printed(node.arg))
    return node


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(expressions)
def test_the_one_expression_printer_parses_back_to_the_same_tree(expr: object) -> None:
    text = expression_text(expr, strict=True)
    assert expression_text(expr) == text  # messages quote exactly what fmt writes
    loaded = load_workflow(
        f'workflow "w" {{\n    condition "c" {{\n        when {text} -> "e"\n        otherwise -> "e"\n    }}\n'
        f'    end "e" success {{ }}\n}}\n', "expression.flow")
    assert not loaded.front_end_failed, (text, loaded.diagnostics)
    step = loaded.config.steps[0]
    assert isinstance(step, ConditionStep)
    assert step.branches[0].when == _amounts_as_printed(expr), text
