"""``payroute diagram FLOW``: the workflow as Mermaid or Graphviz dot text.

``--path`` (or ``--path-file`` with one ``simulate --format jsonl`` line)
highlights the route a disbursement took. A workflow with errors gets its
diagnostics and exit 1 (a diagram of a broken workflow would mislead);
warnings are allowed. A path that is not a route of the workflow is a usage
error (exit 2).
"""

from __future__ import annotations

import argparse
import sys

HELP = "draw a workflow as a Mermaid flowchart or a Graphviz dot graph"


def register(p: argparse.ArgumentParser) -> None:
    from dsl.verbs import add_format_option

    p.add_argument("file", metavar="FLOW", help=".flow or compiled .json file ('-' for stdin)")
    add_format_option(p, "mermaid", "dot", default="mermaid")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--path", metavar="STEP,STEP,...",
                       help="highlight this route: step names in order, comma-separated")
    group.add_argument("--path-file", metavar="FILE",
                       help="highlight the \"path\" of one `payroute simulate --format jsonl` line"
                            " ('-' for stdin)")
    p.add_argument("-o", "--output", metavar="OUT", help="write the diagram here instead of stdout")


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from dsl.commands._io import read_input
    from dsl.diagram import DiagramError, PathError, path_from_json_line, render, split_path_arg
    from dsl.load import load_workflow
    from dsl.render import render_text
    from dsl.verbs import EXIT_INPUT, EXIT_OK, UsageError

    if args.file == "-" and args.path_file == "-":
        raise UsageError("FLOW and --path-file cannot both be read from stdin")
    text, label = read_input(args.file)
    loaded = load_workflow(text, label)
    if not loaded.ok or loaded.config is None:
        for d in loaded.errors():
            sys.stderr.write(render_text(d, {label: text}) + "\n\n")
        sys.stderr.write(f"payroute diagram: {label} has errors; run `payroute check {label}`\n")
        return EXIT_INPUT

    config = loaded.config
    path = None
    try:
        if args.path is not None:
            path = split_path_arg(args.path, [s.name for s in config.steps])
        elif args.path_file is not None:
            path_text, path_label = read_input(args.path_file)
            path = path_from_json_line(path_text, path_label)
        output = render(config, args.format, path)
    except PathError as exc:
        raise UsageError(str(exc)) from None
    except DiagramError as exc:
        sys.stderr.write(f"payroute diagram: {label}: {exc}\n")
        return EXIT_INPUT

    if args.output:
        Path(args.output).write_text(output, encoding="utf-8")
    else:
        sys.stdout.write(output)
    return EXIT_OK
