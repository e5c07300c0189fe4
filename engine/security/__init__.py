"""Who may act, and the keys secrets are sealed with.

:mod:`~engine.security.permissions` (roles, grants, standing checks),
:mod:`~engine.security.segregation` (who may authorize what, AUTH-5..AUTH-8),
:mod:`~engine.security.keys` (keys kept outside the database). MFA and
recovery codes arrive with the money.
"""

__all__ = ["keys", "permissions", "segregation"]
