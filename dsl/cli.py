"""The ``payroute`` command line.

Each verb is a module in :mod:`dsl.commands` exposing ``HELP``, ``ORDER``,
``register(parser)`` and ``run(args) -> int``; modules are discovered, so a
verb is added by adding its module. Verb modules import their heavy
dependencies inside ``run`` so ``payroute check`` starts fast.

Exit codes everywhere: 0 ok (warnings allowed), 1 the input has errors (or
``fmt --check`` would change, or a ``test`` case failed), 2 usage or I/O error,
70 (``EX_SOFTWARE``) an internal error: a bug in payroute, reported as one line
on stderr (``PAYROUTE_DEBUG=1`` adds the traceback), so a pipeline never takes
a crash for "the input has errors".

Everything a verb writes to stdout and stderr goes through
:class:`dsl.safe_text.SafeStream`: control characters in echoed ids, values
and names are escaped, never sent to the terminal.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys
from contextlib import redirect_stderr, redirect_stdout
from types import ModuleType
from typing import Sequence

from .safe_text import SafeStream

EXIT_OK, EXIT_INPUT, EXIT_USAGE = 0, 1, 2
#: An internal error (sysexits.h ``EX_SOFTWARE``).
EXIT_SOFTWARE = 70


class UsageError(Exception):
    """A usage or I/O problem: printed as one line, exit code 2."""


def _verb_names() -> list[str]:
    """Verb module names, found without importing them (a verb is named by its module)."""
    from . import commands

    return [info.name for info in pkgutil.iter_modules(commands.__path__) if not info.name.startswith("_")]


def _verb_modules(only: str | None = None) -> list[tuple[str, ModuleType]]:
    """The verb modules, or just ``only``: a run imports one verb, so one verb's
    imports never slow another's start (``payroute check`` must start fast)."""
    names = [only] if only is not None else _verb_names()
    mods = [(name, importlib.import_module(f"{__package__}.commands.{name}")) for name in names]
    return sorted(mods, key=lambda m: (getattr(m[1], "ORDER", 100), m[0]))


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


def add_format_option(parser: argparse.ArgumentParser, *choices: str, default: str = "text") -> None:
    parser.add_argument("--format", choices=choices or ("text", "json"), default=default,
                        help="output format (default: %(default)s)")


def add_database_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--database-url",
                        help="default: PAYROUTE_DATABASE_URL, else instance/payroute.sqlite3")


def database_url(args: argparse.Namespace) -> str:
    from engine.store.db import default_url

    return args.database_url or default_url()


def main(argv: Sequence[str] | None = None) -> int:
    out, err = sys.stdout, sys.stderr
    with redirect_stdout(out if isinstance(out, SafeStream) else SafeStream(out)), \
            redirect_stderr(err if isinstance(err, SafeStream) else SafeStream(err)):
        return _main(list(sys.argv[1:] if argv is None else argv))


def _main(argv: list[str]) -> int:
    names = _verb_names()
    verb = argv[0] if argv and argv[0] in names else None
    if argv and verb is None and not argv[0].startswith("-"):
        from .diagnostics import did_you_mean

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
    # ``python -m dsl.cli``: run the package's module, whose UsageError is the
    # one the verbs raise (this file as ``__main__`` has a class of its own).
    from dsl.cli import run as _run

    _run()
