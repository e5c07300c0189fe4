"""The workflow specification, pure (no database, no I/O, no clock).

A workflow enters as a typed :mod:`~engine.spec.model` (from ``.flow`` text
through :mod:`dsl`, or from a JSON config through :mod:`~engine.spec.loader`),
is checked by :mod:`~engine.spec.checks`, compiled to an immutable
:class:`~engine.spec.compiler.CompiledWorkflow` and evaluated against the
:mod:`~engine.spec.facts` of a :mod:`~engine.spec.disbursement` document.
:mod:`~engine.spec.export` writes the canonical JSON config and its hash;
:mod:`~engine.spec.expression_text` is the one printer of conditions, and
:mod:`~engine.spec.expression_words` says a condition in words for people (an inbox reason);
:mod:`~engine.spec.published_schemas` generates ``schemas/*.json``.
"""

__all__ = ["model", "checks", "compiler", "evaluator", "facts", "disbursement", "disbursement_rules",
           "loader", "export", "expression_text", "expression_words", "published_schemas"]
