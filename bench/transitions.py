"""Workflow transitions per second on PostgreSQL, next to the floor: a bare one-row
UPDATE + INSERT transaction measured in the same run.

    /work/venv/bin/python bench/transitions.py              # 1 and 8 clients (~1-2 minutes)
    /work/venv/bin/python bench/transitions.py --quick      # smoke run
    /work/venv/bin/python bench/transitions.py --profile    # also: where a transition's time goes
    /work/venv/bin/python bench/transitions.py --processes  # clients as processes, not threads

The database is ``--url``, else ``PAYROUTE_BENCH_DATABASE_URL``, else
``PAYROUTE_TEST_DATABASE_URL``; everything happens in a fresh schema that is
dropped at the end.

A *transition* is one ``engine.service.instances.respond`` that decides a step and
advances the instance, in one transaction with its audit entries and emails
(RESP-8): on the reference workflow and a $120,000.00 disbursement, the
Controller's Approve runs the condition and enters CFO Review, and the CFO's
Approve reaches Approved. Each client (a thread with its own Services and
connection, like a service process; or a real process with ``--processes``)
works on its own disbursements, so clients never conflict; the setup that
creates the disbursements is not timed. The floor is the same number of clients
each running ``UPDATE counter SET n = n + 1 WHERE id = :me; INSERT INTO log``
and COMMIT on a bare psycopg connection.

At the end the run is verified from the database: every counted success is
exactly one ``response_submitted`` and one ``step_decided`` audit entry and one
response row, every disbursement is Approved with the expected path, and every
audit chain verifies — nothing lost, nothing doubled. Nothing here is a test
assertion; a failed verification exits 1.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import multiprocessing
import os
import pstats
import queue
import sys
import threading
import time
import uuid
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable, Iterator

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

REFERENCE = ROOT / "templates_examples" / "reference" / "workflow.flow"
AMOUNT = "120000.00"  # above the reference threshold: two response steps, two transitions
PATH = ("Controller Review", "> $100,000.00", "CFO Review", "Approved")
#: issue 11's targets (PostgreSQL, measured against the floor of the same run)
TARGET_STATEMENTS = 6
TARGET_CPU_MS = 2.0
TARGET_RATIO = 0.3  # 8 client processes: transitions/s / the floor's commits/s
TARGET_P50_MS = 2.0  # 1 client


# ---------------------------------------------------------------- database and schema


def database_url(arg: str | None) -> str:
    url = arg or os.environ.get("PAYROUTE_BENCH_DATABASE_URL") or os.environ.get("PAYROUTE_TEST_DATABASE_URL")
    if not url:
        sys.exit("bench/transitions.py: set PAYROUTE_BENCH_DATABASE_URL (or PAYROUTE_TEST_DATABASE_URL), "
                 "or pass --url postgresql://...")
    return url


def _with_search_path(url: str, schema: str) -> str:
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options=-csearch_path%3D{schema}"


@contextmanager
def bench_schema(url: str) -> Iterator[tuple[str, str]]:
    """A fresh schema; yields (SQLAlchemy URL, libpq URL) that use it; dropped afterwards."""
    from sqlalchemy import create_engine, text

    from engine.store.db import normalize_url

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(normalize_url(url))
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    libpq = url.replace("postgresql+psycopg://", "postgresql://").replace("postgres://", "postgresql://")
    try:
        yield _with_search_path(normalize_url(url), schema), _with_search_path(libpq, schema)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


# ---------------------------------------------------------------- the company and its disbursements


@dataclass
class World:
    company: str
    controller: str
    cfo: str
    disbursements: list[str] = field(default_factory=list)
    emails: dict[str, str] = field(default_factory=dict)


def build_world(url: str, n: int) -> World:
    """A company running the reference workflow and ``n`` disbursements waiting at
    Controller Review (created through the engine; not timed)."""
    from dsl.load import load_workflow
    from engine.service import directory, disbursements
    from engine.service.demo import seed_company
    from engine.service.disbursements import PaymentLine
    from engine.services import Services
    from engine.store.db import Database

    from engine.store.migrate import upgrade

    upgrade(url)  # the migrations, as `payroute serve` expects the schema (--http)
    db = Database(url)
    svc = Services(db)
    seeded = seed_company(svc, load_workflow(REFERENCE.read_text(), REFERENCE.name),
                          people=("creator", "manager", "controller", "cfo"), manager="manager",
                          roles={"Controller": ["controller"], "CFO": ["cfo"], "Workflow Manager": ["manager"]},
                          company_name="Bench Builders", domain="bench.example")
    uid, company, project = seeded.users, seeded.company, seeded.project
    world = World(company, uid["controller"], uid["cfo"])
    with db.sessions() as s:
        from engine.store.tables import User

        world.emails = {u.id: u.email for u in s.query(User).filter(User.id.in_([world.controller, world.cfo]))}
    for i in range(n):
        inv = directory.create_invoice(svc, uid["admin"], company, project, payee=seeded.payee,
                                       number=f"B-{i:06d}", amount_due=AMOUNT).id
        world.disbursements.append(disbursements.create_disbursement(
            svc, uid["creator"], company, project_id=project, funding_account=seeded.funding,
            payments=[PaymentLine(inv)]).id)
        if (i + 1) % 100 == 0:
            print(f"   set-up: {i + 1}/{n} disbursements", file=sys.stderr, flush=True)
    db.dispose()
    return world


# ---------------------------------------------------------------- clients


@dataclass
class ClientResult:
    successes: int = 0
    errors: Counter = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    cpu: float = 0.0


def engine_client(url: str, world: World, mine: list[str], start: Any, out: Any) -> None:
    """Answer Controller Review, then CFO Review, on each of this client's disbursements."""
    from engine.errors import DomainError
    from engine.service import instances
    from engine.services import Services
    from engine.store.db import Database

    db = Database(url, pool_size=1, max_overflow=0)
    svc = Services(db)
    res = ClientResult()
    try:
        _warm(svc)
        start.wait()
        cpu0 = time.thread_time()
        for d in mine:
            for user, occurrence in ((world.controller, 1), (world.cfo, 3)):
                t = time.perf_counter()
                try:
                    instances.respond(svc, user, world.company, d, occurrence=occurrence, answer="Approve")
                except DomainError as exc:
                    res.errors[exc.code] += 1
                    continue
                res.latencies.append(time.perf_counter() - t)
                res.successes += 1
        res.cpu = time.thread_time() - cpu0
    finally:
        db.dispose()
        out.put(res)


