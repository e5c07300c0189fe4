"""HTTP benchmark: ``POST /v1/evaluate`` under ``payroute serve`` against a bare Flask app, same gunicorn.

    .venv/bin/python bench/http_bench.py            # full run (~2 minutes)
    .venv/bin/python bench/http_bench.py --quick    # smoke run

Needs ``wrk`` (Debian: ``apt-get install -y wrk``), the load generator, on loopback.

Prints, for the reference workflow given inline:

1. one disbursement of 25 invoices per request: requests/s and p50/p99 latency of
   ``payroute serve --workers 2`` (on a temporary SQLite, with a real API token, so every request
   authenticates) and of a bare Flask app that parses the JSON body and returns a fixed result,
   run by the same gunicorn class with the same settings (``web.commands.serve.gunicorn_options``);
   their ratio (target ≥ 0.7 of the bare throughput) and payroute's p99 (target < 10 ms);
2. 1,000 disbursements per request: disbursements/s through ``/v1/evaluate``, against
   ``payroute simulate FLOW batch.jsonl --format jsonl`` on the same 1,000 (the installed command,
   as a subprocess, start-up included, and its per-disbursement cost without it).

The two servers take turns (a, b, a, b, ...) and each reports its best run, so a slow spell of this
shared machine hits both alike. Before timing, the script checks that payroute's answers are the
routes ``payroute simulate`` gives, so a fast wrong answer cannot pass. Nothing here is a test.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FLOW = ROOT / "templates_examples" / "reference" / "workflow.flow"
#: the bare app's answer: a fixed result of the same shape and about the same size as payroute's
BARE_RESULT = {"workflow_hash": "sha256:" + "0" * 64, "results": [{
    "id": "D-000000", "path": ["Controller Review", "> $100,000.00", "CFO Review", "Approved"], "end": "Approved",
    "outcome": "success", "stopped": None, "reasons": [{"step": "Controller Review", "kind": "response",
                                                        "answer": "Approve"}]}]}

LUA = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer {token}"
local f = io.open("{body}", "rb")
wrk.body = f:read("*a")
f:close()
"""


def make_disbursements(n: int, invoices: int, seed: int = 20261202) -> list[dict[str, Any]]:
    """``n`` valid disbursement documents of ``invoices`` invoices each (amounts $0.01..$10,000.00,
    so both of the reference workflow's routes occur)."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        items = []
        for k in range(invoices):
            cents = rng.randint(1, 1_000_000)
            items.append({"id": f"INV-{i}-{k}", "vendor": f"Vendor {rng.randint(1, 40)}",
                          "amount": f"{cents // 100}.{cents % 100:02d}", "status": "Approved",
                          "approved_by": f"approver{rng.randint(1, 5)}@example.com"})
        out.append({"id": f"D-{i:06d}", "project": {"id": "P-1", "name": "Tower", "office": "Denver"},
                    "created_by": "ana@example.com", "funding_account": "FA-1", "invoices": items})
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the server did not come up ({url})")
            time.sleep(0.2)


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


# ---------------------------------------------------------------- the bare baseline


def bare_app() -> Any:
    """What any Flask service does for this request at the least: parse the JSON body, answer JSON."""
    from flask import Flask, jsonify, request

    app = Flask("bare")

    @app.post("/v1/evaluate")
    def evaluate() -> Any:
        body = request.get_json()
        assert isinstance(body, dict)
        return jsonify(BARE_RESULT)

    @app.get("/health")
    def health() -> Any:
        return jsonify(status="ok")

    return app


def serve_bare(bind: str, workers: int) -> None:
    """``--bare-server``: the bare app under ``payroute serve``'s gunicorn class and settings."""
    from web.commands.serve import gunicorn_options, server_class

    server_class()(gunicorn_options(bind, workers), app=bare_app()).run()


# ---------------------------------------------------------------- wrk


def wrk(url: str, script: Path, seconds: float, connections: int, threads: int) -> dict[str, float]:
    out = subprocess.run(["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds:g}s", "--timeout", "60s", "--latency",
                          "-s", str(script),
                          url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    if re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out) or "Socket errors" in out and "timeout" in out:
        raise SystemExit("wrk saw failed requests:\n" + out)

    def latency(pct: str) -> float:
        value, unit = re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M).groups()  # type: ignore[union-attr]
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    return {"rps": rps, "p50": latency("50"), "p99": latency("99")}


