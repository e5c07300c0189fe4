"""The check cache: a clean workflow is parsed and checked once, then read back exactly."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings

from dsl import check_cache
from dsl.load import load_workflow
from engine.spec.model import config_from_data, to_data
from tests.conftest import EXAMPLES
from tests.dsl.format.test_laws import workflows  # the formatter's strategy of models

FLOWS = sorted(EXAMPLES.glob("*/workflow.flow"))
ONE = EXAMPLES / "reference" / "disbursements.jsonl"


@pytest.mark.parametrize("flow", FLOWS, ids=lambda p: p.parent.name)
def test_model_data_round_trips_exactly(flow) -> None:
    config = load_workflow(flow.read_text(), str(flow)).config
    assert config_from_data(json.loads(json.dumps(to_data(config)))) == config


@settings(max_examples=60, deadline=None)
@given(workflows)
def test_model_data_round_trips_on_generated_workflows(config) -> None:
    assert config_from_data(json.loads(json.dumps(to_data(config)))) == config


def test_simulate_uses_the_cache_and_answers_the_same(cli, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("PAYROUTE_CACHE_DIR", str(tmp_path / "cache"))
    flow = str(EXAMPLES / "reference" / "workflow.flow")
    first = cli("simulate", flow, str(ONE), "--format", "jsonl")
    assert first.code == 0 and len(list((tmp_path / "cache").glob("*.json"))) == 1
    second = cli("simulate", flow, str(ONE), "--format", "jsonl")
    assert (second.code, second.out) == (0, first.out)
    text = cli("simulate", flow, str(ONE))
    assert "disbursement_amount $100,000.01 > $100,000.00: true → CFO Review" in text.out


def test_a_workflow_with_errors_is_never_cached(cli, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("PAYROUTE_CACHE_DIR", str(tmp_path / "cache"))
    bad = tmp_path / "bad.flow"
    bad.write_text((EXAMPLES / "reference" / "workflow.flow").read_text().replace('-> "CFO Review"', '-> "CFO"'))
    for _ in range(2):
        result = cli("simulate", str(bad), str(ONE))
        assert result.code == 1 and "name_unknown_step" in result.err
    assert not (tmp_path / "cache").exists() or not list((tmp_path / "cache").glob("*.json"))


def test_a_damaged_entry_is_a_miss(cli, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("PAYROUTE_CACHE_DIR", str(tmp_path / "cache"))
    flow = str(EXAMPLES / "reference" / "workflow.flow")
    first = cli("simulate", flow, str(ONE), "--format", "jsonl")
    (entry,) = (tmp_path / "cache").glob("*.json")
    entry.write_text("{not json")
    again = cli("simulate", flow, str(ONE), "--format", "jsonl")
    assert (again.code, again.out) == (0, first.out)


def test_off_means_off(monkeypatch) -> None:
    monkeypatch.setenv("PAYROUTE_CACHE_DIR", "off")
    assert check_cache.cache_dir() is None
    config = load_workflow((EXAMPLES / "reference" / "workflow.flow").read_text(), "w.flow").config
    check_cache.remember("text", config)
    assert check_cache.cached_config("text") is None
