"""Flask sessions under the API: signed only when a request carries the session cookie (web.auth.LazySessions)."""

from __future__ import annotations


def test_sessions_are_signed_only_when_there_is_a_cookie(make_app) -> None:
    """web.auth.LazySessions: a request without a session cookie (every API request) gets an empty
    session without Flask building its signer, and sets no cookie; a session written by a view still
    round-trips through its signed cookie, and a tampered cookie is still an empty session."""
    from flask import session

    app = make_app(SECRET_KEY="k" * 40)

    @app.get("/session-count")
    def count() -> dict[str, int]:
        session["n"] = session.get("n", 0) + 1
        return {"n": session["n"]}

    client = app.test_client()
    first = client.get("/health")
    assert first.status_code == 200 and "Set-Cookie" not in first.headers and "Vary" not in first.headers
    assert [client.get("/session-count").get_json()["n"] for _ in range(3)] == [1, 2, 3]
    assert client.get("/session-count").headers["Vary"] == "Cookie"
    tampered = app.test_client()
    tampered.set_cookie("session", "forged.value.here")
    assert tampered.get("/session-count").get_json() == {"n": 1}
