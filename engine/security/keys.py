"""Secret keys kept outside the database: where they come from, and the subkeys derived from them.

Why this module: a secret stored next to the data it protects protects
nothing. The audit log's MACs (engine/service/audit.py) and, later, the money
milestone's secret box need a key that someone who can read and write the
database does not have. Both load it the same way, from the environment:

* ``<NAME>``: the key itself (at least 32 characters; e.g. the output of
  ``python -c "import secrets; print(secrets.token_hex(32))"``), or
* ``<NAME>_FILE``: the path of a file holding it (surrounding whitespace is
  ignored), for secret managers that mount files.

Setting both is refused, as is a key that is too short. With neither set, a
key is refused too, except when ``PAYROUTE_INSECURE_DEVELOPMENT_KEY=1`` asks
for the built-in development key: the test suite, the demo and the
benchmarks set it. That key is public (it is in this file), so anything it
protects is forgeable; every use logs a warning and the commands print one.

A key is never used directly: :meth:`Key.derive` gives one subkey per
purpose, so a MAC made for one purpose is never valid for another. Keys are
read once per process and setting (rotate by restarting).
"""

from __future__ import annotations

import hmac
import logging
import os
from dataclasses import dataclass, field
from functools import lru_cache

AUDIT_KEY = "PAYROUTE_AUDIT_KEY"
DEVELOPMENT_SWITCH = "PAYROUTE_INSECURE_DEVELOPMENT_KEY"
MIN_LENGTH = 32

# ---------------------------------------------------------------------------
# INSECURE: the development key. It is public, so anything it MACs can be
# forged by anyone. Used only when PAYROUTE_INSECURE_DEVELOPMENT_KEY=1 asks
# for it (tests, demo, benchmarks) and no real key is configured.
# ---------------------------------------------------------------------------
_DEVELOPMENT_KEY = b"payroute INSECURE development key -- never use in production -- "

log = logging.getLogger("payroute.keys")


class KeyConfigError(RuntimeError):
    """No usable key: missing, unreadable, too short, or configured twice. Raised before anything changes."""


@dataclass(frozen=True)
class Key:
    """A master key and where it came from (``origin`` names the variable or file, never the key)."""

    name: str
    origin: str
    development: bool
    material: bytes = field(repr=False)

    def derive(self, purpose: str) -> bytes:
        """The 32-byte subkey for ``purpose`` (HMAC-SHA256 of the purpose under the master key)."""
        return _derive(self.material, purpose)

    @property
    def key_id(self) -> str:
        """A public fingerprint (16 hex digits) telling keys apart without revealing them."""
        return self.derive("key id").hex()[:16]


@lru_cache(maxsize=64)
def _derive(material: bytes, purpose: str) -> bytes:
    return hmac.digest(material, b"payroute subkey: " + purpose.encode("utf-8"), "sha256")


def load(name: str = AUDIT_KEY) -> Key:
    """The key configured by ``name`` / ``name_FILE`` (see the module docstring); :class:`KeyConfigError` if none."""
    return _load(name, os.environ.get(name), os.environ.get(f"{name}_FILE"),
                 os.environ.get(DEVELOPMENT_SWITCH) == "1")


def audit_key() -> Key:
    """The key of the audit log's MACs and checkpoints (``PAYROUTE_AUDIT_KEY``)."""
    return load(AUDIT_KEY)


@lru_cache(maxsize=16)
def _load(name: str, value: str | None, path: str | None, development: bool) -> Key:
    if value and path:
        raise KeyConfigError(f"both {name} and {name}_FILE are set; set one")
    if path:
        try:
            with open(path, encoding="utf-8") as handle:
                text = handle.read().strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise KeyConfigError(f"cannot read the key file named by {name}_FILE ({path}): "
                                 f"{getattr(exc, 'strerror', None) or exc}") from None
        origin = f"{name}_FILE"
    elif value:
        text, origin = value.strip(), name
    elif development:
        log.warning("using the INSECURE built-in development key for %s (%s=1): anyone can forge what it "
                    "protects; never use it in production", name, DEVELOPMENT_SWITCH)
        return Key(name, f"{DEVELOPMENT_SWITCH}=1", True, _DEVELOPMENT_KEY + name.encode("ascii"))
    else:
        raise KeyConfigError(f"no key: set {name} (or {name}_FILE, a file holding it) to a secret of at "
                             f"least {MIN_LENGTH} characters kept outside the database; see docs/audit.md")
    if len(text) < MIN_LENGTH:
        raise KeyConfigError(f"the key in {origin} is too short: {len(text)} characters, at least {MIN_LENGTH}")
    return Key(name, origin, False, text.encode("utf-8"))

