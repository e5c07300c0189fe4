"""``payroute simulate FLOW INPUT``: route disbursements through a workflow, changing nothing (ROLL-6).

INPUT is one disbursement JSON document, a JSON Lines file (one disbursement
per line), or ``-`` for stdin. Response steps take the answer given with
``--answer "STEP=ANSWER"``, else ``--default-answer`` (``Approve``); with
``requires: all`` every assignee gives that answer.

Outputs (stdout):

- ``text``: each disbursement's steps, and for each condition step the `when`
  lines tried with the fact values compared (COND-13);
- ``jsonl``: one line per disbursement, ``{"id", "path", "end", "outcome"}``
  — a stable shape for scripts (``end``/``outcome`` are null when the route
  stopped);
- ``json``: one document with every route, its visits and reasons, and every
  refused line.

A refused line is reported on stderr as ``line 17: invoices[2].amount: ...``
and the run goes on; the exit code is then 1, as it is when a route stops
before an end. Whatever a line holds (bytes that are not UTF-8, nesting
deeper than the parser goes, an integer of thousands of digits) it is that
line's refusal, never the run's end. A UTF-8 byte order mark at the start of
the input is skipped. A workflow with errors is not simulated (its
diagnostics are printed, exit 1). Nothing is written anywhere but stdout and
stderr (``--format json`` keeps the routes of a long run in an unnamed
temporary file, gone when the run ends, so its memory stays flat).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

HELP = "route disbursements (JSON or JSON Lines) through a workflow, without side effects"

#: Inputs at least this large get a progress bar when stderr is a terminal.
PROGRESS_BYTES = 1 << 20


def register(p: argparse.ArgumentParser) -> None:
    from dsl.verbs import add_format_option

    p.add_argument("flow", metavar="FLOW", help=".flow file or JSON config")
    p.add_argument("input", metavar="INPUT", help="disbursement JSON, JSON Lines, or '-' for stdin")
    p.add_argument("--answer", action="append", default=[], metavar="STEP=ANSWER",
                   help="the answer a response step gets (repeatable)")
    p.add_argument("--default-answer", default="Approve", metavar="ANSWER",
                   help="the answer of every other response step (default: %(default)s)")
    add_format_option(p, "text", "json", "jsonl")


def parse_answers(specs: list[str], compiled: Any) -> dict[str, str]:
    """``STEP=ANSWER`` pairs, checked against the workflow (a usage error, exit 2, otherwise).

    A step name may itself contain ``=``: the split is the one whose left
    part names a response step.
    """
    from dsl.verbs import UsageError
    from engine.spec.compiler import CompiledResponse
    from engine.spec.evaluator import answer_problem

    responses = {s.name for s in compiled.steps if isinstance(s, CompiledResponse)}
    out: dict[str, str] = {}
    for spec in specs:
        cuts = [i for i, ch in enumerate(spec) if ch == "="]
        if not cuts:
            raise UsageError(f'--answer "{spec}": expected STEP=ANSWER')
        cut = next((i for i in cuts if spec[:i] in responses), cuts[0])
        step, answer = spec[:cut], spec[cut + 1:]
        problem = answer_problem(compiled, step, answer)
        if problem is not None:
            raise UsageError(f'--answer "{spec}": {problem}')
        out[step] = answer
    return out


def _load(args: argparse.Namespace) -> Any:
    """The compiled workflow, or None after printing why it cannot be simulated."""
    from dsl.check_cache import cached_config, remember
    from dsl.commands._io import read_input
    from engine.spec.compiler import compile_workflow

    text, label = read_input(args.flow)
    config = cached_config(text)
    if config is not None:  # checked clean by an earlier run: no parse, no checks
        return compile_workflow(config, checked=())

    from dsl.load import load_workflow
    from dsl.render import render_text, summary_line

    loaded = load_workflow(text, label, compile=True)
    if loaded.compiled is not None and loaded.config is not None:
        remember(text, loaded.config)
        return loaded.compiled
    diags = loaded.errors()
    for d in diags:
        sys.stderr.write(render_text(d, {label: text}) + "\n\n")
    sys.stderr.write(f"{label}: {summary_line(diags)}; nothing simulated\n")
    return None


def _open_input(name: str) -> tuple[Any, int | None]:
    """A binary stream and its size when known (``OSError`` → exit 2)."""
    import io
    import os

    if name == "-":
        buffer = getattr(sys.stdin, "buffer", None)
        if buffer is None:  # a text-only stdin (tests, embedding)
            # surrogatepass: a lone surrogate becomes bytes that are not UTF-8, refused on its line
            return io.BytesIO(sys.stdin.read().encode("utf-8", "surrogatepass")), None
        return buffer, None
    stream = open(name, "rb")  # noqa: SIM115 - closed by run()
    return stream, os.fstat(stream.fileno()).st_size


def _progress(size: int | None) -> tuple[Any, Any]:
    """``(callback, bar)``: a tqdm bar on stderr for a large input on a terminal, else ``(None, None)``."""
    if size is None or size < PROGRESS_BYTES or not sys.stderr.isatty():
        return None, None
    from tqdm import tqdm  # only a terminal user with a big file pays for the import

    from dsl.safe_text import unwrap

    # The bar's own carriage returns must reach the terminal unescaped.
    bar = tqdm(total=size, unit="B", unit_scale=True, file=unwrap(sys.stderr), desc="simulating", leave=False)
    return bar.update, bar


def run(args: argparse.Namespace) -> int:
    from dsl.verbs import EXIT_INPUT, EXIT_OK, UsageError

    if args.flow == "-" and args.input == "-":
        raise UsageError("FLOW and INPUT cannot both be read from stdin")
    compiled = _load(args)
    if compiled is None:
        return EXIT_INPUT
    answers = parse_answers(args.answer, compiled)

    from dsl.safe_text import one_line
    from dsl.simulate_input import read_records
    from dsl.simulate_output import JsonlWriter, JsonWriter, TextWriter

    writer_class = {"jsonl": JsonlWriter, "json": JsonWriter, "text": TextWriter}[args.format]
    writer = writer_class(compiled, answers, args.default_answer, sys.stdout)
    stream, size = _open_input(args.input)
    label = "<stdin>" if args.input == "-" else args.input
    callback, bar = _progress(size)
    problems = 0
    try:
        for record in read_records(stream, compiled.facts_used, callback):
            if record.problems:
                problems += 1
                prefix = f"line {record.line}: " if record.line is not None else f"{label}: "
                sys.stderr.write("".join(f"{prefix}{one_line(p)}\n" for p in record.problems))
                writer.refused(record)
                continue
            stopped = writer.route(record)
            if stopped is not None:
                problems += 1
                where = f"line {record.line}: " if record.line is not None else ""
                sys.stderr.write(f"{where}{one_line(record.id or '')}: the route stopped: {stopped}\n")
    finally:
        if bar is not None:
            bar.close()
        if stream is not sys.stdin and stream is not getattr(sys.stdin, "buffer", None):
            stream.close()
    writer.finish()
    if writer.count == 0 and problems == 0:
        sys.stderr.write(f"{label}: no disbursement found\n")
        return EXIT_INPUT
    return EXIT_INPUT if problems else EXIT_OK
