"""Rules and imports over HTTP: validation names the rule and field, dry runs write nothing,
uploads go through the import with a downloadable, formula-safe error report."""

from __future__ import annotations

import csv
import io

from tests.api.conftest import World
from tests.api.test_access_matrix import MODEL
from tests.builders import count_rows


def test_a_bad_scoring_model_is_refused_naming_the_field_and_nothing_is_stored(world: World) -> None:
    bad = {**MODEL, "fit": [{"name": "big", "points": 20, "when": {"field": "shoe_size", "op": "ge", "value": 5}}]}
    for path in ("/api/v1/rules/scoring-models/validate", "/api/v1/rules/scoring-models"):
        response = world.client.post(path, json=bad, headers=world.as_("marketer"))
        assert response.status_code == 422, response.text
        assert "shoe_size" in response.json()["detail"]
    assert world.client.get("/api/v1/rules/scoring-models", headers=world.as_("marketer")).json()["items"] == []


def test_a_model_is_stored_dry_run_then_activated_and_scores_leads(world: World) -> None:
    headers = world.as_("marketer")
    stored = world.client.post("/api/v1/rules/scoring-models", json=MODEL, headers=headers)
    assert stored.status_code == 201 and stored.json()["status"] == "draft"
    version = stored.json()["version"]
    dry = world.client.post(f"/api/v1/rules/scoring-models/fit/versions/{version}/dry-run", headers=headers)
    assert dry.status_code == 200 and dry.json()["candidate"]["version"] == version
    assert world.client.get(f"/api/v1/leads/{world.leads['east']}", headers=headers).json()["score"] is None
    active = world.client.post(f"/api/v1/rules/scoring-models/fit/versions/{version}/activate", headers=headers)
    assert active.status_code == 200
    shown = world.client.get("/api/v1/rules/scoring-models/fit", headers=headers).json()
    assert shown["status"] == "active" and shown["spec"]["name"] == "fit"
    # The world's leads have company_size 800 (tests/builders.py): the fit rule gives 20 points.
    assert world.client.get(f"/api/v1/leads/{world.leads['east']}", headers=headers).json()["score"] == 20
    again = world.client.post(f"/api/v1/rules/scoring-models/fit/versions/{version}/activate", headers=headers)
    assert again.status_code == 422


def test_an_unknown_rule_kind_or_calendar_is_named(world: World) -> None:
    headers = world.as_("admin")
    kind = world.client.post("/api/v1/rules/escalation", json={"policy": []}, headers=headers)
    assert kind.status_code == 422 and kind.json()["errors"][0]["field"] == "kind"
    sla = {"policy": [{"name": "all", "respond_within": "2h", "calendar": "Mars"}]}
    missing = world.client.post("/api/v1/rules/sla", json=sla, headers=headers)
    assert missing.status_code in (404, 422) and "Mars" in missing.json()["detail"]


def test_an_upload_imports_good_rows_and_reports_bad_ones_safely(world: World) -> None:
    before = count_rows(world.app, "leads")
    body = (b"email,company\n"
            b"good.one@client.example,Good Co\n"
            b"=cmd|' /C calc'!A0,Evil Co\n"
            b"good.two@client.example,Other Co\n")
    response = world.client.post("/api/v1/imports/leads", headers=world.as_("marketer"),
                                 files={"file": ("trade-show.csv", body, "text/csv")})
    assert response.status_code == 201, response.text
    summary = response.json()
    assert (summary["created"], summary["rejected"]) == (2, 1)
    assert count_rows(world.app, "leads") == before + 2
    job = world.client.get(f"/api/v1/imports/{summary['job_id']}", headers=world.as_("marketer")).json()
    assert job["status"] == "completed" and job["rows_done"] == 3
    report = world.client.get(f"/api/v1/imports/{summary['job_id']}/errors", headers=world.as_("marketer"))
    assert report.status_code == 200 and report.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(report.content.decode("utf-8-sig"))))
    assert rows[0] == ["row", "column", "value", "reason"]
    assert rows[1][0] == "3" and rows[1][2].startswith("'=")  # neutralised, not a formula
    again = world.client.post("/api/v1/imports/leads", headers=world.as_("marketer"),
                              files={"file": ("trade-show.csv", body, "text/csv")})
    assert again.json()["created"] == 0 and count_rows(world.app, "leads") == before + 2


def test_uploads_that_are_not_tables_are_refused_before_anything_is_written(world: World) -> None:
    headers = world.as_("admin")
    before = count_rows(world.app, "import_jobs")
    exe = world.client.post("/api/v1/imports/leads", headers=headers, files={"file": ("x.exe", b"MZ", "application/octet-stream")})
    assert exe.status_code == 422 and exe.json()["errors"][0]["field"] == "file"
    no_email = world.client.post("/api/v1/imports/leads", headers=headers,
                                 files={"file": ("x.csv", b"shoe\n9\n", "text/csv")})
    assert no_email.status_code == 422
    kind = world.client.post("/api/v1/imports/widgets", headers=headers, files={"file": ("x.csv", b"a\n1\n", "text/csv")})
    assert kind.status_code == 422 and kind.json()["errors"][0]["field"] == "kind"
    assert count_rows(world.app, "import_jobs") == before
