"""Reading disbursements for ``payroute simulate``: one JSON document or JSON Lines, fast and exact.

Two validators, one verdict:

- the *fast path* decodes a line straight into typed structs with msgspec
  (types, required and unknown fields, empty strings, 1..100 invoices are all
  checked in C), then checks the value patterns in a handful of regex calls
  per document, and computes only the facts the workflow reads;
- anything the fast path does not accept goes to the *full path*
  (``json.loads`` + the pydantic model of :mod:`engine.spec.disbursement`), which
  has the last word: it either accepts the document after all, or explains
  every problem with its location.

So the fast path may only ever accept what the model accepts, with the same
facts; a property test holds it to accepting *exactly* the same documents.
"""

from __future__ import annotations

import re
from datetime import date
from operator import attrgetter
from typing import Annotated, Any, BinaryIO, Callable, Iterable, Iterator, NamedTuple

import msgspec
from msgspec import Meta, Struct

from engine.spec.disbursement_rules import (
    DATE_BODY,
    EMAIL_BODY,
    MAX_INVOICES,
    MONEY_BODY,
    POSITIVE_MONEY_BODY,
    DisbursementError,
)
from engine.spec.facts import raw_fact_plan

__all__ = ["Record", "FastReader", "full_facts", "read_records"]

_Text = Annotated[str, Meta(min_length=1)]

# The structs mirror engine.spec.disbursement's model. ``gc=False``: decoded JSON
# holds no reference cycles, so the garbage collector need not track them.


class _Invoice(Struct, forbid_unknown_fields=True, kw_only=True, gc=False):
    id: _Text
    vendor: _Text
    amount: str
    amount_due: str | None = None
    retainage_released: str = "0.00"
    status: _Text | None = None
    approved_by: str | None = None


class _Document(Struct, forbid_unknown_fields=True, kw_only=True, gc=False):
    id: _Text
    project: dict[str, str | None]
    created_by: str
    funding_account: _Text
    invoices: Annotated[list[_Invoice], Meta(min_length=1, max_length=MAX_INVOICES)]


# One match checks every payment amount of a document: amounts joined by "\n",
# which no valid amount contains (the count check catches one that does).
# The usual case, every amount with exactly two decimals, is tried first: its
# amounts are then whole cents once the dots are removed.
_AMOUNTS = re.compile(f"{POSITIVE_MONEY_BODY}(?:\n{POSITIVE_MONEY_BODY})*")
_CENTS_BODY = r"(?:[1-9][0-9]{0,14}\.[0-9]{2}|0\.(?:0[1-9]|[1-9][0-9]))"
_CENTS = re.compile(f"{_CENTS_BODY}(?:\n{_CENTS_BODY})*")
_MONEY = re.compile(MONEY_BODY)
_EMAIL = re.compile(EMAIL_BODY)
_DATE = re.compile(DATE_BODY)
_amount = attrgetter("amount")
#: The other checked values of an invoice, fetched in one pass; documents of
#: one file repeat the same few (retainage, amount due, approver) rows.
_row = attrgetter("retainage_released", "amount_due", "approved_by")

#: What decoding a line can raise besides msgspec's DecodeError (a ValueError):
#: invalid UTF-8 (UnicodeDecodeError, also a ValueError), nesting past the
#: recursion limit. Either sends the line to the full path, which words it.
_UNREADABLE = (ValueError, RecursionError)

#: Values already matched are remembered; each memory is dropped when it grows
#: past this many entries.
_KNOWN_LIMIT = 4096

Row = tuple[str, "str | None", "str | None"]


class FastReader:
    """Decode, validate and compute facts for one document; None when it needs the full path.

    One per simulation and thread: it holds the fact plan and the memory of
    values already matched.
    """

    __slots__ = ("_decode", "_plan", "_rows", "_emails")

    def __init__(self, fact_names: Iterable[str]) -> None:
        self._decode = msgspec.json.Decoder(_Document).decode
        self._plan = raw_fact_plan(fact_names, attributes=True)
        self._rows: set[Row] = set()
        self._emails: set[str] = set()

    def read(self, raw: bytes | str) -> tuple[str, dict[str, Any]] | None:
        """``(id, facts)`` of a valid document; None sends it to the full path (which has the last word)."""
        try:
            doc = self._decode(raw)
        except _UNREADABLE:
            return None
        return self._checked(doc)

    def read_object(self, value: object) -> tuple[str, dict[str, Any]] | None:
        """:meth:`read` of a document already decoded by ``json.loads`` (the HTTP service's request body).

        ``msgspec.convert`` checks the Python values against the same structs, strictly (a float
        where a string or null goes, a NaN that ``json.loads`` let through included, is refused),
        then the same checks as :meth:`read` run."""
        try:
            doc = msgspec.convert(value, _Document)
        except (msgspec.ValidationError, RecursionError):
            return None
        return self._checked(doc)

    def _checked(self, doc: _Document) -> tuple[str, dict[str, Any]] | None:
        invoices = doc.invoices
        amounts = list(map(_amount, invoices))
        joined = "\n".join(amounts)
        if joined.count("\n") != len(amounts) - 1:
            return None
        cents = None
        if _CENTS.fullmatch(joined) is not None:
            cents = list(map(int, joined.replace(".", "").split("\n")))
        elif _AMOUNTS.fullmatch(joined) is None:
            return None
        rows = set(map(_row, invoices))
        if not rows <= self._rows and not self._learn_rows(rows):
            return None
        if doc.created_by not in self._emails and not self._learn_email(doc.created_by):
            return None
        project = doc.project
        if not project.get("id") or not project.get("name"):
            return None
        start = project.get("start_date")
        if start and not _is_date(start):
            return None
        return doc.id, self._plan(invoices, project, amounts, cents)

    def _learn_email(self, email: str) -> bool:
        if _EMAIL.fullmatch(email) is None:
            return False
        if len(self._emails) >= _KNOWN_LIMIT:
            self._emails.clear()
        self._emails.add(email)
        return True

    def _learn_rows(self, rows: set[Row]) -> bool:
        for row in rows - self._rows:
            retainage, due, approver = row
            if _MONEY.fullmatch(retainage) is None or (due is not None and _MONEY.fullmatch(due) is None):
                return False
            if approver is not None and approver not in self._emails and not self._learn_email(approver):
                return False
            if len(self._rows) >= _KNOWN_LIMIT:
                self._rows.clear()
            self._rows.add(row)
        return True


