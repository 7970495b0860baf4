"""The demo simulator: what it writes reads back through the normal repositories, keeps the
lifecycle's invariants, and carries the cause and effect its truth file states."""

from __future__ import annotations

import itertools
import json
import re
import shutil
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np
import pytest
from sqlalchemy import select, text

from leadfunnel.adapters.sql import tables as t
from leadfunnel.adapters.sql.bulk import BulkWriter
from leadfunnel.bootstrap import App, build_app
from leadfunnel.config import Settings
from leadfunnel.domain.access import SYSTEM
from leadfunnel.domain.errors import StorageError
from leadfunnel.domain.ids import id_time_ms
from leadfunnel.domain.lifecycle import DEFAULT_MOVES, FUNNEL_PATH, Stage
from leadfunnel.services.demo import build_demo
from leadfunnel.services.demo.batches import TableBatch
from leadfunnel.services.leads import get_lead, list_leads
from tests.builders import funnel_steps

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
TRUTH_KEYS = {
    "seed",
    "leads",
    "now",
    "channels",
    "expected_channel_order_by_lead_to_won",
    "response_time_effect",
    "reps",
    "teams",
    "lost_reason_shares",
    "propensity",
    "funnel",
    "deals",
}


def build(app: App, *, leads: int, seed: int):
    with BulkWriter(app.engine) as writer:
        result = build_demo(sink=writer, leads=leads, seed=seed, now=NOW)
        writer.commit()
    return result


def fresh_app(sqlite_template, directory, name: str) -> App:
    path = directory / f"{name}.db"
    shutil.copy(sqlite_template, path)
    return build_app(Settings(database_url=f"sqlite:///{path}"))


@pytest.fixture(scope="module")
def small(sqlite_template, tmp_path_factory):
    """3,000 leads (seed 11): structure and read-back."""
    app = fresh_app(sqlite_template, tmp_path_factory.mktemp("demo"), "small")
    result = build(app, leads=3_000, seed=11)
    yield app, result
    app.close()


@pytest.fixture(scope="module")
def large(sqlite_template, tmp_path_factory):
    """20,000 leads (seed 7): enough for the effects to show through the noise."""
    app = fresh_app(sqlite_template, tmp_path_factory.mktemp("demo"), "large")
    result = build(app, leads=20_000, seed=7)
    yield app, result
    app.close()


def ms(at: datetime) -> int:
    return (at - EPOCH) // timedelta(milliseconds=1)


def rows(app: App, sql: str) -> list:
    with app.engine.connect() as conn:
        return list(conn.execute(text(sql)))


def fingerprint(app: App) -> dict:
    """Everything but the ids: counts by channel and stage, amounts, transitions, touches."""
    return {
        "by_channel_stage": rows(app, "SELECT channel, stage, count(*) FROM leads GROUP BY 1, 2 ORDER BY 1, 2"),
        "amounts": rows(app, "SELECT amount, stage, created_at FROM opportunities ORDER BY 3, 1"),
        "moves": rows(app, "SELECT from_stage, to_stage, reason, count(*) FROM stage_transitions GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"),
        "touches": rows(app, "SELECT kind, count(*), min(at), max(at) FROM touchpoints GROUP BY 1 ORDER BY 1"),
        "emails": rows(app, "SELECT email, phone, created_at, stage_entered_at FROM leads ORDER BY created_at, email"),
    }  # fmt: skip


def test_same_seed_same_history_except_ids(small, sqlite_template, tmp_path):
    app, result = small
    again = fresh_app(sqlite_template, tmp_path, "again")
    try:
        repeat = build(again, leads=3_000, seed=11)
        assert fingerprint(again) == fingerprint(app)
        assert repeat.rows == result.rows and repeat.truth == result.truth
        ids = {r[0] for r in rows(app, "SELECT id FROM leads")}
        assert ids.isdisjoint(r[0] for r in rows(again, "SELECT id FROM leads"))
    finally:
        again.close()


def test_another_seed_another_history(small, sqlite_template, tmp_path):
    app, _ = small
    other = fresh_app(sqlite_template, tmp_path, "other")
    try:
        build(other, leads=3_000, seed=12)
        assert fingerprint(other)["by_channel_stage"] != fingerprint(app)["by_channel_stage"]
    finally:
        other.close()


