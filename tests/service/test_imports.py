"""Imports as use cases: rows through intake, bad rows reported, re-runs add nothing, resume."""

from __future__ import annotations

import multiprocessing
from datetime import timedelta

import pytest

from leadfunnel.adapters.files.tabular import read_tabular
from leadfunnel.domain.access import SYSTEM
from leadfunnel.domain.errors import ValidationError
from leadfunnel.services.imports.lead_rows import LeadRows
from leadfunnel.services.imports.mapping import ColumnMapping, auto_mapping
from leadfunnel.services.imports.runner import import_errors, run_import
from leadfunnel.services.intake import apply_intake
from leadfunnel.services.leads import get_lead, list_leads
from tests.builders import count_rows, table_counts


def csv_file(tmp_path, name, header, *rows):
    path = tmp_path / name
    path.write_text(
        "\n".join([",".join(header), *(",".join(r) for r in rows)]) + "\n", encoding="utf-8"
    )
    return read_tabular(path)


def run(app, table, kind="leads", mapping=None, default_region="US", **kw):
    return run_import(uow_factory=app.uow_factory, source=table, kind=kind, mapping=mapping, actor="test",
                      clock=app.clock, default_region=default_region, **kw)  # fmt: skip


LEADS = ("Email", "Phone", "Company", "Channel", "Occurred At")


def lead_rows(n, start=0):
    return [
        (f"p{i}@x.example", "", f"Co {i}", "webinar", "2025-05-01T10:00:00+00:00")
        for i in range(start, start + n)
    ]


def test_bad_rows_are_reported_and_good_rows_imported(app, tmp_path):
    table = csv_file(tmp_path, "l.csv", LEADS,
                     ("ann@x.example", "(415) 555-2671", "ACME", "webinar", "2025-05-01"),
                     ("not-an-email", "", "Bad Co", "webinar", "2025-05-01"),
                     ("ANN@x.example ", "", "ACME", "trade show", "2025-05-03"),
                     ("bob@x.example", "12", "Beta", "webinar", "2025-05-02"),
                     ("carol@x.example", "", "Gamma", "webinar", "yesterday"))  # fmt: skip
    summary = run(app, table)
    assert (summary.created, summary.merged, summary.unchanged, summary.rejected) == (1, 1, 0, 3)
    errors = [
        (e["row_number"], e["column_name"], e["value"])
        for e in import_errors(uow_factory=app.uow_factory, job_id=summary.job_id)
    ]
    assert errors == [
        (3, "Email", "not-an-email"),
        (5, "Phone", "12"),
        (6, "Occurred At", "yesterday"),
    ]
    assert list_leads(uow_factory=app.uow_factory, principal=SYSTEM, filters={}).total == 1


def test_importing_the_same_file_twice_creates_nothing_new(app, tmp_path):
    table = csv_file(tmp_path, "l.csv", LEADS, *lead_rows(25))
    first = run(app, table, batch_size=10)
    before = table_counts(app)
    second = run(app, table, batch_size=7)  # the rows replay whatever the batches
    assert (first.created, second.created, second.merged, second.unchanged) == (25, 0, 0, 25)
    assert table_counts(app) == before  # no lead, touchpoint, key or audit entry
    assert second.job_id != first.job_id


def test_each_batch_is_audited_as_one_entry_on_its_import_job(app, tmp_path):
    again = ("p1@x.example", "+1 415 555 2671", "Co 1", "webinar", "2025-05-02T10:00:00+00:00")
    table = csv_file(tmp_path, "l.csv", LEADS, *lead_rows(12), again)
    summary = run(app, table, batch_size=10)
    with app.uow_factory(write=False) as uow:
        entries = uow.audit.for_entity("import_job", summary.job_id)
        stored = uow.records.select_in("leads", "source", ["import"])
    leads = {r["email"]: str(r["id"]) for r in stored}
    assert count_rows(app, "audit_log") == len(entries) == 2  # two batches, no entry per lead
    assert {(e["action"], e["actor"]) for e in entries} == {("leads.intake", "test")}
    first, second = sorted(entries, key=lambda e: len(e["data"]["created"]), reverse=True)
    assert first["data"]["created"] == [leads[f"p{i}@x.example"] for i in range(10)]
    assert second["data"]["created"] == [leads["p10@x.example"], leads["p11@x.example"]]
    assert second["data"]["merged"] == [
        {"lead_id": leads["p1@x.example"], "matched_on": "email", "filled": ["phone"],
         "identities_of_other_leads": []},
    ]  # fmt: skip


