"""``payroute serve``: run the HTTP service under gunicorn, after applying the database's migrations.

``--bind HOST:PORT`` (default ``127.0.0.1:8000``) and ``--workers N``
(default 2) are gunicorn's; the app is :func:`web.app.create_app`, made once
in each worker (nothing lives in process memory that two workers must agree
on). The database is ``--database-url``, else ``PAYROUTE_DATABASE_URL``, else
SQLite at ``instance/payroute.sqlite3``; ``PAYROUTE_SECRET_KEY`` must be set.

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
    try:
        settings({"PAYROUTE_DATABASE_URL": url})
    except ConfigError as exc:
        raise UsageError(str(exc)) from None
    try:
        upgrade(url)
    except Exception as exc:  # connection refused, bad URL
        raise UsageError(f"cannot migrate the database: {first_line(scrub_credentials(str(exc)))}") from None
    # Each worker makes its own app (and database engine) from the environment.
    os.environ["PAYROUTE_DATABASE_URL"] = url
    print(f"payroute: serving on http://{args.bind} (docs at /docs, contract at /openapi.json)",
          file=sys.stderr, flush=True)
    _server_class()({"bind": args.bind, "workers": args.workers, "accesslog": "-",
             "errorlog": "-", "proc_name": "payroute",
             # gunicorn >= 25.1 opens a control socket at one path per user (~/.gunicorn/gunicorn.ctl):
             # a second server takes it from the first, and the first to stop deletes the other's.
             # payroute uses no gunicornc, so none is opened (older gunicorns have no such setting).
             **({"control_socket_disable": True}
                if hasattr(__import__("gunicorn.config", fromlist=["config"]), "ControlSocketDisable") else {}),
             }).run()
    return 0


def _server_class() -> Any:
    from gunicorn.app.base import BaseApplication

    class Server(BaseApplication):  # type: ignore[misc]
        """gunicorn, configured here rather than from its own command line."""

        def __init__(self, options: dict[str, Any]) -> None:
            self.options = options
            super().__init__()

        def load_config(self) -> None:
            for key, value in self.options.items():
                self.cfg.set(key, value)

        def load(self) -> Any:
            from web.app import create_app

            return create_app()

    return Server
