"""The service edge: the ``payroute`` command (:mod:`web.cli`), the operator verbs
(:mod:`web.commands`), and the HTTP service: :func:`web.app.create_app`, its
configuration (:mod:`web.config`), its resources (:mod:`web.api`), bearer tokens on
/v1 (:mod:`web.auth`), its errors as
problem+json (:mod:`web.errors`) and the inline-workflow cache (:mod:`web.workflows`);
next its pages.

This is the one place allowed to import everything (the language, the engine,
the store). Nothing here is imported on ``import web``, so the language verbs
start without the web stack (Flask and flask-openapi3 load only with :mod:`web.app`).
"""

__all__ = ["api", "app", "auth", "cli", "commands", "config", "errors", "workflows"]
