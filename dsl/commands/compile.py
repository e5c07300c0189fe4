"""``payroute compile FILE [-o OUT.json]``: the compiled JSON config of a workflow.

The output is the canonical document of :func:`engine.spec.export.document_text`
(``$schema`` and ``format_version`` first, money as two-decimal strings),
which validates against ``schemas/workflow.schema.json``. A workflow with
errors is refused: nothing is written, the rendered diagnostics go to
stderr and the exit code is 1. Warnings are printed on stderr and the
document is still written. A JSON config is accepted too (it comes out in
canonical form).
"""

from __future__ import annotations

import argparse
import sys

HELP = "compile a rule file (.flow) or JSON config to the canonical JSON config"


def register(p: argparse.ArgumentParser) -> None:
    from dsl.verbs import add_format_option

    p.add_argument("file", metavar="FILE", help=".flow file or JSON config ('-' for stdin)")
    p.add_argument("-o", "--output", metavar="OUT.json", help="write the document here instead of stdout")
    add_format_option(p)


def run(args: argparse.Namespace) -> int:
    import json
    from pathlib import Path

    from dsl.commands._io import read_input
    from dsl.load import load_workflow
    from dsl.render import diagnostic_json, render_text, summary_line
    from dsl.verbs import EXIT_INPUT, EXIT_OK

    text, label = read_input(args.file)
    loaded = load_workflow(text, label)
    diags = loaded.diagnostics
    if args.format == "json":
        if diags or not loaded.ok:
            body = {"result": "ok" if loaded.ok else "error",
                    "diagnostics": [diagnostic_json(d, label) for d in diags]}
            sys.stderr.write(json.dumps(body, indent=2) + "\n")
    elif diags:
        for d in diags:
            sys.stderr.write(render_text(d, {label: text}) + "\n\n")
        verdict = "not compiled" if not loaded.ok else "compiled"
        sys.stderr.write(f"{label}: {summary_line(diags)}; {verdict}\n")
    if not loaded.ok or loaded.config is None:
        return EXIT_INPUT

    from engine.spec.export import document_text

    document = document_text(loaded.config)
    if args.output:
        Path(args.output).write_text(document, encoding="utf-8")
    else:
        sys.stdout.write(document)
    return EXIT_OK
