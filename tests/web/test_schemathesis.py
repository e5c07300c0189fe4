"""Schemathesis over the whole /openapi.json: every documented operation, generated requests, every check.

The operations come from the app's own document (``schemathesis.pytest.from_fixture``), so an
endpoint added to the app is fuzzed here without a line changed. Each one runs with a bounded number
of examples, derandomized (the same cases on every CI run: a failure here is reproducible, not
flaky), on a database seeded with the demo company, with a token of its Payments Admin; about half of
the schema-valid cases name demo objects in their path parameters (:func:`real_ids`), so the
company-scoped endpoints are reached past their 404. All of schemathesis' checks run: no 5xx,
status codes documented, content types and headers as documented, bodies valid against their
schemas, schema-invalid requests refused, 401 without the token — and schema-valid requests accepted,
in the one form that fits a rules engine (:func:`schema_valid_request_accepted`).
"""

from __future__ import annotations

import random
import re
from typing import Any, Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

#: The problem codes of a request the service could not even read as its model: a schema-valid
#: request must never get one (the document promised what the request model then refused).
_SHAPE_CODES = frozenset({"validation_failed", "bad_request", "unsupported_media_type"})


def schema_valid_request_accepted(ctx: Any, response: Any, case: Any) -> None:
    """Schemathesis' ``positive_data_acceptance``, fitted to a rules engine: a request the schema
    accepts must not be refused *for its shape* (a 400 or 422 problem whose code is one of
    :data:`_SHAPE_CODES`: the document and the request model disagree, a real contract bug).

    Why not the stock check, which wants 2xx (or 401/403/404/409) for every schema-valid request:
    here a schema-valid request can be refused for what it means, which no JSON Schema can say —
    a random `.flow` text or config that does not compile (422 ``workflow_invalid``), a payment
    above the invoice's amount due (422 ``invalid_amount``), an opaque cursor this service never
    issued (400 ``bad_cursor``). Those refusals carry their own domain codes, and stay allowed."""
    meta = getattr(case, "meta", None)
    if meta is None or not meta.generation.mode.is_positive or response.status_code not in (400, 415, 422):
        return
    try:
        code = response.json().get("code")
    except ValueError:
        code = None
    if code in _SHAPE_CODES or code is None:
        raise AssertionError(f"a schema-valid request was refused for its shape ({response.status_code} {code}): "
                             f"the OpenAPI document accepts what the request model refuses\n{response.text[:2000]}")


#: Examples per operation: enough to reach every branch of the current bodies' schemas,
#: few enough that the run stays well under two minutes with dozens of operations.
EXAMPLES = 40


def demo_ids(demo: Any) -> dict[str, list[str]]:
    """Path parameters the demo can fill with real objects, by the names web/api/common.py's
    conventions give them: so that a generated request on a company-scoped resource reaches the
    demo's objects (and the code behind them), not only the 404 of an id that exists nowhere."""
    return {"company_id": [demo.company], "project_id": list(demo.projects), "template_id": [demo.template],
            "disbursement_id": list(demo.disbursements.values()), "user_id": sorted(demo.users.values())}


def real_ids(path_parameters: dict[str, Any] | None, ids: dict[str, list[str]], *, positive: bool) -> None:
    """In about half of the schema-valid cases, each path parameter the demo knows names a demo object
    (which one, and which cases, derived from the parameters themselves: the same on every run). A
    schema-invalid case stays as generated: its point is the invalid value."""
    if not path_parameters or not positive:
        return
    pick = random.Random(repr(sorted(path_parameters.items(), key=repr)))
    if pick.random() < 0.5:
        for name in path_parameters:
            if name in ids:
                path_parameters[name] = pick.choice(ids[name])


def _demo_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, str]]:
    """The app on a SQLite file of its own, migrated and seeded with the demo, and an admin token."""
    from dsl.load import load_workflow
    from engine.service import tokens
    from engine.service.demo import DEMO_ADMIN, seed_demo
    from engine.store.migrate import upgrade
    from tests.world import REFERENCE
    from web.app import create_app

    url = f"sqlite:///{tmp_path_factory.mktemp('schemathesis') / 'demo.sqlite3'}"
    with pytest.MonkeyPatch.context() as env:  # the module's set-up runs before the per-test audit key
        env.setenv("PAYROUTE_INSECURE_DEVELOPMENT_KEY", "1")
        upgrade(url)
        app = create_app({"TESTING": True, "PAYROUTE_DATABASE_URL": url})
        svc = app.extensions["payroute"]
        demo = seed_demo(svc, load_workflow(REFERENCE, "workflow.flow"))
        secret = tokens.mint(svc, DEMO_ADMIN, name="schemathesis").secret
    from engine.payments.bank_accounts import list_bank_accounts

    ids = demo_ids(demo)
    ids["account_id"] = [a.id for a in list_bank_accounts(svc, demo.users[DEMO_ADMIN], demo.company).items]
    app.config["TEST_DEMO_IDS"] = ids
    yield app, secret
    svc.db.dispose()


