"""Funnel analytics speed: leadfunnel's engine vs hand-written SQL and pandas on the event log.

Workload, as in the funnel issue: (a) stage counts, conversion and drop-off; (b) the same by
channel x creation month; (c) median and p90 time in each stage; (d) the ordered funnel
within a 90-day window. leadfunnel answers from its synced DuckDB store (milestone table +
stage changes, built by the same SQL the sync runs); the baselines answer from the raw
event log only (stage changes joined to leads), as a hand-written report would. All three
run in this process on the same data; the script prints warm times (best of --repeat) and
the ratios. leadfunnel's warm time runs each question from its compiled plan, as the
engine does from the second ask on (``adapters/warehouse/plans.py``); the time of asking
them compiled anew, as a first ask does, is printed too. The store build (what a full sync
does after copying the rows) is timed apart.

    uv run python -m bench.bench_funnel --leads 1000000
    uv run python -m bench.bench_funnel --leads 10000000 --store /tmp/f10m.duckdb  # build, keep
    uv run python -m bench.bench_funnel --store /tmp/f10m.duckdb  # the questions alone
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from datetime import datetime
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from leadfunnel.adapters.warehouse.duckdb_store import (
    _LEADS_DDL,
    _STATE_DDL,
    _TRANSITIONS_DDL,
    create_lead_tables,
)
from leadfunnel.adapters.warehouse.durations_builder import stage_time_stats
from leadfunnel.adapters.warehouse.engine import DuckDbStore
from leadfunnel.adapters.warehouse.funnel_builder import build_funnel
from leadfunnel.adapters.warehouse.milestones import DIMENSIONS
from leadfunnel.adapters.warehouse.plans import Plans
from leadfunnel.adapters.warehouse.results import funnel_result
from leadfunnel.analytics.funnel_spec import funnel_spec

PATH = ["lead", "mql", "sql", "opportunity", "won"]
CHANNELS = np.array(["paid_search", "organic_search", "webinar", "trade_show", "partner_referral", "social_ads",
                     "email_campaign", "content_download", "hotline", "online_chat", "display", "social_messaging"])  # fmt: skip
NOW = datetime(2026, 1, 1)


def generate(n: int, seed: int = 7) -> tuple[pa.Table, pa.Table]:
    """n leads over two years; each moves along the path with falling odds, some drop out."""
    rng = np.random.default_rng(seed)
    start = np.datetime64("2024-01-01T00:00:00", "s")
    created = start + rng.integers(0, 730 * 86_400, n).astype("timedelta64[s]")
    channel = CHANNELS[rng.integers(0, len(CHANNELS), n)]
    quality = rng.normal(0, 1, n) + (rng.integers(0, len(CHANNELS), n) % 4) * 0.2
    ids = np.char.zfill(np.arange(n).astype(str), 32)  # 32 hex digits, as the store's UUIDs
    lead_ids, stages, ats = [ids], [np.full(n, "lead")], [created]
    alive, at = np.ones(n, bool), created.copy()
    for k, stage in enumerate(PATH[1:], start=1):
        p = 1 / (1 + np.exp(-(quality - 0.2 * k)))
        alive &= rng.random(n) < p * 0.9
        at = at + (rng.exponential(7 * k, n) * 86_400).astype("timedelta64[s]")
        alive &= at < np.datetime64(NOW)
        lead_ids.append(ids[alive])
        stages.append(np.full(alive.sum(), stage))
        ats.append(at[alive])
        dropped = ~alive & (rng.random(n) < 0.3) & (at < np.datetime64(NOW))
        lead_ids.append(ids[dropped & (rng.random(n) < 1)])
        stages.append(np.full((dropped & True).sum(), "lost" if k == 4 else "disqualified"))
        ats.append(at[dropped])
    transitions = pa.table({
        "id": pa.array(np.char.add("t", np.arange(sum(len(a) for a in lead_ids)).astype(str))),
        "lead_id": pa.array(np.concatenate(lead_ids)),
        "to_stage": pa.array(np.concatenate(stages)),
        "at": pa.array(np.concatenate(ats).astype("datetime64[us]")),
    })  # fmt: skip
    current = pd.DataFrame({"lead_id": transitions["lead_id"].to_numpy(), "to_stage": transitions["to_stage"].to_numpy(),
                            "at": transitions["at"].to_numpy()}).sort_values("at").groupby("lead_id").to_stage.last()  # fmt: skip
    leads = {
        "id": ids, "created_at": created.astype("datetime64[us]"), "updated_at": created.astype("datetime64[us]"),
        "stage": current.reindex(ids).to_numpy(), "company_size": rng.integers(1, 10_000, n),
        **{d: np.full(n, None) for d in DIMENSIONS}, "custom_fields": np.full(n, None),
        "account_id": np.full(n, None),
    }  # fmt: skip
    leads["channel"] = channel
    return pa.table({k: pa.array(v) for k, v in leads.items()}), transitions


def build_store(path: Path, leads: pa.Table, transitions: pa.Table) -> float:
    started = time.perf_counter()
    with duckdb.connect(str(path)) as db:
        db.execute(_LEADS_DDL)
        db.execute(_TRANSITIONS_DDL)
        db.register("l", leads)
        db.execute("INSERT INTO leads SELECT * FROM l")
        db.register("t", transitions)
        db.execute('INSERT INTO stage_transitions SELECT id, lead_id, to_stage, "at" FROM t')
        db.execute(_STATE_DDL)
        create_lead_tables(db)
    return time.perf_counter() - started


SPECS = {
    "a": funnel_spec(),
    "b": funnel_spec(breakdown="channel", cohort="month"),
    "d": funnel_spec(window="90d"),
}


def leadfunnel_part(con, part: str, plans: Plans | None = None) -> object:
    """One question of the workload, asked as the engine asks it: from its compiled plan
    (``plans``; compiled on the first ask), or built and compiled anew (no ``plans``)."""

    def build(now: datetime):
        if part == "c":
            return stage_time_stats(con.table("stage_stays"))
        return build_funnel(con.table("milestones"), con.table("stage_transitions"), SPECS[part], now=now)

    if plans is not None:
        rows = plans.records(con, (part,), build, NOW)
    else:
        rows = build(NOW).to_pyarrow().to_pylist()
    return rows if part == "c" else funnel_result(rows, SPECS[part])


def leadfunnel_workload(con, plans: Plans | None = None) -> dict[str, object]:
    return {part: leadfunnel_part(con, part, plans) for part in "abcd"}


BASE_CTE = """WITH f AS (SELECT lead_id, {firsts} FROM stage_transitions GROUP BY lead_id),
r AS (SELECT f.*, l.channel, l.created_at, {reach} FROM f JOIN leads l ON l.id = f.lead_id)"""


def sql_workload(db: duckdb.DuckDBPyConnection) -> dict[str, object]:
    firsts = ", ".join(f"min(\"at\") FILTER (WHERE to_stage = '{s}') AS f_{s}" for s in PATH)
    reach = ", ".join(
        f"least({', '.join(f'f_{x}' for x in PATH[i:])}) AS r_{s}" for i, s in enumerate(PATH)
    )
    cte = BASE_CTE.format(firsts=firsts, reach=reach)
    counts = ", ".join(f"count(r_{s}) AS {s}" for s in PATH)
    windowed = ", ".join(
        f"count(*) FILTER (WHERE r_{s} <= r_lead + INTERVAL 90 DAY) AS {s}" for s in PATH
    )
    return {
        "a": db.execute(f"{cte} SELECT {counts} FROM r").fetchall(),
        "b": db.execute(f"{cte} SELECT channel, date_trunc('month', created_at) AS m, {counts} FROM r GROUP BY ALL").fetchall(),
        "c": db.execute("""SELECT to_stage, quantile_cont(d, 0.5), quantile_cont(d, 0.9) FROM (
                SELECT to_stage, (epoch(lead("at") OVER w) - epoch("at")) / 86400 AS d FROM stage_transitions
                WINDOW w AS (PARTITION BY lead_id ORDER BY "at", id)) WHERE d IS NOT NULL GROUP BY to_stage""").fetchall(),
        "d": db.execute(f"{cte} SELECT {windowed} FROM r WHERE r_lead IS NOT NULL").fetchall(),
    }  # fmt: skip


def pandas_workload(leads: pd.DataFrame, transitions: pd.DataFrame) -> dict[str, object]:
    firsts = transitions.pivot_table(
        index="lead_id", columns="to_stage", values="at", aggfunc="min"
    )
    reach = pd.DataFrame(
        {s: firsts.reindex(columns=PATH[i:]).min(axis=1) for i, s in enumerate(PATH)}
    )
    joined = reach.join(leads.set_index("id")[["channel", "created_at"]])
    joined["month"] = joined.created_at.dt.to_period("M")
    ordered = transitions.sort_values(["lead_id", "at", "id"])
    ordered["d"] = (
        ordered.groupby("lead_id")["at"].shift(-1) - ordered["at"]
    ).dt.total_seconds() / 86400
    window = reach.le(reach["lead"] + pd.Timedelta(days=90), axis=0)
    return {
        "a": reach.count(),
        "b": joined.groupby(["channel", "month"])[PATH].count(),
        "c": ordered.dropna(subset=["d"]).groupby("to_stage")["d"].quantile([0.5, 0.9]),
        "d": window.sum(),
    }


def best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-pandas", action="store_true")
    parser.add_argument(
        "--store",
        type=Path,
        help="a store file to keep: built there when missing, else used as it is (no data "
        "generated, no pandas baseline), so the peak memory printed is the questions' own",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = args.store or Path(tmp) / "bench.duckdb"
        leads = transitions = None
        if path.exists():
            with duckdb.connect(str(path), read_only=True) as db:
                counts = [db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("leads", "stage_transitions")]  # fmt: skip
            print(f"store {path}: leads={counts[0]:,} stage_changes={counts[1]:,} machine: 2 cores")
        else:
            leads, transitions = generate(args.leads)
            print(f"leads={leads.num_rows:,} stage_changes={transitions.num_rows:,} machine: 2 cores")
            print(f"store build (copy + milestone table): {build_store(path, leads, transitions):.2f}s")
        run(path, args.repeat, None if args.skip_pandas else (leads, transitions))
    print(f"peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


def run(path: Path, repeat: int, frames: tuple[pa.Table | None, pa.Table | None] | None) -> None:
    con = DuckDbStore(path).connect()
    plans = Plans()
    leadfunnel_workload(con, plans)  # warm: data cached, plans compiled
    ours = best(lambda: leadfunnel_workload(con, plans), repeat)
    parts = {p: best(lambda p=p: leadfunnel_part(con, p, plans), repeat) for p in "abcd"}
    print("per question (best of each): " + ", ".join(f"({p}) {t:.3f}s" for p, t in parts.items()))
    compiling = best(lambda: leadfunnel_workload(con), repeat)
    print(f"leadfunnel engine compiling every question anew (a first ask): {compiling:.3f}s")
    con.disconnect()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS after leadfunnel's questions: {rss:.0f} MiB")
    with duckdb.connect(str(path), read_only=True) as db:
        sql_workload(db)
        raw_sql = best(lambda: sql_workload(db), repeat)
    print(
        f"leadfunnel engine: {ours:.3f}s  |  DuckDB SQL on the event log: {raw_sql:.3f}s  ({raw_sql / ours:.1f}x)"
    )
    if frames is not None and frames[0] is not None and frames[1] is not None:
        lp, tp = frames[0].to_pandas(), frames[1].to_pandas()
        panda = best(lambda: pandas_workload(lp, tp), 1)
        print(f"pandas on the event log: {panda:.3f}s  ({panda / ours:.1f}x)")


if __name__ == "__main__":
    main()