def test_reimporting_rows_without_a_time_later_creates_nothing_new(app, clock, tmp_path):
    table = csv_file(tmp_path, "l.csv", ("Email", "Company"), ("ann@x.example", "ACME"),
                     ("bob@x.example", "Beta"))  # fmt: skip
    first = run(app, table)
    clock.now += timedelta(days=1)  # the rows' time of intake (their occurred_at) differs
    again = run(app, table)
    assert (first.created, again.created, again.merged, again.unchanged, again.rejected) == (
        2, 0, 0, 2, 0,
    )  # fmt: skip


def test_the_same_cells_read_in_another_default_region_are_a_conflict(app, tmp_path):
    table = csv_file(tmp_path, "l.csv", ("Phone",), ("(415) 555-2671",))
    assert run(app, table, default_region="US").created == 1
    again = run(app, table, default_region="CA")
    assert (again.created, again.unchanged, again.rejected) == (0, 0, 1)
    (error,) = import_errors(uow_factory=app.uow_factory, job_id=again.job_id)
    # said in the user's terms, not as an idempotency key
    assert "imported before with another default region" in error["reason"]
    assert "idempotency" not in error["reason"] and "import:leads" not in error["reason"]


def test_each_batch_that_changes_something_keeps_one_idempotency_record(app, tmp_path):
    table = csv_file(tmp_path, "l.csv", LEADS, *lead_rows(25))
    first = run(app, table, batch_size=10)
    assert first.created == 25
    assert count_rows(app, "idempotency_keys") == 3  # one per batch, none per row
    with app.uow_factory(write=False) as uow:
        touches = uow.records.select_in("touchpoints", "kind", ["form_submit"])
    assert len(touches) == 25 and all(
        t["properties"]["idempotency_key"].startswith("import:leads:") for t in touches
    )  # each row's key rides on the touchpoint it added
    again = run(app, table, batch_size=10)  # the same batches: replayed by their records
    assert (again.created, again.merged, again.unchanged) == (0, 0, 25)


def test_a_rerun_after_editing_one_row_merges_that_row_only(app, tmp_path):
    rows = lead_rows(25)
    run(app, csv_file(tmp_path, "l.csv", LEADS, *rows), batch_size=10)
    before = table_counts(app)
    rows[12] = (*rows[12][:4], "2025-06-01T10:00:00+00:00")  # p12 came back a month later
    edited = run(app, csv_file(tmp_path, "l2.csv", LEADS, *rows), batch_size=10)
    assert (edited.created, edited.merged, edited.unchanged, edited.rejected) == (0, 1, 24, 0)
    after = table_counts(app)
    assert after["leads"] == before["leads"]
    assert after["stage_transitions"] == before["stage_transitions"]
    assert after["touchpoints"] == before["touchpoints"] + 1  # the edited row's touch only
    assert after["idempotency_keys"] == before["idempotency_keys"] + 1  # its batch, recorded
    with app.uow_factory(write=False) as uow:
        (lead,) = uow.records.select_in("leads", "email", ["p12@x.example"])
    assert lead["last_touch_at"].month == 6 and lead["first_touch_at"].month == 5
    again = run(app, csv_file(tmp_path, "l3.csv", LEADS, *rows), batch_size=4)
    assert (again.created, again.merged, again.unchanged) == (0, 0, 25)
    assert table_counts(app) == after  # any batches: every row replays by its key


def test_rows_imported_with_a_record_per_row_still_replay(app, tmp_path):
    """Imports before keys moved to touchpoints kept one idempotency record per row."""
    table = csv_file(tmp_path, "l.csv", LEADS, *lead_rows(12))
    mapping, _ = auto_mapping(LeadRows.fields, table.columns)
    parsed = [(n, mapping.apply(n, row)[0]) for n, row in table.rows(start=0)]
    prepared = LeadRows().prepare(parsed, mapping=mapping, default_region="US", now=app.clock())
    with app.uow_factory() as uow:
        apply_intake(uow, prepared.items, source="import", actor="test", now=app.clock(),
                     keys="records")  # fmt: skip
        uow.commit()
    before = table_counts(app)
    assert before["idempotency_keys"] == 12
    again = run(app, table, batch_size=5)
    assert (again.created, again.merged, again.unchanged) == (0, 0, 12)
    assert table_counts(app) == before


def test_a_file_missing_a_required_column_fails_before_writing_anything(app, tmp_path):
    table = csv_file(tmp_path, "l.csv", ("Company", "Channel"), ("ACME", "webinar"))
    before = table_counts(app)
    with pytest.raises(ValidationError, match="leads need email or phone or external_id"):
        run(app, table)
    assert table_counts(app) == before and count_rows(app, "import_jobs") == 0


