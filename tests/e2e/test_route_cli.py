"""``leadfunnel route``: the example rules, calendars and SLA policies on demo data."""

from __future__ import annotations

import json

from leadfunnel.entrypoints.cli.app import main
from tests.conftest import ROOT

EXAMPLES = ROOT / "examples" / "routing"


def run(capsys, *args):
    code = main([*args, "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return json.loads(captured.out)


def test_the_examples_route_the_demo_pool_and_explain_each_lead(capsys, tmp_path):
    db = str(tmp_path / "demo.db")
    run(capsys, "demo", "--leads", "600", "--seed", "2", "--db", db)
    pool = run(capsys, "lead", "list", "--db", db, "--in-pool", "--limit", "1000")["items"]
    waiting = [lead for lead in pool if lead["stage"] in ("lead", "mql", "sql", "opportunity")]
    for calendar in ("calendar-emea.toml", "calendar-americas.toml"):
        run(capsys, "route", "calendar", str(EXAMPLES / calendar), "--db", db)
    for kind, file in (("routing", "rules.toml"), ("sla", "sla.toml")):
        assert run(capsys, "route", "import", kind, str(EXAMPLES / file), "--db", db)["version"] == 1
        assert run(capsys, "route", "activate", kind, "--version", "1", "--db", db)["status"] == "active"
    routed = run(capsys, "route", "run", "--db", db)
    assert 0 < routed["routed"] == len(waiting)
    by_region = {lead["id"]: lead["region"] for lead in waiting}
    teams = {d["team"] for d in routed["decisions"]}
    assert teams <= {"North America East", "North America West", "EMEA", "APAC", "LATAM"}
    lead = waiting[0]
    explained = run(capsys, "route", "explain", lead["id"], "--db", db)
    assert explained["assignments"][-1]["reason"].startswith("rule ")
    assert explained["sla"]["status"] == "due" and by_region[lead["id"]]
    assert run(capsys, "route", "run", "--db", db)["routed"] == 0


def test_unknown_kinds_and_bad_rules_are_refused(capsys, tmp_path):
    db = str(tmp_path / "demo.db")
    run(capsys, "demo", "--leads", "50", "--db", db)
    bad = tmp_path / "bad.toml"
    bad.write_text('[[rule]]\nname = "x"\nteam = "Narnia"\n', encoding="utf-8")
    assert main(["route", "import", "routing", str(bad), "--db", db]) == 1
    assert "rule[0] 'x'.team: unknown team 'Narnia'" in capsys.readouterr().err
    assert main(["route", "import", "gates", str(bad), "--db", db]) == 1
    assert "KIND: 'gates' is not one of: routing, sla" in capsys.readouterr().err
