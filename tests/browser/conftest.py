"""Browser tests: the pages in a real Chromium (Debian's, driven by Playwright) against a real
``payroute serve --demo`` on a loopback port, with its own SQLite database and worker.

Skipped, with the reason, where Chromium or Playwright is missing (``.ci/run`` installs
Chromium with apt-get). Each test module gets a fresh server: the demo story changes the
demo's state, so modules don't share one. Screenshots land in ``tests/browser/artifacts``.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("PAYROUTE_TEST_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).with_name("artifacts")
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


def _missing() -> str | None:
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        return f"no Chromium at {CHROMIUM} (apt-get install chromium; .ci/run does)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install -e '.[test]')"
    return None


MISSING = _missing()
pytestmark = pytest.mark.skipif(MISSING is not None, reason=MISSING or "")


@dataclass(frozen=True)
class Live:
    """A running ``payroute serve --demo``."""

    url: str
    database_url: str
    home: Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    if MISSING:
        pytest.skip(MISSING)
    home = tmp_path_factory.mktemp("serve")
    port = _free_port()
    database_url = f"sqlite:///{home / 'payroute.sqlite3'}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAYROUTE_")}
    env.update(PYTHONPATH=str(ROOT), HOME=str(home), PAYROUTE_INSECURE_DEVELOPMENT_KEY="1")
    log = (home / "serve.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "web.cli", "serve", "--demo", "--bind", f"127.0.0.1:{port}",
                             "--workers", "2", "--database-url", database_url],
                            cwd=home, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://localhost:{port}"
    deadline = time.monotonic() + 90
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as r:
                if r.status == 200:
                    break
        except (urllib.error.URLError, OSError):
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            log.close()
            raise AssertionError("payroute serve --demo did not start:\n" + (home / "serve.log").read_text())
        time.sleep(0.25)
    # the demo's bank settles 10 s after taking; a second is enough here (the operator's own lever)
    subprocess.run([sys.executable, "-m", "web.cli", "bank", "--database-url", database_url, "settle-after", "1"],
                   cwd=home, env=env, check=True, capture_output=True, timeout=60)
    try:
        yield Live(url, database_url, home)
    finally:
        import signal

        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()
        served = (home / "serve.log").read_text()
        assert "Traceback" not in served, served  # no request ended in an unhandled error


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium"),
                              headless=True, args=["--no-sandbox", "--disable-dev-shm-usage"])
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser: object) -> Iterator[object]:
    context = browser.new_context(viewport=DESKTOP)  # type: ignore[attr-defined]
    p = context.new_page()
    p.set_default_timeout(15_000)
    errors: list[str] = []
    p.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        yield p
    finally:
        context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"
