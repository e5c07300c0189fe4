"""The long fuzzing campaign of the language front ends (issue 8); the CI test runs a small budget.

    nice .venv/bin/python tests/dsl/fuzz/campaign.py --inputs 100000 --minutes 15

Runs :func:`harness.exercise` on seeded random mutations of the examples until
``--inputs`` are done or ``--minutes`` have passed, then prints the inputs, the
outcomes, the inputs per minute and every distinct traceback (exception type
and innermost frame) with its count. Each failing input is written to
``--out`` (one file per distinct traceback) so it can be replayed. Exit 1 if
anything failed.
"""

from __future__ import annotations

import argparse
import collections
import os
import random
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2]))
sys.path.insert(0, str(HERE))

import harness  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--inputs", type=int, default=100_000)
    parser.add_argument("--minutes", type=float, default=15.0)
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--out", default="fuzz-failures", help="folder for failing inputs")
    args = parser.parse_args(argv)
    os.environ.setdefault("PAYROUTE_CACHE_DIR", "off")
    rnd = random.Random(args.seed)
    harness.seeds()
    outcomes: collections.Counter[str] = collections.Counter()
    failures: collections.Counter[str] = collections.Counter()
    start = time.monotonic()
    deadline = start + args.minutes * 60
    done = 0
    while done < args.inputs and time.monotonic() < deadline:
        case = harness.random_case(rnd)
        done += 1
        try:
            outcomes[harness.exercise(case)] += 1
        except Exception as exc:  # noqa: BLE001 - a finding, reported below
            frame = traceback.extract_tb(exc.__traceback__)[-1]
            key = f"{type(exc).__name__} at {Path(frame.filename).name}:{frame.lineno}: {str(exc)[:160]}"
            if key not in failures:
                out = Path(args.out)
                out.mkdir(exist_ok=True)
                data = case.data if isinstance(case.data, bytes) else case.data.encode("utf-8", "surrogatepass")
                (out / f"failure-{len(failures) + 1}.{case.kind}").write_bytes(data)
                print(f"new traceback: {key}", flush=True)
            failures[key] += 1
        if done % 10_000 == 0:
            print(f"{done} inputs, {sum(failures.values())} tracebacks, "
                  f"{done / (time.monotonic() - start) * 60:,.0f} inputs/minute", flush=True)
    minutes = (time.monotonic() - start) / 60
    print(f"\ninputs: {done} in {minutes:.1f} min ({done / minutes:,.0f} inputs/minute)")
    print("outcomes: " + ", ".join(f"{k} {v}" for k, v in outcomes.most_common()))
    print(f"tracebacks: {sum(failures.values())} ({len(failures)} distinct)")
    for key, count in failures.most_common():
        print(f"  {count:6d}  {key}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
