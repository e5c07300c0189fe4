"""docs/engine.md's walkthrough runs as written (so the documentation cannot drift)."""

from __future__ import annotations

import re

from tests.conftest import ROOT


def test_engine_walkthrough_runs(tmp_path, monkeypatch, capsys) -> None:
    text = (ROOT / "docs" / "engine.md").read_text(encoding="utf-8")
    code = re.search(r"```python\n(.*?)```", text, re.S).group(1)
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("PAYROUTE_DATABASE_URL", f"sqlite:///{tmp_path / 'doc.sqlite3'}")
    scope: dict[str, object] = {}
    exec(compile(code, "docs/engine.md", "exec"), scope)
    view = scope["instances"].view(scope["svc"], scope["admin"], scope["company"], scope["d"].id)
    assert view.current_step == "CFO Review"
    assert "Controller Review: Approve" in capsys.readouterr().out
