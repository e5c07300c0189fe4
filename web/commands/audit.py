"""``payroute audit``: verify the MACed hash chains (AUD-3), and export signed checkpoints of their heads.

``verify`` reports the first broken entry of each chain, a company or
disbursement without its chain, and with ``--against`` every chain that is
missing, shorter or different from a checkpoint. ``checkpoint`` writes that
signed file, for an operator to keep outside the database (docs/audit.md).
Both need the audit key (PAYROUTE_AUDIT_KEY or PAYROUTE_AUDIT_KEY_FILE).
``export`` writes the entries as JSON Lines (all, one company's or one
chain's), each saying ``"sandbox"``: true for an entry about a sandbox record
(ROLL-4); it reads, vouches for nothing (run ``verify``) and needs no key.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from engine.security.keys import Key
    from engine.service.audit import Break
    from engine.store.db import Database

HELP = "verify the audit log, export signed checkpoints of its chains, export its entries"


def register(p: argparse.ArgumentParser) -> None:
    from dsl.verbs import add_format_option
    from web.commands._database import add_database_option

    sub = p.add_subparsers(dest="audit_action", metavar="ACTION")
    sub.required = True
    v = sub.add_parser("verify", help="report the first altered, deleted or reordered entry of each chain, "
                       "and every chain missing or shorter than a checkpoint")
    add_database_option(v)
    v.add_argument("--chain", help="verify one chain only, e.g. disbursement:<id>")
    v.add_argument("--against", metavar="CHECKPOINT",
                   help="also compare with a checkpoint file written by `payroute audit checkpoint`")
    add_format_option(v)
    c = sub.add_parser("checkpoint", help="write a signed list of every chain's head, to keep outside the database")
    add_database_option(c)
    c.add_argument("-o", "--output", metavar="FILE", help="write the checkpoint to FILE (default: standard output)")
    add_format_option(c)
    e = sub.add_parser("export", help="write the audit entries as JSON Lines, one entry a line; an entry about "
                       "a sandbox record says \"sandbox\": true")
    add_database_option(e)
    scope = e.add_mutually_exclusive_group()
    scope.add_argument("--company", metavar="ID", help="one company's chains: its own and its disbursements'")
    scope.add_argument("--chain", help="one chain only, e.g. disbursement:<id>")
    e.add_argument("-o", "--output", metavar="FILE", help="write the entries to FILE (default: standard output)")


def run(args: argparse.Namespace) -> int:
    if args.audit_action == "checkpoint":
        return _checkpoint(args)
    if args.audit_action == "export":
        return _export(args)
    return _verify(args)


def _key() -> "Key":
    from dsl.verbs import UsageError
    from engine.security import keys

    try:
        key = keys.audit_key()
    except keys.KeyConfigError as exc:
        raise UsageError(str(exc)) from None
    if key.development:
        print(f"payroute audit: warning: the INSECURE built-in development key is in use "
              f"({keys.DEVELOPMENT_SWITCH}=1); this log and its checkpoints can be forged by anyone",
              file=sys.stderr)
    return key


def _open(args: argparse.Namespace) -> "Database":
    """The database, or one line (credentials scrubbed) for a URL that cannot be used."""
    from sqlalchemy.engine import make_url

    from dsl.verbs import UsageError
    from engine.errors import first_line, scrub_credentials
    from engine.store.db import Database
    from web.commands._database import database_url

    url = database_url(args)
    try:
        parsed = make_url(url)
        if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:") \
                and not Path(parsed.database).exists():
            raise UsageError(f"no database at {parsed.database} (run `payroute db upgrade` to create one)")
        return Database(url)
    except UsageError:
        raise
    except Exception as exc:  # a URL SQLAlchemy cannot parse, an unknown dialect, a driver not installed
        raise UsageError(f"cannot use the database URL: {first_line(scrub_credentials(str(exc)))}") from None


def _unreadable(exc: Exception) -> Exception:
    from dsl.verbs import UsageError
    from engine.errors import first_line, scrub_credentials

    return UsageError(f"cannot read the audit log: {first_line(scrub_credentials(str(exc)))}")


def _break_data(b: "Break") -> dict[str, Any]:
    return {"chain": b.chain, "seq": b.seq, "entry_id": b.entry_id, "code": b.code, "reason": b.reason}


def _verify(args: argparse.Namespace) -> int:
    from sqlalchemy.exc import SQLAlchemyError

    from dsl.verbs import UsageError
    from engine.service import audit

    key = _key()
    checkpoint, problem = None, None
    if args.against:
        try:
            text = Path(args.against).read_text(encoding="utf-8")
            checkpoint, problem = audit.read_checkpoint(text, key)
        except (audit.CheckpointError, UnicodeDecodeError) as exc:
            raise UsageError(f"{args.against}: {exc}") from None
    db = _open(args)
    try:
        with audit.snapshot(db) as s:
            breaks = audit.verify(s, args.chain, key=key, against=checkpoint if problem is None else None)
            total = audit.count(s, args.chain)
    except SQLAlchemyError as exc:
        raise _unreadable(exc) from None
    finally:
        db.dispose()
    failed = bool(breaks) or problem is not None
    if args.format == "json":
        out: dict[str, Any] = {"result": "error" if failed else "ok", "entries": total,
                               "breaks": [_break_data(b) for b in breaks], "development_key": key.development}
        if checkpoint is not None:
            out["checkpoint"] = {"file": args.against, "created_at": checkpoint.created_at,
                                 "chains": len(checkpoint.heads), "signature": "invalid" if problem else "ok",
                                 "problem": problem}
        json.dump(out, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 1 if failed else 0
    if problem is not None:
        print(f"broken: checkpoint {args.against}: {problem}; not compared")
    for b in breaks:
        print(f"broken: {b.chain} entry {b.seq}: {b.reason}")
    against = ""
    if checkpoint is not None and problem is None:
        against = f" against the checkpoint of {checkpoint.created_at} ({len(checkpoint.heads)} chains)"
    outcome = [f"{len(breaks)} broken chain(s)"] if breaks else []
    if problem is not None:
        outcome.append("the checkpoint's signature does not verify")
    print(f"verified {total} audit entries{against}: " + (", ".join(outcome) if outcome else "ok"))
    return 1 if failed else 0


def _checkpoint(args: argparse.Namespace) -> int:
    from datetime import datetime, timezone

    from sqlalchemy.exc import SQLAlchemyError

    from engine.service import audit

    key = _key()
    db = _open(args)
    try:
        with audit.snapshot(db) as s:
            checkpoint, breaks = audit.checkpoint(s, at=datetime.now(timezone.utc), key=key)
    except SQLAlchemyError as exc:
        raise _unreadable(exc) from None
    finally:
        db.dispose()
    to_stdout = not args.output or args.output == "-"
    report: TextIO = sys.stderr if to_stdout else sys.stdout
    if checkpoint is None:
        if args.format == "json":
            json.dump({"result": "error", "breaks": [_break_data(b) for b in breaks]}, report, indent=2)
            report.write("\n")
        else:
            for b in breaks:
                print(f"broken: {b.chain} entry {b.seq}: {b.reason}", file=report)
            print(f"no checkpoint written: {len(breaks)} broken chain(s); a checkpoint vouches for the log "
                  "as it is, so investigate the breaks first", file=report)
        return 1
    text = checkpoint.dumps(key)
    if to_stdout:
        sys.stdout.write(text)
    else:
        _write_atomically(Path(args.output), text)
    where = "standard output" if to_stdout else args.output
    if args.format == "json":
        json.dump({"result": "ok", "file": None if to_stdout else args.output,
                   "created_at": checkpoint.created_at, "chains": len(checkpoint.heads),
                   "entries": checkpoint.entries, "key_id": checkpoint.key_id,
                   "development_key": checkpoint.development_key}, report, indent=2)
        report.write("\n")
    else:
        print(f"wrote the checkpoint of {checkpoint.created_at} to {where}: {len(checkpoint.heads)} chains, "
              f"{checkpoint.entries} entries, key {checkpoint.key_id}; keep it outside the database",
              file=report)
    return 0


def _export(args: argparse.Namespace) -> int:
    """ROLL-4: the entries as JSON Lines (ASCII-only JSON, so no control character reaches a
    terminal); a file is written whole or not at all. The count goes to stderr."""
    from sqlalchemy.exc import SQLAlchemyError

    from dsl.safe_text import escape
    from engine.service import audit

    db = _open(args)
    lines: list[str] = []
    sandbox = 0
    try:
        with audit.snapshot(db) as s:
            for row in audit.exported(s, chain=args.chain, company_id=args.company):
                sandbox += row["sandbox"]
                lines.append(json.dumps(row, ensure_ascii=True) + "\n")
    except SQLAlchemyError as exc:
        raise _unreadable(exc) from None
    finally:
        db.dispose()
    to_stdout = not args.output or args.output == "-"
    if to_stdout:
        sys.stdout.write("".join(lines))
    else:
        _write_atomically(Path(args.output), "".join(lines))
    where = "standard output" if to_stdout else escape(args.output)
    print(f"exported {len(lines)} audit entries ({sandbox} about sandbox records, marked \"sandbox\": true) "
          f"to {where}", file=sys.stderr)
    return 0


def _write_atomically(path: Path, text: str) -> None:
    """Write the whole file or nothing, so an interrupted export never leaves half a checkpoint."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent if str(path.parent) else ".")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
