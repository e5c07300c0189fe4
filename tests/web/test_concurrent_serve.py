"""Two real ``payroute serve`` processes (gunicorn, 2 workers each) on one PostgreSQL database: 20
concurrent answers to the same step, split across both servers, are one 200 and nineteen 409s, and
the history holds exactly one response (GEN-7, RESP-5, RESP-8). PostgreSQL only: SQLite serialises
every writer anyway, and a shared file between two servers is not how payroute is run."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Iterator

import pytest

from tests.db_fixtures import PG_URL

ROOT = Path(__file__).resolve().parents[2]
ANSWERS = 20

pytestmark = pytest.mark.skipif(not PG_URL, reason="PAYROUTE_TEST_DATABASE_URL is not set: two servers racing "
                                                   "on one database need PostgreSQL")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def fresh_database() -> Iterator[str]:
    """A database of its own on the test server, dropped afterwards: the servers migrate it from empty."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from engine.store.db import normalize_url

    url = make_url(normalize_url(PG_URL or ""))
    name = f"hflow_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _serve(url: str, port: int, home: Path) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAYROUTE_") and k != "XDG_RUNTIME_DIR"}
    env.update(PYTHONPATH=str(ROOT), HOME=str(home), PAYROUTE_SECRET_KEY="s" * 32,
               PAYROUTE_INSECURE_DEVELOPMENT_KEY="1")
    return subprocess.Popen([sys.executable, "-m", "web.cli", "serve", "--bind", f"127.0.0.1:{port}",
                             "--workers", "2", "--database-url", url],
                            cwd=home, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for_health(proc: subprocess.Popen[str], port: int) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as r:
                assert (r.status, json.loads(r.read())) == (200, {"status": "ok"})
                return
        except (urllib.error.URLError, OSError):  # refused, reset, or a worker still booting (timeout)
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "payroute serve did not answer in 60 s"
            time.sleep(0.2)


def _post(port: int, path: str, token: str, body: dict[str, object]) -> tuple[int, dict[str, object]]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=60) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as exc:
        with exc:  # an HTTPError holds the response's socket
            return exc.code, json.loads(exc.read())


@pytest.mark.rule("GEN-7", "RESP-5", "RESP-8")
def test_twenty_concurrent_answers_across_two_servers_are_one_200_and_nineteen_409s(fresh_database, tmp_path) -> None:
    from dsl.load import load_workflow
    from engine.service import directory, disbursements, tokens
    from engine.service.demo import seed_company
    from engine.service.disbursements import PaymentLine
    from engine.service.history import history
    from engine.service.instances import view
    from engine.services import Services
    from engine.store.db import Database
    from tests.world import REFERENCE

    ports = [_free_port(), _free_port()]
    servers: list[subprocess.Popen[str]] = []
    db = None
    try:
        for port in ports:  # one after the other: each migrates the database before it listens
            servers.append(_serve(fresh_database, port, tmp_path))
            _wait_for_health(servers[-1], port)

        db = Database(fresh_database)
        svc = Services(db)
        controllers = [f"controller{k:02d}" for k in range(ANSWERS)]
        seeded = seed_company(svc, load_workflow(REFERENCE, "workflow.flow"),
                              people=("creator", "manager", *controllers, "cfo"),
                              roles={"Controller": controllers, "CFO": ["cfo"], "Workflow Manager": ["manager"]},
                              manager="manager", project=directory.ProjectInfo(name="Tower A"))
        invoice = directory.create_invoice(svc, seeded.users["admin"], seeded.company, seeded.project,
                                           payee=seeded.payee, number="RACE-1", amount_due="150000.00").id
        d = disbursements.create_disbursement(svc, seeded.users["creator"], seeded.company, project_id=seeded.project,
                                              funding_account=seeded.funding, payments=[PaymentLine(invoice)]).id
        before = view(svc, seeded.users["admin"], seeded.company, d)
        assert before is not None and len(before.awaited) == ANSWERS
        secrets = [tokens.mint(svc, f"{name}@gc.example", name="race").secret for name in controllers]

        path = f"/v1/companies/{seeded.company}/disbursements/{d}/workflow/responses"
        body = {"occurrence": before.current_occurrence, "answer": "Approve"}
        start = threading.Barrier(ANSWERS)
        results: list[tuple[int, dict[str, object]]] = []
        lock = threading.Lock()

        def answer(k: int) -> None:
            start.wait()
            outcome = _post(ports[k % 2], path, secrets[k], body)
            with lock:
                results.append(outcome)

        threads = [threading.Thread(target=answer, args=(k,)) for k in range(ANSWERS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert len(results) == ANSWERS
        statuses = sorted(status for status, _ in results)
        assert statuses == [200] + [409] * (ANSWERS - 1), [r for r in results if r[0] not in (200, 409)]
        assert {b["code"] for status, b in results if status == 409} <= {"stale", "state_conflict"}
        (won,) = [b for status, b in results if status == 200]
        assert won["current_step"] == "CFO Review"

        events = history(svc, seeded.users["admin"], seeded.company, d).events
        assert [e.action for e in events].count("response_submitted") == 1
        assert [e.action for e in events].count("step_decided") == 1
        after = view(svc, seeded.users["admin"], seeded.company, d)
        assert after is not None and after.current_step == "CFO Review"
    finally:
        if db is not None:
            db.dispose()
        for proc in servers:
            proc.send_signal(signal.SIGTERM)
        outputs = [proc.communicate(timeout=60) for proc in servers]
    assert [proc.returncode for proc in servers] == [0, 0], [err for _, err in outputs]
    # gunicorn >= 25.1 would put its control socket at one path per user; neither server opened one,
    # so neither took the other's (web/commands/serve.py disables it)
    assert not (tmp_path / ".gunicorn").exists()
