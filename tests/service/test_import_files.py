"""Importing what spreadsheets hold: typed date cells beside text dates, custom field columns."""

from __future__ import annotations

from datetime import datetime

import openpyxl

from leadfunnel.adapters.files.tabular import read_tabular
from leadfunnel.domain.access import SYSTEM
from leadfunnel.services.imports.mapping import parse_mapping
from leadfunnel.services.imports.runner import run_import
from leadfunnel.services.leads import list_leads


def run(app, table, mapping=None):
    return run_import(uow_factory=app.uow_factory, source=table, kind="leads", mapping=mapping,
                      actor="test", clock=app.clock, default_region="US")  # fmt: skip


def leads(app):
    page = list_leads(uow_factory=app.uow_factory, principal=SYSTEM, filters={})
    return sorted(page.items, key=lambda lead: lead["email"])


def test_a_date_column_mixing_excel_dates_and_text_dates_imports_both(app, tmp_path):
    book = openpyxl.Workbook()
    book.active.append(["Email", "Signed up"])
    book.active.append(["ann@x.example", datetime(2025, 11, 20, 10, 30)])
    book.active.append(["bob@x.example", "21/11/2025"])
    book.save(tmp_path / "l.xlsx")
    mapping = parse_mapping(
        {
            "columns": {"email": "Email", "occurred_at": "Signed up"},
            "formats": {"occurred_at": "%d/%m/%Y"},
        }
    )
    summary = run(app, read_tabular(tmp_path / "l.xlsx"), mapping)
    assert (summary.created, summary.rejected) == (2, 0)
    assert [lead["created_at"].isoformat()[:16] for lead in leads(app)] == [
        "2025-11-20T10:30",
        "2025-11-21T00:00",
    ]


def test_custom_field_columns_are_imported_without_a_mapping(app, tmp_path):
    (tmp_path / "cf.csv").write_text(
        "email,custom_fields.budget,custom_fields,Notes\n"
        "ann@x.example,50k,,call back\n"
        'bob@x.example,,"{""plan"": ""gold""}",\n'
        'cy@x.example,9k,"{""plan"": ""free""}",\n',
        encoding="utf-8",
    )
    summary = run(app, read_tabular(tmp_path / "cf.csv"))
    assert (summary.created, summary.ignored_columns) == (3, ["Notes"])
    assert [lead["custom_fields"] for lead in leads(app)] == [
        {"budget": "50k"},
        {"plan": "gold"},
        {"plan": "free", "budget": "9k"},
    ]


def test_properties_columns_of_a_touchpoint_file_are_mapped_by_name(app, tmp_path):
    (tmp_path / "l.csv").write_text("Email\nann@x.example\n", encoding="utf-8")
    assert run(app, read_tabular(tmp_path / "l.csv")).created == 1
    (tmp_path / "t.csv").write_text(
        "email,kind,at,properties.ad_id\nann@x.example,ad_click,2025-05-01T10:00:00+00:00,A-17\n",
        encoding="utf-8",
    )
    summary = run_import(uow_factory=app.uow_factory, source=read_tabular(tmp_path / "t.csv"),
                         kind="touchpoints", mapping=None, actor="test", clock=app.clock,
                         default_region="US")  # fmt: skip
    assert (summary.created, summary.rejected, summary.ignored_columns) == (1, 0, [])
    with app.uow_factory(write=False) as uow:
        (lead,) = uow.leads.find_by_identities(emails=["ann@x.example"], phones=[], external_ids=[])
        touches = [t for t in uow.touchpoints.for_lead(lead["id"]) if t["kind"] == "ad_click"]
    assert [t["properties"].get("ad_id") for t in touches] == ["A-17"]
