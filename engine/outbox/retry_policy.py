"""How often the outbox worker tries a row (an email) before dead-lettering it (AUD-5).

The bounds :mod:`engine.outbox.lease` enforces for every sender.

A module of its own, importing nothing, so the command line can show these
defaults in ``payroute worker --help`` (and ``payroute --help``) without
loading SQLAlchemy and the worker.
"""

from __future__ import annotations

__all__ = ["MAX_ATTEMPTS", "PERMANENT_ATTEMPTS"]

#: a transient failure (4xx, connection, timeout) is retried with backoff this many times in all
MAX_ATTEMPTS = 10
#: a permanent refusal (5xx) is tried this many times: once more, in case the 5xx was misused
PERMANENT_ATTEMPTS = 2