def _warm(svc: Any) -> None:
    """Connect and compile the workflow before the start line."""
    from sqlalchemy import select

    from engine.store.tables import TemplateVersion

    with svc.db.sessions() as s:
        for v in s.scalars(select(TemplateVersion).where(TemplateVersion.content_hash.is_not(None))):
            svc.compiled(v.content_hash, v.document)


def http_client(base: str, secrets: dict[str, str], world: World, mine: list[str], start: Any, out: Any) -> None:
    """The same two answers per disbursement as :func:`engine_client`, as ``POST …/workflow/responses``
    to ``payroute serve`` on one keep-alive connection (a service's client, not the engine in-process)."""
    import http.client
    import json
    from urllib.parse import urlsplit

    where = urlsplit(base)
    conn = http.client.HTTPConnection(where.hostname, where.port, timeout=60)
    res = ClientResult()
    try:
        start.wait()
        cpu0 = time.thread_time()
        for d in mine:
            for user, occurrence in ((world.controller, 1), (world.cfo, 3)):
                body = json.dumps({"occurrence": occurrence, "answer": "Approve"})
                headers = {"Authorization": f"Bearer {secrets[user]}", "Content-Type": "application/json"}
                t = time.perf_counter()
                conn.request("POST", f"/v1/companies/{world.company}/disbursements/{d}/workflow/responses", body,
                             headers)
                answer = conn.getresponse()
                answer.read()
                if answer.status != 200:
                    res.errors[f"HTTP {answer.status}"] += 1
                    continue
                res.latencies.append(time.perf_counter() - t)
                res.successes += 1
        res.cpu = time.thread_time() - cpu0
    finally:
        conn.close()
        out.put(res)


