"""The service edge: the ``payroute`` command (:mod:`web.cli`), the operator verbs
(:mod:`web.commands`), and next the Flask service and its pages.

This is the one place allowed to import everything (the language, the engine,
the store). Nothing here is imported on ``import web``, so the language verbs
start without the web stack.
"""

__all__ = ["cli", "commands"]
