"""Effects that leave after commit, at least once.

:mod:`~engine.outbox.emails` composes emails and queues them in the caller's
transaction; :mod:`~engine.outbox.delivery` claims queued rows under a lease,
sends them and records the outcome on the :mod:`~engine.outbox.retry_policy`
(the bank dispatch will reuse the same mechanism).
"""

__all__ = ["delivery", "emails", "retry_policy"]