@pytest.fixture(scope="module")
def demo_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, str]]:
    """The demo app the fuzzer works on (it changes the demo as it goes)."""
    yield from _demo_app(tmp_path_factory)


@pytest.fixture
def fresh_demo_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, str]]:
    """A demo app nothing has changed yet: the documented examples are answered from a known state."""
    yield from _demo_app(tmp_path_factory)


@pytest.fixture(scope="module")
def api_schema(demo_app: tuple[Any, str]) -> Any:
    app, _ = demo_app
    return schemathesis.openapi.from_wsgi("/openapi.json", app)


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=EXAMPLES, derandomize=True, database=None, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.filter_too_much])
def test_every_operation_keeps_its_contract(case: Any, demo_app: tuple[Any, str]) -> None:
    app, secret = demo_app
    meta = case.meta
    real_ids(case.path_parameters, app.config["TEST_DEMO_IDS"],
             positive=meta is not None and meta.generation.mode.is_positive)
    case.call_and_validate(headers={"Authorization": f"Bearer {secret}"},
                           excluded_checks=[positive_data_acceptance],
                           additional_checks=[schema_valid_request_accepted])


def test_the_fuzzed_document_lists_the_operations_of_the_app(api_schema: Any) -> None:
    """The parametrization above is over the app's live document: it holds at least today's operations."""
    operations = {(op.ok().method.upper(), op.ok().path) for op in api_schema.get_all_operations()}
    assert {("GET", "/health"), ("POST", "/v1/check"), ("POST", "/v1/evaluate")} <= operations


def test_every_documented_request_example_is_answered_2xx(fresh_demo_app: tuple[Any, str]) -> None:
    """The request examples in the document (Swagger UI's "Try it out", schemathesis' examples phase) work:
    so the fuzzing above also sends requests that succeed, and checks real 2xx bodies against their schemas."""
    app, secret = fresh_demo_app
    client = app.test_client()
    doc = client.get("/openapi.json").get_json()
    sent = 0
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            media = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
            for example in media.get("examples", {}).values():
                # a path's parameters name the demo's objects (every one the document uses must be known)
                names = re.findall(r"{(\w+)}", path)
                assert set(names) <= set(app.config["TEST_DEMO_IDS"]), (path, names)
                url = re.sub(r"{(\w+)}", lambda m: app.config["TEST_DEMO_IDS"][m.group(1)][0], path)
                response = client.open(url, method=method.upper(), json=example["value"],
                                       headers={"Authorization": f"Bearer {secret}"})
                assert 200 <= response.status_code < 300, (method, path, response.get_json())
                sent += 1
    assert sent >= 2  # at least /v1/check's and /v1/evaluate's


def test_real_ids_name_demo_objects_in_about_half_of_the_valid_cases() -> None:
    ids = {"company_id": ["C1"], "disbursement_id": ["D1", "D2"]}
    cases = [{"company_id": f"c{i}", "disbursement_id": f"d{i}", "other": f"o{i}"} for i in range(200)]
    for params in cases:
        real_ids(params, ids, positive=True)
    filled = [p for p in cases if p["company_id"] == "C1"]
    assert 60 < len(filled) < 140  # about half
    assert all(p["disbursement_id"] in ("D1", "D2") for p in filled)
    assert {p["disbursement_id"] for p in filled} == {"D1", "D2"}
    assert all(p["other"].startswith("o") for p in cases)  # an unknown name is never touched
    kept = [p for p in cases if p["company_id"] != "C1"]
    assert all(p["disbursement_id"].startswith("d") for p in kept)  # a case is filled whole, or not at all
    again = [{"company_id": f"c{i}", "disbursement_id": f"d{i}", "other": f"o{i}"} for i in range(200)]
    for params in again:
        real_ids(params, ids, positive=True)
    assert again == cases  # the same on every run
    invalid = {"company_id": 7}
    real_ids(invalid, ids, positive=False)
    assert invalid == {"company_id": 7}
