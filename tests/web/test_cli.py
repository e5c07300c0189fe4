"""The command line as a whole: verbs, exit codes, usage errors."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import EXAMPLES


def test_unknown_verb_suggests_the_closest(cli) -> None:
    result = cli("chek", "x.flow")
    assert result.code == 2
    assert "unknown verb `chek`; did you mean `check`?" in result.err


def test_every_verb_has_help(cli) -> None:
    result = cli("--help")
    assert result.code == 0
    for verb in ("check", "fmt", "compile", "simulate", "test", "diagram", "db", "audit", "worker", "tokens",
                 "users", "serve"):
        assert f"    {verb}" in result.out


def test_a_run_imports_only_its_own_verb() -> None:
    """Cold start: `payroute check` does not import the other verbs (nor SQLAlchemy, pydantic)."""
    code = ("import sys; from web.cli import main; main(['check', sys.argv[1]]); "
            "print(sorted(m for m in sys.modules if m.startswith(('dsl.commands.', 'web.commands.')) "
            "or m.split('.')[0] in ('sqlalchemy', 'pydantic', 'flask', 'msgspec')))")
    out = subprocess.run([sys.executable, "-c", code, str(EXAMPLES / "reference" / "workflow.flow")],
                         capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "['dsl.commands._io', 'dsl.commands.check']"


def test_help_loads_no_database_or_web_library() -> None:
    """`payroute --help` registers every verb's options without importing what the verbs run on."""
    code = ("import sys; from web.cli import main\n"
            "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'sqlalchemy', 'pydantic', 'flask', 'lark'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "[]"


def test_missing_file_is_a_usage_error(cli) -> None:
    result = cli("check", "does-not-exist.flow")
    assert result.code == 2 and "does-not-exist.flow" in result.err and "Traceback" not in result.err


def test_binary_file_is_a_usage_error_naming_the_file(cli, tmp_path) -> None:
    f = tmp_path / "bin.flow"
    f.write_bytes(b"\xff\xfe\x00workflow")
    result = cli("check", str(f))
    assert result.code == 2 and f"{f}: not a UTF-8 text file" in result.err