def start_serve(sa_url: str, world: World, workers: int) -> tuple[Any, str, dict[str, str]]:
    """``payroute serve --workers N`` on the bench schema, with an API token for each answering user."""
    import socket
    import subprocess
    import urllib.request

    from engine.service import tokens
    from engine.services import Services
    from engine.store.db import Database

    db = Database(sa_url)
    secrets = {u: tokens.mint(Services(db), email, name="transitions bench").secret for u, email in world.emails.items()}
    db.dispose()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.update(PAYROUTE_SECRET_KEY="b" * 64, PAYROUTE_INSECURE_DEVELOPMENT_KEY="1", PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-m", "web.cli", "serve", "--workers", str(workers), "--bind",
                             f"127.0.0.1:{port}", "--database-url", sa_url], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(base + "/health", timeout=2):
                break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("payroute serve did not come up")
            time.sleep(0.2)
    return proc, base, secrets


FLOOR_DDL = (
    "CREATE TABLE floor_counter (id integer PRIMARY KEY, n bigint NOT NULL)",
    "CREATE TABLE floor_log (id bigserial PRIMARY KEY, counter integer NOT NULL, "
    "at timestamptz NOT NULL DEFAULT now())",
)


def floor_client(libpq: str, me: int, count: int, start: Any, out: Any) -> None:
    """The floor: one-row UPDATE + one-row INSERT + COMMIT, on a bare psycopg connection."""
    import psycopg

    res = ClientResult()
    with psycopg.connect(libpq) as conn:
        conn.execute("INSERT INTO floor_counter (id, n) VALUES (%s, 0) ON CONFLICT DO NOTHING", (me,))
        conn.commit()
        start.wait()
        cpu0 = time.thread_time()
        for _ in range(count):
            t = time.perf_counter()
            with conn.transaction():
                conn.execute("UPDATE floor_counter SET n = n + 1 WHERE id = %s", (me,))
                conn.execute("INSERT INTO floor_log (counter) VALUES (%s)", (me,))
            res.latencies.append(time.perf_counter() - t)
            res.successes += 1
        res.cpu = time.thread_time() - cpu0
    out.put(res)


@dataclass
class Run:
    label: str
    clients: int
    results: list[ClientResult]
    wall: float

    @property
    def successes(self) -> int:
        return sum(r.successes for r in self.results)

    @property
    def per_second(self) -> float:
        return self.successes / self.wall if self.wall else 0.0

    @property
    def errors(self) -> Counter:
        total: Counter = Counter()
        for r in self.results:
            total.update(r.errors)
        return total

    def latency_ms(self, q: float) -> float:
        values = sorted(v for r in self.results for v in r.latencies)
        if not values:
            return float("nan")
        return values[min(len(values) - 1, int(q * len(values)))] * 1000

    @property
    def cpu_ms_each(self) -> float:
        return sum(r.cpu for r in self.results) / self.successes * 1000 if self.successes else float("nan")


def run_clients(label: str, targets: list[tuple[Callable[..., None], tuple[Any, ...]]], processes: bool) -> Run:
    """Start every client, release them together, time from release to the last finish."""
    n = len(targets)
    stamp: list[float] = []
    if processes:
        ctx = multiprocessing.get_context("fork")
        start: Any = ctx.Barrier(n + 1)
        out: Any = ctx.Queue()
        workers: list[Any] = [ctx.Process(target=fn, args=(*args, start, out)) for fn, args in targets]
    else:
        start = threading.Barrier(n + 1)
        out = queue.Queue()
        workers = [threading.Thread(target=fn, args=(*args, start, out)) for fn, args in targets]
    for w in workers:
        w.start()
    start.wait()
    stamp.append(time.perf_counter())
    results = [out.get(timeout=3600) for _ in workers]
    wall = time.perf_counter() - stamp[0]
    for w in workers:
        w.join()
    return Run(label, n, results, wall)


# ---------------------------------------------------------------- verification


