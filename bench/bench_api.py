"""Intake over HTTP: requests per second and latency of ``POST /api/v1/intake`` on loopback.

Starts ``leadfunnel serve`` (``--workers`` uvicorn processes, default one; SQLite) on a fresh database with an intake
API key, then drives it: every request submits a new
person (a unique email, company, title and UTM landing page), authenticated by the key, so
each one is a full intake (validation, normalisation, de-duplication lookup, lead, stage
transition, touchpoint, audit row, commit).

Two runs:

* **paced** (open loop, ``bench/open_loop.py``): ``--rate`` requests a second for
  ``--seconds``, arriving at random (Poisson) times whatever the server does, each latency
  measured from when the request was due: the load the target names, without coordinated
  omission; reports the rate completed and p50/p90/p99.
* **max** (``wrk``, Debian package ``wrk``): as fast as ``--connections`` connections go,
  closed loop: the ceiling.

    uv run python -m bench.bench_api [--rate 300] [--seconds 30] [--connections 8]

The load generator's own CPU shares the two cores with the server; the figures are what this machine does
with both on it.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from functools import partial
from pathlib import Path

from bench.open_loop import open_loop

LUA = r"""
local counter = 0
local id = 0
function setup(thread)
  id = id + 1
  thread:set("id", id)
end
function init(args)
  counter = 0
  math.randomseed(id * 7919)
end
function request()
  counter = counter + 1
  local who = string.format("t%%d-%%d", id, counter)
  local body = string.format(
    '{"email":"%%s@load-%%d.example","first_name":"Load","last_name":"Test %%s","company":"Company %%s",' ..
    '"title":"VP Operations","region":"West","industry":"manufacturing","company_size":"250",' ..
    '"landing_url":"https://www.example.com/pricing?utm_source=google&utm_medium=cpc&utm_campaign=bench"}',
    who, counter %% 997, who, who)
  return wrk.format("POST", "/api/v1/intake", {["Content-Type"] = "application/json",
                    ["Authorization"] = "Bearer %(key)s"}, body)
end
function done(summary, latency, requests)
  io.write(string.format("RESULT %%d %%d %%d %%d %%d %%d %%d %%d\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    summary.errors.status, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
"""


def _body(who: str, n: int) -> bytes:
    """The submission the Lua script builds, for the open-loop run: a new person each time."""
    return (
        f'{{"email":"{who}@load-{n % 997}.example","first_name":"Load","last_name":"Test {who}",'
        f'"company":"Company {who}","title":"VP Operations","region":"West","industry":"manufacturing",'
        f'"company_size":"250","landing_url":"https://www.example.com/pricing?utm_source=google'
        f'&utm_medium=cpc&utm_campaign=bench"}}'
    ).encode()


def _request(port: int, key: str, i: int) -> bytes:
    body = _body(f"paced-{i}", i)
    return (
        f"POST /api/v1/intake HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {key}\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cli(*args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "leadfunnel.entrypoints.cli", *args], check=True,
                          capture_output=True, text=True)  # fmt: skip
    return done.stdout


def _wrk(url: str, lua: Path, *, connections: int, seconds: int) -> dict[str, float]:
    out = subprocess.run(["wrk", "-t", "1", "-c", str(connections), "-d", f"{seconds}s", "-s", str(lua),
                          "--timeout", "5s", url], check=True, capture_output=True, text=True).stdout  # fmt: skip
    match = re.search(r"RESULT (\d+) (\d+) (\d+) (\d+) (\d+) (\d+) (\d+) (\d+)", out)
    assert match, out
    n, micros, p50, p90, p99, worst, bad_status, socket_errors = map(int, match.groups())
    return {"requests": n, "rate": n / (micros / 1e6), "p50_ms": p50 / 1000, "p90_ms": p90 / 1000,
            "p99_ms": p99 / 1000, "max_ms": worst / 1000, "non_2xx": bad_status, "socket_errors": socket_errors}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=int, default=300, help="paced run: requests per second")
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--connections", type=int, default=8, help="max run: connections")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("bench_api needs wrk: apt-get install wrk")
    folder = Path(tempfile.mkdtemp(prefix="leadfunnel-bench-api-"))
    db = f"sqlite:///{folder / 'bench.db'}"
    _cli("db", "upgrade", "--db", db)
    _cli(
        "user",
        "add",
        "forms@bench.example",
        "--name",
        "Forms",
        "--role",
        "admin",
        "--no-password",
        "--db",
        db,
    )
    key = json.loads(_cli("apikey", "create", "load", "--user", "forms@bench.example", "--scope", "intake",
                          "--rate-limit", "100000", "--json", "--db", db))["key"]  # fmt: skip
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "leadfunnel.entrypoints.cli", "serve", "--port", str(port),
                               "--workers", str(args.workers), "--db", db], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            try:
                urllib.request.urlopen(f"{base}/api/v1/health", timeout=1).read()
                break
            except OSError:
                time.sleep(0.2)
        results: dict[str, dict[str, float]] = {}

        def run(name: str, connections: int, seconds: int) -> dict[str, float]:
            lua = folder / f"{name}.lua"
            lua.write_text(LUA % {"key": key, "run": name})
            return _wrk(f"{base}/api/v1/intake", lua, connections=connections, seconds=seconds)

        run("warm-up", 2, 5)
        results["paced"] = open_loop(port, partial(_request, port, key), rate=args.rate,
                                     seconds=args.seconds)  # fmt: skip
        results["max"] = run("max", args.connections, args.seconds)
        leads = int(subprocess.run(["sqlite3", str(folder / "bench.db"), "SELECT count(*) FROM leads"],
                                   capture_output=True, text=True).stdout.strip() or 0) if shutil.which("sqlite3") else None  # fmt: skip
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(
        f"intake over HTTP, SQLite, {args.workers} uvicorn worker(s), {os.cpu_count()} CPUs, wrk on the same machine"
    )
    for name in ("paced", "max"):
        r = results[name]
        print(f"{name:>6}: {r['rate']:7.1f} req/s over {r['requests']} requests; latency p50 {r['p50_ms']:.1f} ms, "
              f"p90 {r['p90_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms, max {r['max_ms']:.1f} ms; "
              f"non-2xx {r['non_2xx']}, socket errors {r['socket_errors']}")  # fmt: skip
    if leads is not None:
        print(f"leads stored: {leads}")
    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