def test_every_lead_is_in_the_stage_of_its_last_transition(small):
    app, _ = small
    mismatched = rows(
        app,
        """SELECT count(*) FROM leads l WHERE NOT EXISTS (
               SELECT 1 FROM stage_transitions s WHERE s.lead_id = l.id
               AND s.to_stage = l.stage AND s.at = l.stage_entered_at
               AND s.at = (SELECT max(at) FROM stage_transitions m WHERE m.lead_id = l.id))""",
    )
    assert mismatched == [(0,)]


def test_each_history_starts_with_creation_and_chains_allowed_moves_in_time_order(small):
    app, _ = small
    history = rows(
        app,
        """SELECT l.created_at, s.from_stage, s.to_stage, s.at, s.reason,
                  lag(s.to_stage) OVER w, lag(s.at) OVER w, row_number() OVER w
           FROM stage_transitions s JOIN leads l ON l.id = s.lead_id
           WINDOW w AS (PARTITION BY s.lead_id ORDER BY s.at, s.id)""",
    )
    assert len({h[3] for h in history}) > 1000
    for created, frm, to, at, reason, previous, previous_at, number in history:
        if number == 1:
            assert (frm, to, at, reason) == (None, "lead", created, "created via demo")
        else:
            assert frm == previous and at > previous_at
            assert Stage(to) in DEFAULT_MOVES[Stage(frm)]


def test_funnel_narrows_at_every_step_and_young_leads_are_still_open(small):
    app, _ = small
    steps = funnel_steps(app, NOW)
    reached = [s.reached for s in steps]
    assert [s.stage for s in steps] == [s.value for s in FUNNEL_PATH]
    assert reached[0] == 3_000 and all(a > b > 0 for a, b in itertools.pairwise(reached))
    open_share = rows(
        app,
        """SELECT created_at > '2026-02-01', avg(stage IN ('lead', 'mql', 'sql', 'opportunity'))
           FROM leads GROUP BY 1 ORDER BY 1""",
    )
    (_, old), (_, young) = open_share
    assert young > 0.5 > 0.25 > old


def test_leads_read_back_through_the_repositories(small):
    app, _ = small
    won = list_leads(uow_factory=app.uow_factory, principal=SYSTEM, filters={"stage": "won"}, limit=5).items
    assert won and all(lead["stage"] == "won" for lead in won)
    view = get_lead(uow_factory=app.uow_factory, principal=SYSTEM, lead_id=won[0]["id"])
    lead = view.lead
    assert isinstance(lead["id"], uuid.UUID) and id_time_ms(lead["id"]) == ms(lead["created_at"])
    assert lead["created_at"].tzinfo is UTC and lead["created_at"] < NOW
    assert (lead["source"], lead["custom_fields"], lead["version"]) == ("demo", {}, 1)
    assert lead["in_pool"] is False and lead["owner_id"] is not None
    assert re.fullmatch(r"[a-z]+\.[a-z]+\.\d+@company\d+\.example", lead["email"])
    kinds = [(e["type"], e.get("to_stage") or e.get("kind")) for e in view.timeline]
    stages = [stage for kind, stage in kinds if kind == "stage_change"]
    assert stages[0] == "lead" and "won" in stages  # a click may come before the form
    assert any(kind == "touchpoint" for kind, _ in kinds) and any(k == "activity" for k, _ in kinds)
    assert all(e["at"].tzinfo is UTC for e in view.timeline)
    pool = list_leads(uow_factory=app.uow_factory, principal=SYSTEM, filters={"in_pool": True}, limit=1)
    assert pool.total > 0 and pool.items[0]["owner_id"] is None


def test_phones_are_e164_and_unique_emails_hold(small):
    app, _ = small
    phones = [r[0] for r in rows(app, "SELECT phone FROM leads WHERE phone IS NOT NULL")]
    assert 300 < len(phones) < 3_000 and all(re.fullmatch(r"\+[1-9]\d{6,14}", p) for p in phones)
    assert rows(app, "SELECT count(DISTINCT email), count(*) FROM leads") == [(3_000, 3_000)]


def test_the_first_activity_is_the_owners_call_or_email_after_routing(small):
    app, _ = small
    firsts = rows(
        app,
        """SELECT a.kind, a.user_id = l.owner_id, a.at > s.at, s.at > l.created_at, s.rule
           FROM leads l
           JOIN assignments s ON s.lead_id = l.id
           JOIN activities a ON a.lead_id = l.id
           WHERE a.at = (SELECT min(at) FROM activities b WHERE b.lead_id = l.id)""",
    )
    assert len(firsts) > 1_500
    assert all(
        kind in ("call", "email") and own and after and routed and rule
        for kind, own, after, routed, rule in firsts
    )
    assert rows(
        app, "SELECT count(*) FROM activities a JOIN leads l ON l.id = a.lead_id WHERE l.in_pool"
    ) == [(0,)]


