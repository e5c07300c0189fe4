"""The engine's commands and queries, each one database transaction.

Every command takes ``(svc, actor, company_id, ...)``, checks its own
permissions (:mod:`engine.security`), runs the pure machine
(:mod:`engine.runtime`), and writes state, audit entries (:mod:`.audit`) and
outbox rows (:mod:`engine.outbox`) together; state-changing commands are
replay-safe through :mod:`.idempotency`. This is the contract the HTTP
service and the pages call.
"""

__all__ = ["audit", "audit_verification", "demo", "directory", "disbursement_queries", "disbursements", "history",
           "idempotency", "inbox", "insights", "instance_store", "instances", "reminders", "templates",
           "tokens", "transition_rows"]
