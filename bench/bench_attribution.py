"""Attribution speed: every model over 1M leads with 5M touchpoints.

Generates leads (two years, a quarter convert) with touchpoints over 12 channels and 30
campaigns (Poisson 5 per lead, at least one), conversion, lead-creation and opportunity
anchors and won revenue, as the Arrow tables the analytics store returns; then times

* **query** (``--store``): the engine's two queries over a DuckDB file holding the same
  rows in the analytics store's shape (milestones, leads, deals, touchpoints), fetched as
  Arrow and turned into journeys: what a question costs before any model runs;
* **load**: Arrow -> :class:`Journeys` alone (``adapters/warehouse/attribution_builder.py``);
* **window**: lookback and conversion cut (90 days), done once per question;
* **each model**: shares and credit per channel (rule-based models on the converted
  journeys, data-driven ones fitted on all of them), best of ``--repeat``; Markov also at
  orders 2 and 3.

    uv run python -m bench.bench_attribution --leads 1000000 --touches 5000000 [--store]

Targets (issue 9): each position-based model at most 3 s, Markov at most 10 s.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import ibis
import numpy as np
import pyarrow as pa

from leadfunnel.adapters.warehouse.attribution_builder import to_journeys
from leadfunnel.adapters.warehouse.engine import _attribution
from leadfunnel.analytics.attribution import credit_by_group, touch_shares
from leadfunnel.analytics.attribution_journeys import Journeys, converted_only, window
from leadfunnel.analytics.attribution_spec import DATA_DRIVEN, MODELS, attribution_spec

CHANNELS = ["paid_search", "organic_search", "webinar", "trade_show", "partner_referral", "social_ads",
            "email_campaign", "content_download", "hotline", "online_chat", "display", "direct"]  # fmt: skip
DAY_US = 86_400 * 1_000_000


def generate(leads: int, touches: int, seed: int = 9) -> tuple[pa.Table, pa.Table]:
    rng = np.random.default_rng(seed)
    start = np.datetime64("2024-01-01T00:00:00", "us").astype(np.int64)
    created = start + rng.integers(0, 700 * DAY_US, leads)
    quality = rng.normal(0, 1, leads)
    converts = rng.random(leads) < 1 / (1 + np.exp(-(quality - 1.2)))
    converted = np.where(
        converts, created + (rng.exponential(40, leads) * DAY_US).astype(np.int64), -1
    )
    opened = np.where(converts, (created + converted) // 2, -1)
    per_lead = 1 + rng.poisson(touches / leads - 1, leads)
    lead_of = np.repeat(np.arange(leads), per_lead)
    at = created[lead_of] + (rng.normal(0, 30, len(lead_of)) * DAY_US).astype(np.int64)
    channel = rng.integers(0, len(CHANNELS), len(lead_of))
    campaign = channel * 3 + rng.integers(0, 3, len(lead_of))
    ids = pa.array(np.char.add("lead", np.arange(leads).astype(str)))

    def times(values: np.ndarray) -> pa.Array:
        return pa.array(values, pa.timestamp("us"), mask=values < 0)

    lead_table = pa.table({
        "lead_id": ids, "account": ids, "created_at": times(created),
        "converted_at": times(converted), "opened_at": times(opened),
        "revenue": np.where(converts, np.round(rng.lognormal(9, 1, leads), 2), 0.0),
    })  # fmt: skip
    touch_table = pa.table({
        "lead_id": ids.take(pa.array(lead_of)), "at": times(at),
        "channel": pa.array(np.asarray(CHANNELS, dtype=object)[channel]),
        "campaign": pa.array(np.char.add("campaign ", campaign.astype(str))),
    })  # fmt: skip
    return lead_table, touch_table


def store(leads: pa.Table, touches: pa.Table, path: Path) -> None:
    """The rows as the analytics store keeps them (only the columns attribution reads)."""
    with duckdb.connect(str(path)) as db:
        db.register("l", leads)
        db.register("t", touches)
        db.execute(
            "CREATE TABLE milestones AS SELECT lead_id, created_at, NULL::VARCHAR AS owner_id, "
            "created_at AS reach_lead, converted_at AS reach_mql, converted_at AS reach_sql, "
            "opened_at AS reach_opportunity, converted_at AS reach_won FROM l"
        )
        db.execute("CREATE TABLE leads AS SELECT lead_id AS id, NULL::VARCHAR AS account_id FROM l")
        db.execute(
            "CREATE TABLE opportunities AS SELECT lead_id, opened_at AS created_at, "
            "CAST(revenue AS DECIMAL(18, 2)) AS amount, 'won' AS stage FROM l WHERE revenue > 0"
        )
        db.execute(
            "CREATE TABLE touchpoints AS SELECT lead_id, 'page_view' AS kind, * EXCLUDE (lead_id) FROM t"
        )


def query(path: Path) -> Journeys:
    con = ibis.duckdb.connect(str(path), read_only=True)
    try:
        return _attribution(con, con.table("milestones"), attribution_spec(conversion="won"))[0]
    finally:
        con.disconnect()


def best(repeat: int, run: Callable[[], object]) -> float:
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        run()
        times.append(time.perf_counter() - began)
    return min(times)


def credit(kept: Journeys, model: str, order: int = 1) -> None:
    spec = attribution_spec(
        model=model, weights="first=0.5,last=0.5" if model == "custom" else None, order=order
    )
    data = kept if model in DATA_DRIVEN else converted_only(kept)
    credit_by_group(data, touch_shares(data, spec), "channel")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--touches", type=int, default=5_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--store", action="store_true", help="also time the store's queries")
    args = parser.parse_args()
    began = time.perf_counter()
    leads, touches = generate(args.leads, args.touches)
    print(f"generated {leads.num_rows:,} leads, {touches.num_rows:,} touchpoints "
          f"in {time.perf_counter() - began:.1f} s")  # fmt: skip
    if args.store:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "bench.duckdb"
            store(leads, touches, path)
            seconds = best(args.repeat, lambda: query(path))
            print(f"query (DuckDB -> Arrow -> journeys): {seconds:.3f} s")
    spec = attribution_spec(model="linear", conversion="won")
    journeys: list[Journeys] = []
    load = best(args.repeat, lambda: journeys.append(to_journeys(leads, touches, spec)[0]))
    print(f"load (Arrow -> journeys): {load:.3f} s")
    kept_box: list[Journeys] = []
    cut = best(
        args.repeat, lambda: kept_box.append(window(journeys[-1], lookback_seconds=90 * 86_400)[0])
    )
    kept = kept_box[-1]
    print(f"window (90-day lookback): {cut:.3f} s; {kept.size:,} journeys, "
          f"{int(kept.converted.sum()):,} converted, {len(kept.touch_journey):,} touches kept")  # fmt: skip
    for model in MODELS:
        print(
            f"{model:>16}: {best(args.repeat, lambda m=model: credit(kept, m)):.3f} s", flush=True
        )
    for order in (2, 3):
        seconds = best(args.repeat, lambda o=order: credit(kept, "markov", o))
        print(f"{f'markov order {order}':>16}: {seconds:.3f} s", flush=True)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {rss:,.0f} MiB")


if __name__ == "__main__":
    main()
