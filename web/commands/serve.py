"""``payroute serve``: run the HTTP service under gunicorn, after applying the database's migrations.

``--bind HOST:PORT`` (default ``127.0.0.1:8000``) and ``--workers N``
(default 2) are gunicorn's; the app is :func:`web.app.create_app`, made once
in each worker (nothing lives in process memory that two workers must agree
on). The database is ``--database-url``, else ``PAYROUTE_DATABASE_URL``, else
SQLite at ``instance/payroute.sqlite3``; ``PAYROUTE_SECRET_KEY`` must be set.

``--demo`` is the one-command try-out: after the migrations it seeds the demo
company "Demo Builders" (:func:`engine.service.demo.seed_demo`, once per
database: a later start finds it and seeds nothing), generates a secret key the
first time and keeps it in ``instance/secret_key`` (mode 0600; reused on later
starts, unless ``PAYROUTE_SECRET_KEY`` is set), uses the INSECURE development
audit key unless a real one is configured (:mod:`engine.security.keys`), and
prints the URL, the docs and the command that mints a token for
``admin@demo.example``.

Exit codes: 0 after a clean shutdown (SIGINT, SIGTERM); 2 when the
configuration is wrong or the database cannot be migrated, before anything listens.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from typing import Any

HELP = "run the HTTP service (gunicorn), applying migrations first"

_BIND = re.compile(r"^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$|^unix:.+$")


def register(p: argparse.ArgumentParser) -> None:
    from web.commands._database import add_database_option

    p.add_argument("--bind", default="127.0.0.1:8000", metavar="HOST:PORT",
                   help="where to listen (default: %(default)s; unix:PATH for a socket)")
    p.add_argument("--workers", type=int, default=2, metavar="N", help="worker processes (default: %(default)s)")
    p.add_argument("--demo", action="store_true",
                   help="seed the demo company (once per database), keep a generated secret key in instance/, "
                        "and print how to get a token")
    add_database_option(p)


def run(args: argparse.Namespace) -> int:
    from dsl.verbs import UsageError
    from engine.errors import first_line, scrub_credentials
    from engine.store.migrate import upgrade
    from web.commands._database import database_url
    from web.config import ConfigError, settings

    if not _BIND.match(args.bind):
        raise UsageError(f"--bind {args.bind!r}: expected HOST:PORT (or unix:PATH)")
    if args.workers < 1:
        raise UsageError(f"--workers must be at least 1, not {args.workers}")
    url = database_url(args)
    overrides: dict[str, Any] = {"PAYROUTE_DATABASE_URL": url}
    if args.demo:
        overrides.update(PAYROUTE_DEMO=True, SECRET_KEY=os.environ.get("PAYROUTE_SECRET_KEY") or _demo_secret())
    try:
        settings(overrides)
    except ConfigError as exc:
        raise UsageError(f"{exc}; or try the service with `payroute serve --demo`") from None
    try:
        upgrade(url)
    except Exception as exc:  # connection refused, bad URL
        raise UsageError(f"cannot migrate the database: {first_line(scrub_credentials(str(exc)))}") from None
    banner = _seed_demo(url, args) if args.demo else []
    # Each worker makes its own app (and database engine) from the environment and ``overrides``.
    os.environ["PAYROUTE_DATABASE_URL"] = url
    print(f"payroute: serving on http://{args.bind} (docs at /docs, contract at /openapi.json)",
          file=sys.stderr, flush=True)
    for line in banner:
        print(f"payroute: {line}", file=sys.stderr, flush=True)
    worker = _demo_worker(url) if args.demo else None
    try:
        server_class()(gunicorn_options(args.bind, args.workers), overrides).run()
    finally:
        if worker is not None:
            worker.terminate()
            worker.wait(timeout=30)
    return 0


#: how often the demo's worker moves the money (the demo's bank settles 10 s after taking)
DEMO_WORKER_INTERVAL = 5


def _demo_worker(url: str) -> Any:
    """``--demo``'s bank worker: ``payroute worker --no-email`` beside the server, so an authorized
    demo disbursement is drawn down and paid out with no second command; its emails stay queued
    (``payroute worker status`` counts them; ``payroute worker --smtp-url ...`` sends them)."""
    import subprocess

    print(f"payroute: a worker moves the money every {DEMO_WORKER_INTERVAL} s (the bank is simulated; emails "
          "stay queued: `payroute worker status`)", file=sys.stderr, flush=True)
    return subprocess.Popen([sys.executable, "-c", "import sys; from web.cli import main; sys.exit(main())",
                             "worker", "--no-email", "--interval", str(DEMO_WORKER_INTERVAL), "--database-url", url])


def gunicorn_options(bind: str, workers: int) -> dict[str, Any]:
    """The gunicorn settings of ``payroute serve``; bench/http_bench.py runs its bare baseline app
    under exactly these, so the ratio measures the app and not the server's configuration."""
    from gunicorn import config

    options: dict[str, Any] = {"bind": bind, "workers": workers, "accesslog": "-", "errorlog": "-",
                               "proc_name": "payroute"}
    # gunicorn >= 25.1 opens a control socket at one path per user (~/.gunicorn/gunicorn.ctl): a
    # second server takes it from the first, and the first to stop deletes the other's. payroute
    # uses no gunicornc, so none is opened (older gunicorns have no such setting).
    if hasattr(config, "ControlSocketDisable"):
        options["control_socket_disable"] = True
    return options


