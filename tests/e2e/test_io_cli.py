"""import / export / kpi as users run them."""

from __future__ import annotations

import csv
import json

import openpyxl
import pytest


def test_import_writes_an_error_report_and_prints_a_summary(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    source = tmp_path / "web.csv"
    source.write_text(
        "Email;Company;Channel\nann@x.example;ACME;webinar\nbad@;Nope;webinar\n",
        encoding="utf-8-sig",
    )
    code, out, err = cli("import", "leads", str(source))
    assert code == 0, err
    assert "leads from web.csv: 2 rows: 1 created, 0 merged/updated, 0 unchanged, 1 rejected" in out
    assert f"error report: {tmp_path / 'web.errors.csv'}" in out
    with (tmp_path / "web.errors.csv").open(encoding="utf-8-sig") as handle:
        report = list(csv.DictReader(handle))
    assert report == [
        {"row": "3", "column": "Email", "value": "bad@", "reason": report[0]["reason"]}
    ]
    assert "not a valid email address" in report[0]["reason"]


def test_import_with_a_mapping_and_json_summary(cli, tmp_path):
    (tmp_path / "m.toml").write_text(
        '[columns]\nemail = "E-Mail Address"\nregion = "Area"\n[constants]\nchannel = "trade_show"\n'
    )
    source = tmp_path / "expo.csv"
    source.write_text(
        "E-Mail Address,Area,Notes\nann@x.example,East,met at booth\n", encoding="utf-8"
    )
    summary = cli.json("import", "leads", str(source), "--mapping", str(tmp_path / "m.toml"))
    assert (summary["created"], summary["rejected"], summary["error_report"]) == (1, 0, None)
    lead = cli.json("lead", "list")["items"][0]
    assert (lead["region"], lead["channel"]) == ("East", "trade_show")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["import", "deals", "x.csv"], "error: kind: unknown import kind 'deals'"),
        (["import", "leads", "missing.csv"], "error: file: missing.csv: cannot be read"),
        (["export", "leads", "--format", "pdf"], "error: --format: 'pdf' is not csv or xlsx"),
        (["export", "leads", "--format", "xlsx"], "error: --output: xlsx needs a file"),
        (["export", "deals"], "error: dataset: unknown data set 'deals'"),
        (["kpi", "--by", "colour"], "error: by: cannot group by 'colour'"),
    ],
)
def test_io_errors_are_one_line(cli, args, message):
    code, _out, err = cli(*args)
    assert code == 1 and err.startswith(message) and err.count("\n") == 1


def test_export_leads_neutralises_formulas_in_csv_and_xlsx(cli, tmp_path):
    cli.json(
        "lead",
        "add",
        "--email",
        "eve@x.example",
        "--company",
        '=HYPERLINK("http://evil.example","x")',
    )
    cli.json("lead", "add", "--email", "ann@x.example", "--company", "ACME", "--channel", "webinar")
    _code, out, _ = cli("export", "leads")
    rows = list(csv.DictReader(out.lstrip("\ufeff").splitlines()))
    assert {r["email"]: r["company"] for r in rows} == {
        "eve@x.example": '\'=HYPERLINK("http://evil.example","x")', "ann@x.example": "ACME"}  # fmt: skip
    result = cli.json(
        "export",
        "leads",
        "--format",
        "xlsx",
        "--output",
        str(tmp_path / "l.xlsx"),
        "--channel",
        "webinar",
    )
    assert result["rows"] == 1
    sheet = openpyxl.load_workbook(tmp_path / "l.xlsx")["data"]
    header = [c.value for c in sheet[1]]
    assert sheet.cell(2, header.index("email") + 1).value == "ann@x.example"


def test_kpi_by_channel_and_funnel_export(cli, tmp_path):
    a = cli.json("lead", "add", "--email", "a@x.example", "--channel", "webinar")["lead_id"]
    cli.json("lead", "add", "--email", "b@x.example", "--channel", "webinar")
    cli.json("lead", "add", "--email", "c@x.example", "--channel", "paid_search")
    for stage in ("sql", "opportunity", "won"):
        cli.json("lead", "move", a, "--to", stage)
    groups = {g["group"]: g for g in cli.json("kpi", "--by", "channel")["groups"]}
    assert (
        groups["webinar"]["leads"],
        groups["webinar"]["won"],
        groups["webinar"]["lead_to_won"],
    ) == (2, 1, 0.5)
    assert (groups["paid_search"]["leads"], groups["paid_search"]["won"]) == (1, 0)
    cli.json("export", "funnel", "--output", str(tmp_path / "f.csv"))
    with (tmp_path / "f.csv").open(encoding="utf-8-sig") as handle:
        steps = list(csv.DictReader(handle))
    assert [(s["stage"], s["reached"]) for s in steps][:3] == [
        ("lead", "3"),
        ("mql", "1"),
        ("sql", "1"),
    ]
    assert json.loads(json.dumps(cli.json("kpi")))["groups"][0]["group"] == "all"
