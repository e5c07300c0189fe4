"""What browser tests do as people: sign in, enroll MFA, take screenshots, audit accessibility."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Callable

from tests.browser.conftest import ARTIFACTS, DESKTOP, PHONE, Live

PASSWORD = "insecure-demo-password"


def _services(live: Live) -> Any:
    from engine.services import Services
    from engine.store.db import Database

    return Services(Database(live.database_url))


def totp_for(live: Live, email: str) -> Callable[[], str]:
    """Enroll the demo user's MFA through the engine (as a person scanning the QR code would),
    and give a callable that returns a code of a step not used yet (MFA-3: never the same twice)."""
    import time

    from engine.security import enrollment, totp
    from engine.service import directory
    from engine.store.tables import User
    from sqlalchemy import select

    svc = _services(live)
    try:
        with svc.db.sessions() as s:
            user_id = s.scalars(select(User.id).where(User.email == email)).one()
        company = directory.account(svc, user_id).companies[0].id
        started = enrollment.start_enrollment(svc, user_id, company)
        # confirmed with the previous step's code (±1 step, MFA-2), so this step's and the next one's
        # are still unused: two codes without waiting for the clock
        confirmed = totp.step_at(svc.now()) - 1
        enrollment.confirm_enrollment(svc, user_id, company, code=totp.code_at_step(started.setup_key, confirmed))
    finally:
        svc.db.dispose()
    return code_source(started.setup_key, used=confirmed)


def code_source(secret: str, used: int | None = None) -> Callable[[], str]:
    """Codes of ``secret``, each of a later 30 s step than the last: the next step's code is
    accepted already (±1 step, MFA-2), so two come at once and a third waits for the clock."""
    import time
    from datetime import datetime, timezone

    from engine.security import totp

    last = {"step": totp.step_at(datetime.now(timezone.utc)) if used is None else used}

    def next_code() -> str:
        while True:
            now = totp.step_at(datetime.now(timezone.utc))
            step = max(last["step"] + 1, now)
            if step <= now + 1 and (step == now or _secs_into_step() < 25):
                last["step"] = step
                return totp.code_at_step(secret, step)
            time.sleep(0.5)

    return next_code


def _secs_into_step() -> float:
    import time

    return time.time() % 30


def sign_in(page: Any, live: Live, email: str, code: str | None = None, *, expect_ok: bool = True) -> None:
    page.goto(f"{live.url}/sign-in")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    if code is not None:
        page.get_by_label("Authentication code").fill(code)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
    if expect_ok:
        assert "/sign-in" not in page.url, page.locator("main").inner_text()


def sign_out(page: Any) -> None:
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r".*/sign-in"))


def shoot(page: Any, name: str) -> list[Path]:
    """Screenshots of the page as it is, at 1280×800 and 390×844 (full page), for people to look at."""
    ARTIFACTS.mkdir(exist_ok=True)
    shots = []
    for label, size in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(size)
        wide = page.evaluate("document.documentElement.scrollWidth")
        assert wide <= size["width"], f"{name}: the page is {wide} px wide at {size['width']} px (it scrolls sideways)"
        path = ARTIFACTS / f"{name}-{label}.png"
        page.screenshot(path=str(path), full_page=True)
        shots.append(path)
    page.set_viewport_size(DESKTOP)
    return shots


def assert_accessible(page: Any) -> None:
    """axe-core on the page as it is: no serious or critical violation (WCAG 2 A/AA rules)."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    bad = [v for v in results.response["violations"] if v.get("impact") in ("serious", "critical")]
    assert not bad, "\n".join(f"{v['id']} ({v['impact']}): {v['help']} — "
                              + "; ".join(n["target"][0] if isinstance(n["target"][0], str) else str(n["target"])
                                          for n in v["nodes"][:5]) for v in bad)
