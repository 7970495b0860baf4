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
    run(capsys, "demo", "--no-serve", "--leads", "600", "--seed", "2", "--db", db)
    pool = run(capsys, "lead", "list", "--db", db, "--in-pool", "--limit", "1000")["items"]
    waiting = [lead for lead in pool if lead["stage"] in ("lead", "mql", "sql", "opportunity")]
    for calendar in ("calendar-emea.toml", "calendar-americas.toml"):
        run(capsys, "route", "calendar", str(EXAMPLES / calendar), "--db", db)
    for kind, file in (("routing", "rules.toml"), ("sla", "sla.toml")):
        assert (
            run(capsys, "route", "import", kind, str(EXAMPLES / file), "--db", db)["version"] == 1
        )
        assert (
            run(capsys, "route", "activate", kind, "--version", "1", "--db", db)["status"]
            == "active"
        )
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
    run(capsys, "demo", "--no-serve", "--leads", "50", "--db", db)
    bad = tmp_path / "bad.toml"
    bad.write_text('[[rule]]\nname = "x"\nteam = "Narnia"\n', encoding="utf-8")
    assert main(["route", "import", "routing", str(bad), "--db", db]) == 1
    assert "rule[0] 'x'.team: unknown team 'Narnia'" in capsys.readouterr().err
    assert main(["route", "import", "gates", str(bad), "--db", db]) == 1
    assert "KIND: 'gates' is not one of: routing, sla" in capsys.readouterr().err


def test_logging_the_owners_call_meets_the_sla_and_the_worker_runs_due_checks(capsys, tmp_path):
    db = str(tmp_path / "demo.db")
    run(capsys, "demo", "--no-serve", "--leads", "300", "--seed", "4", "--db", db)
    run(capsys, "route", "calendar", str(EXAMPLES / "calendar-americas.toml"), "--db", db)
    run(capsys, "route", "import", "routing", str(EXAMPLES / "rules.toml"), "--db", db)
    run(capsys, "route", "activate", "routing", "--version", "1", "--db", db)
    always = tmp_path / "sla.toml"
    always.write_text('[[policy]]\nname = "now"\nrespond_within = "1s"\n', encoding="utf-8")
    run(capsys, "route", "import", "sla", str(always), "--db", db)
    run(capsys, "route", "activate", "sla", "--version", "1", "--db", db)
    decisions = run(capsys, "route", "run", "--db", db)["decisions"]
    assert decisions
    mine = decisions[0]
    logged = run(
        capsys, "lead", "log", mine["lead"], "--kind", "call", "--by", mine["rep"], "--db", db
    )
    assert logged["sla"]["status"] in ("met", "breached") and logged["sla"]["responded_at"]
    import time

    time.sleep(1.1)  # every other routed lead's 1-second clock is now past due
    worked = run(capsys, "worker", "--once", "--db", db)
    assert worked["claimed"] == len(decisions) and worked["failed"] == 0
    assert (
        sum(n for outcome, n in worked["outcomes"].items() if outcome.startswith("breached"))
        == len(decisions) - 1
    )
    report = run(capsys, "route", "sla", "--by", "policy", "--db", db)["groups"]
    assert [(g["group"], g["met"] + g["breached"]) for g in report] == [("now", len(decisions))]
    assert (
        main(
            ["lead", "log", mine["lead"], "--kind", "call", "--by", "nobody@x.example", "--db", db]
        )
        == 1
    )
    assert "user nobody@x.example not found" in capsys.readouterr().err


def test_pool_claim_release_and_push(capsys, tmp_path):
    db = str(tmp_path / "demo.db")
    run(capsys, "demo", "--no-serve", "--leads", "200", "--seed", "6", "--db", db)
    waiting = run(capsys, "pool", "list", "--db", db, "--limit", "5")["items"]
    assert waiting and all(lead["in_pool"] for lead in waiting)
    owners = {
        lead["owner_id"]
        for lead in run(capsys, "lead", "list", "--owned", "--db", db, "--limit", "1000")["items"]
    }
    ann, bo = sorted(str(o) for o in owners)[:2]
    lead = str(waiting[0]["id"])
    assert run(capsys, "pool", "claim", lead, "--rep", ann, "--db", db)["owner"] == ann
    assert main(["pool", "claim", lead, "--rep", bo, "--db", db]) == 1
    assert f"lead {lead} is not in the pool: another rep claimed it first" in capsys.readouterr().err
    assert main(["pool", "release", lead, "--rep", bo, "--reason", "x", "--db", db]) == 1
    assert "only the lead's owner can release it" in capsys.readouterr().err
    run(
        capsys,
        "pool",
        "release",
        lead,
        "--rep",
        ann,
        "--reason",
        "duplicate of another lead",
        "--db",
        db,
    )
    assert run(capsys, "pool", "push", lead, "--to", bo, "--db", db)["owner"] == bo
    rules = [a["rule"] for a in run(capsys, "route", "explain", lead, "--db", db)["assignments"]]
    assert rules[-3:] == ["claim", "release", "push"]


def test_a_replay_shows_the_distribution_a_draft_would_give(capsys, tmp_path):
    db = str(tmp_path / "demo.db")
    run(capsys, "demo", "--no-serve", "--leads", "400", "--seed", "8", "--db", db)
    run(capsys, "route", "import", "routing", str(EXAMPLES / "rules.toml"), "--db", db)
    replay = run(capsys, "route", "replay", "--version", "1", "--days", "3660", "--db", db)
    assert replay["leads"] == 400 and replay["to_pool"] == 0
    assert (
        sum(replay["per_team"].values())
        == sum(replay["per_rep"].values())
        == sum(replay["per_rule"].values())
        == 400
    )
    assert set(replay["per_rule"]) <= {
        "Enterprise in North America",
        "North America",
        "EMEA",
        "APAC",
        "LATAM",
    }
    assert (
        run(
            capsys,
            "route",
            "explain",
            run(capsys, "lead", "list", "--db", db, "--limit", "1")["items"][0]["id"],
            "--db",
            db,
        )["sla"]
        is None
    )


def test_rep_settings_and_deactivation_from_the_command_line(capsys, tmp_path):
    db = str(tmp_path / "demo.db")
    run(capsys, "demo", "--no-serve", "--leads", "100", "--seed", "9", "--db", db)
    reps = run(capsys, "route", "reps", "--db", db)
    busy = max(reps, key=lambda r: r["open_leads"])
    row = run(
        capsys,
        "route",
        "rep",
        busy["email"],
        "--weight",
        "2",
        "--skills",
        "german, french",
        "--away",
        "2026-12-20/2027-01-03",
        "--db",
        db,
    )
    assert (row["weight"], row["skills"], row["away"]) == (
        2,
        ["german", "french"],
        [["2026-12-20T00:00:00+00:00", "2027-01-03T00:00:00+00:00"]],
    )
    assert main(["route", "rep", busy["email"], "--away", "soon", "--db", db]) == 1
    assert "--away: 'soon' is not START/END" in capsys.readouterr().err
    assert main(["route", "deactivate", busy["email"], "--leads", "elsewhere", "--db", db]) == 1
    assert "leads_to: 'elsewhere' is not one of: pool, reroute, rep" in capsys.readouterr().err
    moved = run(capsys, "route", "deactivate", busy["email"], "--leads", "pool", "--db", db)
    assert moved["pool"] == busy["open_leads"] > 0
