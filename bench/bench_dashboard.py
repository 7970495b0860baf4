"""Dashboard and funnel explorer: server time per page on a demo store.

Builds a demo (``leadfunnel demo --leads N --no-serve``; or reuses ``--db``), signs an admin
in through the login form of the in-process app, and times whole page requests (routing,
session, analytics, rendering), as the server spends them, for:

* **cold**: the first request after the store was built (it syncs the analytics store and
  computes every answer);
* **new question**: a page with parameters not asked before (the store is synced; the
  answer is computed): the median of ``--repeat`` such pages, each with a creation period
  starting on another day from 2020-01-01 (about the demo's whole history), and the
  slowest of them;
* **warm**: the same page again (answered from memory: ``web/answers.py``), median of
  ``--repeat``;
* **after a write**: one new lead through intake, then the page (the change token moved).
  An answer that took over ``Answers.slow`` seconds is shown as it was, marked with its
  time, while a background thread syncs and recomputes it (**refresh**: the wait for that
  thread); a quicker one is recomputed at once;
* **then**: the page once the refresh is done (the new answer, from memory);
* **after a restart**: a new app that warms the default dashboard as ``leadfunnel serve``
  does, the time that warm-up takes in the background, then the first view.

    uv run python -m bench.bench_dashboard --leads 1000000 [--db sqlite:///demo.db]

``--kpis`` times the KPI question alone instead, through the analytics engine (no web
layer): for a few periods, five never-asked variants each (the period shifted by a day),
the whole question as the app asks it (the first variant compiles its plans, the others
reuse them: ``adapters/warehouse/plans.py``) and its ``lead_counts`` aggregation by itself
(DuckDB time), over the milestones' stored ``first_response_at`` and, as before the store
kept it (and as on PostgreSQL), with the first responses computed from ``activities``
inside the question.

    uv run python -m bench.bench_dashboard --db sqlite:///demo.db --kpis
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

PASSWORD = "correct horse battery staple"
PAGES = ("/dashboard", "/explorer", "/explorer?by=channel&cohort=month")


def _kpi_questions(db: str, repeat: int) -> None:
    """Never-asked KPI questions through the engine, and ``lead_counts`` alone (ms)."""
    from datetime import UTC, datetime

    from sqlalchemy import create_engine

    from leadfunnel.adapters.warehouse.engine import analytics_engine
    from leadfunnel.adapters.warehouse.kpi_builder import (
        first_responses,
        lead_counts,
        selected_leads,
        with_first_responses,
    )
    from leadfunnel.analytics.kpi_spec import kpi_spec

    engine = analytics_engine(create_engine(db))
    started = time.perf_counter()
    stats = engine.sync(now=datetime.now(UTC))
    print(f"sync: {(time.perf_counter() - started) * 1000:.0f} ms (full: {stats.full})")
    aware = datetime.now(UTC)
    now = aware.replace(tzinfo=None)
    today = now.date()
    questions = {
        "last 30 days": lambda k: kpi_spec(period_from=today - timedelta(days=30 + k)),
        "whole range": lambda k: kpi_spec(period_to=date(2100, 1, 1) + timedelta(days=k)),
        "last 90 days by channel": lambda k: kpi_spec(
            by="channel", period_from=today - timedelta(days=90 + k)
        ),
    }
    def stored(con: Any, selected: Any) -> Any:
        return selected

    def inline(con: Any, selected: Any) -> Any:
        leads = selected.select(id=selected.lead_id, created_at=selected.created_at)
        bare = selected.drop("first_response_at")
        return with_first_responses(bare, first_responses(leads, con.table("activities")))

    print(f"{'question (ms: first, median)':<28} {'kpis':>11} {'lead_counts':>12} {'inline':>11}")  # fmt: skip
    for label, spec in questions.items():
        times: dict[str, list[float]] = {"kpis": [], "stored": [], "inline": []}
        for k in range(repeat):
            # As the app asks: the first variant compiles the question's plans, the others
            # (new periods) run them with their own days.
            begun = time.perf_counter()
            engine.kpis(spec(k), now=aware)
            times["kpis"].append((time.perf_counter() - begun) * 1000)
        # The engine's questions may sync; a connection of our own is opened only after.
        con = engine.store.connect()
        try:
            for k in range(repeat):
                for n, (name, first) in enumerate((("stored", stored), ("inline", inline))):
                    selected = selected_leads(con.table("milestones"), spec((n + 1) * repeat + k))
                    expr = lead_counts(first(con, selected), now=now)
                    begun = time.perf_counter()
                    expr.to_pyarrow()
                    times[name].append((time.perf_counter() - begun) * 1000)
        finally:
            con.disconnect()
        cells = " ".join(f"{t[0]:5.0f} {statistics.median(t):5.0f}" for t in times.values())
        print(f"{label:<28} {cells}")
    print(f"load average after: {os.getloadavg()}")


def _timed(client: Any, path: str) -> float:
    start = time.perf_counter()
    response = client.get(path)
    elapsed = time.perf_counter() - start
    assert response.status_code == 200, (path, response.status_code, response.text[:300])
    return elapsed * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--db", help="an existing demo store (else one is built)")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--kpis", action="store_true", help="time never-asked KPI questions (needs --db)"
    )
    args = parser.parse_args()
    if args.kpis:
        if args.db is None:
            parser.error("--kpis needs --db")
        print(f"{os.cpu_count()} CPUs; load average before: {os.getloadavg()}")
        _kpi_questions(args.db, args.repeat)
        return
    db = args.db
    if db is None:
        folder = Path(tempfile.mkdtemp(prefix="leadfunnel-bench-dash-"))
        db = f"sqlite:///{folder / 'demo.db'}"
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "leadfunnel.entrypoints.cli", "demo", "--leads", str(args.leads),
                        "--no-serve", "--db", db], check=True, capture_output=True)  # fmt: skip
        print(f"demo of {args.leads:,} leads built in {time.perf_counter() - started:.0f} s")
    os.environ["LEADFUNNEL_DATABASE_URL"] = db

    from fastapi.testclient import TestClient

    from leadfunnel.bootstrap import build_app
    from leadfunnel.config import load_settings
    from leadfunnel.entrypoints.api.app import create_api
    from leadfunnel.services.auth import add_user
    from leadfunnel.services.intake import intake_lead
    from leadfunnel.services.lead_input import parse_lead_input

    app = build_app(load_settings())
    email = f"bench-{int(time.time())}@bench.example"
    add_user(uow_factory=app.uow_factory, email=email, name="Bench", role="admin", password=PASSWORD,
             team=None, actor="bench", now=app.clock())  # fmt: skip
    client = TestClient(create_api(app), base_url="http://127.0.0.1")
    signed = client.post("/login", data={"email": email, "password": PASSWORD}, follow_redirects=False)
    assert signed.status_code == 303, signed.text
    print(f"{os.cpu_count()} CPUs; times are whole requests in this process, in ms")
    remembered = client.app.state.answers
    print(f"{'page':<40} {'cold':>8} {'new q.':>8} {'slowest':>8} {'warm':>8} {'write':>8} {'refresh':>8} {'then':>8}")
    for n, path in enumerate(PAGES):
        cold = _timed(client, path)
        joiner = "&" if "?" in path else "?"
        starts = [date(2020, 1, 1) + timedelta(days=n * args.repeat + k) for k in range(args.repeat)]
        news = [_timed(client, f"{path}{joiner}from={start.isoformat()}") for start in starts]
        fresh, slowest = statistics.median(news), max(news)
        warm = statistics.median(_timed(client, path) for _ in range(args.repeat))
        now = app.clock()
        draft = parse_lead_input({"email": f"bench-{n}-{time.time_ns()}@client.example"}, now=now,
                                 default_region=app.settings.default_region)  # fmt: skip
        intake_lead(uow_factory=app.uow_factory, draft=draft, source="bench", actor="bench", now=now)
        after = _timed(client, path)
        started = time.perf_counter()
        assert remembered.wait_idle(600)
        refresh = (time.perf_counter() - started) * 1000
        then = _timed(client, path)
        print(f"{path:<40} {cold:8.0f} {fresh:8.0f} {slowest:8.0f} {warm:8.0f} {after:8.0f} {refresh:8.0f} {then:8.0f}")
    app.close()

    # A restart as `leadfunnel serve` does it: a new process state (app, engine, answers)
    # that starts computing the default dashboard at once; then the first admin view.
    restarted = build_app(load_settings())
    served = create_api(restarted, warm_dashboards=True)
    started = time.perf_counter()
    with TestClient(served, base_url="http://127.0.0.1", cookies=client.cookies) as again:
        answers = served.state.answers
        while answers.refreshes == 0 and time.perf_counter() - started < 600:
            answers.wait_idle(1)  # the warm-up starts on its own thread: wait for it to end
            time.sleep(0.01)
        ready = time.perf_counter() - started
        first = _timed(again, "/dashboard")
    print(f"after a restart: dashboard warm-up {ready * 1000:.0f} ms in the background, "
          f"then the first view {first:.0f} ms")
    restarted.close()


if __name__ == "__main__":
    main()