def verify(url: str, world: World, used: list[str], successes: int) -> list[str]:
    """Nothing lost or doubled: audit entries, response rows and states against the counts."""
    from sqlalchemy import func, select

    from engine.service import audit, instance_store
    from engine.store.db import Database
    from engine.store.tables import AuditEntry, Disbursement, Instance

    problems: list[str] = []
    db = Database(url)
    chains = [audit.disbursement_chain(d) for d in used]
    with db.sessions() as s:
        actions = Counter(dict(s.execute(select(AuditEntry.action, func.count(AuditEntry.id))
                                         .where(AuditEntry.chain.in_(chains)).group_by(AuditEntry.action)).all()))
        statuses = Counter(s.scalars(select(Disbursement.workflow_status).where(Disbursement.id.in_(used))))
        bad_paths = responses = 0
        for inst in s.scalars(select(Instance).where(Instance.disbursement_id.in_(used))):
            state = instance_store.load_state(s, inst)
            responses += sum(len(o.responses) for o in state.occurrences)
            if tuple(state.path) != PATH:
                bad_paths += 1
        breaks = audit.verify(s)
    db.dispose()
    expected = 2 * len(used)
    if successes != expected:
        problems.append(f"{successes} successes counted, {expected} expected")
    for action in ("response_submitted", "step_decided"):
        if actions[action] != successes:
            problems.append(f"{actions[action]} `{action}` audit entries for {successes} successes")
    if actions["end_reached"] != len(used):
        problems.append(f"{actions['end_reached']} `end_reached` entries for {len(used)} disbursements")
    if responses != successes:
        problems.append(f"{responses} response rows for {successes} successes")
    if statuses != Counter({"Approved": len(used)}):
        problems.append(f"workflow statuses: {dict(statuses)}")
    if bad_paths:
        problems.append(f"{bad_paths} instances with another path than {' -> '.join(PATH)}")
    if breaks:
        problems.append(f"audit chains broken: {breaks[:3]}")
    return problems


# ---------------------------------------------------------------- where the time goes


def statements_per_transition(url: str, world: World, sample: list[str]) -> dict[str, Counter]:
    """Count the SQL statements each kind of transition sends (one client, no contention)."""
    from sqlalchemy import event

    from engine.service import instances
    from engine.services import Services
    from engine.store.db import Database

    db = Database(url)
    svc = Services(db)
    _warm(svc)
    counts: Counter = Counter()

    def count(_conn: Any, _cur: Any, statement: str, *_args: Any) -> None:
        counts[statement.split(None, 1)[0].upper()] += 1

    event.listen(db.engine, "before_cursor_execute", count)
    out: dict[str, Counter] = {}
    for name, user, occurrence in (("Controller Approve -> condition -> CFO Review", world.controller, 1),
                                   ("CFO Approve -> Approved (end)", world.cfo, 3)):
        counts.clear()
        for d in sample:
            instances.respond(svc, user, world.company, d, occurrence=occurrence, answer="Approve")
        out[name] = Counter({k: round(v / len(sample), 1) for k, v in counts.items()})
    event.remove(db.engine, "before_cursor_execute", count)
    db.dispose()
    return out


