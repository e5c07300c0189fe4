"""The service root: the database, the injected clock, shared caches.

Every engine operation that changes state takes a :class:`Services` as its
first argument, opens exactly one transaction with :meth:`Services.tx`, and
writes the change, its audit entries and its outbox emails in it (AUD-1).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from engine.errors import DomainError
from engine.store.db import Database

if TYPE_CHECKING:
    from engine.payments.bank import BankAdapter
    from engine.spec.compiler import CompiledWorkflow


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class Services:
    db: Database
    clock: Callable[[], datetime] = utc_now
    #: the bank ports by mode (False: production, True: sandbox, ROLL-3); unset, each is the
    #: simulated bank over its stored book (:mod:`engine.payments.stored_bank`)
    banks: dict[bool, BankAdapter] = field(default_factory=dict)
    _compiled: dict[str, CompiledWorkflow] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    #: the transaction open in this thread, which a nested :meth:`tx` joins
    _open: threading.local = field(default_factory=threading.local)

    def bank(self, sandbox: bool) -> BankAdapter:
        """The bank a sandbox (or production) instruction goes to: never the other's (ROLL-4)."""
        found = self.banks.get(bool(sandbox))
        if found is None:
            from engine.payments.stored_bank import StoredBank, book_name

            found = self.banks.setdefault(bool(sandbox), StoredBank(self.db, book_name(bool(sandbox))))
        return found

    def now(self) -> datetime:
        moment = self.clock()
        if moment.tzinfo is None:
            raise ValueError("the injected clock must return timezone-aware datetimes")
        return moment

    @contextmanager
    def tx(self) -> Iterator[Session]:
        """One state change = one transaction. A unique-constraint or
        serialization failure means a concurrent request won: ``state_conflict``.

        An audited refusal (AUD-4) rolls the command back like any refusal,
        then is recorded in a transaction of its own before it is re-raised.

        A ``tx()`` opened while one is open in the same thread joins it: a
        command run by another (an idempotent wrapper) commits or rolls back
        with it, as one state change; the outermost one records refusals.
        """
        joined = getattr(self._open, "session", None)
        if joined is not None:
            yield joined
            return
        try:
            with self.db.transaction() as session:
                self._open.session = session
                try:
                    yield session
                finally:
                    self._open.session = None
        except DomainError as exc:
            if exc.audit is not None:
                self._record_refusal(exc)
            raise
        except (IntegrityError, StaleDataError) as exc:
            raise DomainError("state_conflict",
                              "another request changed this object at the same time; reload and retry",
                              rule="GEN-7") from exc
        except OperationalError as exc:
            text = str(exc.orig).lower() if exc.orig is not None else ""
            if "deadlock" in text or "could not serialize" in text or "database is locked" in text:
                raise DomainError("state_conflict",
                                  "another request changed this object at the same time; reload and retry",
                                  rule="GEN-7") from exc
            raise

    def _record_refusal(self, error: DomainError, attempts: int = 3) -> None:
        """Write ``error``'s refusal entry; retried when a concurrent write took the chain's next seq.

        If every attempt loses, the conflict is raised (with the refusal as its
        context): a security refusal is never dropped silently.
        """
        from engine.service import audit

        for attempt in range(attempts):
            try:
                with self.tx() as session:
                    at = self.now()
                    audit.append_refusal(session, at=at, error=error)
                    if error.audit is not None and error.audit.follow_up is not None:
                        error.audit.follow_up(session, at)
                return
            except DomainError as exc:
                if exc.code != "state_conflict" or attempt == attempts - 1:
                    raise

    def compiled(self, content_hash: str,
                 document: dict[str, Any] | Callable[[], dict[str, Any]]) -> CompiledWorkflow:
        """The compiled workflow of a published version, compiled once per process.

        ``document`` may be a function that loads it: it is called only on a cache miss.
        """
        found = self._compiled.get(content_hash)
        if found is not None:
            return found
        if callable(document):
            document = document()
        from engine.spec.compiler import compile_workflow
        from engine.spec.loader import config_from_document

        compiled = compile_workflow(config_from_document(document))
        with self._lock:
            self._compiled.setdefault(content_hash, compiled)
        return self._compiled[content_hash]
