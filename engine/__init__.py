"""payroute engine: the workflow model and everything that runs it.

Pure parts (no database): the typed model, its checks, compiler, evaluator
and facts, the one expression printer (``expression_text``), the JSON front
end (``loader``, ``export``) and the instance state machine (``runtime``,
``calendar``). Commands and queries, one transaction each over
:mod:`engine.store`: ``directory``, ``bank_accounts``, ``templates``,
``disbursements``, ``workflows``, ``history``, ``reminders``, ``audit``,
replay-safe through ``idempotency``; who may act is ``permissions`` and
``segregation``; secrets come from ``keys``; ``notify`` queues emails and
``worker`` delivers them on the ``retry_policy``.

The rule language is one front end among two (the other being hand-written
JSON configs): the engine never imports the :mod:`dsl` front end, only its
leaf vocabulary :mod:`dsl.diagnostics` (issue 9 moves that into the engine).
"""
