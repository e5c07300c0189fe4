"""Keyset pages over the engine's list queries, as the /v1 list convention (docs/api.md) has them.

An engine list query takes ``after`` (the id of the last item of the previous page) and
``limit``, and returns :class:`engine.service.directory.ListPage`; this module turns the
opaque ``?cursor=`` into that ``after`` and the page back into ``{"items", "next_cursor"}``,
so every list of the API pages alike.
"""

from __future__ import annotations

from typing import Any, Callable, TypeVar

from flask import Response, jsonify

from web.api.common import HeaderError, PageQuery, decode_cursor, encode_cursor

V = TypeVar("V")


def after(query: PageQuery) -> str | None:
    """The ``after`` position ``query.cursor`` names (None on the first page); a cursor this
    service did not make is 400 ``bad_cursor``."""
    position = decode_cursor(query.cursor)
    if position is None:
        return None
    found = position.get("after")
    if set(position) != {"after"} or not isinstance(found, str):
        raise HeaderError(400, "cursor is not a value this service returned as next_cursor", "bad_cursor")
    return found


def page(result: Any, render: Callable[[Any], dict[str, Any]]) -> Response:
    """A :class:`~engine.service.directory.ListPage` as the list body: each item rendered, and the
    cursor of the next page (null on the last)."""
    nxt = result.next_after
    return jsonify(items=[render(item) for item in result.items],
                   next_cursor=encode_cursor({"after": nxt}) if nxt is not None else None)