@pytest.mark.parametrize("workers", [0, 1])
def test_an_interrupted_import_resumes_after_the_last_committed_batch(app, tmp_path, workers):
    table = csv_file(tmp_path, "l.csv", LEADS, *lead_rows(50))

    def crash_after_two_batches(done, total):
        if done >= 20:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run(app, table, batch_size=10, progress=crash_after_two_batches, workers=workers)
    assert count_rows(app, "leads") == 20
    assert not multiprocessing.active_children()  # a worker stops with the import
    resumed = run(app, table, batch_size=10, workers=workers)
    assert resumed.resumed_from_row == 20
    assert (resumed.created, resumed.unchanged, resumed.rejected) == (50, 0, 0)
    assert count_rows(app, "leads") == 50 and count_rows(app, "touchpoints") == 50


def test_stage_history_moves_leads_forward_assigns_owners_and_refuses_what_breaks_history(
    app, tmp_path
):
    run(app, csv_file(tmp_path, "l.csv", ("external_id", "occurred_at", "stage"),
                      ("L1", "2025-01-01", "mql"), ("L2", "2025-01-01", "mql"), ("L3", "2025-01-01", "lead")))  # fmt: skip
    history = csv_file(
        tmp_path,
        "h.csv",
        ("external_id", "to_stage", "at", "owner"),
        ("L1", "won", "2025-02-01", "sr-9"),  # mql -> won: a forward jump, accepted
        ("L2", "sql", "2025-01-05", ""),
        ("L2", "mql", "2025-01-06", ""),  # sql -> mql: backwards, refused
        ("L3", "mql", "2024-12-31", ""),  # before the lead existed: refused
        ("L9", "mql", "2025-01-02", ""),  # no such lead
        ("L1", "won", "2025-02-01", "sr-9"),
    )  # the same as the last change: unchanged
    summary = run(app, history, kind="stage-history", mapping=ColumnMapping(
        columns={"external_id": "external_id", "to_stage": "to_stage", "at": "at", "owner": "owner"},
        options={"create_missing_owners": True}))  # fmt: skip
    assert (summary.merged, summary.unchanged, summary.rejected) == (2, 1, 3)
    reasons = {
        e["row_number"]: e["reason"]
        for e in import_errors(uow_factory=app.uow_factory, job_id=summary.job_id)
    }
    assert "cannot move from 'sql' to 'mql'" in reasons[4]
    assert "before the lead's last stage change" in reasons[5]
    assert "no lead has external_id 'L9'" in reasons[6]
    leads = {
        lead["external_id"]: lead
        for lead in list_leads(uow_factory=app.uow_factory, principal=SYSTEM, filters={}).items
    }
    assert (leads["L1"]["stage"], leads["L1"]["in_pool"]) == ("won", False)
    assert leads["L2"]["stage"] == "sql" and leads["L3"]["stage"] == "lead"
    with app.uow_factory(write=False) as uow:
        owner = uow.records.select_in("users", "id", [leads["L1"]["owner_id"]])[0]
        assignment = uow.records.select_in("assignments", "lead_id", [leads["L1"]["id"]])[0]
    assert (owner["external_id"], owner["role"]) == ("sr-9", "rep") and assignment[
        "rule"
    ] == "import"
    timeline = get_lead(uow_factory=app.uow_factory, principal=SYSTEM, lead_id=leads["L1"]["id"]).timeline
    assert [(e["from_stage"], e["to_stage"]) for e in timeline if e["type"] == "stage_change"] == [
        (None, "mql"),
        ("mql", "won"),
    ]


def test_clamped_backdated_history_keeps_time_order_and_the_source_date(app, tmp_path):
    run(
        app,
        csv_file(
            tmp_path, "l.csv", ("external_id", "occurred_at", "stage"), ("L1", "2025-01-08", "mql")
        ),
    )
    history = csv_file(
        tmp_path, "h.csv", ("external_id", "to_stage", "at"), ("L1", "won", "2025-01-06")
    )
    mapping = ColumnMapping(columns={"external_id": "external_id", "to_stage": "to_stage", "at": "at"},
                            options={"backdated_history": "clamp"})  # fmt: skip
    summary = run(app, history, kind="stage-history", mapping=mapping)
    assert (summary.merged, summary.rejected) == (1, 0)
    lead = list_leads(uow_factory=app.uow_factory, principal=SYSTEM, filters={}).items[0]
    timeline = get_lead(uow_factory=app.uow_factory, principal=SYSTEM, lead_id=lead["id"]).timeline
    won = next(e for e in timeline if e["type"] == "stage_change" and e["to_stage"] == "won")
    created = next(e for e in timeline if e["type"] == "stage_change" and e["to_stage"] == "mql")
    assert won["at"] == created["at"] and "source date 2025-01-06" in won["reason"]
    again = run(app, history, kind="stage-history", mapping=mapping)
    assert (again.merged, again.unchanged, again.rejected) == (0, 1, 0)


