"""The simulator's fast validation path accepts exactly what the pydantic model accepts, with the same facts.

The fast path (msgspec + a few regex matches) may only ever *accept* what the
model accepts; anything else falls back to the model, which has the last
word. Here it is held to the stricter property: same verdict on every
document, valid or not (GEN-2, DSB-1, DSB-2, COND-6..COND-9).
"""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dsl.simulate_input import FastReader, full_facts
from engine.spec.disbursement import DisbursementError
from engine.spec.facts import FACTS
from tests.payroute_docs import disbursement, documents, invoice

ALL_FACTS = frozenset([*FACTS, "project.office", "project.start_date", "project.market", "project.name"])
FAST = FastReader(ALL_FACTS)


def verdicts(raw: bytes) -> tuple[object, object]:
    fast = FAST.read(raw)
    try:
        full: object = full_facts(raw, ALL_FACTS)
    except DisbursementError:
        full = None
    try:
        decoded = json.loads(raw)
    except (ValueError, RecursionError):
        pass
    else:  # the HTTP service's path: the document as json.loads gave it, the same verdict and facts
        assert FAST.read_object(decoded) == fast
    return fast, full


@settings(max_examples=500, suppress_health_check=[HealthCheck.too_slow])
@given(documents(), st.sampled_from([{}, {"indent": 1}, {"separators": (",", ":")}]))
def test_fast_and_full_paths_accept_the_same_documents_with_the_same_facts(doc: object, style: dict) -> None:
    raw = json.dumps(doc, **style).encode("utf-8")
    fast, full = verdicts(raw)
    assert fast == full


@given(st.sampled_from([
    b'{"id": "D", "id": "E"}',                      # not a disbursement
    b"[]", b"null", b"", b"{", b"\xff\xfe",         # not JSON / not UTF-8
    b'{"id": NaN}',                                  # json.loads accepts NaN, still refused
]))
def test_malformed_input_is_refused_by_both(raw: bytes) -> None:
    assert verdicts(raw) == (None, None)


def test_duplicate_keys_resolve_like_json_loads() -> None:
    """The last value wins in both paths, so a duplicated amount routes the same way."""
    doc = json.dumps(disbursement(invoice("1.00")))
    raw = doc.replace('"amount": "1.00"', '"amount": "1.00", "amount": "250000.00"').encode()
    fast, full = verdicts(raw)
    assert fast == full and fast is not None
    assert str(fast[1]["disbursement_amount"]) == "250000.00"
