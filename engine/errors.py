"""Typed domain errors: the run-time counterpart of a diagnostic.

A refusal carries a stable snake_case ``code`` (``permission_denied``,
``state_conflict``, ...), a one-line message, the domain.md rule ID that
refused it, and for permission refusals the permission that is missing. The
HTTP layer maps codes to statuses (web/errors.py, later); nothing else does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Refusal:
    """Who tried what on which object: what an audited refusal writes to the company's chain (AUD-4).

    Carried by the :class:`DomainError` itself because the command's own
    transaction rolls back; :meth:`engine.services.Services.tx` writes the
    entry afterwards, in a transaction of its own.
    """

    company_id: str
    actor_id: str | None
    attempted: str
    object_type: str
    object_id: str


class DomainError(Exception):
    """A refused command; raising it means nothing was changed.

    With ``audit`` it is a security refusal (AUD-4): nothing changes, yet the
    refusal itself is recorded on the company's audit chain.
    """

    def __init__(self, code: str, message: str, *, rule: str | None = None,
                 missing: str | None = None, audit: Refusal | None = None, **details: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.rule = rule
        self.missing = missing
        self.audit = audit
        self.details = details

    @property
    def audited(self) -> bool:
        return self.audit is not None

    def to_data(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "message": self.message, "rule": self.rule}
        if self.missing is not None:
            out["missing_permission"] = self.missing
        if self.details:
            out["details"] = self.details
        return out

    def __repr__(self) -> str:
        return f"DomainError({self.code!r}, {self.message!r}, rule={self.rule!r})"


#: ``://user:`` then the password up to the *last* ``@`` before the URL's query,
#: fragment or end: a password may hold unencoded ``@``, ``:`` or ``/`` (parsers
#: such as urlsplit split the authority at its last ``@`` too), so stopping at
#: the first ``@`` would leave the password's tail in the text. A user name may
#: hold an unencoded ``@`` as well (``relay@gc.example``).
_URL_CREDENTIALS = re.compile(r"(://[^:/\s]*:)[^\s?#]*@")


def scrub_credentials(text: str) -> str:
    """``text`` without the password of any URL in it (``scheme://user:***@host``):
    database and SMTP errors quote their URL, and secrets never reach a user or a log.

    It errs towards hiding: in ``scheme://host:port/path@x`` the port and path
    are hidden too, never a password."""
    return _URL_CREDENTIALS.sub(r"\1***@", text)


def first_line(text: str) -> str:
    """The first non-empty line of an error, for one-line CLI messages."""
    return text.strip().splitlines()[0] if text.strip() else text
