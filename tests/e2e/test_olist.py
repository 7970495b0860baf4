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
    won = Counter(mqls[d["mql_id"]]["origin"] or "unknown" for d in deals)
    # Deals dated before their lead's first contact: recorded at that contact (the mapping
    # clamps them), the Olist date kept in the transition's reason.
    backdated = [d for d in deals if d["won_date"][:10] < mqls[d["mql_id"]]["first_contact_date"]]
    return mqls, deals, leads, won, backdated


def _run(env, *args):
    exe = shutil.which("leadfunnel", path=str(Path(sys.executable).parent))
    done = subprocess.run([exe, *args], capture_output=True, text=True, env=env, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _lead_id(env, external_id):
    found = _run(env, "lead", "list", "--search", external_id, "--json")["items"]
    assert len(found) == 1
    return found[0]["id"]


def test_walkthrough_loads_olist_with_per_channel_leads_and_won_matching_the_raw_files(tmp_path):
    mqls, deals, leads, won, backdated = _expected()
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
    assert f"{len(deals):,} merged/updated, 0 unchanged, 0 rejected" in done.stdout

    groups = {g["group"]: g for g in _run(env, "kpi", "--by", "channel", "--json")["groups"]}
    assert {k: g["leads"] for k, g in groups.items()} == dict(leads)
    assert {k: g["won"] for k, g in groups.items() if g["won"]} == dict(won)
    assert sum(g["leads"] for g in groups.values()) == 8000
    assert sum(g["won"] for g in groups.values()) == len(deals) == 842
    assert len(backdated) == 1
    assert not (tmp_path / "olist_closed_deals_dataset.errors.csv").exists()
    shown = _run(env, "lead", "show", "--json", _lead_id(env, backdated[0]["mql_id"]))
    won_change = next(e for e in shown["timeline"] if e.get("to_stage") == "won")
    assert f"source date {backdated[0]['won_date'][:10]}" in won_change["reason"]

    # Importing again creates nothing new.
    again = _run(env, "import", "leads", str(OLIST / "olist_marketing_qualified_leads_dataset.csv"),
                 "--mapping", str(ROOT / "examples/olist/mqls.toml"), "--json")  # fmt: skip
    assert (again["created"], again["merged"], again["unchanged"]) == (0, 0, 8000)
    history = _run(env, "import", "stage-history", str(OLIST / "olist_closed_deals_dataset.csv"),
                   "--mapping", str(ROOT / "examples/olist/deals-won.toml"), "--errors", str(tmp_path / "e.csv"), "--json")  # fmt: skip
    assert (history["merged"], history["unchanged"], history["rejected"]) == (0, 842, 0)
