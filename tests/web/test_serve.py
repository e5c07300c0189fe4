"""``payroute serve`` as a real process under gunicorn on a loopback port."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAYROUTE_")}
    env.update(PAYROUTE_DATABASE_URL=f"sqlite:///{tmp_path / 'serve.sqlite3'}", PYTHONPATH=str(ROOT), **extra)
    return env


def _mint(tmp_path: Path) -> str:
    """A token for a new user of the database the server migrated, from `payroute tokens create`."""
    from engine.service import directory
    from engine.services import Services
    from engine.store.db import Database

    db = Database(f"sqlite:///{tmp_path / 'serve.sqlite3'}")
    try:
        directory.create_user(Services(db), "ops@gc.example", "Ops")
    finally:
        db.dispose()
    created = subprocess.run([sys.executable, "-m", "web.cli", "tokens", "create", "ops@gc.example"],
                             cwd=tmp_path, env=_env(tmp_path), capture_output=True, text=True, timeout=60, check=True)
    return created.stdout.strip()


def test_serve_migrates_then_answers_health_and_evaluate(tmp_path, reference_flow, reference_disbursements) -> None:
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "web.cli", "serve", "--bind", f"127.0.0.1:{port}",
                             "--workers", "2"], cwd=tmp_path, env=_env(tmp_path, PAYROUTE_SECRET_KEY="s" * 32),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:
                    assert (r.status, json.loads(r.read())) == (200, {"status": "ok"})
                    break
            except (urllib.error.URLError, ConnectionError):
                assert proc.poll() is None, proc.communicate()
                assert time.monotonic() < deadline, "payroute serve did not answer in 30 s"
                time.sleep(0.2)
        body = json.dumps({"workflow": {"flow": reference_flow}, "disbursement": reference_disbursements[0]})
        request = urllib.request.Request(f"http://127.0.0.1:{port}/v1/evaluate", data=body.encode(),
                                         headers={"Content-Type": "application/json"})
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=10)
        refused.value.close()  # an HTTPError holds the response's socket
        assert refused.value.code == 401 and refused.value.headers["WWW-Authenticate"] == "Bearer"
        request.add_header("Authorization", f"Bearer {_mint(tmp_path)}")
        with urllib.request.urlopen(request, timeout=10) as r:
            assert json.loads(r.read())["results"][0]["end"] == "Approved"
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "serving on http://127.0.0.1" in err
    from sqlalchemy import create_engine, inspect

    engine = create_engine(f"sqlite:///{tmp_path / 'serve.sqlite3'}")
    try:
        assert "alembic_version" in inspect(engine).get_table_names()  # migrated before serving
    finally:
        engine.dispose()


def test_serve_without_a_secret_key_is_a_usage_error(tmp_path) -> None:
    result = subprocess.run([sys.executable, "-m", "web.cli", "serve", "--bind", f"127.0.0.1:{_free_port()}"],
                            cwd=tmp_path, env=_env(tmp_path), capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "PAYROUTE_SECRET_KEY" in result.stderr


@pytest.mark.parametrize("argv", [["--bind", "nowhere"], ["--workers", "0"]])
def test_serve_refuses_bad_options(cli, argv) -> None:
    result = cli("serve", *argv)
    assert result.code == 2 and "Traceback" not in result.err
