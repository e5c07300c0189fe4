"""Twenty authorizations of one disbursement at once over HTTP (AUTH-11, GEN-7, GEN-8): exactly one
200, nineteen 409 problems, exactly one drawdown and one payment order per payment, and only the
winner's code spent (AUTH-4); on SQLite, and on PostgreSQL when PAYROUTE_TEST_DATABASE_URL is set.

The app is served by a threaded werkzeug server on a loopback port — real sockets, a request thread
each, the app's own connection pool — so the twenty requests are twenty concurrent transactions in
the service (a gunicorn of N sync workers would let at most N of them in at once). Each racer is a
distinct eligible Disburser with a bearer token, an Idempotency-Key and a valid TOTP code of their
own, held at a barrier until all are ready. tests/service/concurrency/test_authorize_race.py is the
same race through the engine's function; tests/web/test_concurrent_serve.py races two real
``payroute serve`` processes on answers.
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections import Counter
from typing import Any, Iterator

import pytest
from sqlalchemy import func, select
from werkzeug.serving import make_server

from engine.security import totp
from engine.security.permissions import PAYMENTS_DISBURSER
from engine.service import directory, tokens
from engine.store.tables import AuditEntry, Disbursement, Drawdown, IdempotencyRecord, MfaEnrollment, PaymentOrder
from tests.payments.authorizing import make_ready
from tests.payments.banking import Authenticator
from tests.roles import grant_role
from tests.web.test_api_directory import Api, api  # noqa: F401 - the fixture

RACERS = 20


@pytest.fixture
def served(api: Api, clock) -> Iterator[tuple[Api, str]]:  # noqa: F811 - the fixture above
    """The api's app behind a threaded werkzeug server on a free loopback port: (api, base URL)."""
    api.svc.clock = clock
    server = make_server("127.0.0.1", 0, api.app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="payroute-http", daemon=True)
    thread.start()
    try:
        yield api, f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=30)
        server.server_close()


def _post(url: str, token: str, key: str, body: dict[str, Any]) -> tuple[int, str, dict[str, Any]]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST", headers={
        "Content-Type": "application/json", "Authorization": f"Bearer {token}", "Idempotency-Key": key})
    try:
        with urllib.request.urlopen(request, timeout=120) as r:
            return r.status, r.headers.get_content_type(), json.loads(r.read())
    except urllib.error.HTTPError as exc:
        with exc:  # an HTTPError holds the response's socket
            return exc.code, exc.headers.get_content_type(), json.loads(exc.read())


@pytest.mark.rule("AUTH-11", "GEN-7", "GEN-8")
def test_twenty_concurrent_authorize_requests_are_one_200_and_nineteen_409s_and_one_drawdown(served,
                                                                                            clock) -> None:
    api, base = served
    svc = api.svc
    r = make_ready(svc, clock, api.w)
    d = r.disbursement(("1200.00", None), ("34.56", None))
    racers: list[tuple[Authenticator, str]] = []
    for i in range(RACERS):
        email = f"disburser{i}@gc.example"
        user = directory.create_user(svc, email, f"Disburser {i}").id
        directory.add_member(svc, r.w.admin, r.w.company, email)
        grant_role(svc, r.w.admin, r.w.company, user, PAYMENTS_DISBURSER)
        racers.append((Authenticator(svc, clock, r.w.company, user), tokens.mint(svc, email, name="race").secret))
    clock.advance(seconds=30)  # every racer's code is of a step none of them used yet
    step = totp.step_at(clock())
    codes = [totp.code_at_step(a.secret, step) for a, _ in racers]
    url = f"{base}/v1/companies/{r.w.company}/disbursements/{d}/authorize"

    barrier = threading.Barrier(RACERS)
    outcomes: list[Any] = [None] * RACERS

    def run(i: int) -> None:
        barrier.wait(timeout=60)
        try:
            outcomes[i] = _post(url, racers[i][1], f"race-{i}", {"mfa_code": codes[i]})
        except BaseException as exc:  # noqa: BLE001 - a transport failure is an outcome here
            outcomes[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(RACERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(180)
        assert not t.is_alive(), "a request did not finish (deadlock?)"

    broken = [repr(o) for o in outcomes if not isinstance(o, tuple)]
    assert not broken, broken
    statuses = Counter(status for status, _, _ in outcomes)
    assert statuses == {200: 1, 409: RACERS - 1}, [(s, b.get("code")) for s, _, b in outcomes]
    (winner,) = [(i, body) for i, (status, _, body) in enumerate(outcomes) if status == 200]
    refused = [(kind, body) for status, kind, body in outcomes if status == 409]
    assert all(kind == "application/problem+json" for kind, _ in refused)
    assert {body["code"] for _, body in refused} <= {"disbursement_authorized", "state_conflict"}, refused
    assert all(body["status"] == 409 and body["detail"] for _, body in refused)
    assert not any(code in json.dumps(body) for code in codes for _, _, body in outcomes)  # never echoed

    index, won = winner
    who = racers[index][0].user
    assert won["authorized_by"] == who and won["drawdown_amount"] == "1234.56"
    assert sorted(o["amount"] for o in won["payment_orders"]) == ["1200.00", "34.56"]
    with svc.db.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Drawdown)) == 1
        orders = list(s.scalars(select(PaymentOrder)))
        assert len(orders) == 2 and len({o.invoice_id for o in orders}) == 2
        assert len({o.check_number for o in orders}) == 2
        assert sum(o.amount for o in orders) == s.scalar(select(Drawdown.amount))
        row = s.get(Disbursement, d)
        assert row.authorized_by == who and row.drawdown_status == "Funding Requested"
        assert s.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "disbursement_authorized")) == 1
        # GEN-8: only the winner's key holds a result to replay
        assert s.scalar(select(func.count()).select_from(IdempotencyRecord).where(
            IdempotencyRecord.key.like("race-%"))) == 1
        # AUTH-4: only the winner's code was spent; nobody's failure was counted
        spent = [a.user for a, _ in racers if s.get(MfaEnrollment, a.user).last_step == step]
        assert spent == [who]
        assert all(s.get(MfaEnrollment, a.user).failures == 0 for a, _ in racers)

    # the winner's retry with its key replays the first answer; a loser's retry is refused again
    again = _post(url, racers[index][1], f"race-{index}", {"mfa_code": totp.code_at_step(racers[index][0].secret,
                                                                                       step + 1)})
    assert again[0] == 200 and again[2] == won
    loser = (index + 1) % RACERS
    retried = _post(url, racers[loser][1], f"race-{loser}", {"mfa_code": codes[loser]})
    assert (retried[0], retried[2]["code"]) == (409, "disbursement_authorized")
