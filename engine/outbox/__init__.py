"""Effects that leave after commit, at least once.

:mod:`~engine.outbox.emails` composes emails and queues them in the caller's
transaction; :mod:`~engine.outbox.lease` owns a queued row's life — claimed
under a lease, handed to a sender, marked sent, backed off or dead-lettered on
the :mod:`~engine.outbox.retry_policy` bounds, requeued by an operator;
:mod:`~engine.outbox.smtp` is the sender for emails (settings, messages, the
SMTP session). The bank dispatch will reuse the lease with a sender of its own.
"""

__all__ = ["emails", "lease", "retry_policy", "smtp"]
