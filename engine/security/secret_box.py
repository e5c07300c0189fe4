"""Secrets at rest: TOTP secrets and full bank account numbers, sealed with AES-256-GCM (MFA-5, BANK-*).

Why not store them hashed: both must be read back (to check a code, to instruct
the bank). Why a key from outside the database: a dump of the database must
hold no secret in clear, and whoever can read it should not be able to open
them either (engine.security.keys).

A sealed value is text, ``pr1.<key id>.<base64url(nonce || ciphertext+tag)>``:

- the key id (the key's public fingerprint) says which key sealed it, so keys
  rotate: seal with the current key (``PAYROUTE_SECRET_KEY``), open with it or
  with the previous one (``PAYROUTE_SECRET_KEY_PREVIOUS``) until every value is
  re-sealed (:meth:`SecretBox.reseal`);
- the *context* (what the value is and whose, e.g. ``"totp:user:<id>"``) is
  authenticated as associated data, so a sealed value copied into another row or
  column does not open there;
- a value that was altered, sealed for another context, or sealed by an unknown
  key is :class:`SealError`, whose message never contains the value or the key.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from engine.security import keys

SECRET_KEY = "PAYROUTE_SECRET_KEY"
PREVIOUS_KEY = "PAYROUTE_SECRET_KEY_PREVIOUS"
PREFIX = "pr1"
_NONCE = 12
_PURPOSE = "secret box aes-256-gcm"


class SealError(ValueError):
    """A sealed value that cannot be opened; the message names the reason, never the value."""


@dataclass(frozen=True)
class SecretBox:
    """Seals with the first key, opens with any of them (current first, then older ones)."""

    keyring: tuple[keys.Key, ...]

    def __post_init__(self) -> None:
        if not self.keyring:
            raise ValueError("a secret box needs at least one key")

    def _aead(self, key: keys.Key) -> AESGCM:
        return AESGCM(key.derive(_PURPOSE))

    @property
    def key_id(self) -> str:
        """The id of the key that seals now."""
        return self.keyring[0].key_id

    def seal(self, plaintext: str, *, context: str) -> str:
        """``plaintext`` sealed for ``context`` with the current key (a fresh random nonce each time)."""
        key = self.keyring[0]
        nonce = os.urandom(_NONCE)
        body = self._aead(key).encrypt(nonce, plaintext.encode("utf-8"), _aad(key.key_id, context))
        return f"{PREFIX}.{key.key_id}.{base64.urlsafe_b64encode(nonce + body).decode('ascii').rstrip('=')}"

    def open(self, sealed: str, *, context: str) -> str:
        """The plaintext of ``sealed``, if it was sealed for ``context`` by a key of the ring."""
        prefix, key_id, body = _parts(sealed)
        key = next((k for k in self.keyring if k.key_id == key_id), None)
        if key is None:
            raise SealError(f"the value was sealed by key {key_id}, which is not configured "
                            f"({SECRET_KEY} or {PREVIOUS_KEY})")
        try:
            raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        except (binascii.Error, ValueError):
            raise SealError("the sealed value is not valid base64") from None
        if len(raw) <= _NONCE:
            raise SealError("the sealed value is truncated")
        try:
            plain = self._aead(key).decrypt(raw[:_NONCE], raw[_NONCE:], _aad(key_id, context))
        except InvalidTag:
            raise SealError("the sealed value was altered or belongs to another context") from None
        return plain.decode("utf-8")

    def needs_reseal(self, sealed: str) -> bool:
        """Whether ``sealed`` was made by a key other than the current one."""
        return _parts(sealed)[1] != self.key_id

    def reseal(self, sealed: str, *, context: str) -> str:
        """``sealed`` under the current key (unchanged if it already is)."""
        if not self.needs_reseal(sealed):
            return sealed
        return self.seal(self.open(sealed, context=context), context=context)


def _aad(key_id: str, context: str) -> bytes:
    return f"{PREFIX}|{key_id}|{context}".encode("utf-8")


def _parts(sealed: str) -> tuple[str, str, str]:
    pieces = sealed.split(".") if isinstance(sealed, str) else []
    if len(pieces) != 3 or pieces[0] != PREFIX or not pieces[1] or not pieces[2]:
        raise SealError(f"not a sealed value (expected {PREFIX}.<key id>.<data>)")
    return pieces[0], pieces[1], pieces[2]


def from_environment() -> SecretBox:
    """The box of ``PAYROUTE_SECRET_KEY`` (and ``PAYROUTE_SECRET_KEY_PREVIOUS`` while rotating),
    each also readable from a ``*_FILE``; :class:`engine.security.keys.KeyConfigError` without one."""
    ring: Sequence[keys.Key] = [keys.load(SECRET_KEY)]
    if os.environ.get(PREVIOUS_KEY) or os.environ.get(f"{PREVIOUS_KEY}_FILE"):
        ring = [*ring, keys.load(PREVIOUS_KEY)]
    return SecretBox(tuple(ring))
