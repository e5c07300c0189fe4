"""Idempotency keys for every state-changing command (GEN-8).

A client that retries a request with the same key and the same body gets the
first result back and causes no second effect; the same key with another
body is refused. The key is recorded in the same transaction as the effect,
so "recorded" and "done" cannot diverge; two concurrent first attempts race
on the unique (company, actor, key) and the loser gets ``state_conflict``
(its retry then finds the winner's result).

Commands opt in with the :func:`idempotent` decorator rather than each
handling the key itself, so every command treats keys the same way:

- the actor's *standing* (the permission the command needs whatever the
  object's state) is checked before a stored result is replayed, so a user
  deactivated or stripped of the role since the first request cannot use a
  retry to obtain the result again (GEN-8 with ROLE-8);
- the body is every argument of the call but the service, the actor, the
  company and the key, so "same key, other body" is exactly "other arguments";
- the first result is stored as JSON and decoded back into the command's
  declared return type, so a replay returns what the first call returned,
  not the object's current state.

The helpers here (:func:`replay`, :func:`record`, ...) run inside the decorated command's
transaction; they are not commands and take no actor of their own.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import inspect
import json
import types
import typing
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Callable, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import DomainError
from engine.service.audit import plain
from engine.store.tables import IdempotencyRecord
from engine.text import text_problem

F = TypeVar("F", bound=Callable[..., Any])
MAX_KEY = 200

#: Arguments that identify who asks and where, not what is asked.
#: ``mfa_code`` too: a one-time code is how the actor proves it is them, not what they ask; a
#: retry carries a fresh code (the first was spent, MFA-3), and it must still find the first result.
_NOT_BODY = frozenset({"svc", "actor", "company_id", "idempotency_key", "mfa_code"})

#: ``standing(session, company_id, actor)`` raises a DomainError unless the actor may run the command at all.
Standing = Callable[[Session, str, str], object]


def request_hash(body: Mapping[str, Any]) -> str:
    """The body's fingerprint. The body is hashed before the command validates it, so a value
    that is not plain data (bytes, an arbitrary object, a lone surrogate) is refused here, typed."""
    try:
        raw = json.dumps(plain(_jsonable(dict(body))), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(raw.encode("utf-8")).hexdigest()
    except (TypeError, ValueError):
        raise DomainError("invalid_value", "the request holds a value that is not plain data "
                          "(text, numbers, dates, lists)", rule="GEN-8") from None


def _jsonable(value: Any) -> Any:
    """Arguments as JSON data: dataclasses (payment lines) as dicts, sets sorted, mappings as dicts."""
    if all(hasattr(value, a) for a in ("text", "kind", "config", "diagnostics")):
        # a rule file or JSON config as a front end loaded it (templates.WorkflowSource):
        # what was asked is its text; the model and diagnostics are derived from it
        return {"kind": value.kind, "text": value.text}
    if callable(getattr(value, "idempotency_form", None)):
        # a value too secret to hash plainly (account numbers, BANK-8) gives its own keyed form
        return value.idempotency_form()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (set, frozenset)):
        return sorted((_jsonable(v) for v in value), key=repr)  # mixed types sort too
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def check_key(key: str) -> None:
    if text_problem(key, limit=MAX_KEY) is not None:
        raise DomainError("invalid_idempotency_key",
                          f"an idempotency key is 1 to {MAX_KEY} printable characters", rule="GEN-8")


def replay(s: Session, company_id: str, actor: str, key: str, digest: str) -> dict[str, Any] | None:
    """The stored record of an earlier request with ``key``, or None to go ahead; a request
    whose :func:`request_hash` ``digest`` differs from the first one's is refused."""
    row = s.scalars(select(IdempotencyRecord).where(
        IdempotencyRecord.company_id == company_id, IdempotencyRecord.actor_id == actor,
        IdempotencyRecord.key == key)).first()
    if row is None:
        return None
    if row.request_hash != digest:
        raise DomainError("idempotency_conflict",
                          "this idempotency key was used for a different request", rule="GEN-8")
    return dict(row.result)


def record(s: Session, company_id: str, actor: str, key: str, digest: str, result: Any, now: Any) -> None:
    """Store the command's ``result`` (as :func:`encode` data) under ``key``."""
    s.add(IdempotencyRecord(company_id=company_id, actor_id=actor, key=key, request_hash=digest,
                            result={"result": encode(result)}, created_at=now))
    s.flush()


# ---------------------------------------------------------------- results


def encode(value: Any) -> Any:
    """A command's result as JSON data (what the record stores)."""
    return plain(_jsonable(value))


