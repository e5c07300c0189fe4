"""Idempotency keys for state-changing requests (GEN-8).

A client that retries a request with the same key and the same body gets the
first result back and causes no second effect; the same key with another
body is refused. The key is recorded in the same transaction as the effect,
so "recorded" and "done" cannot diverge; two concurrent first attempts race
on the unique (company, actor, key) and the loser gets ``state_conflict``
(its retry then finds the winner's result).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Callable, Mapping, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from .audit import plain
from .errors import DomainError
from .store.tables import IdempotencyRecord

T = TypeVar("T")
MAX_KEY = 200


def request_hash(body: Mapping[str, Any]) -> str:
    raw = json.dumps(plain(dict(body)), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def replay(s: Session, company_id: str, actor: str, key: str | None,
           body: Mapping[str, Any]) -> dict[str, Any] | None:
    """The stored result of an earlier identical request, or None to go ahead."""
    if key is None:
        return None
    if not key.strip() or len(key) > MAX_KEY:
        raise DomainError("invalid_idempotency_key", f"an idempotency key is 1 to {MAX_KEY} characters",
                          rule="GEN-8")
    row = s.scalars(select(IdempotencyRecord).where(
        IdempotencyRecord.company_id == company_id, IdempotencyRecord.actor_id == actor,
        IdempotencyRecord.key == key)).first()
    if row is None:
        return None
    if row.request_hash != request_hash(body):
        raise DomainError("idempotency_conflict",
                          "this idempotency key was used for a different request", rule="GEN-8")
    return dict(row.result)


def record(s: Session, company_id: str, actor: str, key: str | None, body: Mapping[str, Any],
           result: Mapping[str, Any], now: Any) -> None:
    if key is None:
        return
    s.add(IdempotencyRecord(company_id=company_id, actor_id=actor, key=key, request_hash=request_hash(body),
                            result=plain(dict(result)), created_at=now))
    s.flush()


def run_once(s: Session, company_id: str, actor: str, key: str | None, body: Mapping[str, Any], now: Any,
             action: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run ``action`` unless an identical keyed request already ran; record its result."""
    earlier = replay(s, company_id, actor, key, body)
    if earlier is not None:
        return earlier
    result = action()
    record(s, company_id, actor, key, body, result, now)
    return result
