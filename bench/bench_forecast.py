"""The forecast at scale: 100,000 open opportunities, 10,000 Monte Carlo draws.

Builds a synthetic pipeline in memory (no database: this times the forecast, not the
store): ``--history`` closed deals over the two years before now, and ``--open`` open deals
spread over the three open stages and ages, in 4 teams x 25 reps, 4 product lines, 6
channels, amounts log-normal. Then times, best of ``--repeat`` runs:

* ``simulate``: the Monte Carlo alone (``analytics/forecast_simulation.py``) for every open
  deal at its learned probability, broken down by rep;
* ``forecast``: the whole ``run_forecast`` (rewind to the as-of moment, learn the
  probabilities with shrinkage, new pipeline, the calibration of the range from the past
  periods, the simulation, categories, deal health), by team;
* ``forecast_with_json``: the same and its ``to_dict()``, as the API and CLI answer it (the
  per-deal and health rows are built when read, so this is where they are built).

    uv run python -m bench.bench_forecast [--open 100000] [--history 100000] [--draws 10000]
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import date

import numpy as np

from leadfunnel.analytics.forecast import run_forecast
from leadfunnel.analytics.forecast_data import Deal, day_number
from leadfunnel.analytics.forecast_simulation import NewPipeline, OpenBook, simulate
from leadfunnel.analytics.forecast_spec import forecast_spec, parse_period

NOW = day_number(date(2026, 3, 2))
STAGES = ("qualification", "proposal", "negotiation")


def pipeline(open_deals: int, history: int, seed: int) -> list[Deal]:
    rng = np.random.default_rng(seed)
    deals = []
    for i in range(history + open_deals):
        closed = i < history
        created = NOW - (rng.uniform(20, 730) if closed else rng.uniform(0, 120))
        steps = [(created, "qualification")]
        at = created
        reach = rng.integers(0, 3) if not closed else 2
        for stage in STAGES[1 : reach + 1]:
            at += rng.exponential(10)
            steps.append((min(at, NOW - 0.01), stage))
        if closed:
            at += rng.exponential(25)
            steps.append((min(at, NOW - 0.01), "won" if rng.random() < 0.35 else "lost"))
        deals.append(Deal(
            f"d{i}", float(np.round(rng.lognormal(9.5, 0.9), -1)), created, tuple(sorted(steps)),
            owner=f"rep{i % 100}", team=f"team{i % 4}", product=f"product{i % 4}", channel=f"channel{i % 6}",
            expected_close=created + 60.0, category=("pipeline", "best_case", "commit")[i % 3],
            next_step=None if i % 5 == 0 else "call",
        ))  # fmt: skip
    return deals


def _best(repeat: int, run) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - started)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--open", type=int, default=100_000)
    parser.add_argument("--history", type=int, default=100_000)
    parser.add_argument("--draws", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    deals = pipeline(args.open, args.history, seed=1)
    period = parse_period("2026-Q1")
    spec = forecast_spec(period=period, as_of=NOW, now=NOW, by="team", draws=args.draws)
    first = run_forecast(deals, spec)
    assert first.total.open_deals >= args.open, first.total.open_deals
    p = np.array([d.probability for d in first.deals])
    owners = {o: i for i, o in enumerate(sorted({d.owner for d in first.deals}))}
    book = OpenBook(amount=np.array([d.amount for d in first.deals]), cell=np.arange(len(p)),
                    group=np.array([owners[d.owner] for d in first.deals]), value=p, weight=np.full(len(p), np.inf))  # fmt: skip
    groups = len(owners)
    nothing = NewPipeline(np.zeros(groups), np.zeros(groups), [np.zeros(0)] * groups)
    closed = (np.zeros(groups), np.zeros(groups))
    figures = {
        "open_deals": args.open, "history_deals": args.history, "draws": args.draws,
        "simulate_seconds": round(_best(args.repeat, lambda: simulate(book, nothing, closed, draws=args.draws,
                                                                      rng=np.random.default_rng(0))), 2),
        "forecast_seconds": round(_best(args.repeat, lambda: run_forecast(deals, spec)), 2),
        "forecast_without_calibration_seconds": round(_best(args.repeat, lambda: run_forecast(
            deals, forecast_spec(period=period, as_of=NOW, now=NOW, by="team", draws=args.draws, calibration_periods=0))), 2),
        "forecast_with_json_seconds": round(_best(args.repeat, lambda: run_forecast(deals, spec).to_dict()), 2),
        "expected": round(first.total.expected), "p10": first.total.bookings.p10, "p90": first.total.bookings.p90,
    }  # fmt: skip
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
