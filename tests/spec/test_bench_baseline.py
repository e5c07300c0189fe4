"""The benchmark's hand-written baselines compute the same routes as the engine (COND-6, COND-10).

bench/route_bench.py compares speeds; this keeps the comparison honest by
holding its baselines (and its data generator) to the engine's answers.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

from engine.spec.disbursement import parse_disbursement
from engine.spec.evaluator import evaluate
from engine.spec.facts import compute_facts

BENCH = Path(__file__).resolve().parents[2] / "bench" / "route_bench.py"


def load_bench():
    spec = importlib.util.spec_from_file_location("route_bench", BENCH)
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    sys.modules.setdefault("route_bench", module)
    spec.loader.exec_module(module)
    return module


def test_baselines_agree_with_the_engine(reference, tmp_path: Path) -> None:
    bench = load_bench()
    docs = bench.make_disbursements(300, seed=3)
    routes = {evaluate(reference, compute_facts(parse_disbursement(d))).path for d in docs}
    assert routes == {bench.CFO, bench.NO_CFO}  # the data exercises both routes
    for d in docs:
        expected = evaluate(reference, compute_facts(parse_disbursement(d))).path
        assert bench.hand_route(d["invoices"]) == expected
        assert bench.hand_route_tuned(d["invoices"]) == expected
    namespace: dict = {}
    exec(compile(bench.HAND_SCRIPT, "hand_simulate.py", "exec"), namespace)  # noqa: S102 - the bench's own text
    data = tmp_path / "d.jsonl"
    data.write_text("".join(json.dumps(d) + "\n" for d in docs[:20]), encoding="utf-8")
    import io

    out = io.StringIO()
    namespace["main"](str(data), out)
    assert [json.loads(line)["path"] for line in out.getvalue().splitlines()] == [
        list(evaluate(reference, compute_facts(parse_disbursement(d))).path) for d in docs[:20]]
