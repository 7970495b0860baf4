"""The Olist walkthrough, run as written: examples/olist/import.sh on the real data set.

Expected figures are computed here from the raw CSVs, not copied from a run.
"""

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


def _expected():
    mqls = {
        r["mql_id"]: r
        for r in csv.DictReader((OLIST / "olist_marketing_qualified_leads_dataset.csv").open())
    }
    deals = list(csv.DictReader((OLIST / "olist_closed_deals_dataset.csv").open()))
    leads = Counter(r["origin"] or "unknown" for r in mqls.values())
    # A deal dated before its lead's first contact cannot enter the history (kept in time order).
    in_order = [d for d in deals if d["won_date"][:10] >= mqls[d["mql_id"]]["first_contact_date"]]
    won = Counter(mqls[d["mql_id"]]["origin"] or "unknown" for d in in_order)
    return mqls, deals, leads, won, len(deals) - len(in_order)


def _run(env, *args):
    exe = shutil.which("leadfunnel", path=str(Path(sys.executable).parent))
    done = subprocess.run([exe, *args], capture_output=True, text=True, env=env, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_walkthrough_loads_olist_with_per_channel_leads_and_won_matching_the_raw_files(tmp_path):
    mqls, deals, leads, won, out_of_order = _expected()
    env = {**os.environ, "LEADFUNNEL_DATABASE_URL": f"sqlite:///{tmp_path / 'olist.db'}", "DATASETS": str(DATASETS),
           "LEADFUNNEL": shutil.which("leadfunnel", path=str(Path(sys.executable).parent))}  # fmt: skip
    done = subprocess.run(
        [str(ROOT / "examples/olist/import.sh")],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert f"{len(mqls):,} created" in done.stdout
    assert (
        f"{len(deals) - out_of_order:,} merged/updated, 0 unchanged, {out_of_order} rejected"
        in done.stdout
    )

    groups = {g["group"]: g for g in _run(env, "kpi", "--by", "channel", "--json")["groups"]}
    assert {k: g["leads"] for k, g in groups.items()} == dict(leads)
    assert {k: g["won"] for k, g in groups.items() if g["won"]} == dict(won)
    assert sum(g["leads"] for g in groups.values()) == 8000
    assert sum(g["won"] for g in groups.values()) == 842 - out_of_order == 841

    report = list(
        csv.DictReader(
            (tmp_path / "olist_closed_deals_dataset.errors.csv").open(encoding="utf-8-sig")
        )
    )
    assert (
        len(report) == out_of_order and "before the lead's last stage change" in report[0]["reason"]
    )

    # Importing again creates nothing new.
    again = _run(env, "import", "leads", str(OLIST / "olist_marketing_qualified_leads_dataset.csv"),
                 "--mapping", str(ROOT / "examples/olist/mqls.toml"), "--json")  # fmt: skip
    assert (again["created"], again["merged"], again["unchanged"]) == (0, 0, 8000)
    history = _run(env, "import", "stage-history", str(OLIST / "olist_closed_deals_dataset.csv"),
                   "--mapping", str(ROOT / "examples/olist/deals-won.toml"), "--errors", str(tmp_path / "e.csv"), "--json")  # fmt: skip
    assert (history["merged"], history["unchanged"], history["rejected"]) == (0, 841, out_of_order)
