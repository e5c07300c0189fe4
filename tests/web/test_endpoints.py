"""/health, POST /v1/check and POST /v1/evaluate through Flask's test client."""

from __future__ import annotations

import copy
import json

import pytest

from tests.web.conftest import authorized
from tests.web.test_problems import assert_problem
from web.workflows import config_text


# ---------------------------------------------------------------- /health


def test_health_answers_once_the_database_does(make_app, database_url) -> None:
    response = make_app(PAYROUTE_DATABASE_URL=database_url).test_client().get("/health")
    assert response.status_code == 200 and response.get_json() == {"status": "ok"}


def test_health_is_503_when_the_database_does_not_answer(make_app, tmp_path) -> None:
    client = make_app(create_tables=False,
                      PAYROUTE_DATABASE_URL=f"sqlite:///{tmp_path / 'missing' / 'dir' / 'x.sqlite3'}").test_client()
    body = assert_problem(client.get("/health"), 503, "service_unavailable")
    assert "sqlite" not in json.dumps(body).lower()


# ---------------------------------------------------------------- /v1/check


def _cli_check(cli, tmp_path, monkeypatch, name: str, text: str) -> dict:
    monkeypatch.chdir(tmp_path)
    (tmp_path / name).write_text(text, encoding="utf-8")
    result = cli("check", name, "--format", "json")
    assert result.code in (0, 1)
    return json.loads(result.out)


@pytest.mark.parametrize("broken", [False, True], ids=["clean", "with-errors"])
def test_check_answers_exactly_what_payroute_check_prints(client, cli, tmp_path, monkeypatch, reference_flow,
                                                          broken: bool) -> None:
    text = reference_flow.replace('-> "CFO Review"', '-> "CFO Reveiw"') if broken else reference_flow
    response = client.post("/v1/check", json={"flow": text})
    assert response.status_code == 200
    assert response.get_json() == _cli_check(cli, tmp_path, monkeypatch, "workflow.flow", text)
    assert response.get_json()["result"] == ("error" if broken else "ok")
    if broken:
        (diag,) = response.get_json()["diagnostics"]
        assert (diag["code"], diag["file"], diag["line"]) == ("name_unknown_step", "workflow.flow", 17)


@pytest.mark.parametrize("broken", [False, True], ids=["clean", "with-errors"])
def test_check_of_a_json_config_matches_the_cli_on_the_same_document(client, cli, tmp_path, monkeypatch,
                                                                     reference_flow, broken: bool) -> None:
    compiled = cli("compile", "-", stdin=reference_flow)
    assert compiled.code == 0
    config = json.loads(compiled.out)
    if broken:
        config["start"] = "Nowhere"
    response = client.post("/v1/check", json={"config": config})
    assert response.status_code == 200
    assert response.get_json() == _cli_check(cli, tmp_path, monkeypatch, "workflow.json", config_text(config))
    assert response.get_json()["result"] == ("error" if broken else "ok")


def test_check_needs_exactly_one_source(client) -> None:
    for body in ({}, {"flow": "x", "config": {}}):
        problem = assert_problem(client.post("/v1/check", json=body), 422, "validation_failed")
        assert problem["errors"][0]["pointer"] == ""
    problem = assert_problem(client.post("/v1/check", json={"flow": 3}), 422, "validation_failed")
    assert problem["errors"][0]["pointer"] == "/flow"


# ---------------------------------------------------------------- /v1/evaluate


def _cli_simulate(cli, tmp_path, flow: str, documents: list[dict], *extra: str) -> list[dict]:
    (tmp_path / "sim.flow").write_text(flow, encoding="utf-8")
    batch = tmp_path / "batch.jsonl"
    batch.write_text("".join(json.dumps(d) + "\n" for d in documents), encoding="utf-8")
    result = cli("simulate", str(tmp_path / "sim.flow"), str(batch), "--format", "json", *extra)
    return json.loads(result.out)["results"]


def _same_as_simulate(results: list[dict], simulated: list[dict]) -> None:
    assert len(results) == len(simulated)
    for got, want in zip(results, simulated):
        assert {k: got[k] for k in ("id", "path", "end", "outcome", "stopped")} == \
            {k: want[k] for k in ("id", "path", "end", "outcome", "stopped")}
        assert got["reasons"] == want["visits"]


