"""Imports of history and records attached to leads: re-runs replay, bad rows are refused
naming their column, and what a row says reaches the lead it belongs to."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from leadfunnel.services.imports.mapping import ColumnMapping
from leadfunnel.services.imports.runner import import_errors
from tests.builders import table_counts
from tests.service.test_imports import csv_file, run

HISTORY = ("external_id", "to_stage", "at", "reason")


def errors_of(app, summary):
    return {
        e["row_number"]: (e["column_name"], e["reason"])
        for e in import_errors(uow_factory=app.uow_factory, job_id=summary.job_id)
    }


def stored(app, table, column, values):
    with app.uow_factory(write=False) as uow:
        return uow.records.select_in(table, column, values)


def test_reimporting_a_whole_stage_history_changes_nothing(app, tmp_path):
    run(app, csv_file(tmp_path, "l.csv", ("external_id", "occurred_at"),
                      ("H1", "2025-01-01"), ("H2", "2025-01-01")))  # fmt: skip
    history = csv_file(tmp_path, "h.csv", HISTORY,
                       ("H1", "mql", "2025-01-05", "score"), ("H1", "sql", "2025-01-10", "call"),
                       ("H1", "opportunity", "2025-01-20", "demo"), ("H2", "mql", "2025-02-01", "score"))  # fmt: skip
    first = run(app, history, kind="stage-history")
    before = table_counts(app)
    again = run(app, history, kind="stage-history")
    assert (first.merged, first.rejected) == (4, 0)
    # every row equals a stored change of its lead, not only each lead's last one
    assert (again.merged, again.unchanged, again.rejected) == (0, 4, 0)
    assert table_counts(app) == before


def test_a_new_row_older_than_the_last_change_is_still_refused_on_a_rerun(app, tmp_path):
    run(app, csv_file(tmp_path, "l.csv", ("external_id", "occurred_at"), ("H1", "2025-01-01")))
    history = [("H1", "mql", "2025-01-05", ""), ("H1", "sql", "2025-01-10", "")]
    run(app, csv_file(tmp_path, "h.csv", HISTORY, *history), kind="stage-history")
    edited = csv_file(tmp_path, "h2.csv", HISTORY, *history, ("H1", "mql", "2025-01-07", ""))
    again = run(app, edited, kind="stage-history")
    assert (again.merged, again.unchanged, again.rejected) == (0, 2, 1)
    assert "before the lead's last stage change" in errors_of(app, again)[4][1]


def test_clamped_history_replays_every_row(app, tmp_path):
    run(app, csv_file(tmp_path, "l.csv", ("external_id", "occurred_at", "stage"),
                      ("L1", "2025-01-08", "mql")))  # fmt: skip
    history = csv_file(tmp_path, "h.csv", HISTORY,
                       ("L1", "sql", "2025-01-05", ""), ("L1", "won", "2025-01-06", ""))  # fmt: skip
    mapping = ColumnMapping(columns={c: c for c in HISTORY}, options={"backdated_history": "clamp"})
    first = run(app, history, kind="stage-history", mapping=mapping)
    again = run(app, history, kind="stage-history", mapping=mapping)
    assert (first.merged, again.merged, again.unchanged, again.rejected) == (2, 0, 2, 0)


OPPORTUNITIES = ("email", "name", "amount", "stage", "created_at", "closed_at", "lost_reason")


def test_opportunity_rows_must_be_in_a_pipeline_stage_consistent_with_their_close(app, tmp_path):
    run(app, csv_file(tmp_path, "l.csv", ("email",), ("h2@h.example",)))
    opps = csv_file(tmp_path, "o.csv", OPPORTUNITIES,
                    ("h2@h.example", "No stage", "100", "", "2025-02-01", "", ""),
                    ("h2@h.example", "Won", "200", "Won", "2025-02-01", "2025-02-20", ""),
                    ("h2@h.example", "Lost", "300", "lost", "2025-02-01", "2025-02-21", "price"),
                    ("h2@h.example", "Other CRM", "400", "closed_won", "2025-02-10", "2025-02-20", ""),
                    ("h2@h.example", "Open", "400", "open", "2025-02-10", "", ""),
                    ("h2@h.example", "Undated win", "500", "won", "2025-02-12", "", ""),
                    ("h2@h.example", "Unexplained", "600", "lost", "2025-02-11", "2025-02-12", ""),
                    ("h2@h.example", "Open but closed", "700", "proposal", "2025-02-04", "2025-02-05", ""),
                    ("h2@h.example", "Closed first", "800", "won", "2025-02-04", "2025-01-01", ""))  # fmt: skip
    summary = run(app, opps, kind="opportunities")
    assert (summary.created, summary.rejected) == (3, 6)
    errors = errors_of(app, summary)
    assert {row: column for row, (column, _) in errors.items()} == {
        5: "stage", 6: "stage", 7: "closed_at", 8: "lost_reason", 9: "closed_at", 10: "closed_at",
    }  # fmt: skip
    assert "'closed_won' is not a pipeline stage" in errors[5][1]
    assert "before created_at" in errors[10][1]
    deals = {
        o["name"]: o for o in stored(app, "opportunities", "name", ["No stage", "Won", "Lost"])
    }
    assert {name: (o["stage"], o["lost_reason"]) for name, o in deals.items()} == {
        "No stage": ("qualification", None), "Won": ("won", None), "Lost": ("lost", "price"),
    }  # fmt: skip
    assert deals["No stage"]["closed_at"] is None
    assert deals["Won"]["closed_at"] == datetime(2025, 2, 20, tzinfo=UTC)


COSTS = ("campaign", "channel", "day", "amount", "currency")


def test_campaign_costs_keep_their_campaigns_currency_and_one_row_per_day(app, tmp_path):
    costs = csv_file(tmp_path, "c.csv", COSTS,
                     ("Spring", "Paid Search", "2025-01-01", "100.50", "USD"),
                     ("Spring", "", "2025-01-02", "1000", ""),
                     ("Spring", "", "2025-01-02", "200", "USD"),
                     ("Spring", "", "2025-01-03", "20", "EUR"),
                     ("Fall", "webinar", "2025-01-01T23:30:00-05:00", "50", "eur"),
                     ("Fall", "", "2025-01-02", "60", ""),
                     ("Fall", "", "2099-01-02", "60", ""))  # fmt: skip
    first = run(app, costs, kind="campaign-costs")
    assert (first.created, first.merged, first.rejected) == (4, 0, 3)
    errors = errors_of(app, first)
    assert errors[8][0] == "day" and "is more than a year ahead" in errors[8][1]  # as the API
    assert errors[4] == (
        "day",
        "row 3 already gives campaign 'Spring' a cost for 2025-01-02: give one row per campaign "
        "and day (add them up first)",
    )
    assert errors[5] == ("currency", "EUR is not the campaign's currency: its costs are in USD")
    again = run(app, costs, kind="campaign-costs")
    assert (again.created, again.merged, again.unchanged, again.rejected) == (0, 0, 4, 3)
    by_day = {
        (c["day"], c["currency"]): c["amount"]
        for c in stored(app, "campaign_costs", "currency", ["USD", "EUR"])
    }
    assert by_day == {
        (date(2025, 1, 1), "USD"): Decimal("100.50"),
        (date(2025, 1, 2), "USD"): Decimal("1000.00"),
        (date(2025, 1, 1), "EUR"): Decimal("50.00"),  # the day as written, not in UTC
        (date(2025, 1, 2), "EUR"): Decimal("60.00"),  # the campaign's currency by default
    }


def test_imported_touches_move_the_leads_first_and_last_touch_as_merges_do(app, clock, tmp_path):
    run(app, csv_file(tmp_path, "l.csv", ("email", "channel", "occurred_at"),
                      ("h1@h.example", "webinar", "2025-01-01"), ("h2@h.example", "", "2025-01-01")))  # fmt: skip
    clock.now += timedelta(days=1)
    touches = csv_file(tmp_path, "t.csv", ("email", "kind", "at", "channel", "url"),
                       ("h2@h.example", "ad_click", "2024-06-01", "Paid Search", "https://x.example/?utm_medium=cpc&utm_source=google"),
                       ("h2@h.example", "webinar_attended", "2025-06-01", "webinar", ""),
                       ("h1@h.example", "page_view", "2024-03-01", "", ""),
                       ("h1@h.example", "page_view", "2025-01-01T12:00:00Z", "", "https://x.example/?utm_medium=email"))  # fmt: skip
    assert run(app, touches, kind="touchpoints").created == 4
    leads = {r["email"]: r for r in stored(app, "leads", "email", ["h1@h.example", "h2@h.example"])}
    h1, h2 = leads["h1@h.example"], leads["h2@h.example"]
    assert (h2["channel"], h2["first_channel"], h2["first_touch_at"], h2["first_utm_source"]) == (
        "paid_search", "paid_search", datetime(2024, 6, 1, tzinfo=UTC), "google",
    )  # fmt: skip
    assert (h2["last_channel"], h2["last_touch_at"]) == (
        "webinar",
        datetime(2025, 6, 1, tzinfo=UTC),
    )
    # an older touch without a channel does not erase the known one; a channel from UTM
    assert (h1["channel"], h1["first_channel"], h1["first_touch_at"]) == (
        "webinar", "unknown", datetime(2024, 3, 1, tzinfo=UTC),
    )  # fmt: skip
    assert (h1["last_channel"], h1["last_utm_medium"]) == ("email", "email")
    assert h1["updated_at"] == h2["updated_at"] == clock.now  # the analytics sync sees them
    assert h1["version"] == h2["version"] == 3  # created, then two touches each
    before = table_counts(app)
    assert run(app, touches, kind="touchpoints").unchanged == 4
    assert table_counts(app) == before
