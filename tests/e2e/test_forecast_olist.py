"""The forecast backtest on the real Olist funnel (imported by examples/olist/import.sh):
each lead is a would-be deal, its closed-deal won date the booking. The actuals the
backtest scores against are recounted here from the raw CSVs, and the backtest reports
MAPE, bias and coverage for every month (docs/concepts/forecasting.md quotes them)."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from tests.conftest import DATASETS, ROOT

OLIST = DATASETS / "olist-marketing-funnel"
pytestmark = pytest.mark.skipif(not OLIST.exists(), reason=f"data set not found at {OLIST}")
MONTHS = [f"2018-{m:02d}" for m in range(1, 11)]


def _won_per_month() -> Counter[str]:
    """Won leads per month of their won date; a deal dated before its lead's first contact
    counts at that contact, as the import records it."""
    first = {r["mql_id"]: r["first_contact_date"] for r in csv.DictReader((OLIST / "olist_marketing_qualified_leads_dataset.csv").open())}  # fmt: skip
    months: Counter[str] = Counter()
    for deal in csv.DictReader((OLIST / "olist_closed_deals_dataset.csv").open()):
        months[max(deal["won_date"][:10], first[deal["mql_id"]])[:7]] += 1
    return months


def test_the_olist_backtest_scores_every_month_against_the_won_dates(tmp_path):
    exe = shutil.which("leadfunnel", path=str(Path(sys.executable).parent))
    env = {**os.environ, "LEADFUNNEL_DATABASE_URL": f"sqlite:///{tmp_path / 'olist.db'}",
           "DATASETS": str(DATASETS), "LEADFUNNEL": exe}  # fmt: skip
    imported = subprocess.run([str(ROOT / "examples/olist/import.sh")], capture_output=True, text=True, env=env,
                              cwd=tmp_path, check=False)  # fmt: skip
    assert imported.returncode == 0, imported.stderr
    done = subprocess.run([exe, "forecast", "backtest", "--subject", "leads", "--last", "2018-10", "--periods", "10",
                           "--draws", "1000", "--json"], capture_output=True, text=True, env=env, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    expected = _won_per_month()
    assert [p["period"] for p in result["points"]] == MONTHS
    assert {p["period"]: p["actual"] for p in result["points"]} == {m: expected[m] for m in MONTHS}
    overall = result["overall"]
    assert overall["periods"] == 10
    assert (
        overall["mape"] is not None
        and overall["bias"] is not None
        and 0 <= overall["coverage"] <= 1
    )
    for point in result["points"]:
        assert point["p10"] <= point["p50"] <= point["p90"]
