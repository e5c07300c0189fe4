"""``payroute check FILE...``: parse and check `.flow` files and JSON configs."""

from __future__ import annotations

import argparse
import json
import sys

HELP = "check rule files (.flow) and compiled JSON configs"


def register(p: argparse.ArgumentParser) -> None:
    from dsl.verbs import add_format_option

    p.add_argument("files", nargs="+", metavar="FILE", help=".flow or .json files ('-' for stdin)")
    add_format_option(p)
    p.add_argument("--strict", action="store_true", help="warnings fail the run too")


def run(args: argparse.Namespace) -> int:
    from dsl.commands._io import read_input
    from dsl.load import load_workflow
    from dsl.render import check_report, render_text, summary_line
    from dsl.verbs import EXIT_INPUT, EXIT_OK

    all_diags = []
    sources: dict[str, str] = {}
    for name in args.files:
        text, label = read_input(name)
        sources[label] = text
        loaded = load_workflow(text, label)
        all_diags.extend((label, d) for d in loaded.diagnostics)

    failed = any(d.is_error or args.strict for _, d in all_diags)
    if args.format == "json":
        body = check_report(all_diags, strict=args.strict)
        json.dump(body, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        out = sys.stdout
        for _, d in all_diags:
            out.write(render_text(d, sources) + "\n\n")
        diags = [d for _, d in all_diags]
        n = len(args.files)
        out.write(f"checked {n} file{'s' if n != 1 else ''}: {summary_line(diags)}\n")
    return EXIT_INPUT if failed else EXIT_OK