def best_runs(targets: dict[str, tuple[str, Path]], rounds: int, seconds: float, connections: int,
              threads: int) -> dict[str, dict[str, float]]:
    """Each target's best run (highest requests/s; its latencies with it), the targets in turns."""
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in targets}
    for url, script in targets.values():  # warm-up: caches filled, workers forked and hot
        wrk(url, script, 2, connections, threads)
    for _ in range(rounds):
        for name, (url, script) in targets.items():
            runs[name].append(wrk(url, script, seconds, connections, threads))
    return {name: max(rs, key=lambda r: r["rps"]) for name, rs in runs.items()}


# ---------------------------------------------------------------- the run


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="short runs (a smoke test)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--connections", type=int, default=2,
                        help="wrk connections (default: one per worker, so latency is service time, not queueing)")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    parser.add_argument("--seconds", type=float, default=None, help="each wrk run (default 10, --quick 3)")
    parser.add_argument("--rounds", type=int, default=None, help="runs per contender (default 3, --quick 1)")
    parser.add_argument("--bare-server", metavar="HOST:PORT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare_server:
        serve_bare(args.bare_server, args.workers)
        return 0
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (Debian: apt-get update && apt-get install -y wrk)")
    seconds = args.seconds or (3.0 if args.quick else 10.0)
    rounds = args.rounds or (1 if args.quick else 3)

    from engine.service import directory, tokens
    from engine.services import Services
    from engine.store.db import Database
    from engine.store.migrate import upgrade

    work = Path(tempfile.mkdtemp(prefix="payroute-http-bench-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAYROUTE_") and k != "PYTHONDONTWRITEBYTECODE"}
    env.update(PAYROUTE_SECRET_KEY="b" * 64, PAYROUTE_INSECURE_DEVELOPMENT_KEY="1", PYTHONPATH=str(ROOT))
    os.environ["PAYROUTE_INSECURE_DEVELOPMENT_KEY"] = "1"
    url = f"sqlite:///{work / 'bench.sqlite3'}"
    upgrade(url)
    db = Database(url)
    directory.create_user(Services(db), "bench@bench.example", "Bench")
    token = tokens.mint(Services(db), "bench@bench.example", name="http bench").secret
    db.dispose()

    flow = FLOW.read_text(encoding="utf-8")
    one = make_disbursements(1, 25)
    batch = make_disbursements(1000, 25, seed=7)
    bodies = {"one": {"workflow": {"flow": flow}, "disbursement": one[0]},
              "batch": {"workflow": {"flow": flow}, "disbursements": batch}}
    scripts = {}
    for name, body in bodies.items():
        (work / f"{name}.json").write_text(json.dumps(body))
        scripts[name] = work / f"{name}.lua"
        scripts[name].write_text(LUA.replace("{token}", token).replace("{body}", str(work / f"{name}.json")))

    p_port, b_port = free_port(), free_port()
    payroute = subprocess.Popen([sys.executable, "-m", "web.cli", "serve", "--workers", str(args.workers),
                                 "--bind", f"127.0.0.1:{p_port}", "--database-url", url], cwd=work, env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    bare = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--bare-server", f"127.0.0.1:{b_port}",
                             "--workers", str(args.workers)], cwd=work, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(f"http://127.0.0.1:{p_port}/health", payroute)
        wait_for(f"http://127.0.0.1:{b_port}/health", bare)
        p_url, b_url = f"http://127.0.0.1:{p_port}/v1/evaluate", f"http://127.0.0.1:{b_port}/v1/evaluate"
        expected = check_answers(p_url, token, bodies, work, flow)
        print(f"# {os.cpu_count()} CPUs, Python {sys.version.split()[0]}, {args.workers} gunicorn workers, "
              f"wrk -t{args.threads} -c{args.connections}, best of {rounds} x {seconds:g} s; "
              f"routes checked against payroute simulate ({expected} disbursements)")

        print("\n1. POST /v1/evaluate, the reference workflow inline, one disbursement of 25 invoices")
        res = best_runs({"bare Flask (parse JSON, fixed answer)": (b_url, scripts["one"]),
                         "payroute serve": (p_url, scripts["one"])}, rounds, seconds, args.connections, args.threads)
        print(f"   {'':40} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8}")
        for name, r in res.items():
            print(f"   {name:40} {r['rps']:9.1f} {r['p50']:8.2f} {r['p99']:8.2f}")
        bare_r, ours = res["bare Flask (parse JSON, fixed answer)"], res["payroute serve"]
        ratio = ours["rps"] / bare_r["rps"]
        print(f"   ratio payroute / bare throughput   {ratio:9.2f}   target >= 0.7: "
              f"{'meets target' if ratio >= 0.7 else 'MISSES target'}")
        print(f"   payroute p99                        {ours['p99']:9.2f} ms target < 10 ms: "
              f"{'meets target' if ours['p99'] < 10 else 'MISSES target'}")

        print("\n2. 1,000 disbursements (25 invoices each) per request")
        res = best_runs({"payroute serve": (p_url, scripts["batch"])}, rounds, seconds, args.connections,
                        args.threads)
        r = res["payroute serve"]
        http_rate = r["rps"] * 1000
        print(f"   POST /v1/evaluate                   {http_rate:9.0f} disbursements/s  ({r['rps']:.2f} req/s, "
              f"p50 {r['p50']:.0f} ms, p99 {r['p99']:.0f} ms, {args.connections} connections)")
        sim_wall, sim_one = simulate_times(work, flow, batch, rounds + 2)
        print(f"   payroute simulate (subprocess)      {1000 / sim_wall:9.0f} disbursements/s  "
              f"({sim_wall * 1000:.0f} ms wall for 1,000, start-up included)")
        print(f"   ratio HTTP / simulate               {http_rate * sim_wall / 1000:9.2f}   (start-up included)")
        if sim_wall > sim_one * 1.2:  # else the 999 more disbursements are within the start-up's noise
            per = (sim_wall - sim_one) / 999
            print(f"   payroute simulate without start-up  {1 / per:9.0f} disbursements/s  "
                  f"(one disbursement alone: {sim_one * 1000:.0f} ms; ratio HTTP / this {http_rate * per:.2f})")
        else:
            print(f"   payroute simulate start-up          {sim_one * 1000:9.0f} ms for one disbursement: most of "
                  "the 1,000's time")
    finally:
        stop(payroute)
        stop(bare)
        shutil.rmtree(work, ignore_errors=True)
    return 0


def check_answers(url: str, token: str, bodies: dict[str, Any], work: Path, flow: str) -> int:
    """payroute's routes over HTTP are exactly `payroute simulate --format jsonl`'s for the same input."""
    request = urllib.request.Request(url, data=json.dumps(bodies["batch"]).encode(),
                                     headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=60) as r:
        results = json.loads(r.read())["results"]
    (work / "flow.flow").write_text(flow)
    (work / "batch.jsonl").write_text("".join(json.dumps(d) + "\n" for d in bodies["batch"]["disbursements"]))
    out = subprocess.run([_payroute(), "simulate", str(work / "flow.flow"), str(work / "batch.jsonl"),
                          "--format", "jsonl"], capture_output=True, text=True, check=True).stdout
    simulated = [json.loads(line) for line in out.splitlines()]
    got = [{"id": x["id"], "path": x["path"], "end": x["end"], "outcome": x["outcome"]} for x in results]
    if got != [{k: s[k] for k in ("id", "path", "end", "outcome")} for s in simulated]:
        raise SystemExit("payroute's /v1/evaluate and payroute simulate disagree: nothing timed")
    routes = {tuple(x["path"]) for x in got}
    if len(routes) < 2:
        raise SystemExit("the data takes one route only: both must occur")
    return len(got)


def _payroute() -> str:
    here = Path(sys.executable).parent / "payroute"
    return str(here) if here.exists() else (shutil.which("payroute") or "payroute")


def simulate_times(work: Path, flow: str, batch: list[dict[str, Any]], repeat: int) -> tuple[float, float]:
    """Best wall time of ``payroute simulate`` on the 1,000 disbursements, and on the first one alone."""
    (work / "one.jsonl").write_text(json.dumps(batch[0]) + "\n")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}

    def once(path: Path) -> float:
        t0 = time.perf_counter()
        subprocess.run([_payroute(), "simulate", str(work / "flow.flow"), str(path), "--format", "jsonl"],
                       stdout=subprocess.DEVNULL, check=True, env=env)
        return time.perf_counter() - t0

    once(work / "batch.jsonl")  # warm: the check cache and the bytecode
    walls: dict[str, list[float]] = {"batch": [], "one": []}
    for _ in range(repeat):
        walls["batch"].append(once(work / "batch.jsonl"))
        walls["one"].append(once(work / "one.jsonl"))
    return min(walls["batch"]), min(walls["one"])


if __name__ == "__main__":
    sys.exit(main())