def decode(kind: Any, data: Any) -> Any:
    """``data`` (from :func:`encode`) back into ``kind``: None, str, int, bool, ``Decimal`` (money,
    stored as its decimal string, never a float: GEN-1), ``date``/``datetime`` (stored in ISO form),
    a frozen dataclass of those (views nest: a disbursement's payments), or tuples, lists, dicts and
    optionals of them — the shapes engine commands return."""
    if data is None or kind is Any:
        return data
    if kind is Decimal:
        return Decimal(str(data))
    if kind is datetime:
        return datetime.fromisoformat(data)
    if kind is date:
        return date.fromisoformat(data)
    origin = typing.get_origin(kind)
    if origin in (typing.Union, types.UnionType):
        options = [k for k in typing.get_args(kind) if k is not type(None)]
        return decode(options[0], data) if len(options) == 1 else data
    if origin is tuple:
        args = typing.get_args(kind)
        item = args[0] if args else Any
        return tuple(decode(item, v) for v in data)
    if origin in (list, typing.List):
        args = typing.get_args(kind)
        return [decode(args[0] if args else Any, v) for v in data]
    if origin in (dict, Mapping):
        return dict(data)
    if dataclasses.is_dataclass(kind):
        hints = typing.get_type_hints(kind)
        return kind(**{f.name: decode(hints.get(f.name, Any), data.get(f.name))
                       for f in dataclasses.fields(kind) if f.init and f.name in data})
    if kind in (str, int, bool):
        return kind(data)
    return data


# ---------------------------------------------------------------- the decorator


def idempotent(op: str, *, standing: Standing, strangers_not_found: bool = False) -> Callable[[F], F]:
    """Give a command ``fn(svc, actor, company_id, ...)`` an ``idempotency_key`` keyword (GEN-8).

    Without a key the command runs as written. With one, one transaction
    checks the actor's ``standing``, replays a stored result for the same key
    and body (or refuses another body), and otherwise runs the command — its
    own ``svc.tx()`` joins this transaction — and records its result with it.

    ``strangers_not_found`` (the commands on a disbursement): any refusal of someone who was
    never a member of the company becomes ``not_found`` (GEN-5), see :func:`_strangers_find_nothing`.
    """

    def wrap(fn: F) -> F:
        signature = inspect.signature(fn)

        @functools.wraps(fn)
        def command(svc: Any, actor: str, company_id: str, *args: Any,
                    idempotency_key: str | None = None, **kwargs: Any) -> Any:
            try:
                return run(svc, actor, company_id, *args, idempotency_key=idempotency_key, **kwargs)
            except DomainError as exc:
                if strangers_not_found and exc.code != "not_found":
                    _strangers_find_nothing(svc, actor, company_id, exc)
                raise

        def run(svc: Any, actor: str, company_id: str, *args: Any,
                idempotency_key: str | None = None, **kwargs: Any) -> Any:
            if idempotency_key is None:
                return fn(svc, actor, company_id, *args, **kwargs)
            check_key(idempotency_key)
            bound = signature.bind(svc, actor, company_id, *args, **kwargs)
            bound.apply_defaults()
            digest = request_hash(
                {"op": op, **{k: v for k, v in bound.arguments.items() if k not in _NOT_BODY}})
            with svc.tx() as s:
                standing(s, company_id, actor)
                earlier = replay(s, company_id, actor, idempotency_key, digest)
                if earlier is not None:
                    return decode(_return_type(fn), earlier.get("result"))
                result = fn(svc, actor, company_id, *args, **kwargs)
                record(s, company_id, actor, idempotency_key, digest, result, svc.now())
                return result

        params = list(signature.parameters.values())
        if "idempotency_key" not in signature.parameters:
            key = inspect.Parameter("idempotency_key", inspect.Parameter.KEYWORD_ONLY, default=None,
                                    annotation="str | None")
            at = next((i for i, p in enumerate(params) if p.kind is inspect.Parameter.VAR_KEYWORD), len(params))
            params.insert(at, key)
        command.__signature__ = signature.replace(parameters=params)  # type: ignore[attr-defined]
        command.idempotent_op = op  # type: ignore[attr-defined]
        return typing.cast(F, command)

    return wrap


def _strangers_find_nothing(svc: Any, actor: str, company_id: str, refused: DomainError) -> None:
    """GEN-5 for the commands on a disbursement: any refusal but "not found" — "you may not"
    (``forbidden``), "it changed" (``precondition``), "it is canceled" (``conflict``), "that is
    not one of its steps" (``invalid``) — tells its caller something about the object. To
    someone who was never a member of the company its objects do not exist: the refusal
    becomes ``not_found``, as the queries answer (``instances.view``). A member deactivated in
    the company keeps the refusal that names the rule (ROLE-8, RESP-1): they knew the object,
    and learn only that they may no longer act on it.

    Checked only on the refusal path, once the command's transaction is over (the refusal
    itself is audited by then, AUD-4), so a command that succeeds runs no extra query; a
    command run inside another's transaction leaves the check to the outermost one."""
    if getattr(svc._open, "session", None) is not None:
        return
    from engine.security.permissions import membership

    with svc.db.sessions() as s:
        if membership(s, company_id, actor) is not None:
            return
    raise DomainError("not_found", "no such object in this company", rule="GEN-5") from refused


@functools.lru_cache(maxsize=None)
def _return_type(fn: Callable[..., Any]) -> Any:
    """The command's declared return type, resolved on first use (its module is loaded by then)."""
    return typing.get_type_hints(fn).get("return", Any)
