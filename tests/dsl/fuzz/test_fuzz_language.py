"""Fuzzing the language front ends in CI, at a small budget (issue 8: 0 tracebacks).

Mutated examples (:mod:`.harness`) go through what `payroute check`, `fmt` and
`compile` do, for `.flow` files and JSON configs alike: nothing may raise, every
diagnostic must be printable, and whatever checks clean must format, compile,
hash, load back to the same content hash, route and get a due date. A second
test runs a few inputs through the public CLI itself. The long campaign is
``tests/dsl/fuzz/campaign.py`` (see tests/dsl/fuzz/README.md).
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .harness import MUTATIONS, mutate, seeds

operations = st.lists(st.tuples(st.sampled_from(sorted(MUTATIONS)), st.integers(0, 2**32 - 1)),
                      min_size=1, max_size=4)
seed_indexes = st.integers(0, 10**6)


@pytest.mark.rule("WF-5", "GEN-3", "STEP-8")
@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None)
@given(seed_indexes, operations)
def test_no_input_crashes_check_fmt_or_compile(seed: int, ops: list[tuple[str, int]]) -> None:
    from .harness import exercise

    assert exercise(mutate(seed, ops)) in ("clean", "errors", "front end refused", "refused: not UTF-8")


@pytest.mark.rule("WF-5")
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None)
@given(seed=seed_indexes, ops=operations, verb=st.sampled_from(["check", "fmt", "compile"]))
def test_no_input_crashes_the_cli(seed: int, ops: list[tuple[str, int]], verb: str, tmp_path_factory) -> None:
    from tests.conftest import run_cli
    from web.cli import main  # noqa: F401 - the public entry point, through the runner

    case = mutate(seed, ops)
    path = tmp_path_factory.mktemp("fuzz") / case.filename
    data = case.data if isinstance(case.data, bytes) else case.data.encode("utf-8", "surrogatepass")
    path.write_bytes(data)
    argv = [verb, str(path)] + (["--check"] if verb == "fmt" and case.kind == "flow" else [])
    result = run_cli(*argv)
    assert result.code in (0, 1, 2), (result.code, result.err[-2000:])
    assert "Traceback" not in result.err
    (result.out + result.err).encode("utf-8")  # what reaches the terminal is writable


def test_the_seeds_cover_both_front_ends() -> None:
    kinds = {kind for kind, _text in seeds()}
    assert kinds == {"flow", "json"} and len(seeds()) > 40
