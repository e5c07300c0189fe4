"""What every ``payroute`` verb shares: exit codes, :class:`UsageError`, ``--format``.

A verb is a module exposing ``HELP``, ``register(parser)`` and ``run(args) ->
int``; the language verbs live in :mod:`dsl.commands`, the operator verbs at
the service edge (:mod:`web.commands`), and the dispatcher that names them all
is :mod:`web.cli`. This module imports nothing, so a verb that needs only these
names pays nothing for them.

Exit codes everywhere: 0 ok (warnings allowed), 1 the input has errors (or
``fmt --check`` would change, or a ``test`` case failed), 2 usage or I/O error,
70 (``EX_SOFTWARE``) an internal error: a bug in payroute, reported as one line
on stderr (``PAYROUTE_DEBUG=1`` adds the traceback), so a pipeline never takes
a crash for "the input has errors".
"""

from __future__ import annotations

import argparse

__all__ = ["EXIT_OK", "EXIT_INPUT", "EXIT_USAGE", "EXIT_SOFTWARE", "UsageError", "add_format_option"]

EXIT_OK, EXIT_INPUT, EXIT_USAGE = 0, 1, 2
#: An internal error (sysexits.h ``EX_SOFTWARE``).
EXIT_SOFTWARE = 70


class UsageError(Exception):
    """A usage or I/O problem: printed as one line, exit code 2."""


def add_format_option(parser: argparse.ArgumentParser, *choices: str, default: str = "text") -> None:
    parser.add_argument("--format", choices=choices or ("text", "json"), default=default,
                        help="output format (default: %(default)s)")
