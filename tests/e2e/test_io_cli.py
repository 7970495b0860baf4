"""import / export / kpi as users run them."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

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
        (
            ["export", "funnel", "--stage", "sql"],
            "error: stage: is not an option of the funnel export (only of: leads)",
        ),
        (
            ["export", "funnel", "--channel", "webinar"],
            "error: channel: is not an option of the funnel",
        ),
        (
            ["export", "funnel", "--by", "channel"],
            "error: by: is not an option of the funnel export",
        ),
        (["export", "kpi", "--search", "x"], "error: search: is not an option of the kpi export"),
        (
            ["export", "leads", "--by", "channel"],
            "error: by: is not an option of the leads export (only of: kpi)",
        ),
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


def test_unwritable_output_paths_fail_in_one_line_before_any_work(cli, tmp_path):
    source = tmp_path / "web.csv"
    source.write_text("email\nann@x.example\nbad@\n", encoding="utf-8")
    report = tmp_path / "nodir" / "e.csv"
    code, out, err = cli("import", "leads", str(source), "--errors", str(report))
    assert (code, out) == (1, "")
    assert err == f"error: --errors: cannot write {report} (no such directory)\n"
    assert cli.json("lead", "list")["items"] == []  # checked before importing
    for fmt in ("csv", "xlsx"):
        target = tmp_path / "nodir" / f"x.{fmt}"
        code, out, err = cli("export", "leads", "--format", fmt, "--output", str(target))
        assert (code, out) == (1, "")
        assert err == f"error: --output: cannot write {target} (no such directory)\n"
    code, _out, err = cli("export", "funnel", "--output", str(tmp_path))
    assert code == 1 and err == f"error: --output: cannot write {tmp_path} (is a directory)\n"


def test_a_clean_rerun_removes_the_out_of_date_error_report(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    source = tmp_path / "web.csv"
    source.write_text("email\nann@x.example\nbad@\n", encoding="utf-8")
    assert cli.json("import", "leads", str(source))["rejected"] == 1
    report = tmp_path / "web.errors.csv"
    assert report.exists()
    source.write_text("email\nann@x.example\nbob@x.example\n", encoding="utf-8")
    code, out, err = cli("import", "leads", str(source))
    assert code == 0, err
    assert "0 rejected" in out
    assert f"removed the out-of-date error report: {report}" in " ".join(out.split())
    assert not report.exists()
    # A file that is not an error report is never removed, and a run that removed nothing
    # says nothing about it.
    other = tmp_path / "notes.csv"
    other.write_text("my,own,data\n", encoding="utf-8")
    summary = cli.json("import", "leads", str(source), "--errors", str(other))
    assert (summary["error_report"], summary["removed_error_report"]) == (None, None)
    assert other.read_text(encoding="utf-8") == "my,own,data\n"


def test_import_error_report_keeps_a_negative_number_as_it_was(cli, tmp_path):
    source = tmp_path / "sizes.csv"
    source.write_text("email,company_size\nann@x.example,-100\n", encoding="utf-8")
    report = tmp_path / "e.csv"
    assert cli.json("import", "leads", str(source), "--errors", str(report))["rejected"] == 1
    with report.open(encoding="utf-8-sig") as handle:
        (row,) = list(csv.DictReader(handle))
    assert (row["column"], row["value"]) == ("company_size", "-100")


def test_export_keeps_phones_and_survives_control_characters(cli, tmp_path):
    cli.json("lead", "add", "--email", "ann@x.example", "--phone", "+14155552671",
             "--first-name", "Ann\x0bLee", "--company", "Vertical\x01Tab Co")  # fmt: skip
    cli.json("lead", "add", "--email", "eve@x.example", "--company", '=HYPERLINK("http://x")')
    _code, out, _ = cli("export", "leads")
    rows = {r["email"]: r for r in csv.DictReader(io.StringIO(out.lstrip("\ufeff")))}
    assert rows["ann@x.example"]["phone"] == "+14155552671"
    assert rows["ann@x.example"]["first_name"] == "Ann\x0bLee"  # CSV keeps the text as is
    assert rows["eve@x.example"]["company"] == '\'=HYPERLINK("http://x")'
    result = cli.json("export", "leads", "--format", "xlsx", "--output", str(tmp_path / "l.xlsx"))
    assert result["rows"] == 2
    sheet = openpyxl.load_workbook(tmp_path / "l.xlsx")["data"]
    header = [c.value for c in sheet[1]]
    cells = {
        row[header.index("email")].value: {h: row[i] for i, h in enumerate(header)}
        for row in sheet.iter_rows(min_row=2)
    }
    ann, eve = cells["ann@x.example"], cells["eve@x.example"]
    assert (ann["phone"].value, ann["phone"].quotePrefix) == ("+14155552671", False)
    assert (ann["first_name"].value, ann["company"].value) == ("AnnLee", "VerticalTab Co")
    assert eve["company"].value == '=HYPERLINK("http://x")'
    assert eve["company"].data_type == "s" and eve["company"].quotePrefix
    created = ann["created_at"]
    assert created.is_date and created.value.tzinfo is None
    assert created.number_format == "yyyy-mm-dd hh:mm:ss"


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_a_write_that_fails_midway_is_one_line_too(cli):
    cli.json("lead", "add", "--email", "ann@x.example")
    code, _out, err = cli("export", "leads", "--output", "/dev/full")
    assert (
        code == 1 and err == "error: --output: cannot write /dev/full (No space left on device)\n"
    )
