"""The X Education walkthrough: import the real 9,240 leads with examples/x-education/import.sh,
train a predictive model, evaluate it on the held-out newest leads, activate, predict.

The expected counts are computed here from the raw CSV. The predictive commands are run
through their own typer app, mounted under ``score`` for this test.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from leadfunnel.domain.errors import ValidationError
from leadfunnel.entrypoints.cli.predictive import predictive_app
from tests.conftest import DATASETS, ROOT

LEADS = DATASETS / "x-education-leads" / "Leads.csv"
EXAMPLE = ROOT / "examples" / "x-education"
pytestmark = pytest.mark.skipif(not LEADS.exists(), reason=f"data set not found at {LEADS}")

#: Measured: validation AUC 0.892 (naive Bayes 0.822), log loss 0.399 (0.473). The floor
#: leaves room for solver differences, not for a different model.
AUC_FLOOR = 0.85

_root = typer.Typer()
_root.add_typer(predictive_app, name="score")


def load(here: Path) -> str:
    """Run import.sh into a new SQLite file in ``here``; its URL."""
    url = f"sqlite:///{here / 'x-education.db'}"
    exe = shutil.which("leadfunnel", path=str(Path(sys.executable).parent))
    env = {**os.environ, "LEADFUNNEL_DATABASE_URL": url, "DATASETS": str(DATASETS),
           "LEADFUNNEL": exe, "PYTHON": sys.executable}  # fmt: skip
    done = subprocess.run(
        [str(EXAMPLE / "import.sh")], capture_output=True, text=True, env=env, cwd=here, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "9,240 rows: 9,240 created, 0 merged/updated, 0 unchanged, 0 rejected" in done.stdout
    assert "3,561 rows: 0 created, 3,561 merged/updated, 0 unchanged, 0 rejected" in done.stdout
    return url


def score(url: str, *args: str):
    result = CliRunner().invoke(_root, ["score", *args, "--db", url, "--json"])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _expected():
    rows = sorted(csv.DictReader(LEADS.open(newline="")), key=lambda r: int(r["Lead Number"]))
    validation = rows[len(rows) - round(len(rows) * 0.2) :]  # the newest 20 % by Lead Number
    return rows, validation


def test_the_model_beats_the_naive_bayes_baseline_on_the_newest_leads_and_explains_leads(
    tmp_path,
):
    store = load(tmp_path)
    rows, validation = _expected()
    trained = score(store, "train", "x-education", "--spec", str(EXAMPLE / "predictive.toml"),
                    "--activate")  # fmt: skip
    metrics = trained["metrics"]
    counts = metrics["counts"]
    assert counts["leads"] == len(rows) == 9240
    assert counts["positive"] == sum(r["Converted"] == "1" for r in rows) == 3561
    assert counts["validation"] == len(validation)
    assert counts["validation_positive"] == sum(r["Converted"] == "1" for r in validation)
    assert counts["open"] == counts["decided"] == 0

    ours, naive = metrics["model"], metrics["naive_bayes"]
    assert ours["auc"] > naive["auc"], (ours["auc"], naive["auc"])
    assert ours["auc"] > AUC_FLOOR
    assert ours["log_loss"] < naive["log_loss"]
    assert metrics["rule_score"]["available"] is False  # no rule model scored these leads
    assert trained["status"] == "active" and metrics["gate"]["passed"]
    # the top decile converts far above the base rate; calibration tracks the observed rates
    assert ours["lift"][0]["lift"] > 2 and ours["lift"][-1]["lift"] < 0.3
    for row in ours["calibration"]:
        if row["leads"] >= 100:
            assert abs(row["predicted"] - row["observed"]) < 0.1

    again = score(store, "evaluate", "x-education")
    assert again["metrics"]["model"]["auc"] == ours["auc"]
    assert again["metrics"]["naive_bayes"]["auc"] == naive["auc"]

    run = score(store, "predict", "x-education", "--limit", "3")
    assert run["written"] == 9240 - 3561  # every lead that has not converted
    best = run["items"][0]
    assert best["probability"] > 0.9 and len(best["factors"]) == 3
    one = score(store, "predict", "x-education", "--lead", best["lead_id"], "--top", "5")
    assert one["written"] == 1 and one["items"][0]["probability"] == best["probability"]
    assert len(one["items"][0]["factors"]) == 5

    found = score(store, "suggest-threshold", "x-education", "--reps", "2",
                  "--leads-per-rep-week", "20")  # fmt: skip
    assert found["capacity_per_week"] == 40 and 0 < found["share"] < 1
    assert found["capture"] > found["share"] and found["lift"] > 1


def test_post_outcome_fields_are_kept_out_and_refused(tmp_path):
    spec = (EXAMPLE / "predictive.toml").read_text()
    for leaking in ("tags", "lead_quality", "last_activity", "last_notable_activity",
                    "asymmetrique_activity_score", "lead_profile"):  # fmt: skip
        assert f'"custom_fields.{leaking}" = ' in spec
        assert f'    "custom_fields.{leaking}",' not in spec
    # refused before the store is opened
    with pytest.raises(ValidationError, match=r"custom_fields\.tags: is set after the outcome"):
        score(f"sqlite:///{tmp_path / 'none.db'}", "train", "leaky", "--spec",
              str(EXAMPLE / "predictive.toml"), "--field", "channel", "--field", "custom_fields.tags")  # fmt: skip
