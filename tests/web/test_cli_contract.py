"""The CLI's contract with terminals and pipelines (issue 8).

- Nothing a user's data holds reaches the terminal raw: control characters,
  bidi controls and lone surrogates in ids, values, names and file names are
  printed as ``\\uXXXX`` in every text output; JSON outputs stay valid JSON
  that decodes to the same values.
- A crash is not "the input has errors": an unexpected exception in any verb
  is one line on stderr asking for a bug report, and exit 70 (EX_SOFTWARE).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from dsl.render import render_text
from dsl.safe_text import UNSAFE, escape
from dsl.verbs import EXIT_SOFTWARE
from engine.diagnostics import Diagnostic
from tests.conftest import EXAMPLES, ROOT
from web.cli import VERBS

FLOW = str(EXAMPLES / "reference" / "workflow.flow")
#: What an attacker would put in an id: clear the screen, a C1 CSI, a right-to-left override, DEL.
HOSTILE = "D-\x1b[2J\x9b31m\u202eevil\x7f\u2066"


def raw_controls(text: str) -> list[str]:
    """Every unsafe character in ``text`` (the newline is structure, not one of them)."""
    return UNSAFE.findall(text)


def hostile_line(**changes: object) -> str:
    doc = {"id": HOSTILE, "project": {"id": "P-1", "name": "Tower"}, "created_by": "ana@example.com",
           "funding_account": "FA-1", "invoices": [{"id": "I-1", "vendor": "Acme", "amount": "5.00"}]}
    doc.update(changes)
    return json.dumps(doc) + "\n"


def test_escape_writes_unsafe_characters_as_json_escapes() -> None:
    assert escape("plain text, tab-free\nand a newline") == "plain text, tab-free\nand a newline"
    assert escape("a\x1b[2Jb\tc\rd\x7f\x85\u202e\u2069\ud800") == (
        "a\\u001b[2Jb\\u0009c\\u000dd\\u007f\\u0085\\u202e\\u2069\\ud800")
    assert json.loads(f'"{escape(HOSTILE)}"') == HOSTILE  # the same escapes JSON uses


def test_simulate_text_output_escapes_an_id(cli, tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text(hostile_line(), encoding="utf-8")
    result = cli("simulate", FLOW, str(src))
    assert result.code == 0 and raw_controls(result.out) == []
    assert result.out.startswith("D-\\u001b[2J\\u009b31m\\u202eevil\\u007f\\u2066 (line 1): Approved (success)\n")


def test_simulate_stderr_escapes_echoed_values(cli, tmp_path: Path) -> None:
    """A refused value is quoted in its error: quoted escaped, and the line still located."""
    src = tmp_path / "in.jsonl"
    src.write_text(hostile_line(created_by="x\x1b]0;owned\x07@example"), encoding="utf-8")
    result = cli("simulate", FLOW, str(src))
    assert result.code == 1 and raw_controls(result.err) == []
    assert result.err.startswith("line 1: created_by: `x\\u001b]0;owned\\u0007@example` is not an email")


@pytest.mark.parametrize("fmt", ["json", "jsonl"])
def test_simulate_json_outputs_stay_valid_and_decode_to_the_same_id(cli, tmp_path: Path, fmt: str) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text(hostile_line(), encoding="utf-8")
    result = cli("simulate", FLOW, str(src), "--format", fmt)
    assert result.code == 0 and raw_controls(result.out) == []
    body = json.loads(result.out)
    assert (body["results"][0] if fmt == "json" else body)["id"] == HOSTILE


def test_a_diagnostic_shows_control_characters_escaped_with_the_caret_under_them() -> None:
    from engine.diagnostics import Span

    text = 'workflow "W" {\n    start: "A\x1b[2J\u202eB"\n}\n'
    diag = Diagnostic(code="name_unknown_step", severity="error", message="unknown step `A\x1b[2J\u202eB`",
                      span=Span("w\x1b.flow", 2, 12, 2, 21))
    out = render_text(diag, {"w\x1b.flow": text})
    assert out.splitlines() == [
        "error[name_unknown_step]: unknown step `A\x1b[2J\u202eB`",  # escaped on the way out (SafeStream)
        " --> w\x1b.flow:2:12",
        "  |",
        '2 |     start: "A\\u001b[2J\\u202eB"',
        "  |            " + "^" * len('"A\\u001b[2J\\u202eB"'),
    ]


def test_check_escapes_a_file_name_and_a_step_name(cli, tmp_path: Path) -> None:
    flow = tmp_path / "pay\x1b[2J.flow"
    flow.write_text(Path(FLOW).read_text(encoding="utf-8").replace('-> "CFO Review"', '-> "CFO\x1b[2J"'),
                    encoding="utf-8")
    result = cli("check", str(flow))
    assert result.code == 1 and raw_controls(result.out + result.err) == []
    assert "pay\\u001b[2J.flow" in result.out and "CFO\\u001b[2J" in result.out


def test_the_test_runner_escapes_a_case_name(cli, tmp_path: Path) -> None:
    folder = tmp_path / "wf"
    shutil.copytree(EXAMPLES / "reference", folder)
    cases = (folder / "cases.yaml").read_text(encoding="utf-8")
    (folder / "cases.yaml").write_text(
        cases.replace("- name: one cent below the threshold skips the CFO", '- name: "below \\e[2J\\u202e"'),
        encoding="utf-8")
    result = cli("test", str(folder))
    assert result.code == 0 and raw_controls(result.out + result.err) == []
    assert "  ok    below \\u001b[2J\\u202e\n" in result.out


def test_fmt_writes_a_files_text_to_stdout_unchanged(cli) -> None:
    """`fmt -` prints the formatted file, not a report: its bytes are the file's, whatever they hold."""
    text = Path(FLOW).read_text(encoding="utf-8").replace("# ", "# tab\there ", 1)
    assert "\t" in text
    result = cli("fmt", "-", stdin=text)
    assert result.code == 0 and "\t" in result.out


