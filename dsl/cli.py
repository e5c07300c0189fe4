"""The ``payroute`` command line.

Each verb is a module in :mod:`dsl.commands` exposing ``HELP``, ``ORDER``,
``register(parser)`` and ``run(args) -> int``; modules are discovered, so a
verb is added by adding its module. Verb modules import their heavy
dependencies inside ``run`` so ``payroute check`` starts fast.

Exit codes everywhere: 0 ok (warnings allowed), 1 the input has errors (or
``fmt --check`` would change, or a ``test`` case failed), 2 usage or I/O error.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from types import ModuleType
from typing import Sequence

EXIT_OK, EXIT_INPUT, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """A usage or I/O problem: printed as one line, exit code 2."""


def _verb_modules() -> list[tuple[str, ModuleType]]:
    from . import commands

    mods = []
    for info in pkgutil.iter_modules(commands.__path__):
        if info.name.startswith("_"):
            continue
        mod = importlib.import_module(f"{commands.__name__}.{info.name}")
        mods.append((getattr(mod, "NAME", info.name), mod))
    return sorted(mods, key=lambda m: (getattr(m[1], "ORDER", 100), m[0]))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="payroute",
        description="Rules engine and approval service for construction payments.",
    )
    sub = parser.add_subparsers(dest="verb", metavar="VERB")
    sub.required = True
    for name, mod in _verb_modules():
        p = sub.add_parser(name, help=mod.HELP, description=mod.HELP)
        mod.register(p)
        p.set_defaults(_run=mod.run)
    return parser


def add_format_option(parser: argparse.ArgumentParser, *choices: str, default: str = "text") -> None:
    parser.add_argument("--format", choices=choices or ("text", "json"), default=default,
                        help="output format (default: %(default)s)")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args._run(args))
    except UsageError as exc:
        print(f"payroute {args.verb}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        # The reader went away (`| head`): stop quietly, and keep Python from
        # complaining when it flushes stdout at exit.
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except OSError as exc:
        where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
        print(f"payroute {args.verb}: {where}{exc.strerror or exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())


if __name__ == "__main__":
    run()
