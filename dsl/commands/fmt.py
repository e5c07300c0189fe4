"""``payroute fmt FILE...``: rewrite `.flow` files in the canonical style.

``--check`` and ``--diff`` are for CI: they change nothing and exit 1 when a
file would change. ``-`` reads stdin and writes the result to stdout. A JSON
config is formatted back to the language: its `.flow` text goes to stdout
(the JSON file itself is left alone).

A file whose front end failed (a syntax error, a setting given twice) is
never rewritten: the model is missing or incomplete, so formatting it could
lose what the author wrote. Its diagnostics are printed and the run exits 1.
Semantic errors (an unknown step, a type error) do not stop formatting.
"""

from __future__ import annotations

import argparse
import sys

HELP = "rewrite rule files (.flow) in the canonical style; print a JSON config as .flow"


def register(p: argparse.ArgumentParser) -> None:
    from dsl.verbs import add_format_option

    p.add_argument("files", nargs="+", metavar="FILE",
                   help=".flow files to rewrite in place, JSON configs to print as .flow, '-' for stdin")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true",
                      help="change nothing; list the files that would change and exit 1 if any")
    mode.add_argument("--diff", action="store_true",
                      help="change nothing; print a unified diff and exit 1 if any file would change")
    add_format_option(p)


def run(args: argparse.Namespace) -> int:
    import json
    from pathlib import Path

    from dsl.commands._io import read_input
    from dsl.formatter import FormatError, format_loaded
    from dsl.load import detect_kind, load_workflow
    from dsl.render import diagnostic_json, render_text
    from dsl.verbs import EXIT_INPUT, EXIT_OK, UsageError

    as_json = args.format == "json"
    report_only = args.check or args.diff
    if as_json and args.diff:
        raise UsageError("--diff prints a diff; it cannot be combined with --format json")
    sources: dict[str, str] = {}
    changed: list[str] = []
    diagnostics: list[dict[str, object]] = []
    unformattable: list[dict[str, str]] = []
    failed = False

    def refuse(label: str, diags: list) -> None:
        nonlocal failed
        failed = True
        for d in diags:
            if as_json:
                diagnostics.append(diagnostic_json(d, label))
            else:
                sys.stderr.write(render_text(d, sources) + "\n\n")
        if not as_json:
            sys.stderr.write(f"{label}: not formatted: fix the errors above first\n")

    for name in args.files:
        text, label = read_input(name)
        sources[label] = text
        kind = detect_kind(text, label)
        to_stdout = name == "-" or kind == "json"
        if kind == "json" and report_only:
            raise UsageError(f"{label} is a JSON config; --check and --diff apply to .flow files")
        if as_json and to_stdout and not report_only:
            raise UsageError(f"{label} is printed to stdout, which --format json reserves for the report")
        loaded = load_workflow(text, label, kind=kind)
        if loaded.front_end_failed or loaded.config is None:
            refuse(label, [d for d in loaded.diagnostics if d.is_error])
            continue
        try:
            new = format_loaded(loaded)
        except FormatError as exc:
            failed = True
            message = f"cannot be written as .flow: {exc}"
            if as_json:
                unformattable.append({"file": label, "message": message})
            else:
                sys.stderr.write(f"{label}: {message}\n")
            continue
        differs = new != text
        if args.diff:
            if differs:
                changed.append(label)
                sys.stdout.write(_unified_diff(text, new, label))
        elif args.check:
            if differs:
                changed.append(label)
                if not as_json:
                    sys.stdout.write(f"{label}\n")
        elif to_stdout:
            from dsl.safe_text import unwrap

            unwrap(sys.stdout).write(new)  # the file's text, byte for byte, as if written to the file
        elif differs:
            Path(name).write_text(new, encoding="utf-8")
            changed.append(label)
            if not as_json:
                sys.stderr.write(f"reformatted {label}\n")

    if as_json:
        result = "error" if failed else ("changed" if changed and report_only else "ok")
        body = {"result": result, "changed": changed, "diagnostics": diagnostics}
        if unformattable:
            body["unformattable"] = unformattable
        json.dump(body, sys.stdout, indent=2)
        sys.stdout.write("\n")
    elif report_only and changed:
        n = len(changed)
        sys.stderr.write(f"{n} file{'s' if n != 1 else ''} would be reformatted\n")
    return EXIT_INPUT if failed or (report_only and changed) else EXIT_OK


def _unified_diff(old: str, new: str, label: str) -> str:
    import difflib

    lines = difflib.unified_diff(old.splitlines(keepends=True), new.splitlines(keepends=True),
                                 fromfile=f"{label} (original)", tofile=f"{label} (formatted)")
    out = []
    for line in lines:
        out.append(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n")
    return "".join(out)
