"""``leadfunnel score``: the example model on demo data, from import to explanation."""

from __future__ import annotations

import json

import pytest

from leadfunnel.entrypoints.cli.app import main
from tests.conftest import ROOT

EXAMPLE = ROOT / "examples" / "scoring" / "b2b-default.toml"


def run(capsys, *args):
    code = main([*args, "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return json.loads(captured.out)


@pytest.fixture
def demo_db(tmp_path, capsys):
    db = str(tmp_path / "demo.db")
    run(capsys, "demo", "--no-serve", "--leads", "800", "--seed", "5", "--db", db)
    return db


def test_the_example_model_goes_from_draft_to_active_with_a_matching_dry_run(capsys, demo_db):
    stored = run(capsys, "score", "import", str(EXAMPLE), "--db", demo_db)
    assert (stored["name"], stored["version"], stored["status"]) == ("b2b", 1, "draft")
    assert stored["rules"] == {"fit": 6, "behaviour": 6, "qualify": 1}
    preview = run(capsys, "score", "dry-run", "b2b", "--version", "1", "--db", demo_db)
    assert preview["current"] is None and preview["would"]["scored"] == 800
    activated = run(capsys, "score", "activate", "b2b", "--version", "1", "--db", demo_db)
    assert activated["grades"] == preview["would"]["grades"]
    assert sum(activated["grades"].values()) == 800
    (model,) = run(capsys, "score", "models", "--db", demo_db)
    assert model["status"] == "active"
    assert run(capsys, "score", "show", "b2b", "--db", demo_db)["spec"]["half_life_days"] == 30

    leads = run(capsys, "lead", "list", "--db", demo_db, "--limit", "1000")["items"]
    best = max(leads, key=lambda lead: lead["score"])
    (explained,) = run(capsys, "score", "explain", best["id"], "--db", demo_db)
    assert (
        explained["stored"]["score"] == best["score"]
        and explained["stored"]["grade"] == best["grade"]
    )
    assert sum(r["points"] for r in explained["stored"]["rules"]) == pytest.approx(
        best["score"], abs=0.51
    )
    again = run(capsys, "score", "run", "--db", demo_db)
    assert again["scored"] == 800 and again["moved"] == {}


def test_a_bad_model_file_is_refused_naming_the_rule(capsys, tmp_path, demo_db):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "name: b2b\nfit:\n  - name: big\n    points: 5\n    when: {field: revenue, op: gt, value: 1}\n"
    )
    assert main(["score", "import", str(bad), "--db", demo_db]) == 1
    assert "fit[0] 'big'.when.field: unknown field 'revenue'" in capsys.readouterr().err
    assert main(["score", "import", str(tmp_path / "none.toml"), "--db", demo_db]) == 2
    assert main(["score", "models", "--db", demo_db, "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []
