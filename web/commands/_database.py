"""The ``--database-url`` option the operator verbs share."""

from __future__ import annotations

import argparse


def add_database_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--database-url",
                        help="default: PAYROUTE_DATABASE_URL, else instance/payroute.sqlite3")


def database_url(args: argparse.Namespace) -> str:
    from engine.store.db import default_url

    return args.database_url or default_url()
