"""``payroute diagram``: Mermaid and dot text, path highlighting, escaping, determinism.

Rules shown in the diagrams: COND-2 (`when` lines in order, numbered, then
`otherwise`), COND-10 (the operator is drawn exactly as written: `>` in the
reference workflow), STEP-4 (`requires: all` is labelled), END-2 (success and
failure ends styled apart), ROLL-6 (drawing a path changes nothing: it is
text from text).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = ROOT / "templates_examples"

REFERENCE = str(EXAMPLES / "reference" / "workflow.flow")
REF_PATH = "Controller Review,> $100,000.00,CFO Review,Approved"


@pytest.mark.parametrize("fmt", ["mermaid", "dot"])
def test_reference_diagram_golden(cli, golden, fmt):
    """COND-10: the reference condition is drawn as `disbursement_amount > $100,000.00`."""
    res = cli("diagram", REFERENCE, "--format", fmt)
    assert res.code == 0, res.err
    golden.check(f"diagram/reference.{'mmd' if fmt == 'mermaid' else 'dot'}", res.out)
    assert "disbursement_amount #gt; $100,000.00" in res.out or \
        'label="disbursement_amount > $100,000.00"' in res.out


@pytest.mark.parametrize("fmt", ["mermaid", "dot"])
def test_reference_diagram_with_path_golden(cli, golden, fmt):
    res = cli("diagram", REFERENCE, "--format", fmt, "--path", REF_PATH)
    assert res.code == 0, res.err
    golden.check(f"diagram/reference_path.{'mmd' if fmt == 'mermaid' else 'dot'}", res.out)


def test_office_routing_compound_labels_golden(cli, golden):
    """COND-2: `when` lines are numbered in the order they are tried; compound
    expressions keep their parentheses and string quotes (escaped for Mermaid)."""
    res = cli("diagram", str(EXAMPLES / "office_routing" / "workflow.flow"))
    assert res.code == 0, res.err
    golden.check("diagram/office_routing.mmd", res.out)
    assert ('|"2. project.office == #quot;Austin#quot; or (project.sector == #quot;Healthcare#quot;'
            ' and highest_invoice_amount #gt;= $25,000.00)"|') in res.out


def test_mermaid_highlights_exactly_the_route(cli):
    res = cli("diagram", REFERENCE, "--path", REF_PATH)
    styled = re.findall(r"^    style (n\d+) ", res.out, re.M)
    assert styled == ["n0", "n1", "n2", "n3"]
    edges = [ln for ln in res.out.splitlines() if re.match(r"^    (entry|n\d+) -", ln)]
    link = re.search(r"^    linkStyle ([\d,]+) ", res.out, re.M)
    assert link is not None
    taken = [edges[int(i)].strip() for i in link.group(1).split(",")]
    assert taken == ["entry --> n0", 'n0 -->|"Approve"| n1',
                     'n1 -->|"disbursement_amount #gt; $100,000.00"| n2', 'n2 -->|"Approve"| n3']


def test_dot_highlights_exactly_the_route(cli):
    res = cli("diagram", REFERENCE, "--format", "dot", "--path", "Controller Review,Rejected")
    hot = [ln.split()[0] + (" " + ln.split()[2] if "->" in ln else "")
           for ln in res.out.splitlines() if 'penwidth="3"' in ln]
    assert hot == ["n0", "n4", "entry n0", "n0 n4"]


def test_end_steps_styled_by_outcome(cli):
    """END-2: success and failure ends are drawn differently."""
    out = cli("diagram", REFERENCE).out
    assert '    n3(["Approved<br/>success"])' in out and "    class n3 success" in out
    assert '    n4(["Rejected<br/>failure"])' in out and "    class n4 failure" in out
    dot = cli("diagram", REFERENCE, "--format", "dot").out
    assert re.search(r'n3 \[label="Approved\\nsuccess", shape="box", style="rounded,filled", '
                     r'fillcolor="#d3f9d8"', dot)
    assert re.search(r'n4 \[label="Rejected\\nfailure".*fillcolor="#ffe3e3"', dot)


def test_requires_all_and_business_days_are_labelled(cli):
    """STEP-4, STEP-8."""
    out = cli("diagram", str(EXAMPLES / "executive_all" / "workflow.flow")).out
    assert ('["Executive Committee<br/>role #quot;CFO#quot;, role #quot;CEO#quot;, '
            'user #quot;coo@example.com#quot;<br/>all must approve<br/>due 2 business days"]') in out


def test_path_file_takes_one_simulate_jsonl_line(cli, tmp_path):
    line = {"id": "D-1", "path": ["Controller Review", "> $100,000.00", "CFO Review", "Approved"],
            "end": "Approved", "outcome": "success"}
    f = tmp_path / "one.jsonl"
    f.write_text(json.dumps(line) + "\n")
    from_file = cli("diagram", REFERENCE, "--path-file", str(f))
    assert from_file.code == 0, from_file.err
    assert from_file.out == cli("diagram", REFERENCE, "--path", REF_PATH).out
    stdin = cli("diagram", REFERENCE, "--format", "dot", "--path-file", "-", stdin=json.dumps(line))
    assert stdin.out == cli("diagram", REFERENCE, "--format", "dot", "--path", REF_PATH).out


def test_path_file_with_many_lines_is_a_usage_error(cli, tmp_path):
    f = tmp_path / "many.jsonl"
    f.write_text('{"path": ["Controller Review"]}\n{"path": ["Controller Review"]}\n')
    res = cli("diagram", REFERENCE, "--path-file", str(f))
    assert res.code == 2
    assert "expected one JSON line" in res.err and "found 2 lines" in res.err
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "D-1"}\n')
    res = cli("diagram", REFERENCE, "--path-file", str(bad))
    assert res.code == 2 and 'has no "path" field' in res.err


def test_unknown_step_in_path_suggests_a_name(cli):
    res = cli("diagram", REFERENCE, "--path", "Controller Reveiw,Rejected")
    assert res.code == 2
    assert "unknown step `Controller Reveiw`; did you mean `Controller Review`?" in res.err
    assert "Traceback" not in res.err


def test_path_that_is_no_route_is_refused(cli):
    res = cli("diagram", REFERENCE, "--path", "Controller Review,CFO Review")
    assert res.code == 2
    assert "goes from `Controller Review` to `CFO Review`, but no route" in res.err


def test_workflow_with_errors_gets_diagnostics_not_a_diagram(cli, tmp_path):
    f = tmp_path / "broken.flow"
    f.write_text('workflow "W" {\n    start "A"\n}\n')
    res = cli("diagram", str(f))
    assert res.code == 1 and res.out == ""
    assert "error[syntax_error]" in res.err and "broken.flow:2:" in res.err


def test_missing_file_is_a_usage_error(cli, tmp_path):
    res = cli("diagram", str(tmp_path / "nope.flow"))
    assert res.code == 2 and "nope.flow" in res.err


NASTY = r'''workflow "Quote \" and \\ back|slash <tag> #1" {
    tool: payments
    manager: role "Workflow Manager"
    start: "Say \"hi\" <b>"

    response "Say \"hi\" <b>" {
        assignees: user "a|b@example.com"
        on "A|B #1 `x`" -> "Is it \\n?"
    }

    condition "Is it \\n?" {
        when project.name == "R&D \"lab\"" -> "Done {ok}"
        otherwise -> "Done {ok}"
    }

    end "Done {ok}" success {
        status: "Done"
    }
}
'''


def test_mermaid_labels_are_escaped(cli, tmp_path):
    f = tmp_path / "nasty.flow"
    f.write_text(NASTY)
    res = cli("diagram", str(f), "--path", 'Say "hi" <b>,Is it \\n?,Done {ok}')
    assert res.code == 0, res.err
    body = res.out.split("---\n")[2]
    assert 'title: "Quote \\" and \\\\ back|slash <tag> #1"' in res.out  # JSON = YAML double-quoted
    # Inside every quoted label: no raw quote, <, >, |, # or backtick.
    for label in re.findall(r'"([^"]*)"', body):
        assert not re.search(r'[<>|`\\]|#(?!(quot|lt|gt|amp|35|92|96|124);)', label.replace("<br/>", "")), label
    assert 'n0["Say #quot;hi#quot; #lt;b#gt;<br/>user #quot;a#124;b@example.com#quot;"]' in body
    assert '|"A#124;B #35;1 #96;x#96;"|' in body
    assert '|"project.name == #quot;R#amp;D #92;#quot;lab#92;#quot;#quot;"|' in body
    assert 'n1{"Is it #92;n?"}' in body  # a literal backslash-n, not a line break


def test_dot_labels_are_escaped(cli, tmp_path):
    f = tmp_path / "nasty.flow"
    f.write_text(NASTY)
    res = cli("diagram", str(f), "--format", "dot")
    assert res.code == 0, res.err
    assert res.out.startswith('digraph "Quote \\" and \\\\ back|slash <tag> #1" {\n')
    assert 'n1 [label="Is it \\\\n?"' in res.out  # a literal backslash-n, not a line break
    # Every line is statements made only of identifiers, punctuation and well-formed strings.
    token = re.compile(r'\s*(?:"(?:[^"\\]|\\.)*"|[A-Za-z_][A-Za-z0-9_]*|->|[\[\]{}=,;])')
    for line in res.out.splitlines():
        pos = 0
        while pos < len(line):
            m = token.match(line, pos)
            assert m, f"cannot tokenize {line!r} at {pos}"
            pos = m.end()


@pytest.mark.parametrize("fmt", ["mermaid", "dot"])
def test_output_is_deterministic_across_processes(fmt):
    """Same input, same bytes, whatever the hash seed (no set or dict-order leaks)."""
    outs = set()
    for seed in ("0", "1", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        proc = subprocess.run(
            [sys.executable, "-m", "web.cli", "diagram", str(EXAMPLES / "office_routing" / "workflow.flow"),
             "--format", fmt, "--path", "Route by Office,Pilot Office Review,Controller Review,Approved"],
            cwd=ROOT, env=env, capture_output=True, text=True, check=True)
        outs.add(proc.stdout)
    assert len(outs) == 1


@pytest.mark.parametrize("example", sorted(p.name for p in EXAMPLES.iterdir() if p.is_dir()))
def test_every_example_draws_in_both_formats(cli, example):
    flow = str(EXAMPLES / example / "workflow.flow")
    mmd = cli("diagram", flow)
    dot = cli("diagram", flow, "--format", "dot")
    assert mmd.code == 0 and dot.code == 0
    assert mmd.out.splitlines()[3] == "flowchart TD" and dot.out.startswith("digraph ")


def test_compiled_json_draws_like_its_flow(cli, tmp_path):
    """A compiled JSON config is a first-class input (LANGUAGE.md): same diagram."""
    out = tmp_path / "reference.json"
    assert cli("compile", REFERENCE, "-o", str(out)).code == 0
    for fmt in ("mermaid", "dot"):
        assert cli("diagram", str(out), "--format", fmt).out == cli("diagram", REFERENCE, "--format", fmt).out


def test_json_config_with_an_unwritable_string_is_an_input_error(cli, tmp_path):
    out = tmp_path / "office.json"
    assert cli("compile", str(EXAMPLES / "office_routing" / "workflow.flow"), "-o", str(out)).code == 0
    doc = json.loads(out.read_text())
    doc["steps"][0]["branches"][1]["when"]["args"][0]["right"] = {"string": "Aus\ntin"}
    out.write_text(json.dumps(doc))
    res = cli("diagram", str(out))
    assert res.code == 1 and res.out == ""
    # Since issue 8 a line break in a text is refused by the checks (text_invalid).
    assert "error[text_invalid]: text value `Aus\\u000atin` holds a line break" in res.err


@pytest.mark.rule("ROLL-6")
def test_path_file_from_a_real_simulation(cli, tmp_path):
    """ROLL-6: simulate routes without side effects; its jsonl line highlights the same route."""
    doc = {"id": "D-1", "project": {"id": "P-1", "name": "Tower"}, "created_by": "pm@example.com",
           "funding_account": "FA-1",
           "invoices": [{"id": "I-1", "vendor": "Acme", "amount": "100000.01", "status": "Approved",
                         "approved_by": "pm@example.com"}]}
    source = tmp_path / "d.json"
    source.write_text(json.dumps(doc))
    sim = cli("simulate", REFERENCE, str(source), "--format", "jsonl")
    assert sim.code == 0, sim.err
    line = tmp_path / "one.jsonl"
    line.write_text(sim.out)
    res = cli("diagram", REFERENCE, "--path-file", str(line))
    assert res.code == 0, res.err
    assert res.out == cli("diagram", REFERENCE, "--path", REF_PATH).out
