"""``leadfunnel forecast`` and ``forecast backtest`` as users run them, on a small demo."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest


@pytest.fixture
def demo_cli(cli):
    code, _, err = cli("demo", "--leads", "1500", "--no-serve")
    assert code == 0, err
    return cli


def test_the_forecast_adds_up_per_team_and_the_same_seed_repeats_it(demo_cli):
    today = datetime.now(UTC).date().isoformat()  # a fixed moment: the clock moves on
    data = demo_cli.json("forecast", "--by", "team", "--draws", "1000", "--as-of", today)
    rows, total = data["rows"], data["total"]
    assert data["by"] == "team" and len(rows) >= 2 and total["group"] == "all"
    assert sum(r["expected"] for r in rows) == pytest.approx(total["expected"], rel=1e-6)
    assert sum(r["open_deals"] for r in rows) == total["open_deals"] == len(data["deals"])
    for row in (*rows, total):
        assert row["bookings"]["p10"] <= row["bookings"]["p50"] <= row["bookings"]["p90"]
        amounts = [
            row["categories"][k]["amount"]
            for k in ("closed_won", "commit", "best_case", "pipeline")
        ]
        assert amounts == sorted(amounts)
    assert (
        demo_cli.json("forecast", "--by", "team", "--draws", "1000", "--as-of", today)["total"]
        == total
    )


def test_a_past_as_of_and_the_fixed_table_are_questions_of_their_own(demo_cli):
    now = demo_cli.json("forecast", "--draws", "500")
    past = demo_cli.json(
        "forecast", "--period", now["period"], "--as-of", now["start"], "--draws", "500"
    )
    assert past["as_of"].startswith(now["start"]) and past["total"]["closed_won"] == 0
    fixed = demo_cli.json("forecast", "--probabilities", "fixed", "--draws", "500")
    table = {"qualification": 0.1, "proposal": 0.35, "negotiation": 0.6}
    assert all(d["probability"] <= table[d["stage"]] + 1e-9 for d in fixed["deals"])


def test_the_backtest_scores_past_months_and_bad_options_fail_with_one_line(demo_cli):
    data = demo_cli.json("forecast", "backtest", "--periods", "4", "--draws", "300")
    assert data["unit"] == "month" and 1 <= data["overall"]["periods"] <= 4
    assert all(p["covered"] == (p["p10"] <= p["actual"] <= p["p90"]) for p in data["points"])
    code, _, err = demo_cli("forecast", "--period", "2026-13")
    assert code == 1 and err.startswith("error: period:")
    code, _, err = demo_cli("forecast", "backtest", "--unit", "week")
    assert code == 1 and "unit" in err
