"""A real ``leadfunnel serve`` over a small demo company, and Chromium to drive it.

One server per test session (per xdist worker): ``leadfunnel demo`` simulates 2,000 leads,
then three people get passwords: a new admin, a new marketer, and one of the demo's reps who
owns leads. Each test gets a fresh browser context (no cookies) whose every request URL is
recorded; the test fails if any left 127.0.0.1.

Chromium is Debian's ``/usr/bin/chromium`` (``.ci/run`` installs it); without it the
browser tests are skipped with that reason.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from leadfunnel.entrypoints.cli.app import main

ROOT = Path(__file__).resolve().parents[2]
SCREENS = ROOT / "test-artifacts" / "screens"
CHROMIUM = Path("/usr/bin/chromium")
PASSWORD = "correct horse battery staple"
LOOPBACK = "127.0.0.1"


@dataclass(frozen=True)
class Person:
    email: str
    role: str
    user_id: str = ""


@dataclass
class Site:
    base: str
    db: str
    people: dict[str, Person] = field(default_factory=dict)


def _cli(*args: str, stdin: str = "") -> str:
    """Run ``leadfunnel ARGS`` in this process (as tests/e2e do); its stdout."""
    out, saved = io.StringIO(), sys.stdin
    sys.stdin = io.StringIO(stdin)
    try:
        with contextlib.redirect_stdout(out):
            code = main(list(args))
    finally:
        sys.stdin = saved
    assert code == 0, f"leadfunnel {' '.join(args)} failed:\n{out.getvalue()}"
    return out.getvalue()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return int(s.getsockname()[1])


def _wait_until_up(server: subprocess.Popen[bytes], url: str, log: Path) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:  # loopback only
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError):
            pass
        assert server.poll() is None, log.read_text(errors="replace")
        assert time.monotonic() < deadline, "leadfunnel serve did not answer within 60 s"
        time.sleep(0.2)


def _people(db: str) -> dict[str, Person]:
    """A new admin and marketer, and a demo rep who owns leads, all with PASSWORD."""
    for role in ("admin", "marketer"):
        _cli("user", "add", f"{role}@web.example", "--name", f"Web {role}", "--role", role,
             "--password-stdin", "--db", db, stdin=PASSWORD + "\n")  # fmt: skip
    users = {u["id"]: u for u in json.loads(_cli("user", "list", "--json", "--db", db))["items"]}
    owned = json.loads(_cli("lead", "list", "--owned", "--limit", "200", "--json", "--db", db))
    rep = next(users[lead["owner_id"]] for lead in owned["items"]
               if users[lead["owner_id"]]["role"] == "rep")  # fmt: skip
    _cli("user", "passwd", rep["email"], "--password-stdin", "--db", db, stdin=PASSWORD + "\n")
    by_email = {u["email"]: u for u in users.values()}
    return {
        "admin": Person("admin@web.example", "admin", str(by_email["admin@web.example"]["id"])),
        "marketer": Person("marketer@web.example", "marketer", str(by_email["marketer@web.example"]["id"])),
        "rep": Person(rep["email"], "rep", str(rep["id"])),
    }  # fmt: skip


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    if not CHROMIUM.exists():
        if os.environ.get("CI") == "true":  # CI installs it: a skip there would hide a failure
            pytest.fail(f"CI must provide Debian's chromium at {CHROMIUM} (.ci/run installs it)")
        pytest.skip(f"browser tests need Debian's chromium at {CHROMIUM}")
    workdir = tmp_path_factory.mktemp("web")
    db = f"sqlite:///{workdir / 'demo.db'}"
    _cli("demo", "--leads", "2000", "--no-serve", "--db", db)
    people = _people(db)
    port, log = _free_port(), workdir / "serve.log"
    with log.open("wb") as output:
        server = subprocess.Popen(
            [sys.executable, "-m", "leadfunnel.entrypoints.cli", "serve", "--host", LOOPBACK,
             "--port", str(port), "--worker-interval", "0", "--db", db],
            env={**os.environ, "PYTHONUNBUFFERED": "1"}, stdout=output, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        base = f"http://{LOOPBACK}:{port}"
        _wait_until_up(server, f"{base}/api/v1/health", log)
        yield Site(base=base, db=db, people=people)
    finally:
        server.terminate()
        server.wait(timeout=30)
    errors = log.read_text(errors="replace")
    assert "Traceback" not in errors, f"the server logged an error:\n{errors}"


@pytest.fixture(scope="session")
def browser(site: Site) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM))
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser, site: Site) -> Iterator[object]:
    """A page in a fresh context; afterwards, every request it made must have stayed local,
    and no script may have failed."""
    context = browser.new_context(base_url=site.base, viewport={"width": 1366, "height": 900},
                                  locale="en-US")  # fmt: skip
    context.set_default_timeout(60_000)  # generous: CI machines run other tests meanwhile
    requested: list[str] = []
    context.on("request", lambda request: requested.append(request.url))
    opened = context.new_page()
    broken: list[str] = []  # uncaught script errors, and anything the page's CSP refused
    opened.on("pageerror", lambda error: broken.append(str(error)))
    opened.on(
        "console", lambda m: broken.append(m.text) if "Content Security Policy" in m.text else None
    )
    try:
        yield opened
    finally:
        context.close()
    assert not broken, f"the page's scripts failed: {broken}"
    away = [url for url in requested
            if urlsplit(url).scheme not in ("data", "blob", "about") and urlsplit(url).hostname != LOOPBACK]  # fmt: skip
    assert requested, "the test made no request at all"
    assert not away, f"requests left {LOOPBACK}: {away}"


def sign_in(page, site: Site, who: str, *, path: str = "/") -> None:
    """Sign in through the login form as persona ``who``, starting from ``path``."""
    page.goto(path)
    page.wait_for_url("**/login**")
    page.fill("input[name=email]", site.people[who].email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def screenshot(page, name: str) -> None:
    SCREENS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENS / f"{name}.png"), full_page=True)
