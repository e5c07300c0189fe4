"""The service's configuration: ``PAYROUTE_*`` environment variables over embedded defaults.

====================== ============================== ==========================================
variable               app.config key                 default
====================== ============================== ==========================================
PAYROUTE_DATABASE_URL  ``PAYROUTE_DATABASE_URL``      SQLite at ``instance/payroute.sqlite3``
PAYROUTE_MAX_BODY      ``MAX_CONTENT_LENGTH``         16 MiB (bytes; a larger body is 413)
PAYROUTE_SECRET_KEY    ``SECRET_KEY``                 none: required unless testing or demo
====================== ============================== ==========================================

Reading the environment has no side effects: the SQLite default's instance
folder is created only when an app is made without a database URL
(:func:`database_url`).
"""

from __future__ import annotations

import os
from typing import Any, Mapping

DEFAULT_MAX_BODY = 16 * 1024 * 1024


class ConfigError(ValueError):
    """A configuration the service cannot start with; the message says which variable and why."""


def from_environment(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The app.config entries the ``PAYROUTE_*`` variables set (absent ones are left to the defaults)."""
    env = os.environ if environ is None else environ
    out: dict[str, Any] = {}
    if env.get("PAYROUTE_DATABASE_URL"):
        out["PAYROUTE_DATABASE_URL"] = env["PAYROUTE_DATABASE_URL"]
    if env.get("PAYROUTE_MAX_BODY"):
        raw = env["PAYROUTE_MAX_BODY"]
        try:
            size = int(raw)
        except ValueError:
            raise ConfigError(f"PAYROUTE_MAX_BODY must be a number of bytes, not {raw!r}") from None
        if size <= 0:
            raise ConfigError(f"PAYROUTE_MAX_BODY must be more than 0 bytes, not {size}")
        out["MAX_CONTENT_LENGTH"] = size
    if env.get("PAYROUTE_SECRET_KEY"):
        out["SECRET_KEY"] = env["PAYROUTE_SECRET_KEY"]
    return out


def settings(overrides: Mapping[str, Any] | None = None,
             environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Defaults, then the environment, then ``overrides`` (``create_app(config)``); checked."""
    out: dict[str, Any] = {"MAX_CONTENT_LENGTH": DEFAULT_MAX_BODY, "TESTING": False, "PAYROUTE_DEMO": False}
    out.update(from_environment(environ))
    out.update(overrides or {})
    if not out.get("SECRET_KEY") and not (out["TESTING"] or out["PAYROUTE_DEMO"]):
        raise ConfigError("PAYROUTE_SECRET_KEY is not set: the service needs a secret key "
                          "(any long random string, e.g. `python -c 'import secrets; print(secrets.token_hex(32))'`)")
    return out


def database_url(config: Mapping[str, Any]) -> str:
    """The configured database URL, else the SQLite default under the instance folder."""
    url = config.get("PAYROUTE_DATABASE_URL")
    if url:
        return str(url)
    from engine.store.db import default_url

    return default_url()
