"""The CLI as a user runs it: arguments in, text or JSON out, one-line errors, exit codes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from leadfunnel.adapters.sql.migrate import head_revision
from leadfunnel.entrypoints.cli.app import main


def test_db_upgrade_creates_a_new_database_and_is_safe_to_repeat(capsys, tmp_path):
    db = str(tmp_path / "new" / "crm.db")
    assert main(["db", "upgrade", "--db", db]) == 0
    assert f"schema at revision {head_revision()} (was empty)" in capsys.readouterr().out
    assert main(["db", "upgrade", "--db", db, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["from_revision"] == head_revision()


def test_add_show_list_and_move_a_lead(cli):
    created = cli.json(
        "lead",
        "add",
        "--email",
        " Ann.Lee@ACME.example",
        "--phone",
        "(415) 555-2671",
        "--company",
        "ACME Widgets, Inc.",
        "--landing-url",
        "https://x.io/p?utm_source=google&utm_medium=cpc",
    )
    assert created["outcome"] == "created"
    merged = cli.json(
        "lead", "add", "--data", json.dumps({"email": "ann.lee@acme.example", "title": "CTO"})
    )
    assert (merged["outcome"], merged["lead_id"], merged["matched_on"]) == (
        "merged",
        created["lead_id"],
        "email",
    )

    lead_id = created["lead_id"]
    moved = cli.json("lead", "move", lead_id, "--to", "mql", "--reason", "score 70")
    assert (moved["from_stage"], moved["to_stage"]) == ("lead", "mql")

    shown = cli.json("lead", "show", lead_id)
    assert shown["lead"]["email"] == "ann.lee@acme.example" and shown["lead"]["title"] == "CTO"
    assert shown["lead"]["phone"] == "+14155552671" and shown["lead"]["channel"] == "paid_search"
    assert [e["type"] for e in shown["timeline"]] == [
        "stage_change",
        "touchpoint",
        "touchpoint",
        "stage_change",
    ]

    code, out, _ = cli("lead", "show", lead_id)
    assert code == 0 and "lead -> mql by cli" in out and "score 70" in out

    listed = cli.json("lead", "list", "--stage", "mql", "--search", "acme")
    assert listed["total"] == 1 and listed["items"][0]["id"] == lead_id
    assert cli.json("lead", "list", "--stage", "sql")["total"] == 0


def test_lead_add_reads_json_from_a_file(cli, tmp_path):
    data = tmp_path / "lead.json"
    data.write_text(
        json.dumps({"phone": "+86 138 1234 5678", "region": "East China"}), encoding="utf-8"
    )
    result = cli.json("lead", "add", "--data", f"@{data}")
    shown = cli.json("lead", "show", result["lead_id"])
    assert shown["lead"]["phone"] == "+8613812345678" and shown["lead"]["region"] == "East China"


def test_funnel_reports_stage_counts_from_the_history(cli):
    ids = [cli.json("lead", "add", "--email", f"p{i}@x.example")["lead_id"] for i in range(4)]
    for stage in ("mql", "sql", "opportunity", "won"):
        cli.json("lead", "move", ids[0], "--to", stage)
    cli.json("lead", "move", ids[1], "--to", "mql")
    cli.json("lead", "move", ids[2], "--to", "disqualified", "--reason", "student")
    steps = {s["stage"]: s for s in cli.json("funnel")["rows"]}
    assert [steps[s]["reached"] for s in ("lead", "mql", "sql", "opportunity", "won")] == [
        4,
        2,
        1,
        1,
        1,
    ]
    assert (steps["lead"]["open"], steps["lead"]["dropped"]) == (1, 1)
    code, out, _ = cli("funnel")
    assert code == 0 and "Lifecycle funnel" in out and "50.0%" in out
    windowed = cli.json(
        "funnel", "--steps", "mql,won", "--window", "30d", "--by", "channel", "--cohort", "month"
    )
    assert windowed["steps"] == ["mql", "won"] and {r["group"] for r in windowed["rows"]} == {
        "unknown"
    }


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["funnel", "--steps", "sql,mql"], "error: steps: steps must follow the funnel order"),
        (["funnel", "--window", "-3d"], "error: window: '-3d' is not a window"),
        (["funnel", "--mode", "fuzzy"], "error: mode: 'fuzzy' is not one of: ordered, strict, any"),
        (["funnel", "--by", "colour"], "error: breakdown: cannot break down by 'colour'"),
        (["funnel", "--from", "yesterday"], "error: --from: 'yesterday' is not a date"),
    ],
)
def test_bad_funnel_questions_name_the_option(cli, args, message):
    code, _, err = cli(*args)
    assert code == 1 and err.startswith(message)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["lead", "add", "--email", "bad@"], "error: email: 'bad@' is not a valid email address"),
        (
            ["lead", "add", "--company", "ACME"],
            "error: contact: at least one of email, phone or external_id is required",
        ),
        (["lead", "add", "--data", "{oops"], "error: --data: is not valid JSON"),
        (
            ["lead", "add", "--email", "a@b.example", "--stage", "prospect"],
            "error: stage: unknown stage 'prospect'",
        ),
        (["lead", "show", "not-a-uuid"], "error: lead_id: 'not-a-uuid' is not a lead id"),
        (
            ["lead", "show", "01a2043d-aa7b-73f4-af32-909fb05c105a"],
            "error: lead 01a2043d-aa7b-73f4-af32-909fb05c105a not found",
        ),
        (["lead", "list", "--limit", "0"], "error: limit: must be between 1 and 1000"),
    ],
)
def test_errors_are_one_line_with_exit_code_1_and_no_traceback(cli, args, message):
    code, out, err = cli(*args)
    assert code == 1 and out == ""
    assert err.startswith(message) and err.count("\n") == 1 and "Traceback" not in err


def test_refused_move_names_the_allowed_targets(cli):
    lead_id = cli.json("lead", "add", "--email", "a@b.example")["lead_id"]
    code, _, err = cli("lead", "move", lead_id, "--to", "won")
    assert code == 1
    assert (
        err
        == "error: cannot move from 'lead' to 'won'; allowed from 'lead': mql, sql, nurture, disqualified\n"
    )


def test_missing_database_is_not_created_by_a_read(capsys, tmp_path):
    missing = tmp_path / "typo.db"
    assert main(["funnel", "--db", str(missing)]) == 1
    assert "does not exist; create it with: leadfunnel db upgrade" in capsys.readouterr().err
    assert not missing.exists()


def test_unknown_option_is_a_usage_error(capsys):
    assert main(["lead", "list", "--colour", "red"]) == 2
    assert "No such option: --colour" in capsys.readouterr().err


def test_demo_simulates_history_writes_its_truth_and_refuses_to_mix_into_leads(capsys, tmp_path):
    db = str(tmp_path / "demo.db")
    assert main(["demo", "--leads", "600", "--seed", "3", "--db", db, "--no-serve", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    reached = [step["reached"] for step in report["steps"]]
    assert report["leads"] == reached[0] == report["rows"]["leads"] == 600
    assert reached[0] > reached[1] > reached[2] > reached[-1]
    truth = json.loads((tmp_path / "demo.truth.json").read_text(encoding="utf-8"))
    assert report["truth_file"] == str(tmp_path / "demo.truth.json")
    assert (truth["seed"], truth["leads"]) == (3, 600) and len(truth["channels"]) >= 11
    assert main(["lead", "list", "--db", db, "--stage", "won", "--json"]) == 0
    won_now = json.loads(capsys.readouterr().out)["total"]
    assert 0 < won_now <= reached[-1]  # some customers are back in a new opportunity
    assert main(["demo", "--db", db]) == 1
    assert "already holds 600 leads" in capsys.readouterr().err


def test_demo_truth_file_can_be_put_elsewhere(capsys, tmp_path):
    truth = tmp_path / "elsewhere" / "truth.json"
    truth.parent.mkdir()
    code = main(["demo", "--leads", "30", "--db", str(tmp_path / "d.db"), "--truth", str(truth), "--no-serve"])
    out = capsys.readouterr().out
    assert code == 0 and "Lifecycle funnel" in out and str(truth) in out
    assert json.loads(truth.read_text(encoding="utf-8"))["leads"] == 30
    assert not (tmp_path / "d.truth.json").exists()


def test_installed_console_script_runs(tmp_path):
    exe = shutil.which("leadfunnel", path=str(Path(sys.executable).parent))
    assert exe, "the leadfunnel console script is not installed in this environment"
    env = {**os.environ, "LEADFUNNEL_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"}
    done = subprocess.run(
        [exe, "db", "upgrade"], capture_output=True, text=True, env=env, check=False
    )
    assert done.returncode == 0, done.stderr
    done = subprocess.run(
        [exe, "lead", "add", "--email", "x@y.example", "--json"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert json.loads(done.stdout)["outcome"] == "created"


def test_times_reports_time_in_stage_and_time_to_convert(cli, clock):
    from datetime import timedelta

    from leadfunnel.bootstrap import build_app
    from leadfunnel.config import Settings
    from leadfunnel.services.lifecycle import move_lead

    app = build_app(Settings(database_url=cli.db), clock=clock)
    lead_id = cli.json(
        "lead",
        "add",
        "--email",
        "t@x.example",
        "--data",
        f'{{"occurred_at": "{clock.now.isoformat()}"}}',
    )["lead_id"]
    for stage, days in (("mql", 2), ("sql", 6)):
        move_lead(
            uow_factory=app.uow_factory,
            lead_id=__import__("uuid").UUID(lead_id),
            to=stage,
            actor="t",
            now=clock.now + timedelta(days=days),
        )
    app.close()
    data = cli.json("times", "--steps", "lead,mql,sql")
    assert (
        data["time_in_stage"]["lead"]["median_days"] == 2.0
        and data["time_in_stage"]["mql"]["median_days"] == 4.0
    )
    assert data["time_in_stage"]["sql"]["open"] == 1
    assert [
        (t["from"], t["to"], t["count"], t["median_days"]) for t in data["time_to_convert"]
    ] == [("lead", "mql", 1, 2.0), ("mql", "sql", 1, 4.0)]
    code, out, _ = cli("times")
    assert code == 0 and "Time in stage" in out and "Time to convert" in out


def test_funnel_drill_lists_the_leads_of_a_cell(cli):
    ids = [cli.json("lead", "add", "--email", f"d{i}@x.example", "--channel", ch)["lead_id"]
           for i, ch in enumerate(["webinar", "webinar", "paid_search"])]  # fmt: skip
    cli.json("lead", "move", ids[0], "--to", "mql")
    cli.json("lead", "move", ids[1], "--to", "disqualified", "--reason", "student")
    dropped = cli.json(
        "funnel", "drill", "--step", "lead", "--dropped", "--by-value", "channel=webinar"
    )
    assert dropped["total"] == 1 and dropped["items"][0]["id"] == ids[1]
    reached = cli.json("funnel", "drill", "--step", "lead", "--limit", "2")
    assert reached["total"] == 3 and len(reached["items"]) == 2
    code, _, err = cli("funnel", "drill", "--step", "lead", "--by-value", "webinar")
    assert code == 1 and err.startswith("error: --by-value: 'webinar' is not DIMENSION=VALUE")
    code, _, err = cli("funnel", "drill", "--step", "won", "--dropped")
    assert code == 1 and err.startswith("error: outcome: 'dropped' needs a step after 'won'")


def test_stagnant_reports_open_leads_stuck_per_stage(capsys, tmp_path):
    db = str(tmp_path / "demo.db")
    assert main(["demo", "--leads", "400", "--seed", "3", "--db", db, "--json", "--no-serve"]) == 0
    capsys.readouterr()
    assert main(["stagnant", "--threshold", "mql=14d,sql=30d", "--db", db, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [s["stage"] for s in report["stages"]] == ["mql", "sql"]
    assert all(0 <= s["stagnant"] <= s["open"] for s in report["stages"]) and report["stages"][0]["open"] > 0
    assert main(["stagnant", "--threshold", "won=3d", "--db", db]) == 1
    assert "'won' is not an open stage" in capsys.readouterr().err