def _row_counts(svc) -> dict[str, int]:
    from sqlalchemy import inspect, text

    with svc.db.engine.connect() as conn:
        return {table: conn.execute(text(f'SELECT COUNT(*) FROM "{table}"')).scalar()
                for table in inspect(conn).get_table_names()}


@pytest.mark.rule("ROLL-6")
def test_evaluate_routes_like_payroute_simulate_and_changes_nothing(make_app, cli, tmp_path, reference_flow,
                                                                    reference_disbursements) -> None:
    app = make_app()
    svc = app.extensions["payroute"]
    client = authorized(app)
    before = _row_counts(svc)
    response = client.post("/v1/evaluate", json={"workflow": {"flow": reference_flow},
                                                 "disbursements": reference_disbursements})
    assert response.status_code == 200
    body = response.get_json()
    assert body["workflow_hash"].startswith("sha256:") and len(body["workflow_hash"]) == 71
    _same_as_simulate(body["results"], _cli_simulate(cli, tmp_path, reference_flow, reference_disbursements))
    assert {r["end"] for r in body["results"]} == {"Approved"}
    assert _row_counts(svc) == before  # ROLL-6: nothing written anywhere


@pytest.mark.rule("ROLL-6")
def test_evaluate_with_answers_and_a_default_answer_like_simulate(client, cli, tmp_path, reference_flow,
                                                                  reference_disbursements) -> None:
    big = copy.deepcopy(reference_disbursements[0])
    big["id"] = "D-BIG"
    big["invoices"][0]["amount"] = "150000.00"
    documents = [reference_disbursements[0], big]
    for answers, default, extra in (({"CFO Review": "Reject"}, "Approve", ("--answer", "CFO Review=Reject")),
                                    ({}, "Reject", ("--default-answer", "Reject")),
                                    ({}, "Maybe", ("--default-answer", "Maybe"))):
        response = client.post("/v1/evaluate", json={"workflow": {"flow": reference_flow}, "disbursements": documents,
                                                     "answers": answers, "default_answer": default})
        assert response.status_code == 200
        _same_as_simulate(response.get_json()["results"], _cli_simulate(cli, tmp_path, reference_flow, documents,
                                                                        *extra))
    stopped = response.get_json()["results"][0]
    assert stopped["end"] is None and "does not offer the answer" in stopped["stopped"]


@pytest.mark.rule("ROLL-6", "GEN-3")
def test_evaluate_one_disbursement_from_a_json_config(client, cli, reference_flow, reference_disbursements) -> None:
    config = json.loads(cli("compile", "-", stdin=reference_flow).out)
    flow = client.post("/v1/evaluate", json={"workflow": {"flow": reference_flow},
                                             "disbursement": reference_disbursements[0]}).get_json()
    inline = client.post("/v1/evaluate", json={"workflow": {"config": config},
                                               "disbursement": reference_disbursements[0]}).get_json()
    assert inline == flow and len(flow["results"]) == 1
    decision = flow["results"][0]["reasons"][1]["decision"]
    # GEN-3: the exact sum of the payments, as a decimal string
    assert decision["facts"][0] == {"fact": "disbursement_amount", "value": "60250.00", "text": "$60,250.00"}


def test_an_inline_workflow_is_compiled_once_per_process(make_app, reference_flow, reference_disbursements) -> None:
    app = make_app()
    client = authorized(app)
    body = {"workflow": {"flow": reference_flow}, "disbursement": reference_disbursements[0]}
    first = [client.post("/v1/evaluate", json=body).get_json() for _ in range(3)]
    reformatted = {**body, "workflow": {"flow": reference_flow.replace("    ", "  ")}}
    again = client.post("/v1/evaluate", json=reformatted).get_json()
    assert first[0] == first[1] == first[2] and again["workflow_hash"] == first[0]["workflow_hash"]
    cache = app.extensions["payroute.inline"]
    assert cache.compiles == 2  # two texts, each loaded once; they share one compiled workflow
    assert len(cache._by_hash) == 1


