"""The KPI spec and oracle, on the hand-worked example of docs/concepts/kpis.md."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from leadfunnel.analytics.kpi_oracle import KpiData, oracle_kpis
from leadfunnel.analytics.kpi_spec import kpi_spec
from leadfunnel.analytics.kpis import KPI_COLUMNS
from leadfunnel.domain.errors import ValidationError
from tests.kpi_data import worked_example

NOW = datetime(2026, 1, 1, tzinfo=UTC)
JANUARY = {"period_from": date(2025, 1, 1), "period_to": date(2025, 1, 31)}


def approx(value):
    return pytest.approx(value, rel=1e-9)


def test_the_worked_example_overall():
    (row,) = oracle_kpis(worked_example(), kpi_spec(**JANUARY), now=NOW).rows
    k = row.to_dict()
    assert k["group"] == "all"
    assert [k[s] for s in ("leads", "mql", "sql", "opportunity", "won", "lost")] == [
        5,
        4,
        3,
        3,
        1,
        1,
    ]
    assert (k["lead_to_mql"], k["mql_to_sql"], k["lead_to_opportunity"], k["lead_to_won"]) == (
        0.8,
        0.75,
        0.6,
        0.2,
    )
    # Responses after 3, 60, 7 and 2 minutes (E's note after 1 minute is not a response).
    assert (k["responded"], k["mttr_mean_minutes"], k["mttr_median_minutes"]) == (4, 18.0, 5.0)
    # D sits in the pool unanswered: not due. A and E were answered within 5 minutes.
    assert (k["response_due"], k["responded_5m"], k["share_responded_5m"]) == (4, 2, 0.5)
    assert (k["deals"], k["open_deals"], k["won_deals"], k["lost_deals"]) == (4, 1, 2, 1)
    assert (k["win_rate"], k["won_revenue"], k["avg_deal_size"]) == (
        approx(2 / 3),
        14_000.0,
        7_000.0,
    )
    assert (k["sales_cycle_days"], k["sales_velocity"]) == (30.0, approx(1 * 2 / 3 * 7_000 / 30))
    assert round(k["sales_velocity"], 2) == 155.56
    # February's 500 is outside the period.
    assert (k["cost"], k["cpl"], k["cac"], k["roi"], k["roas"]) == (
        5_000.0,
        1_000.0,
        5_000.0,
        1.8,
        2.8,
    )
    assert (k["customers"], k["new_customers"], k["ltv"], k["ltv_to_cac"]) == (1, 1, 14_000.0, 2.8)
    assert k["lost_reasons"] == [{"reason": "price", "count": 1, "share": 1.0}]
    assert list(k)[:-1] == list(KPI_COLUMNS)


def test_the_worked_example_by_channel():
    rows = {
        r.group: r.to_dict()
        for r in oracle_kpis(worked_example(), kpi_spec(by="channel", **JANUARY), now=NOW).rows
    }
    assert list(rows) == ["paid_search", "webinar"]  # most leads first
    web, paid = rows["webinar"], rows["paid_search"]
    assert (web["leads"], web["cost"], web["cpl"], web["cac"]) == (2, 3_000.0, 1_500.0, 3_000.0)
    assert (web["roas"], web["roi"]) == (approx(14 / 3), approx(11 / 3))
    assert (paid["leads"], paid["cost"], paid["cpl"]) == (3, 2_000.0, approx(2_000 / 3))
    # Nothing won yet: no customer to divide by; every penny spent is lost so far.
    assert (paid["cac"], paid["roas"], paid["roi"], paid["ltv"]) == (None, 0.0, -1.0, None)
    assert (paid["win_rate"], paid["sales_velocity"], paid["open_deals"]) == (None, None, 1)


def test_cost_kpis_exist_only_for_channel_and_campaign():
    data = worked_example()
    by_region = oracle_kpis(data, kpi_spec(by="region", **JANUARY), now=NOW)
    (emea,) = by_region.rows
    assert (emea.counts.cost, emea.to_dict()["cpl"], emea.to_dict()["roas"]) == (None, None, None)
    assert emea.to_dict()["ltv"] == 14_000.0  # revenue-only KPIs stay
    filtered = oracle_kpis(data, kpi_spec(filters=["region=EMEA"]), now=NOW)
    assert filtered.rows[0].counts.cost is None and not filtered.spec.cost_attributable
    webinar = oracle_kpis(data, kpi_spec(filters=["channel=webinar"]), now=NOW).rows[0]
    assert (webinar.counts.leads, webinar.counts.cost) == (2, Decimal(3000))


def test_a_group_that_spent_without_leads_is_listed_with_zero_leads():
    data = worked_example()
    spec = kpi_spec(by="campaign", period_from=date(2025, 2, 1), period_to=date(2025, 2, 28))
    (row,) = oracle_kpis(data, spec, now=NOW).rows
    assert (row.group, row.counts.leads, row.counts.cost, row.to_dict()["cpl"]) == (
        "paid_search campaign", 0, Decimal(500), None)  # fmt: skip


def test_an_empty_data_set_gives_one_valid_all_row():
    (row,) = oracle_kpis(KpiData(), kpi_spec(), now=NOW).rows
    k = row.to_dict()
    assert (k["group"], k["leads"], k["cost"], k["won_revenue"], k["lost_reasons"]) == (
        "all",
        0,
        0.0,
        0.0,
        [],
    )
    assert all(
        k[name] is None
        for name in ("lead_to_won", "win_rate", "cpl", "roas", "mttr_median_minutes")
    )
    assert oracle_kpis(KpiData(), kpi_spec(by="channel"), now=NOW).rows == ()


def test_a_lead_created_moments_ago_is_not_yet_due_a_response():
    data = worked_example()
    three_minutes_after_e = datetime(2025, 1, 12, 9, 3, tzinfo=UTC)
    (row,) = oracle_kpis(data, kpi_spec(**JANUARY), now=three_minutes_after_e).rows
    # E, answered after 2 minutes, is left out of both sides of the share until 09:05.
    assert (row.counts.response_due, row.counts.responded_5m) == (3, 1)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"by": "colour"}, "by: cannot group by 'colour'; expected one of: channel,"),
        ({"filters": ["colour=red"]}, "where: cannot filter by 'colour'"),
        ({"filters": ["channel"]}, "where: 'channel' is not DIMENSION=VALUE"),
        ({"attribution": "middle"}, "attribution: 'middle' is not one of: first_touch, last_touch"),
        (
            {"period_from": date(2025, 2, 1), "period_to": date(2025, 1, 1)},
            "period_from: 2025-02-01 is after",
        ),
    ],
)
def test_bad_questions_are_refused_naming_the_field(options, message):
    with pytest.raises(ValidationError) as caught:
        kpi_spec(**options)
    assert str(caught.value).startswith(message)


def test_filters_are_normalised_and_attribution_picks_the_touch():
    spec = kpi_spec(by="channel", attribution="last_touch",
                    filters=["campaign=B", " Campaign = A", "region=EMEA"])  # fmt: skip
    assert spec.filters == (("campaign", ("A", "B")), ("region", ("EMEA",)))
    assert (spec.by_column, spec.column("region"), spec.cost_attributable) == (
        "last_channel",
        "region",
        False,
    )
    assert kpi_spec(filters={"channel": ["x", "y"]}).filters == (("channel", ("x", "y")),)


def test_custom_field_filters_read_the_field_as_funnels_do_and_carry_no_cost():
    spec = kpi_spec(filters=["custom_fields.plan=gold", "custom.seats=42"])
    assert spec.filters == (("custom.plan", ("gold",)), ("custom.seats", ("42",)))
    assert not spec.cost_attributable
    data = worked_example()
    gold = [(i, lead) for i, lead in data.leads[:2]]
    tagged = KpiData(
        leads=[(i, type(lead)(lead.created_at, lead.current_stage, lead.transitions,
                              {**lead.dims, "custom_fields": {"plan": "gold", "seats": 42}}))
               for i, lead in gold] + list(data.leads[2:]),
        activities=data.activities, deals=data.deals, costs=data.costs,
    )  # fmt: skip
    now = datetime(2025, 6, 1, tzinfo=UTC)
    (row,) = oracle_kpis(tagged, spec, now=now).rows
    assert row.counts.leads == 2
    (none,) = oracle_kpis(tagged, kpi_spec(filters=["custom.plan=(none)"]), now=now).rows
    assert none.counts.leads == len(data.leads) - 2
    with pytest.raises(ValidationError) as caught:
        kpi_spec(filters=["custom.bad-name=x"])
    assert caught.value.field == "where"
    with pytest.raises(ValidationError) as caught:
        kpi_spec(by="custom.plan")
    assert caught.value.field == "by"
