"""``leadfunnel kpi`` and ``export kpi`` as users run them, on the worked example's store."""

from __future__ import annotations

import csv
import dataclasses
from decimal import Decimal
from types import SimpleNamespace

import pytest
from sqlalchemy import create_engine

from leadfunnel.analytics.kpi_oracle import CampaignCost
from tests.kpi_data import worked_example, write_kpi_data


def _write(sqlite_url, data) -> None:
    store = SimpleNamespace(engine=create_engine(sqlite_url))
    try:
        write_kpi_data(store, data)
    finally:
        store.engine.dispose()


def test_kpi_json_by_channel_for_january_gives_the_worked_example(cli, sqlite_url):
    _write(sqlite_url, worked_example())
    data = cli.json("kpi", "--by", "channel", "--from", "2025-01-01", "--to", "2025-01-31")
    assert (data["by"], data["from"], data["to"], data["cost_attributable"]) == (
        "channel",
        "2025-01-01",
        "2025-01-31",
        True,
    )
    groups = {g["group"]: g for g in data["groups"]}
    web = groups["webinar"]
    assert (web["leads"], web["won"], web["won_revenue"], web["cost"], web["cpl"], web["cac"]) == (
        2, 1, 14_000.0, 3_000.0, 1_500.0, 3_000.0)  # fmt: skip
    assert web["lost_reasons"] == [{"reason": "price", "count": 1, "share": 1.0}]
    assert (groups["paid_search"]["cost"], groups["paid_search"]["cac"]) == (2_000.0, None)

    (overall,) = cli.json("kpi", "--from", "2025-01-01", "--to", "2025-01-31")["groups"]
    assert (overall["group"], overall["mttr_median_minutes"], overall["share_responded_5m"]) == (
        "all",
        5.0,
        0.5,
    )
    # The breakdown's total is the question without it, KPI by KPI.
    assert data["total"] == overall and cli.json("kpi")["total"] is None
    assert (round(overall["sales_velocity"], 2), overall["roi"], overall["ltv_to_cac"]) == (
        155.56,
        1.8,
        2.8,
    )


def test_kpi_where_filters_and_drops_cost_outside_channel_and_campaign(cli, sqlite_url):
    _write(sqlite_url, worked_example())
    data = cli.json("kpi", "--where", "region=EMEA", "--where", "channel=webinar")
    assert (
        data["where"] == {"channel": ["webinar"], "region": ["EMEA"]}
        and not data["cost_attributable"]
    )
    (row,) = data["groups"]
    assert (row["leads"], row["cost"], row["cpl"], row["ltv"]) == (2, None, None, 14_000.0)
    last = cli.json("kpi", "--by", "channel", "--attribution", "last_touch")
    assert [g["group"] for g in last["groups"] if g["leads"]] == [
        "(none)"
    ]  # no last touch recorded


def test_kpi_tables_for_people(cli, sqlite_url):
    _write(sqlite_url, worked_example())
    code, out, err = cli("kpi", "--by", "channel")
    assert code == 0, err
    for title in (
        "Leads created (all time)",
        "Conversion",
        "First response",
        "Deals",
        "Revenue",
        "Cost",
        "Lost reasons",
    ):
        assert title in out
    assert "webinar" in out and "14,000" in out
    leads_table = out.split("Conversion")[0]
    assert [line.split()[:2] for line in leads_table.splitlines() if line.strip().startswith("total")] == [
        ["total", "5"]
    ]  # the last line: the five leads of every channel
    code, out, _ = cli("kpi", "--by", "region")
    assert "Cost KPIs: only by and where channel or campaign" in out


def test_an_empty_store_reports_one_row_of_zeros(cli):
    (row,) = cli.json("kpi")["groups"]
    assert (row["group"], row["leads"], row["win_rate"], row["lost_reasons"]) == (
        "all",
        0,
        None,
        [],
    )
    assert cli.json("kpi", "--by", "channel")["groups"] == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["kpi", "--by", "colour"], "error: by: cannot group by 'colour'"),
        (["kpi", "--where", "channel"], "error: where: 'channel' is not DIMENSION=VALUE"),
        (["kpi", "--where", "shoe=42"], "error: where: cannot filter by 'shoe'"),
        (["kpi", "--from", "June"], "error: --from: 'June' is not a date"),
        (
            ["kpi", "--from", "2025-02-01", "--to", "2025-01-01"],
            "error: period_from: 2025-02-01 is after",
        ),
        (["kpi", "--attribution", "middle"], "error: attribution: 'middle' is not one of"),
    ],
)
def test_bad_kpi_questions_are_one_line_errors(cli, args, message):
    code, _out, err = cli(*args)
    assert code == 1 and err.startswith(message) and err.count("\n") == 1


def test_export_kpi_writes_every_kpi_and_neutralises_formulas(cli, sqlite_url, tmp_path):
    example = worked_example()
    evil = '=HYPERLINK("http://evil.example","x")'
    leads = [
        (i, dataclasses.replace(lead, dims={**lead.dims, "campaign": evil}))
        for i, lead in example.leads
    ]
    deals = [
        dataclasses.replace(d, lost_reason="@SUM(1)") if d.stage == "lost" else d
        for d in example.deals
    ]
    costs = [CampaignCost(evil, "webinar", example.costs[0].day, Decimal(300))]
    _write(sqlite_url, dataclasses.replace(example, leads=leads, deals=deals, costs=costs))
    cli.json("export", "kpi", "--by", "campaign", "--output", str(tmp_path / "k.csv"))
    with (tmp_path / "k.csv").open(encoding="utf-8-sig") as handle:
        (row,) = list(csv.DictReader(handle))
    assert row["group"] == "'" + evil and row["lost_reasons"] == "'@SUM(1)=1"
    assert (row["leads"], row["cost"], row["cpl"], row["won_revenue"]) == (
        "5",
        "300.0",
        "60.0",
        "14000.0",
    )
    assert {
        "mttr_median_minutes",
        "share_responded_5m",
        "sales_velocity",
        "roas",
        "ltv_to_cac",
    } <= set(row)
