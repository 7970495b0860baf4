"""Routing and SLA speed.

(a) Rule evaluation: ``route_lead`` with N rules (default 200) where the matching rule is the
    last (the worst case: every rule is tried), a team of 10 reps with capacities, working
    hours and skills; per-decision latency over many leads (p50, p99).
(b) Finding due SLA clocks among M open clocks (default 1,000,000) in SQLite through the
    indexed query the worker uses; best of several runs.

    uv run python -m bench.bench_routing --rules 200 --clocks 1000000
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from leadfunnel.adapters.sql.engine import create_store_engine
from leadfunnel.adapters.sql.job_store import SqlJobs
from leadfunnel.adapters.sql.migrate import upgrade
from leadfunnel.domain.ids import id_at
from leadfunnel.rules.business_time import parse_calendar
from leadfunnel.rules.routing import Rep, TeamState, parse_rules, route_lead

NOW = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)
REGIONS = ("East", "West", "North", "South", "Central")
INDUSTRIES = ("software", "retail", "energy", "banking", "logistics", "healthcare")


def ruleset(count: int):
    rules = []
    for i in range(count - 1):  # rules that never match this bench's leads, of varied shapes
        rules.append({"name": f"rule {i}", "team": "T", "when": {"all": [
            {"field": "region", "op": "eq", "value": f"Region{i}"},
            {"any": [{"field": "industry", "op": "in", "value": list(INDUSTRIES[: 1 + i % 6])},
                     {"field": "company_size", "op": "between", "value": [i, i + 100]}]},
            {"field": "title", "op": "regex", "value": f"(?i)\\b(head|vp) of {i}\\b"},
        ]}})  # fmt: skip
    rules.append({"name": "everyone", "team": "T", "strategy": "weighted",
                  "when": {"field": "region", "op": "in", "value": list(REGIONS)}})  # fmt: skip
    return parse_rules({"rule": rules}, teams=["T"])


def bench_rules(count: int, leads: int) -> None:
    rules = ruleset(count)
    office = parse_calendar(
        {
            "name": "office",
            "timezone": "Europe/Berlin",
            "hours": {d: ["08:00-20:00"] for d in ("mon", "tue", "wed", "thu", "fri")},
        }
    )
    reps = [Rep(str(i), f"rep {i}", "T", weight=1 + i % 3, max_open=50, open_leads=i * 4, calendar=office if i % 2 else None,
                skills=frozenset({"en"})) for i in range(10)]  # fmt: skip
    rng = random.Random(1)
    facts = [{"region": rng.choice(REGIONS), "industry": rng.choice(INDUSTRIES), "company_size": rng.randrange(1, 5000),
              "title": "Operations Manager", "score": rng.randrange(100)} for _ in range(leads)]  # fmt: skip
    state = {"T": TeamState()}
    times = []
    for lead in facts:
        started = time.perf_counter()
        decision = route_lead(lead, rules, {"T": reps}, state, now=NOW)
        times.append(time.perf_counter() - started)
        state["T"] = decision.state or state["T"]
    times.sort()
    p50, p99 = times[len(times) // 2], times[int(len(times) * 0.99)]
    print(f"route_lead: rules={count} reps=10 leads={leads} p50={p50 * 1e3:.3f} ms p99={p99 * 1e3:.3f} ms "
          f"mean={statistics.fmean(times) * 1e3:.3f} ms")  # fmt: skip


def bench_due_slas(clocks: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'sla.db'}"
        engine = create_store_engine(url, create_missing=True)
        upgrade(engine)
        engine.dispose()
        raw = sqlite3.connect(Path(tmp) / "sla.db")
        raw.execute("PRAGMA foreign_keys=OFF")  # the clocks' leads are not the point here
        rng = random.Random(2)
        rows = []
        for i in range(clocks):
            due = NOW + timedelta(minutes=rng.randrange(-600, 60 * 24 * 30))
            rows.append((id_at(int(NOW.timestamp() * 1000) - 86_400_000, i).hex, "A leads", NOW.strftime("%Y-%m-%d %H:%M:%S.000000"),
                         due.strftime("%Y-%m-%d %H:%M:%S.000000"), "due", 0, NOW.strftime("%Y-%m-%d %H:%M:%S.000000")))  # fmt: skip
        raw.executemany(
            "INSERT INTO lead_sla (lead_id, policy, started_at, due_at, status, reclaims, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        raw.commit()
        raw.execute("ANALYZE")
        raw.close()
        engine = create_store_engine(url)
        best = float("inf")
        found = 0
        for _ in range(5):
            with engine.connect() as conn:
                started = time.perf_counter()
                found = len(SqlJobs(conn).due_slas(NOW, limit=100_000))
                best = min(best, time.perf_counter() - started)
        engine.dispose()
        print(
            f"due SLA clocks: {found:,} due among {clocks:,} open clocks in {best * 1e3:.1f} ms (best of 5)"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rules", type=int, default=200)
    parser.add_argument("--leads", type=int, default=10_000)
    parser.add_argument("--clocks", type=int, default=1_000_000)
    args = parser.parse_args()
    bench_rules(args.rules, args.leads)
    bench_due_slas(args.clocks)


if __name__ == "__main__":
    main()