def test_teams_have_a_manager_and_four_to_eight_reps(small):
    app, result = small
    teams = rows(
        app,
        """SELECT t.name, m.role, m.team_id = t.id,
                  (SELECT count(*) FROM users r WHERE r.team_id = t.id AND r.role = 'rep')
           FROM teams t JOIN users m ON m.id = t.manager_id""",
    )
    assert 4 <= len(teams) <= 6
    assert all(role == "manager" and own and 4 <= reps <= 8 for _, role, own, reps in teams)
    assert {r[0] for r in rows(app, "SELECT role FROM users")} == {
        "admin",
        "manager",
        "marketer",
        "rep",
    }
    assert (
        len(result.truth["reps"])
        == rows(app, "SELECT count(*) FROM users WHERE role = 'rep'")[0][0]
    )


def test_opportunities_have_amounts_history_and_lost_reasons(small):
    app, result = small
    with app.engine.connect() as conn:
        deals = conn.execute(select(t.opportunities)).mappings().all()
    assert deals and all(isinstance(d["amount"], Decimal) and d["amount"] >= 500 for d in deals)
    assert {d["currency"] for d in deals} == {"USD"}
    lost = [d for d in deals if d["stage"] == "lost"]
    assert lost and all(d["lost_reason"] in result.truth["lost_reason_shares"] for d in lost)
    assert all(d["closed_at"] is not None for d in deals if d["stage"] in ("won", "lost"))
    unmatched = rows(
        app,
        """SELECT count(*) FROM opportunities o WHERE o.stage != (
               SELECT to_stage FROM opportunity_stage_history h WHERE h.opportunity_id = o.id
               ORDER BY at DESC LIMIT 1)""",
    )
    assert unmatched == [(0,)]


def test_some_customers_buy_again(small):
    app, _ = small
    again = rows(
        app,
        "SELECT count(*) FROM stage_transitions WHERE from_stage = 'won' AND to_stage = 'opportunity'",
    )[0][0]
    expansions = rows(app, "SELECT count(*) FROM opportunities WHERE name LIKE '%(expansion)'")[0][
        0
    ]
    rewon = rows(
        app,
        "SELECT count(*) FROM (SELECT lead_id FROM stage_transitions WHERE to_stage = 'won' GROUP BY 1 HAVING count(*) = 2)",
    )[0][0]
    assert again == expansions > rewon > 0


def test_paid_campaigns_cost_every_day_and_organic_costs_nothing(small):
    app, result = small
    per_channel = dict(
        (r[0], (r[1], r[2]))
        for r in rows(
            app,
            """SELECT c.channel, count(k.id), count(DISTINCT c.id) FROM campaigns c
               LEFT JOIN campaign_costs k ON k.campaign_id = c.id GROUP BY 1""",
        )
    )
    channels = result.truth["channels"]
    assert 11 <= len(channels) <= 13 and set(per_channel) == set(channels)
    for name, truth in channels.items():
        cost_rows, campaigns = per_channel[name]
        assert 2 <= campaigns <= 4
        assert cost_rows == (730 * campaigns if truth["cost_per_lead"] > 0 else 0), name
    assert channels["organic_search"]["cost_per_day"] == 0 < channels["paid_search"]["cost_per_day"]


def test_ids_embed_the_time_of_their_row(small):
    app, _ = small
    for table, column in (
        ("stage_transitions", "at"),
        ("touchpoints", "at"),
        ("opportunities", "created_at"),
    ):
        with app.engine.connect() as conn:
            sample = conn.execute(select(t.metadata.tables[table]).limit(200)).mappings().all()
        assert len(sample) == 200 and all(id_time_ms(r["id"]) == ms(r[column]) for r in sample)


def test_a_fresh_load_keeps_the_schema_foreign_keys_and_durable_settings(small, sqlite_template):
    app, _ = small
    schema = "SELECT type, name, sql FROM sqlite_master ORDER BY name"
    with app.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall() == []
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2
        after = conn.exec_driver_sql(schema).fetchall()
    template = build_app(Settings(database_url=f"sqlite:///{sqlite_template}"))
    with template.engine.connect() as conn:
        assert after == conn.exec_driver_sql(schema).fetchall()
    template.close()


