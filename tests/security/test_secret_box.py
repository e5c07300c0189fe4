"""Sealed secrets (MFA-5): AES-256-GCM with the key id in the value, bound to its context, rotatable."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.security import keys, secret_box
from engine.security.secret_box import SealError, SecretBox


def key(name: str, text: str) -> keys.Key:
    return keys.Key(name, name, False, text.encode())


CURRENT = key("PAYROUTE_SECRET_KEY", "c" * 40)
PREVIOUS = key("PAYROUTE_SECRET_KEY_PREVIOUS", "p" * 40)


@given(st.text(max_size=200), st.text(min_size=1, max_size=40))
def test_a_sealed_value_opens_in_its_context_and_holds_no_clear_text(plain: str, context: str) -> None:
    box = SecretBox((CURRENT,))
    sealed = box.seal(plain, context=context)
    assert box.open(sealed, context=context) == plain
    assert sealed.startswith(f"pr1.{CURRENT.key_id}.")
    if len(plain) >= 8:  # (a shorter text could turn up in random base64 by chance)
        assert plain not in sealed.rsplit(".", 1)[1]


def test_the_same_secret_seals_differently_each_time() -> None:
    box = SecretBox((CURRENT,))
    assert box.seal("JBSWY3DPEHPK3PXP", context="totp:user:1") != box.seal("JBSWY3DPEHPK3PXP", context="totp:user:1")


def test_a_value_copied_to_another_context_does_not_open() -> None:
    box = SecretBox((CURRENT,))
    sealed = box.seal("JBSWY3DPEHPK3PXP", context="totp:user:1")
    with pytest.raises(SealError, match="altered or belongs to another context") as raised:
        box.open(sealed, context="totp:user:2")
    assert "JBSWY3DPEHPK3PXP" not in str(raised.value)


def test_an_altered_value_does_not_open() -> None:
    import base64

    box = SecretBox((CURRENT,))
    sealed = box.seal("123456789", context="account")
    head, body = sealed.rsplit(".", 1)
    raw = bytearray(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    for index in (0, 12, len(raw) - 1):  # the nonce, the ciphertext, the tag
        altered = bytearray(raw)
        altered[index] ^= 0x01  # a change in the bytes, not in a base64 character's unused bits
        bad = head + "." + base64.urlsafe_b64encode(bytes(altered)).decode().rstrip("=")
        with pytest.raises(SealError):
            box.open(bad, context="account")
    for malformed in ("", "plain text", "pr1..abc", "pr2.x.y", "pr1.x", "pr1." + CURRENT.key_id + ".@@@"):
        with pytest.raises(SealError):
            box.open(malformed, context="account")


def test_keys_rotate_values_sealed_by_the_previous_key_open_and_reseal() -> None:
    old = SecretBox((PREVIOUS,)).seal("4111111111111111", context="account:9")
    rotating = SecretBox((CURRENT, PREVIOUS))
    assert rotating.needs_reseal(old)
    assert rotating.open(old, context="account:9") == "4111111111111111"
    fresh = rotating.reseal(old, context="account:9")
    assert not rotating.needs_reseal(fresh) and fresh.split(".")[1] == CURRENT.key_id
    assert SecretBox((CURRENT,)).open(fresh, context="account:9") == "4111111111111111"
    with pytest.raises(SealError, match="not configured"):
        SecretBox((CURRENT,)).open(old, context="account:9")


def test_the_box_comes_from_the_environment_and_refuses_to_run_without_a_key(monkeypatch) -> None:
    for name in ("PAYROUTE_SECRET_KEY", "PAYROUTE_SECRET_KEY_FILE", "PAYROUTE_SECRET_KEY_PREVIOUS",
                 "PAYROUTE_SECRET_KEY_PREVIOUS_FILE", keys.DEVELOPMENT_SWITCH):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(keys.KeyConfigError, match="PAYROUTE_SECRET_KEY"):
        secret_box.from_environment()
    monkeypatch.setenv("PAYROUTE_SECRET_KEY", "n" * 40)
    box = secret_box.from_environment()
    assert len(box.keyring) == 1
    monkeypatch.setenv("PAYROUTE_SECRET_KEY_PREVIOUS", "o" * 40)
    assert [k.key_id for k in secret_box.from_environment().keyring] == \
        [key("a", "n" * 40).key_id, key("b", "o" * 40).key_id]
