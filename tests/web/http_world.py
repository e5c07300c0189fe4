"""The reference world (tests/world.py) behind the HTTP API: an app on its database and a test
client per person, each sending that person's own API token (ROLE-12)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from engine.service import tokens
from engine.services import Services
from engine.store.db import Database
from engine.store.tables import OutboxEmail
from tests.world import World, build_world
from web.app import create_app


@dataclass
class HttpWorld:
    app: Any
    svc: Services
    world: World
    _clients: dict[str, Any] = field(default_factory=dict)

    @property
    def base(self) -> str:
        return f"/v1/companies/{self.world.company}"

    def client(self, email: str) -> Any:
        """A test client acting as the user with ``email`` (a token minted for them)."""
        if email not in self._clients:
            client = self.app.test_client()
            secret = tokens.mint(self.svc, email, name="http tests").secret
            client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {secret}"
            self._clients[email] = client
        return self._clients[email]

    def as_(self, name: str) -> Any:
        """``as_("controller")``: a client of one of the world's people (``name@gc.example``)."""
        return self.client(f"{name}@gc.example")

    def create(self, *amounts: str, who: str = "creator", **extra: Any) -> dict[str, Any]:
        """POST a disbursement paying a new invoice of each amount; returns its JSON (201)."""
        body = {"project": self.world.project, "funding_account": self.world.funding,
                "payments": [{"invoice": self.world.invoice(a)} for a in amounts], **extra}
        response = self.as_(who).post(f"{self.base}/disbursements", json=body)
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    def get(self, d: str, who: str = "admin") -> Any:
        return self.as_(who).get(f"{self.base}/disbursements/{d}")

    def answer(self, d: str, who: str, answer: str, *, occurrence: int | None = None, **headers: str) -> Any:
        """POST an answer to the current step (its occurrence read first unless given)."""
        if occurrence is None:
            occurrence = self.get(d).get_json()["workflow"]["current"]["occurrence"]
        return self.as_(who).post(f"{self.base}/disbursements/{d}/workflow/responses",
                                  json={"occurrence": occurrence, "answer": answer}, headers=headers)

    def emails(self, event: str | None = None) -> list[tuple[str, str]]:
        """(recipient, event) of every outbox row, oldest first."""
        with self.svc.db.sessions() as s:
            rows = [(r.recipients[0], r.event) for r in s.scalars(
                select(OutboxEmail).order_by(OutboxEmail.created_at, OutboxEmail.id))]
        return [r for r in rows if event is None or r[1] == event]


def http_world(make_app: Any, database_url: str, clock: Any = None) -> HttpWorld:
    """The reference world on ``database_url`` and an app serving it (``clock``: the injected clock)."""
    db = Database(database_url)
    db.create_all()
    svc = Services(db, clock=clock) if clock is not None else Services(db)
    app = make_app(create_tables=False, PAYROUTE_DATABASE_URL=database_url, PAYROUTE_SERVICES=svc)
    return HttpWorld(app, svc, build_world(svc))
