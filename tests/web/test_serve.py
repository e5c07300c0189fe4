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
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as r:
                    assert (r.status, json.loads(r.read())) == (200, {"status": "ok"})
                    break
            except (urllib.error.URLError, OSError):  # refused, reset, or a worker still booting (timeout)
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


# ---------------------------------------------------------------- payroute serve --demo


def _start(cwd: Path, env: dict[str, str], *argv: str) -> tuple[subprocess.Popen[str], int]:
    """`payroute serve ARGV --bind 127.0.0.1:<free port>` in ``cwd``, once it answers /health."""
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "web.cli", "serve", *argv, "--bind", f"127.0.0.1:{port}"],
                            cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as r:
                assert r.status == 200
                return proc, port
        except (urllib.error.URLError, OSError):  # refused, reset, or a worker still booting (timeout)
            if proc.poll() is not None:
                raise AssertionError(proc.communicate())
            if time.monotonic() > deadline:
                proc.kill()
                raise AssertionError(("payroute serve did not answer in 60 s", proc.communicate()))
            time.sleep(0.2)


def _stop(proc: subprocess.Popen[str]) -> str:
    """SIGTERM, then what the server wrote on stderr (it must have exited cleanly)."""
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    return err


def _demo_counts(url: str) -> dict[str, int]:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return {table: conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
                    for table in ("users", "companies", "disbursements", "invoices", "audit_entries")}
    finally:
        engine.dispose()


def test_serve_demo_seeds_once_prints_how_to_get_a_token_and_answers_with_it(tmp_path, reference_flow,
                                                                             reference_disbursements) -> None:
    url = f"sqlite:///{tmp_path / 'demo.sqlite3'}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAYROUTE_")}
    env["PYTHONPATH"] = str(ROOT)
    proc, port = _start(tmp_path, env, "--demo", "--database-url", url, "--workers", "1")
    try:
        minted = subprocess.run([sys.executable, "-m", "web.cli", "tokens", "create", "admin@demo.example",
                                 "--database-url", url], cwd=tmp_path,
                                env={**env, "PAYROUTE_INSECURE_DEVELOPMENT_KEY": "1"},
                                capture_output=True, text=True, timeout=60, check=True)
        token = minted.stdout.strip()
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        body = json.dumps({"workflow": {"flow": reference_flow}, "disbursements": reference_disbursements[:3]})
        request = urllib.request.Request(f"http://127.0.0.1:{port}/v1/evaluate", data=body.encode(), headers=headers)
        with urllib.request.urlopen(request, timeout=10) as r:
            results = json.loads(r.read())["results"]
        assert [(x["id"], x["end"]) for x in results] == [("D-1001", "Approved"), ("D-1002", "Approved"),
                                                           ("D-1003", "Approved")]
        request = urllib.request.Request(f"http://127.0.0.1:{port}/openapi.json", headers=headers)
        with urllib.request.urlopen(request, timeout=10) as r:
            assert json.loads(r.read())["paths"]["/v1/evaluate"]["post"]
    finally:
        err = _stop(proc)
    assert f"serving on http://127.0.0.1:{port}" in err
    assert "seeded the demo company Demo Builders" in err
    assert f"http://127.0.0.1:{port}/docs" in err
    assert f"TOKEN=$(PAYROUTE_INSECURE_DEVELOPMENT_KEY=1 payroute tokens create admin@demo.example --database-url {url})" \
        in err
    secret_file = tmp_path / "instance" / "secret_key"
    assert secret_file.stat().st_mode & 0o777 == 0o600
    secret = secret_file.read_text()
    assert len(secret.strip()) >= 32
    seeded = _demo_counts(url)
    assert seeded["disbursements"] == 6 and seeded["users"] >= 6

    proc, port = _start(tmp_path, env, "--demo", "--database-url", url, "--workers", "1")
    err = _stop(proc)
    assert "already seeded (nothing added)" in err
    assert _demo_counts(url) == seeded  # not one row more: nothing seeded, nothing audited
    assert secret_file.read_text() == secret  # the same key again
    assert secret_file.stat().st_mode & 0o777 == 0o600


def test_serve_demo_uses_the_default_sqlite_file_in_the_instance_folder(tmp_path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAYROUTE_")}
    env["PYTHONPATH"] = str(ROOT)
    proc, _ = _start(tmp_path, env, "--demo", "--workers", "1")
    err = _stop(proc)
    assert "payroute tokens create admin@demo.example)\n" in err  # the default database: no option needed
    assert _demo_counts(f"sqlite:///{tmp_path / 'instance' / 'payroute.sqlite3'}")["disbursements"] == 6


def test_serve_without_demo_or_secret_key_exits_2_and_says_what_to_set(tmp_path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAYROUTE_")}
    env["PYTHONPATH"] = str(ROOT)
    result = subprocess.run([sys.executable, "-m", "web.cli", "serve", "--bind", f"127.0.0.1:{_free_port()}",
                             "--database-url", f"sqlite:///{tmp_path / 'x.sqlite3'}"],
                            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.startswith("payroute serve: PAYROUTE_SECRET_KEY is not set")
    assert "--demo" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "instance" / "secret_key").exists()
    assert not (tmp_path / "x.sqlite3").exists()  # refused before touching the database


def test_serve_demo_uses_the_keys_it_is_given_and_writes_none(tmp_path) -> None:
    """With PAYROUTE_SECRET_KEY and PAYROUTE_AUDIT_KEY set, --demo generates no secret file and names no
    development key in the token command; the token it prints the command for works with that audit key."""
    url = f"sqlite:///{tmp_path / 'demo.sqlite3'}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAYROUTE_")}
    env.update(PYTHONPATH=str(ROOT), PAYROUTE_SECRET_KEY="s" * 40, PAYROUTE_AUDIT_KEY="a" * 40)
    proc, _ = _start(tmp_path, env, "--demo", "--database-url", url, "--workers", "1")
    err = _stop(proc)
    assert f"TOKEN=$(payroute tokens create admin@demo.example --database-url {url})" in err
    assert "INSECURE" not in err
    assert not (tmp_path / "instance" / "secret_key").exists()
    minted = subprocess.run([sys.executable, "-m", "web.cli", "tokens", "create", "admin@demo.example",
                             "--database-url", url], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert minted.returncode == 0 and minted.stdout.startswith("prt_"), minted.stderr
    verified = subprocess.run([sys.executable, "-m", "web.cli", "audit", "verify", "--database-url", url],
                              cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert verified.returncode == 0, verified.stdout + verified.stderr  # the demo's entries MACed with that key