def _is_date(text: str) -> bool:
    if _DATE.fullmatch(text) is None:
        return False
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def full_facts(raw: bytes | str, fact_names: Iterable[str]) -> tuple[str, dict[str, Any]]:
    """The full path: JSON, then the pydantic model; raises :class:`DisbursementError` with every problem."""
    from engine.spec.disbursement import parse_disbursement_json
    from engine.spec.facts import compute_facts

    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DisbursementError([("", f"not UTF-8 text (byte {exc.start})")]) from None
    disbursement = parse_disbursement_json(raw)
    return disbursement.id, compute_facts(disbursement, fact_names)


# ---------------------------------------------------------------- records from an input


class Record(NamedTuple):
    """One disbursement read from the input: its facts, or the located problems that refused it.

    A named tuple: one is made per input line, so it must be cheap.
    """

    line: int | None  # 1-based line of a JSON Lines input; None for a single (multi-line) document
    id: str | None = None
    facts: dict[str, Any] | None = None
    problems: tuple[str, ...] = ()


def _record(line: int | None, raw: bytes, fast: FastReader, names: frozenset[str]) -> Record:
    got = fast.read(raw)
    if got is None:
        try:
            got = full_facts(raw if line is None else raw.rstrip(b"\r\n"), names)
        except DisbursementError as exc:
            return Record(line, problems=tuple(exc.lines()))
    return Record(line, got[0], got[1])


def _parses_alone(raw: bytes) -> bool:
    try:
        msgspec.json.decode(raw)
    except _UNREADABLE:
        return False
    return True


#: A UTF-8 byte order mark, as editors write it: skipped at the start of the input.
_BOM = b"\xef\xbb\xbf"

#: How many non-blank lines after a broken first one are read before deciding
#: that the input is one pretty-printed document.
LOOKAHEAD = 5


def read_records(stream: BinaryIO, fact_names: Iterable[str],
                 progress: Callable[[int], None] | None = None) -> Iterator[Record]:
    """Every disbursement of ``stream``, in order, as soon as it is read.

    JSON Lines when the first non-blank line is a JSON value by itself (or,
    if that line is broken, when one of the next :data:`LOOKAHEAD` non-blank
    lines is); otherwise the whole input is one document, pretty-printed over
    several lines. Deciding reads at most those lines, so JSON Lines stream
    whatever their first line holds. A UTF-8 byte order mark at the start is
    skipped. ``progress``, when given, is called with the number of bytes
    consumed.
    """
    names = frozenset(fact_names)
    fast = FastReader(names)
    lines = iter(stream)
    # The non-blank lines read to decide, with their 1-based numbers: blank
    # lines are only counted, so a run of them costs no memory.
    head: list[tuple[int, bytes]] = []
    number = consumed = 0
    for raw in lines:
        number += 1
        consumed += len(raw)
        if number == 1 and raw.startswith(_BOM):
            raw = raw[len(_BOM):]
        if raw and not raw.isspace():
            head.append((number, raw))
            break
    if not head:
        if progress is not None and consumed:
            progress(consumed)
        return
    if not _parses_alone(head[0][1]):
        # A pretty-printed document, or JSON Lines whose first line is broken.
        jsonl = False
        for raw in lines:
            number += 1
            consumed += len(raw)
            if raw and not raw.isspace():
                head.append((number, raw))
                if _parses_alone(raw):
                    jsonl = True
                    break
                if len(head) > LOOKAHEAD:
                    break
        if not jsonl:
            rest = b"".join(lines)
            if progress is not None:
                progress(consumed + len(rest))
            yield _record(None, _rebuild(head) + rest, fast, names)
            return
    for at, raw in head:
        yield _record(at, raw, fast, names)
    if progress is not None:
        progress(consumed)
    for number, raw in enumerate(lines, number + 1):
        if progress is not None:
            progress(len(raw))
        if raw and not raw.isspace():
            yield _record(number, raw, fast, names)


def _rebuild(head: list[tuple[int, bytes]]) -> bytes:
    """The text of the lines read so far, a blank line standing for each one skipped (line numbers hold)."""
    parts: list[bytes] = []
    last = 0
    for at, raw in head:
        parts.append(b"\n" * (at - last - 1))
        parts.append(raw)
        last = at
    return b"".join(parts)