def test_unknown_owner_without_create_missing_owners_is_a_row_error(app, tmp_path):
    run(app, csv_file(tmp_path, "l.csv", ("external_id",), ("L1",)))
    summary = run(app, csv_file(tmp_path, "h.csv", ("external_id", "to_stage", "at", "owner"),
                                ("L1", "mql", "2099-01-01", "nobody")), kind="stage-history")  # fmt: skip
    assert summary.rejected == 1 and count_rows(app, "users") == 0
    assert (
        "no user has id or email 'nobody'"
        in import_errors(uow_factory=app.uow_factory, job_id=summary.job_id)[0]["reason"]
    )


def test_touchpoints_activities_and_opportunities_attach_to_leads_once(app, tmp_path):
    run(app, csv_file(tmp_path, "l.csv", ("email",), ("ann@x.example",)))
    touches = csv_file(tmp_path, "t.csv", ("email", "kind", "at", "url", "properties.page"),
                       ("ANN@x.example", "page_view", "2025-03-01T10:00:00Z", "https://x.io/pricing", "pricing"),
                       ("ann@x.example", "page_view", "2025-03-01T10:00:00Z", "https://x.io/pricing", "pricing"),
                       ("ann@x.example", "Not A Kind!", "2025-03-01T11:00:00Z", "", ""))  # fmt: skip
    t = run(app, touches, kind="touchpoints")
    assert (t.created, t.unchanged, t.rejected) == (1, 1, 1)
    acts = csv_file(tmp_path, "a.csv", ("email", "kind", "at", "subject"),
                    ("ann@x.example", "call", "2025-03-02T09:00:00Z", "intro"), ("ann@x.example", "fax", "2025-03-02T09:00:00Z", "x"))  # fmt: skip
    a = run(app, acts, kind="activities")
    assert (a.created, a.rejected) == (1, 1)
    opps = csv_file(tmp_path, "o.csv", ("email", "name", "amount", "currency", "created_at", "stage"),
                    ("ann@x.example", "ACME deal", "\"12,500.50\"", "eur", "2025-03-05", "proposal"),
                    ("ann@x.example", "Bad deal", "lots", "EUR", "2025-03-05", "proposal"))  # fmt: skip
    o = run(app, opps, kind="opportunities")
    assert (o.created, o.rejected) == (1, 1)
    assert run(app, opps, kind="opportunities").unchanged == 1
    with app.uow_factory(write=False) as uow:
        lead_id = uow.leads.find_by_identities(
            emails=["ann@x.example"], phones=[], external_ids=[]
        )[0]["id"]
        (opp,) = uow.records.select_in("opportunities", "lead_id", [lead_id])
        history = uow.records.select_in("opportunity_stage_history", "opportunity_id", [opp["id"]])
    assert (str(opp["amount"]), opp["currency"], opp["stage"]) == (
        "12500.50",
        "EUR",
        "proposal",
    ) and len(history) == 1
    kinds = [e.get("kind") for e in get_lead(uow_factory=app.uow_factory, principal=SYSTEM, lead_id=lead_id).timeline]
    assert "page_view" in kinds and "call" in kinds


def test_campaign_costs_create_campaigns_and_upsert_one_cost_per_day(app, tmp_path):
    costs = csv_file(tmp_path, "c.csv", ("campaign", "channel", "day", "amount"),
                     ("Spring search", "paid_search", "2025-03-01", "120.00"),
                     ("Spring search", "paid_search", "2025-03-02", "80"),
                     ("Expo 2025", "", "2025-03-01", "5000"))  # fmt: skip
    first = run(app, costs, kind="campaign-costs")
    assert (first.created, first.rejected) == (2, 1)
    corrected = csv_file(tmp_path, "c2.csv", ("campaign", "day", "amount"),
                         ("Spring search", "2025-03-01", "150"), ("Spring search", "2025-03-02", "80"))  # fmt: skip
    second = run(app, corrected, kind="campaign-costs")
    assert (second.created, second.merged, second.unchanged) == (0, 1, 1)
    assert count_rows(app, "campaigns") == 1 and count_rows(app, "campaign_costs") == 2


def test_xlsx_imports_like_csv(app, tmp_path):
    import openpyxl

    book = openpyxl.Workbook()
    book.active.append(["Email", "Company Size", "Occurred At"])
    book.active.append(["ann@x.example", 250, "2025-01-02"])
    book.save(tmp_path / "l.xlsx")
    summary = run(app, read_tabular(tmp_path / "l.xlsx"))
    assert summary.created == 1
    assert list_leads(uow_factory=app.uow_factory, principal=SYSTEM, filters={}).items[0]["company_size"] == 250


def test_unknown_kind_is_refused(app, tmp_path):
    with pytest.raises(
        ValidationError, match="unknown import kind 'deals'; expected one of: leads, stage-history"
    ):
        run(app, csv_file(tmp_path, "l.csv", ("Email",), ("a@x.example",)), kind="deals")
