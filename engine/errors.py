"""Typed domain errors: the run-time counterpart of a diagnostic.

A refusal carries a stable snake_case ``code`` (``permission_denied``,
``state_conflict``, ...), a one-line message, the domain.md rule ID that
refused it, and for permission refusals the permission that is missing. The
HTTP layer maps codes to statuses (web/errors.py, later); nothing else does.
"""

from __future__ import annotations

import re
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


_URL_CREDENTIALS = re.compile(r"(://[^:/@\s]*:)[^@\s]*@")


def scrub_credentials(text: str) -> str:
    """``text`` without the password of any URL in it (``scheme://user:***@host``):
    database and SMTP errors quote their URL, and secrets never reach a user or a log."""
    return _URL_CREDENTIALS.sub(r"\1***@", text)


def first_line(text: str) -> str:
    """The first non-empty line of an error, for one-line CLI messages."""
    return text.strip().splitlines()[0] if text.strip() else text
