"""The ``payroute`` command: one dispatcher over a static table of verbs.

The language verbs (check, fmt, compile, simulate, test, diagram) live in
:mod:`dsl.commands`; the operator verbs (db, worker, audit, tokens, users, serve) run
the service and live at its edge, :mod:`web.commands`, so the
language package never imports the database or the web service. The table
names each verb's module; a run imports only the verb it runs, so one verb's
imports never slow another's start (``payroute check`` must start fast).

Every verb module exposes ``HELP``, ``register(parser)`` and ``run(args) ->
int``; exit codes and :class:`dsl.verbs.UsageError` are in :mod:`dsl.verbs`.
An unexpected exception is exit 70, reported as one line
(:func:`internal_error`), never mistaken for exit 1 ("the input has errors").

Everything a verb writes to stdout and stderr goes through
:class:`dsl.safe_text.SafeStream`: control characters in echoed ids, values
and names are escaped, never sent to the terminal.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from contextlib import redirect_stderr, redirect_stdout
from types import ModuleType
from typing import Sequence

from dsl.safe_text import SafeStream
from dsl.verbs import EXIT_OK, EXIT_SOFTWARE, EXIT_USAGE, UsageError

#: Every verb, in the order ``payroute --help`` lists them, and its module.
VERBS: dict[str, str] = {
    "check": "dsl.commands.check",
    "fmt": "dsl.commands.fmt",
    "compile": "dsl.commands.compile",
    "simulate": "dsl.commands.simulate",
    "test": "dsl.commands.test",
    "diagram": "dsl.commands.diagram",
    "db": "web.commands.db",
    "audit": "web.commands.audit",
    "worker": "web.commands.worker",
    "tokens": "web.commands.tokens",
    "bank": "web.commands.bank",
    "users": "web.commands.users",
    "serve": "web.commands.serve",
}


def _verb_modules(only: str | None = None) -> list[tuple[str, ModuleType]]:
    """The verb modules in table order, or just ``only``."""
    names = [only] if only is not None else list(VERBS)
    return [(name, importlib.import_module(VERBS[name])) for name in names]


def build_parser(verb: str | None = None) -> argparse.ArgumentParser:
    """The argument parser; with ``verb``, only that verb is registered."""
    parser = argparse.ArgumentParser(
        prog="payroute",
        description="Rules engine and approval service for construction payments.",
    )
    sub = parser.add_subparsers(dest="verb", metavar="VERB")
    sub.required = True
    for name, mod in _verb_modules(verb):
        p = sub.add_parser(name, help=mod.HELP, description=mod.HELP)
        mod.register(p)
        p.set_defaults(_run=mod.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    out, err = sys.stdout, sys.stderr
    with redirect_stdout(out if isinstance(out, SafeStream) else SafeStream(out)), \
            redirect_stderr(err if isinstance(err, SafeStream) else SafeStream(err)):
        return _main(list(sys.argv[1:] if argv is None else argv))


def _main(argv: list[str]) -> int:
    names = list(VERBS)
    verb = argv[0] if argv and argv[0] in VERBS else None
    if argv and verb is None and not argv[0].startswith("-"):
        from engine.diagnostics import did_you_mean

        hint = did_you_mean(argv[0], names)
        print(f"payroute: unknown verb `{argv[0]}`" + (f"; {hint}" if hint else "")
              + f" (verbs: {', '.join(sorted(names))})", file=sys.stderr)
        return EXIT_USAGE
    try:
        parser = build_parser(verb)
    except Exception as exc:  # noqa: BLE001 - a verb that cannot even load is a bug
        return internal_error(verb or "", exc)
    args = parser.parse_args(argv)
    try:
        return int(args._run(args))
    except UsageError as exc:
        print(f"payroute {args.verb}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        # The reader went away (`| head`): stop quietly, and keep Python from
        # complaining when it flushes stdout at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except OSError as exc:
        where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
        print(f"payroute {args.verb}: {where}{exc.strerror or exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # noqa: BLE001 - anything else is a bug, and must not look like exit 1
        return internal_error(args.verb, exc)


def internal_error(verb: str, exc: BaseException) -> int:
    """Report an unexpected exception as one line (the traceback with ``PAYROUTE_DEBUG=1``): exit 70."""
    debug = os.environ.get("PAYROUTE_DEBUG", "") not in ("", "0")
    if debug:
        import traceback

        traceback.print_exception(exc, file=sys.stderr)
    detail = str(exc).strip().split("\n", 1)[0][:200]
    try:
        from engine.errors import scrub_credentials

        detail = scrub_credentials(detail)
    except Exception:  # noqa: BLE001 - the report must not fail in turn
        detail = ""
    what = type(exc).__name__ + (f": {detail}" if detail else "")
    print(f"payroute{' ' if verb else ''}{verb}: internal error ({what}); this is a bug in payroute, please report it "
          "with the command that caused it" + ("" if debug else " (PAYROUTE_DEBUG=1 shows the traceback)"),
          file=sys.stderr)
    return EXIT_SOFTWARE


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())


if __name__ == "__main__":
    # ``python -m web.cli``: run the package's module (this file as
    # ``__main__`` would be a second copy of the dispatcher).
    from web.cli import run as _run

    _run()
