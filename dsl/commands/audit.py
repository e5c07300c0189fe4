"""``payroute audit verify``: walk every hash chain, report the first broken entry (AUD-3)."""

from __future__ import annotations

import argparse
import json
import sys

HELP = "verify the hash-chained audit log"
ORDER = 85


def register(p: argparse.ArgumentParser) -> None:
    from ..cli import add_database_option, add_format_option

    sub = p.add_subparsers(dest="audit_action", metavar="ACTION")
    sub.required = True
    v = sub.add_parser("verify", help="report the first altered, deleted or reordered entry of each chain")
    add_database_option(v)
    v.add_argument("--chain", help="verify one chain only, e.g. disbursement:<id>")
    add_format_option(v)


def run(args: argparse.Namespace) -> int:
    from engine import audit
    from engine.errors import first_line, scrub_credentials
    from engine.store.db import Database

    from ..cli import UsageError, database_url

    db = Database(database_url(args))
    try:
        with db.sessions() as s:
            breaks = audit.verify(s, args.chain)
            total = audit.count(s, args.chain)
    except Exception as exc:
        raise UsageError(f"cannot read the audit log: {first_line(scrub_credentials(str(exc)))}") from None
    finally:
        db.dispose()
    if args.format == "json":
        json.dump({"result": "error" if breaks else "ok", "entries": total,
                   "breaks": [{"chain": b.chain, "seq": b.seq, "entry_id": b.entry_id, "reason": b.reason}
                              for b in breaks]}, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        for b in breaks:
            print(f"broken: {b.chain} entry {b.seq}: {b.reason}")
        print(f"verified {total} audit entries: " + (f"{len(breaks)} broken chain(s)" if breaks else "ok"))
    return 1 if breaks else 0