def test_a_database_with_rows_is_loaded_with_the_normal_settings(sqlite_template, tmp_path):
    app = fresh_app(sqlite_template, tmp_path, "busy")
    try:
        with app.engine.begin() as conn:
            conn.execute(
                t.idempotency_keys.insert().values(
                    key="k", request_hash="h", response={}, created_at=NOW
                )
            )
        with BulkWriter(app.engine) as writer:
            assert not writer.tuned
            build_demo(sink=writer, leads=50, seed=1, now=NOW)
            writer.commit()
        assert funnel_steps(app, NOW)[0].reached == 50
    finally:
        app.close()


def test_nothing_is_written_when_the_load_fails(sqlite_template, tmp_path):
    app = fresh_app(sqlite_template, tmp_path, "failed")
    try:
        with pytest.raises(RuntimeError), BulkWriter(app.engine) as writer:
            build_demo(sink=writer, leads=100, seed=1, now=NOW)
            raise RuntimeError("interrupted")
        assert rows(app, "SELECT count(*) FROM leads") == [(0,)]
        assert rows(
            app, "SELECT count(*) FROM sqlite_master WHERE name = 'ix_touchpoints_lead_id_at'"
        ) == [(1,)]
    finally:
        app.close()


def test_a_tuned_load_with_a_dangling_reference_commits_nothing(sqlite_template, tmp_path):
    app = fresh_app(sqlite_template, tmp_path, "dangling")
    orphan = {
        "id": np.array(["0" * 31 + "1"], dtype=object),
        "lead_id": np.array(["f" * 32], dtype=object),  # no such lead
        "to_stage": np.array(["lead"], dtype=object),
        "at": np.array([np.datetime64("2026-01-05T10:00:00", "us")]),
        "actor": np.array(["test"], dtype=object),
    }
    try:
        with (
            pytest.raises(StorageError, match="stage_transitions"),
            BulkWriter(app.engine) as writer,
        ):
            assert writer.tuned
            build_demo(sink=writer, leads=50, seed=1, now=NOW)
            writer.write(TableBatch("stage_transitions", orphan))
            writer.commit()
        assert rows(app, "SELECT count(*) FROM leads") == [(0,)]
        with app.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        app.close()


def test_truth_names_every_documented_parameter(small):
    _, result = small
    truth = json.loads(json.dumps(result.truth))
    assert set(truth) >= TRUTH_KEYS
    assert (truth["seed"], truth["leads"], truth["now"]) == (
        11,
        3_000,
        "2026-03-02T09:30:00.000000Z",
    )
    assert sorted(truth["expected_channel_order_by_lead_to_won"]) == sorted(truth["channels"])
    assert truth["response_time_effect"]["odds_multiplier_at_minutes"]["5"] == 1.0
    assert all({"skill", "median_response_minutes", "team"} <= set(r) for r in truth["reps"])
    assert abs(sum(truth["lost_reason_shares"].values()) - 1) < 1e-3


def test_best_and_worst_true_channels_are_first_and_last_by_observed_conversion(large):
    app, result = large
    observed = {
        channel: won / total
        for channel, total, won in rows(
            app,
            """WITH won AS (SELECT DISTINCT lead_id FROM stage_transitions WHERE to_stage = 'won')
               SELECT l.channel, count(*), count(w.lead_id)
               FROM leads l LEFT JOIN won w ON w.lead_id = l.id GROUP BY 1""",
        )
    }
    expected = result.truth["expected_channel_order_by_lead_to_won"]
    ranked = sorted(observed, key=observed.get, reverse=True)
    assert (ranked[0], ranked[-1]) == (expected[0], expected[-1])


def test_a_first_response_within_five_minutes_beats_one_after_a_day(large):
    app, _ = large
    by_speed = dict(
        rows(
            app,
            """WITH first AS (SELECT lead_id, min(at) AS at FROM activities GROUP BY 1),
                    accepted AS (SELECT DISTINCT lead_id FROM stage_transitions WHERE to_stage = 'sql')
               SELECT CASE WHEN (julianday(f.at) - julianday(l.created_at)) * 1440 <= 5 THEN 'fast'
                           WHEN (julianday(f.at) - julianday(l.created_at)) * 24 > 24 THEN 'slow' END,
                      avg(a.lead_id IS NOT NULL)
               FROM leads l JOIN first f ON f.lead_id = l.id
               LEFT JOIN accepted a ON a.lead_id = l.id GROUP BY 1""",
        )
    )
    assert by_speed["fast"] > 2 * by_speed["slow"] > 0
