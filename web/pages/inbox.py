"""The inbox page (GET /inbox): the steps waiting for the signed-in user's answer.

One engine call, :func:`engine.service.inbox.inbox` — the same query the rules live in (who is
awaited, what is overdue, why each step reached the reader) — drawn as a table: overdue first
with a badge, due dates in the company's time zone, the reason in words, and a link to each
disbursement's page. Nothing here decides anything.
"""

from __future__ import annotations

from flask import Blueprint, render_template

from engine.errors import DomainError
from engine.service.inbox import inbox as read_inbox
from web.errors import status_for
from web.pages.context import current, engine_error, services, signed_in

#: the top bar links to ``inbox.inbox`` and ``/`` redirects to it (web.pages.sign_in.home)
bp = Blueprint("inbox", __name__)


def sentence(text: str) -> str:
    """``needs CFO review: ...`` → ``Needs CFO review: ...`` (the engine's line starts lower-case
    so it can follow other words; on its own in a table cell it starts a sentence)."""
    return text[:1].upper() + text[1:]


@bp.get("/inbox")
@signed_in
def inbox() -> tuple[str, int] | str:
    """The signed-in user's inbox in their company."""
    user = current()
    try:
        box = read_inbox(services(), user.user_id, user.company_id)
    except DomainError as exc:
        return render_template("inbox.html", box=None, error=engine_error(exc), sentence=sentence), status_for(exc)
    return render_template("inbox.html", box=box, error=None, sentence=sentence)
