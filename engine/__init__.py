"""payroute engine: the workflow model and everything that runs it, in wings.

- :mod:`engine.spec` (pure): the typed workflow model, its checks, compiler,
  evaluator and facts, the disbursement document, the JSON config front end
  and export, the one expression printer.
- :mod:`engine.runtime` (pure): the instance state machine and the company
  calendar; ``(state, command, now) -> new state + effects``.
- :mod:`engine.service`: the commands and queries, one transaction each:
  directory, templates, disbursements, instances, history, reminders, audit,
  replay-safe through idempotency.
- :mod:`engine.security`: who may act (permissions, segregation of duties)
  and the keys secrets are sealed with.
- :mod:`engine.payments`: bank accounts (drawdowns and payment orders next).
- :mod:`engine.outbox`: effects that leave after commit: emails queued, and
  delivered with one claim / lease / retry mechanism.
- :mod:`engine.store`: the tables, the database handle and the migrations.

At the root, the vocabulary every wing shares: :mod:`engine.diagnostics`
(located problems in a workflow), :mod:`engine.errors` (the domain refusals
and their registry), :mod:`engine.money`, :mod:`engine.text` (what a user's
text may hold) and :mod:`engine.services` (the ports a command runs with).

The engine never imports the :mod:`dsl` front end (the rule language is one
front end of two; the other is hand-written JSON configs) nor :mod:`web`;
``docs/architecture.md`` has the import rules and ``tests/test_layering.py``
enforces them. No package here imports its submodules on import, so
``payroute --help`` stays free of SQLAlchemy and pydantic.
"""

__all__ = ["diagnostics", "errors", "money", "text", "services",
           "spec", "runtime", "service", "security", "payments", "outbox", "store"]