def profile(url: str, world: World, sample: list[str], top: int) -> str:
    """cProfile of one client's transitions, with the time split by layer."""
    from engine.service import instances
    from engine.services import Services
    from engine.store.db import Database

    db = Database(url, pool_size=1, max_overflow=0)
    svc = Services(db)
    _warm(svc)
    prof = cProfile.Profile()
    prof.enable()
    for d in sample:
        instances.respond(svc, world.controller, world.company, d, occurrence=1, answer="Approve")
        instances.respond(svc, world.cfo, world.company, d, occurrence=3, answer="Approve")
    prof.disable()
    db.dispose()
    stats = pstats.Stats(prof)
    n = 2 * len(sample)
    ours = str(ROOT / "engine") + os.sep
    layers: Counter = Counter()
    for (filename, _line, _fn), (_cc, _nc, tottime, _ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        if "psycopg" in filename:
            layers["psycopg (incl. waiting for the server)"] += tottime
        elif "sqlalchemy" in filename:
            layers["SQLAlchemy (ORM + Core)"] += tottime
        elif filename.startswith(ours):
            layers["engine/ (our code)"] += tottime
        else:
            layers["other (stdlib, json, hashlib, ...)"] += tottime
    total = sum(layers.values())
    buf = io.StringIO()
    buf.write(f"   profiled {n} transitions, one client: {total / n * 1000:.2f} ms each (profiler overhead included)\n")
    for layer, secs in layers.most_common():
        buf.write(f"     {layer:40s} {secs / n * 1000:6.2f} ms  {secs / total:5.1%}\n")
    buf.write("   engine functions by cumulative time (ms per transition):\n")
    rows = []
    for (filename, line, fn), (_cc, nc, _tt, cumtime, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        if filename.startswith(ours):
            rows.append((cumtime, f"{Path(filename).relative_to(ROOT)}:{line}({fn})", nc))
    for cumtime, where, calls in sorted(rows, reverse=True)[:top]:
        buf.write(f"     {cumtime / n * 1000:6.2f} ms  {calls / n:5.1f} calls  {where}\n")
    return buf.getvalue()


# ---------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--url", help="PostgreSQL URL (default: PAYROUTE_BENCH_DATABASE_URL or PAYROUTE_TEST_DATABASE_URL)")
    p.add_argument("--clients", default="1,8", help="client counts to run (default 1,8)")
    p.add_argument("--per-client", type=int, default=None,
                   help="disbursements per client (2 transitions each); default 60, --quick 10")
    p.add_argument("--floor", type=int, default=1000, help="floor transactions per client (default 1000)")
    p.add_argument("--processes", action="store_true", help="clients are processes (default: threads)")
    p.add_argument("--http", action="store_true",
                   help="also answer over HTTP: payroute serve --workers 2 on the same schema, the last client count")
    p.add_argument("--workers", type=int, default=2, help="gunicorn workers for --http (default 2)")
    p.add_argument("--profile", action="store_true", help="also profile one client's transitions")
    p.add_argument("--quick", action="store_true", help="small smoke run")
    args = p.parse_args(argv)
    # A throwaway schema: the INSECURE built-in audit key unless a real one is set (engine/security/keys.py).
    os.environ.setdefault("PAYROUTE_INSECURE_DEVELOPMENT_KEY", "1")
    clients = [int(c) for c in args.clients.split(",")]
    per_client = args.per_client or (10 if args.quick else 60)
    floor_n = 200 if args.quick else args.floor
    sample_n = 5 if args.quick else 20
    profile_n = 10 if args.quick else 50
    url = database_url(args.url)

    http_n = clients[-1] * per_client if args.http else 0
    needed = sum(c * per_client for c in clients) + sample_n + (profile_n if args.profile else 0) + http_n
    with bench_schema(url) as (sa_url, libpq):
        import psycopg

        from engine.money import format_money

        with psycopg.connect(libpq) as conn:
            version = conn.execute("SHOW server_version").fetchone()[0]
            sync = conn.execute("SHOW synchronous_commit").fetchone()[0]
            for ddl in FLOOR_DDL:
                conn.execute(ddl)
        t = time.perf_counter()
        world = build_world(sa_url, needed)
        setup = time.perf_counter() - t
        mode = "processes" if args.processes else "threads"
        print(f"workflow transitions on PostgreSQL {version} (synchronous_commit={sync}), "
              f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}, clients as {mode}")
        print(f"reference workflow, {format_money(Decimal(AMOUNT))} disbursements; set-up of {needed} disbursements took {setup:.1f} s "
              f"({setup / needed * 1000:.0f} ms each, not timed below)")
        print()

        pool = list(world.disbursements)
        runs: list[tuple[Run, Run]] = []
        used: list[str] = []
        for c in clients:
            floor = run_clients("floor", [(floor_client, (libpq, k + 1, floor_n)) for k in range(c)], args.processes)
            mine = [pool[k * per_client:(k + 1) * per_client] for k in range(c)]
            del pool[:c * per_client]
            used.extend(d for chunk in mine for d in chunk)
            engine = run_clients("engine", [(engine_client, (sa_url, world, chunk)) for chunk in mine],
                                 args.processes)
            runs.append((floor, engine))
        http_run: Run | None = None
        if args.http:
            c = clients[-1]
            proc, base, secrets = start_serve(sa_url, world, args.workers)
            try:
                mine = [pool[k * per_client:(k + 1) * per_client] for k in range(c)]
                del pool[:c * per_client]
                used.extend(d for chunk in mine for d in chunk)
                http_run = run_clients("http", [(http_client, (base, secrets, world, chunk)) for chunk in mine], True)
            finally:
                proc.terminate()
                proc.wait(timeout=30)

        print(f"{'':38s}{'clients':>8s}{'done':>8s}{'wall s':>9s}{'per s':>9s}"
              f"{'p50 ms':>9s}{'p95 ms':>9s}{'p99 ms':>9s}{'CPU ms':>9s}")

        def line(name: str, r: Run, cpu: bool = True) -> None:
            print(f"   {name:35s}{r.clients:8d}{r.successes:8d}{r.wall:9.2f}{r.per_second:9.1f}"
                  f"{r.latency_ms(0.5):9.2f}{r.latency_ms(0.95):9.2f}{r.latency_ms(0.99):9.2f}"
                  + (f"{r.cpu_ms_each:9.2f}" if cpu else f"{'':>9s}"))

        for floor, engine in runs:
            line("floor: UPDATE+INSERT+COMMIT", floor)
            line("respond-and-advance (engine)", engine)
            print(f"   {'ratio: engine / floor':35s}{engine.clients:8d}{'':17s}"
                  f"{engine.per_second / floor.per_second if floor.per_second else 0.0:9.2f}")
            if engine.errors:
                print(f"   refused: {dict(engine.errors)}")
        if http_run is not None:
            line(f"POST respond, serve --workers {args.workers}", http_run, cpu=False)
            if http_run.errors:
                print(f"   refused: {dict(http_run.errors)}")
        print("   (CPU ms = the client's own CPU time per transaction, i.e. Python work without the server's; threads share\n"
              "    one interpreter lock, so with threads 1000 / CPU ms caps transitions/s whatever their number;\n"
              "    over HTTP the client is http.client, the engine's CPU is in the gunicorn workers)")
        print()

        sample = pool[:sample_n]
        del pool[:sample_n]
        per = statements_per_transition(sa_url, world, sample)
        used.extend(sample)
        print("SQL statements per transition (one client):")
        for name, counts in per.items():
            print(f"   {name:48s} {sum(counts.values()):5.1f}  "
                  + ", ".join(f"{k} {v:g}" for k, v in counts.most_common()))
        print("   floor: 2 (UPDATE, INSERT) + COMMIT")
        print()

        print("Targets (issue 11; PostgreSQL, same run as the floor):")
        worst = max(sum(c.values()) for c in per.values())
        _verdict("SQL statements per respond-and-advance", f"{worst:g}", worst <= TARGET_STATEMENTS,
                 f"<= {TARGET_STATEMENTS}")
        one = next((e for _f, e in runs if e.clients == 1), None)
        eight = next(((f, e) for f, e in runs if e.clients == 8), None)
        if one is not None:
            _verdict("client CPU per transition (1 client)", f"{one.cpu_ms_each:.2f} ms", one.cpu_ms_each <= TARGET_CPU_MS,
                     f"<= {TARGET_CPU_MS:g} ms")
            _verdict("1 client, p50 latency", f"{one.latency_ms(0.5):.2f} ms", one.latency_ms(0.5) <= TARGET_P50_MS,
                     f"<= {TARGET_P50_MS:g} ms")
        if eight is not None:
            ratio = eight[1].per_second / eight[0].per_second if eight[0].per_second else 0.0
            label = f"8 clients ({mode}), transitions/s / floor commits/s"
            _verdict(label, f"{ratio:.2f}", ratio >= TARGET_RATIO, f">= {TARGET_RATIO:g}"
                     + ("" if args.processes else "  (the target is for processes: --processes)"))
        print()

        if args.profile:
            sample = pool[:profile_n]
            del pool[:profile_n]
            print("Where the time goes (cProfile, one client):")
            print(profile(sa_url, world, sample, top=18))
            used.extend(sample)

        successes = (sum(e.successes for _f, e in runs) + 2 * sample_n + (2 * profile_n if args.profile else 0)
                     + (http_run.successes if http_run is not None else 0))
        problems = verify(sa_url, world, used, successes)
        if problems:
            print("VERIFICATION FAILED: " + "; ".join(problems))
            return 1
        print(f"verified: {successes} transitions on {len(used)} disbursements, each exactly one "
              "response_submitted + step_decided entry and one response; all Approved on the expected "
              "path; audit chains verify; nothing lost or doubled")
    return 0


def _verdict(what: str, value: str, ok: bool, target: str) -> None:
    print(f"   {what:52s} {value:>10s}   target {target}: {'meets target' if ok else 'MISSES target'}")


if __name__ == "__main__":
    sys.exit(main())
