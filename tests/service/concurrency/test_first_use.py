"""One service process, many request threads, a workflow version nobody has run yet
in this process (DSB-8, RESP-8, GEN-7).

A threaded web server shares one :class:`Services`. Its first requests on a
published version start and answer instances at the same moment; each must
simply succeed.
"""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from engine.service import directory, disbursements, instances
from engine.service.disbursements import PaymentLine
from engine.services import Services
from engine.store.db import Database

from .race import build_race_world, chain_breaks, fixed_clock

THREADS = 8


@contextmanager
def gc_that_lets_other_threads_run() -> Iterator[None]:
    """Frequent garbage collections that release the GIL, as finalizers doing I/O do in a
    busy server. It makes the thread interleavings of a loaded process happen on every run
    instead of once in a while: concurrent builds of pydantic's WorkflowConfig adapter failed
    inside ``ast`` on CPython 3.11 (first seen unprovoked in the 50-thread race; fixed by
    building it once, engine.spec.loader._adapter), and this test failed on every run until then."""
    old = gc.get_threshold()

    def let_others_run(_phase: str, _info: dict) -> None:
        time.sleep(0)

    gc.set_threshold(100)
    gc.callbacks.append(let_others_run)
    try:
        yield
    finally:
        gc.callbacks.remove(let_others_run)
        gc.set_threshold(*old)


@pytest.mark.rule("DSB-8")
def test_a_shared_service_starts_and_answers_a_fresh_version_on_many_threads_at_once(database_url: str) -> None:
    """8 threads of one Services each create a disbursement (which starts the workflow,
    DSB-8) and answer its first step, all at once, on a cold compiled-workflow cache."""
    world = build_race_world(database_url, reviewers=1, panel=1)
    invoices = [directory.create_invoice(world.svc, world.admin, world.company, world.project,
                                         payee=world.payee, number=f"FU-{i}", amount_due="5000.00").id
                for i in range(THREADS * 2)]
    world.svc.db.dispose()

    db = Database(database_url, pool_size=THREADS, max_overflow=0) if "postgresql" in database_url \
        else Database(database_url)
    svc = Services(db, clock=fixed_clock)  # a fresh process: nothing compiled yet
    errors: list[BaseException] = []
    done: list[str] = []
    barrier = threading.Barrier(THREADS)

    def client(k: int) -> None:
        try:
            barrier.wait(timeout=30)
            for inv in invoices[k::THREADS]:
                d = disbursements.create_disbursement(svc, world.creator, world.company, project_id=world.project,
                                                      funding_account=world.funding, payments=[PaymentLine(inv)]).id
                instances.respond(svc, world.reviewers[0], world.company, d, occurrence=1, answer="Approve")
                done.append(d)
        except BaseException as exc:  # noqa: BLE001 - collected and re-raised below
            errors.append(exc)

    try:
        with gc_that_lets_other_threads_run():
            threads = [threading.Thread(target=client, args=(k,)) for k in range(THREADS)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(120)
        if errors:
            raise errors[0]
        assert len(done) == THREADS * 2
        for d in done:
            view = instances.view(svc, world.admin, world.company, d)
            assert view is not None and view.current_step == "Panel Review"
        assert chain_breaks(svc) == []
    finally:
        db.dispose()