def test_a_workflow_with_errors_is_422_with_its_diagnostics(client, reference_flow, reference_disbursements) -> None:
    broken = reference_flow.replace('-> "CFO Review"', '-> "CFO Reveiw"')
    body = assert_problem(client.post("/v1/evaluate", json={"workflow": {"flow": broken},
                                                            "disbursement": reference_disbursements[0]}),
                          422, "workflow_invalid")
    (error,) = body["errors"]
    assert (error["pointer"], error["code"], error["line"], error["column"]) == \
        ("/workflow/flow", "name_unknown_step", 17, 51)
    assert "did you mean" in error["hint"]


def test_a_config_with_errors_points_into_the_config(client, cli, reference_flow, reference_disbursements) -> None:
    config = json.loads(cli("compile", "-", stdin=reference_flow).out)
    config["start"] = "Nowhere"
    body = assert_problem(client.post("/v1/evaluate", json={"workflow": {"config": config},
                                                            "disbursement": reference_disbursements[0]}),
                          422, "workflow_invalid")
    assert [e["pointer"] for e in body["errors"]] == ["/workflow/config/start"]


@pytest.mark.rule("GEN-2")
def test_a_bad_disbursement_is_422_with_json_pointers(client, reference_flow, reference_disbursements) -> None:
    bad = copy.deepcopy(reference_disbursements[0])
    bad["invoices"][0]["amount"] = 48250.0  # a JSON number for money
    bad["invoices"][1]["amount"] = "1.005"
    bad["color"] = "red"
    body = assert_problem(client.post("/v1/evaluate", json={"workflow": {"flow": reference_flow},
                                                            "disbursements": [reference_disbursements[0], bad]}),
                          422, "validation_failed")
    pointers = {e["pointer"]: e["detail"] for e in body["errors"]}
    assert set(pointers) == {"/disbursements/1/invoices/0/amount", "/disbursements/1/invoices/1/amount",
                             "/disbursements/1/color"}
    assert "not a JSON number" in pointers["/disbursements/1/invoices/0/amount"]
    assert "unknown field" in pointers["/disbursements/1/color"]
    single = assert_problem(client.post("/v1/evaluate", json={"workflow": {"flow": reference_flow},
                                                              "disbursement": bad}), 422, "validation_failed")
    assert "/disbursement/invoices/0/amount" in {e["pointer"] for e in single["errors"]}


def test_evaluate_refuses_bad_shapes(client, reference_flow, reference_disbursements) -> None:
    one = reference_disbursements[0]
    cases = [
        ({"workflow": {"flow": reference_flow}}, ""),
        ({"workflow": {"flow": reference_flow}, "disbursement": one, "disbursements": [one]}, ""),
        ({"workflow": {"flow": reference_flow}, "disbursements": [one] * 1001}, "/disbursements"),
        ({"workflow": {"template": "T-1"}, "disbursement": one}, "/workflow/template"),
        ({"workflow": {"flow": reference_flow}, "disbursement": one, "answers": {"Controller Review": 1}},
         "/answers/Controller Review"),
    ]
    for body, where in cases:
        problem = assert_problem(client.post("/v1/evaluate", json=body), 422, "validation_failed")
        assert where in [e["pointer"] for e in problem["errors"]], (body.keys(), problem)


def test_an_answer_must_fit_the_workflow(client, reference_flow, reference_disbursements) -> None:
    body = {"workflow": {"flow": reference_flow}, "disbursement": reference_disbursements[0]}
    for answers, where, says in (({"CFO Reveiw": "Approve"}, "/answers/CFO Reveiw", "did you mean"),
                                 ({"CFO Review": "Maybe"}, "/answers/CFO Review", "offers"),
                                 ({"Approved": "Approve"}, "/answers/Approved", "end step")):
        problem = assert_problem(client.post("/v1/evaluate", json={**body, "answers": answers}),
                                 422, "invalid_answer")
        (error,) = problem["errors"]
        assert error["pointer"] == where and says in error["detail"] and "--answer" not in error["detail"]
