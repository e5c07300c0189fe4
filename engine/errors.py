"""Typed domain errors: the run-time counterpart of a diagnostic.

A refusal carries a stable snake_case ``code`` (``permission_denied``,
``state_conflict``, ...), a one-line message, the domain.md rule ID that
refused it, and for permission refusals the permission that is missing. The
HTTP layer maps codes to statuses (web/errors.py, later); nothing else does.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A refused command; raising it means nothing was changed."""

    def __init__(self, code: str, message: str, *, rule: str | None = None,
                 missing: str | None = None, **details: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.rule = rule
        self.missing = missing
        self.details = details

    def to_data(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "message": self.message, "rule": self.rule}
        if self.missing is not None:
            out["missing_permission"] = self.missing
        if self.details:
            out["details"] = self.details
        return out

    def __repr__(self) -> str:
        return f"DomainError({self.code!r}, {self.message!r}, rule={self.rule!r})"
