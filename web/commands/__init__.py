"""The operator verbs, one module each: they run the service (database, worker, audit log, the HTTP server).

Listed with the language verbs in :data:`web.cli.VERBS`.
"""

__all__ = ["audit", "db", "serve", "worker"]