#: where ``--demo`` keeps the secret key it generated, in the instance folder (engine.store.db's)
SECRET_FILE = "secret_key"


def _demo_secret() -> str:
    """The demo's secret key: read from ``instance/secret_key``, or generated there the first time.

    Why a file and not a new key per start: whatever the key signs (sessions, once the pages
    come) must survive a restart. The file is created with ``O_EXCL`` (an existing key is never
    overwritten) and mode 0600, only its owner may read it; a kept file that others could read
    is set back to 0600.
    """
    import secrets

    from dsl.verbs import UsageError
    from engine.store.db import DEFAULT_INSTANCE_DIR

    path = DEFAULT_INSTANCE_DIR / SECRET_FILE
    try:
        DEFAULT_INSTANCE_DIR.mkdir(mode=0o700, parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            if path.stat().st_mode & 0o077:
                path.chmod(0o600)
            secret = path.read_text(encoding="utf-8").strip()
            if len(secret) < 32:
                raise UsageError(f"{path}: the demo's secret key is missing or too short; delete the file "
                                 "to have a new one generated") from None
            return secret
        secret = secrets.token_hex(32)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            os.fchmod(handle.fileno(), 0o600)  # whatever the umask
            handle.write(secret + "\n")
        return secret
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot keep the demo's secret key: {getattr(exc, 'strerror', None) or exc}") \
            from None


def _seed_demo(url: str, args: argparse.Namespace) -> list[str]:
    """Seed (or find) the demo company; the lines telling how to use it."""
    from dsl.load import load_workflow
    from dsl.verbs import UsageError
    from engine.errors import DomainError, first_line, scrub_credentials
    from engine.security.keys import AUDIT_KEY, DEVELOPMENT_SWITCH, KeyConfigError
    from engine.service.demo import DEMO_ADMIN, DEMO_COMPANY, DemoIncomplete, seed_demo
    from engine.services import Services
    from engine.store.db import Database

    prefix = ""
    if not (os.environ.get(AUDIT_KEY) or os.environ.get(f"{AUDIT_KEY}_FILE")):
        # The demo's audit entries need a key; without a real one, the public development key (a demo
        # database proves nothing). The workers and `payroute tokens` must use the same one.
        os.environ[DEVELOPMENT_SWITCH] = "1"
        prefix = f"{DEVELOPMENT_SWITCH}=1 "
    db = Database(url)
    try:
        demo = seed_demo(Services(db), load_workflow(_reference_workflow(), "workflow.flow"))
    except (DemoIncomplete, KeyConfigError, DomainError) as exc:
        raise UsageError(f"cannot seed the demo: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - a database error: one line, no credentials
        raise UsageError(f"cannot seed the demo: {first_line(scrub_credentials(str(exc)))}") from None
    finally:
        db.dispose()
    option = f" --database-url {args.database_url}" if args.database_url else ""
    what = (f"seeded the demo company {DEMO_COMPANY}" if demo.created
            else f"the demo company {DEMO_COMPANY} is already seeded (nothing added)")
    host = args.bind if not args.bind.startswith("unix:") else "localhost"
    return [f"{what}: {len(demo.users)} users ({', '.join(sorted(demo.users))}), "
            f"{len(demo.disbursements)} disbursements ({', '.join(demo.disbursements)})",
            f"open http://{host}/docs (Swagger UI); the contract is http://{host}/openapi.json",
            f"a token acting as {DEMO_ADMIN}: TOKEN=$({prefix}payroute tokens create {DEMO_ADMIN}{option})",
            "then: curl -H \"Authorization: Bearer $TOKEN\" -H 'Content-Type: application/json' "
            f"-d '{{\"flow\": \"workflow \\\"x\\\" {{}}\"}}' http://{host}/v1/check"]


def _reference_workflow() -> str:
    """The reference workflow's text (``templates_examples/reference/workflow.flow``), which the demo's
    default template publishes: read from the source tree, where ``pip install -e .`` runs it, so the
    demo runs exactly the workflow the docs and examples describe (no copy to drift)."""
    from pathlib import Path

    from dsl.verbs import UsageError

    path = Path(__file__).resolve().parents[2] / "templates_examples" / "reference" / "workflow.flow"
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        raise UsageError(f"--demo needs the reference workflow, {path}, which only a source checkout has "
                         "(`pip install -e .` from it)") from None


def server_class() -> Any:
    """gunicorn's application class, configured from a dict (``payroute serve``, bench/http_bench.py)."""
    from gunicorn.app.base import BaseApplication

    class Server(BaseApplication):  # type: ignore[misc]
        """gunicorn, configured here rather than from its own command line."""

        def __init__(self, options: dict[str, Any], config: dict[str, Any] | None = None,
                     app: Any = None) -> None:
            self.options = options
            self.app_config = config
            self.app = app  # another WSGI app under the same settings (the benchmark's baseline)
            super().__init__()

        def load_config(self) -> None:
            for key, value in self.options.items():
                self.cfg.set(key, value)

        def load(self) -> Any:
            import gc

            if self.app is None:
                from web.app import create_app

                self.app = create_app(self.app_config)
            # What the worker holds once loaded (modules, the app, its models and caches; ~100,000
            # objects) lives as long as the worker: moved out of the collector's generations, a full
            # collection no longer walks it. Each one took ~0.1 s of some request's latency
            # (measured in-process over 6,000 POST /v1/evaluate: p99.9 and max 10 ms with, 97 ms without).
            gc.collect()
            gc.freeze()
            return self.app

    return Server
