"""Who may act, and the keys secrets are sealed with.

:mod:`~engine.security.permissions` (roles, grants, standing checks),
:mod:`~engine.security.segregation` (who may authorize what, AUTH-5..AUTH-8),
:mod:`~engine.security.keys` (keys kept outside the database),
:mod:`~engine.security.secret_box` (secrets sealed at rest with them),
:mod:`~engine.security.totp` (one-time codes, MFA-1..MFA-4),
:mod:`~engine.security.recovery_codes` (MFA-6, MFA-7) and
:mod:`~engine.security.mfa` (a user's MFA as a pure machine: enrollment, login,
challenges, lockout, reset, MFA-3..MFA-15) and :mod:`~engine.security.enrollment`
(the same as transactional commands, and the challenge sensitive commands call last), and
:mod:`~engine.security.sign_in` (passwords, signing in with TOTP at every login for payments
roles, ROLE-10, and the sessions it opens).
"""

__all__ = ["enrollment", "keys", "mfa", "permissions", "recovery_codes", "secret_box", "segregation", "sign_in",
           "totp"]