@pytest.mark.parametrize("verb", list(VERBS))
def test_an_internal_error_in_any_verb_exits_70_with_one_line(cli, verb: str,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib

    module = importlib.import_module(VERBS[verb])

    def crash(args: object) -> int:
        raise KeyError("postgresql://admin:hunter2@db.example/pay")

    monkeypatch.setattr(module, "register", lambda parser: None)
    monkeypatch.setattr(module, "run", crash)
    monkeypatch.delenv("PAYROUTE_DEBUG", raising=False)
    result = cli(verb)
    assert result.code == EXIT_SOFTWARE == 70
    assert result.out == "" and len(result.err.splitlines()) == 1
    assert result.err.startswith(f"payroute {verb}: internal error (KeyError: ")
    assert "please report it" in result.err and "Traceback" not in result.err
    assert "hunter2" not in result.err and "admin:***@db.example" in result.err

    monkeypatch.setenv("PAYROUTE_DEBUG", "1")
    result = cli(verb)
    assert result.code == 70 and "Traceback (most recent call last)" in result.err
    assert result.err.splitlines()[-1].startswith(f"payroute {verb}: internal error (KeyError: ")


def test_handled_errors_keep_their_exit_codes(cli, tmp_path: Path) -> None:
    assert cli("simulate", FLOW, str(tmp_path / "missing.jsonl")).code == 2  # I/O
    assert cli("simulate", FLOW, FLOW, "--answer", "nope").code == 2  # usage
    assert cli("chek").code == 2


def test_python_dash_m_reports_usage_errors_as_usage_errors(tmp_path: Path) -> None:
    """`python -m web.cli` runs the package's module, so a verb's UsageError is exit 2, not a crash."""
    src = tmp_path / "in.jsonl"
    src.write_text(hostile_line(), encoding="utf-8")
    run = subprocess.run([sys.executable, "-m", "web.cli", "simulate", FLOW, str(src), "--answer", "Nope=Approve"],
                         capture_output=True, text=True, cwd=ROOT, check=False)
    assert run.returncode == 2 and run.stderr.startswith('payroute simulate: --answer "Nope=Approve"')


def test_a_newline_in_an_echoed_value_cannot_forge_a_line(cli, tmp_path: Path) -> None:
    """Found by the simulate fuzzer: an unknown key holding a newline split the refusal in two."""
    src = tmp_path / "in.jsonl"
    src.write_text('{"\\nline 2: ok": null}\n' + hostile_line(id="a\nb"), encoding="utf-8")
    result = cli("simulate", FLOW, str(src))
    assert result.code == 1
    assert ("line 1: \\u000aline 2: ok: unknown field; the fields are id, project, created_by, funding_account, "
            "invoices") in result.err.splitlines()
    assert all(text.startswith("line 1: ") for text in result.err.splitlines())
    assert result.out.startswith("a\\u000ab (line 2): Approved (success)\n")


def test_a_fact_value_holding_a_newline_stays_on_its_line(cli, tmp_path: Path) -> None:
    """COND-13's reasons quote the fact values: a value's newline and escape sequence are shown escaped."""
    doc = json.loads(hostile_line(id="D-1"))
    doc["project"]["office"] = "Den\nver\x1b[2J"
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps(doc) + "\n", encoding="utf-8")
    result = cli("simulate", str(EXAMPLES / "office_routing" / "workflow.flow"), str(src))
    assert result.code == 0 and raw_controls(result.out) == []
    reasons = [text for text in result.out.splitlines() if "project.office" in text]
    assert len(reasons) == 3
    assert all('project.office "Den\\u000aver\\u001b[2J"' in text for text in reasons)
