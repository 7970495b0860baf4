"""``leadfunnel serve`` as a real process on loopback, and the user/team/apikey commands that
prepare it: a web form posts over real HTTP and the lead lands in the store."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from leadfunnel.entrypoints.cli.app import main


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _request(url: str, *, body: bytes | None = None, headers: dict[str, str] | None = None):
    request = urllib.request.Request(url, data=body, headers=headers or {}, method="POST" if body else "GET")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # loopback only
            return response.status, dict(response.headers), json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), json.loads(exc.read() or b"null")


def _run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_serve_accepts_a_signed_web_form_over_http(capsys, sqlite_url: str, tmp_path: Path) -> None:
    db = ["--db", sqlite_url]
    assert _run(capsys, "team", "add", "East", *db)[0] == 0
    code, _, err = _run(capsys, "user", "add", "ops@corp.example", "--name", "Ops", "--role", "admin",
                        "--no-password", *db)
    assert code == 0, err
    code, out, err = _run(capsys, "apikey", "create", "website form", "--user", "ops@corp.example",
                          "--scope", "intake", "--source", "webform", "--signed", "--json", *db)
    assert code == 0, err
    issued = json.loads(out)
    code, out, _ = _run(capsys, "apikey", "list", "--json", *db)
    assert issued["key"] not in out and json.loads(out)["items"][0]["signed"] is True

    port = _free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    server = subprocess.Popen(
        [sys.executable, "-m", "leadfunnel.entrypoints.cli", "serve", "--port", str(port), "--worker-interval", "1", *db],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    try:
        base = f"http://127.0.0.1:{port}/api/v1"
        deadline = time.monotonic() + 30
        while True:
            try:
                if _request(f"{base}/health")[0] == 200:
                    break
            except (urllib.error.URLError, ConnectionError):
                pass
            assert server.poll() is None, server.stdout.read().decode() if server.stdout else ""
            assert time.monotonic() < deadline, "the server did not answer within 30 s"
            time.sleep(0.2)
        body = json.dumps({"email": "web.form@buyer.example", "company": "Buyer"}).encode()
        stamp = str(int(time.time()))
        mac = hmac.new(issued["signing_secret"].encode(), f"{stamp}\nPOST\n/api/v1/intake\n".encode() + body,
                       hashlib.sha256).hexdigest()
        headers = {"Content-Type": "application/json", "X-Leadfunnel-Key": issued["key"].split("_")[1],
                   "X-Leadfunnel-Timestamp": stamp, "X-Leadfunnel-Signature": f"sha256={mac}"}
        status, _, created = _request(f"{base}/intake", body=body, headers=headers)
        assert status == 201 and created["outcome"] == "created"
        status, response_headers, _ = _request(f"{base}/intake", body=body + b" ", headers=headers)
        assert status == 401 and response_headers["content-type"] == "application/problem+json"
        status, _, me = _request(f"{base}/auth/me", headers={"Authorization": f"Bearer {issued['key']}"})
        assert status == 200 and me["scopes"] == ["intake"] and me["role"] == "admin"
        openapi = _request(f"{base}/openapi.json")
        assert openapi[0] == 200 and "/api/v1/intake" in openapi[2]["paths"]
    finally:
        server.terminate()
        server.wait(timeout=30)
    code, out, _ = _run(capsys, "lead", "list", "--search", "web.form", "--json", *db)
    assert code == 0 and json.loads(out)["items"][0]["source"] == "webform"


def test_demo_builds_then_serves_the_dashboard_with_a_printed_sign_in(tmp_path: Path) -> None:
    port = _free_port()
    demo = subprocess.Popen(
        [sys.executable, "-m", "leadfunnel.entrypoints.cli", "demo", "--leads", "300", "--port", str(port),
         "--db", f"sqlite:///{tmp_path / 'demo.db'}"],
        env={**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "200"}, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True,
    )
    try:
        assert demo.stdout is not None
        deadline, line = time.monotonic() + 120, ""
        while "Dashboard:" not in line:
            line = demo.stdout.readline()
            assert line or demo.poll() is None, "demo exited before serving"
            assert time.monotonic() < deadline, "demo did not start serving within 120 s"
        words = line.split()
        email, password = words[words.index("as") + 1], words[words.index("password") + 1]
        base = f"http://127.0.0.1:{port}"
        for _ in range(150):
            try:
                if _request(f"{base}/api/v1/health")[0] == 200:
                    break
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.2)
        body = json.dumps({"email": email, "password": password}).encode()
        status, _, signed_in = _request(f"{base}/api/v1/auth/login", body=body,
                                        headers={"Content-Type": "application/json"})
        assert status == 200 and signed_in["user"]["role"] == "admin"
    finally:
        demo.terminate()
        demo.wait(timeout=30)
