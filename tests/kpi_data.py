"""KPI data sets for tests: the worked example of docs/concepts/kpis.md, random data, and
writing either into a real store."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from leadfunnel.adapters.sql.tables import metadata
from leadfunnel.analytics.funnel_oracle import LeadHistory
from leadfunnel.analytics.kpi_oracle import Activity, CampaignCost, Deal, KpiData
from leadfunnel.domain.ids import new_id
from leadfunnel.domain.lifecycle import DEFAULT_MOVES, Stage

JAN = datetime(2025, 1, 1, tzinfo=UTC)
OWNER = uuid.UUID("0190a000-0000-7000-8000-000000000001")


def _at(day: int, hour: int = 9, minute: int = 0) -> datetime:
    return JAN + timedelta(days=day - 1, hours=hour, minutes=minute)


def _lead(created: datetime, stages: list[tuple[str, datetime]], channel: str, owned: bool = True):
    transitions = (("lead", created), *stages)
    return LeadHistory(
        created_at=created,
        current_stage=transitions[-1][0],
        transitions=transitions,
        dims={"channel": channel, "campaign": f"{channel} campaign", "region": "EMEA",
              "owner_id": str(OWNER) if owned else None},
    )  # fmt: skip


def worked_example() -> KpiData:
    """Five January leads of two channels, their responses, four deals and the spend.

    A webinar 09:00 Jan 2, answered in 3 min, won 30 days later (10,000), bought again (4,000)
    B webinar 10:00 Jan 5, answered in 60 min, lost on price (8,000)
    C paid_search Jan 10, answered in 7 min, mql then nurture
    D paid_search Jan 20, in the pool (no owner), never answered
    E paid_search Jan 12, a note after 1 min, a meeting after 2, straight to sql; deal open (6,000)
    Spend: webinar 3,000 and paid_search 2,000 in January; paid_search 500 on 1 February.
    """
    a, b, c, d, e = (uuid.UUID(int=i) for i in range(1, 6))
    ta, tb, tc, td, te = _at(2), _at(5, 10), _at(10), _at(20), _at(12)
    leads = [
        (a, _lead(ta, [("mql", ta + timedelta(days=1)), ("sql", ta + timedelta(days=2)),
                       ("opportunity", ta + timedelta(days=3)), ("won", ta + timedelta(days=30)),
                       ("opportunity", ta + timedelta(days=100)), ("won", ta + timedelta(days=150))],
                  "webinar")),
        (b, _lead(tb, [("mql", tb + timedelta(days=1)), ("sql", tb + timedelta(days=2)),
                       ("opportunity", tb + timedelta(days=3)), ("lost", tb + timedelta(days=20))],
                  "webinar")),
        (c, _lead(tc, [("mql", tc + timedelta(days=1)), ("nurture", tc + timedelta(days=9))],
                  "paid_search")),
        (d, _lead(td, [], "paid_search", owned=False)),
        (e, _lead(te, [("sql", te + timedelta(days=1)), ("opportunity", te + timedelta(days=4))],
                  "paid_search")),
    ]  # fmt: skip
    activities = [
        Activity(a, "call", ta + timedelta(minutes=3)),
        Activity(a, "email", ta + timedelta(days=1)),
        Activity(b, "email", tb + timedelta(minutes=60)),
        Activity(c, "email", tc + timedelta(minutes=7)),
        Activity(e, "note", te + timedelta(minutes=1)),
        Activity(e, "meeting", te + timedelta(minutes=2)),
    ]
    deals = [
        Deal(uuid.UUID(int=11), a, Decimal("10000"), "won", ta + timedelta(days=3), ta + timedelta(days=30)),
        Deal(uuid.UUID(int=12), a, Decimal("4000"), "won", ta + timedelta(days=100), ta + timedelta(days=150)),
        Deal(uuid.UUID(int=13), b, Decimal("8000"), "lost", tb + timedelta(days=3), tb + timedelta(days=20), "price"),
        Deal(uuid.UUID(int=14), e, Decimal("6000"), "proposal", te + timedelta(days=4)),
    ]  # fmt: skip
    costs = [
        *(CampaignCost("webinar campaign", "webinar", date(2025, 1, day), Decimal("100")) for day in range(1, 31)),
        CampaignCost("paid_search campaign", "paid_search", date(2025, 1, 15), Decimal("2000")),
        CampaignCost("paid_search campaign", "paid_search", date(2025, 2, 1), Decimal("500")),
    ]  # fmt: skip
    return KpiData(leads, activities, deals, costs)


_CHANNELS = ("webinar", "paid_search", "email", "")
_REASONS = ("price", "competitor", None, "")


def random_data(rng: random.Random, n: int = 200, base: datetime = JAN) -> KpiData:
    """Leads walking the lifecycle, activities at all sorts of delays (some before creation),
    deals of every stage (some on one account, some without a lead) and daily costs."""
    leads, activities, deals = [], [], []
    accounts = [uuid.UUID(int=1000 + i) for i in range(5)]
    for i in range(n):
        lead_id = uuid.UUID(int=10_000 + i)
        created = base + timedelta(minutes=rng.randrange(60 * 24 * 200))
        stage, at = Stage.LEAD, created
        transitions = [(stage.value, at)]
        for _ in range(rng.randrange(7)):
            stage = rng.choice(sorted(DEFAULT_MOVES[stage]))
            at += timedelta(hours=rng.choice([0, 3, 50, 24 * 30]))
            transitions.append((stage.value, at))
        dims = {"channel": rng.choice(_CHANNELS), "last_channel": rng.choice(_CHANNELS),
                "campaign": rng.choice(["Spring", "Autumn", None]), "region": rng.choice(["EMEA", "APAC", None]),
                "owner_id": str(OWNER) if rng.random() < 0.7 else None}  # fmt: skip
        plan = ("gold", 42, None, "", "absent")[i % 5]  # not drawn: the rest of the data stays
        dims["custom_fields"] = {} if plan == "absent" else {"plan": plan}
        leads.append((lead_id, LeadHistory(created, stage.value, tuple(transitions), dims)))
        for _ in range(rng.randrange(4)):
            minutes = rng.choice([-10, 0, 1, 5, 5.5, 30, 600, 5000]) + rng.choice([0, 0.001])
            kind = rng.choice(["call", "email", "meeting", "chat", "note", "task"])
            activities.append(Activity(lead_id, kind, created + timedelta(minutes=minutes)))
        for k in range(sum(s == "opportunity" for s, _ in transitions) + (rng.random() < 0.4)):
            opened = created + timedelta(days=rng.randrange(60))
            deal_stage = rng.choice(["won", "won", "lost", "proposal", "open"])
            closed = (
                opened + timedelta(days=rng.randrange(1, 90))
                if deal_stage in ("won", "lost")
                else None
            )
            deals.append(Deal(uuid.UUID(int=100_000 + 10 * i + k), lead_id,
                              Decimal(rng.randrange(500, 50_000)) / 4, deal_stage, opened, closed,
                              rng.choice(_REASONS) if deal_stage == "lost" else None,
                              rng.choice([None, None, *accounts])))  # fmt: skip
    deals.append(Deal(uuid.UUID(int=99), None, Decimal(100), "won", base, base, None, accounts[0]))
    costs = [
        CampaignCost(name, channel, (base + timedelta(days=d)).date(), Decimal(rng.randrange(1, 9000)) / 100)
        for name, channel in (("Spring", "webinar"), ("Autumn", "webinar"), ("Brand", "paid_search"), ("Fair", "trade_show"))
        for d in range(0, 200, 3)
    ]  # fmt: skip
    return KpiData(leads, activities, deals, costs)


def write_kpi_data(app, data: KpiData, *, written_at: datetime | None = None) -> None:
    """Insert the data set into the write store (ids as given; ``written_at`` stamps
    ``updated_at``/``created_at`` of leads, deals and activities: default their own time)."""
    users = [
        {"id": OWNER, "email": "rep@x.example", "name": "Rep", "role": "rep", "created_at": JAN}
    ]
    leads, transitions = [], []
    for i, (lead_id, lead) in enumerate(data.leads):
        leads.append({
            "id": lead_id, "external_id": f"k{lead_id.int}", "channel": lead.dims.get("channel") or "",
            "last_channel": lead.dims.get("last_channel"), "campaign": lead.dims.get("campaign"),
            "region": lead.dims.get("region"), "owner_id": OWNER if lead.dims.get("owner_id") else None,
            "source": "test", "custom_fields": lead.dims.get("custom_fields") or {}, "in_pool": True, "stage": lead.current_stage,
            "stage_entered_at": lead.transitions[-1][1], "created_at": lead.created_at,
            "updated_at": written_at or lead.created_at, "version": 1,
        })  # fmt: skip
        previous = None
        for stage, at in lead.transitions:
            transitions.append({"id": new_id(), "lead_id": lead_id, "from_stage": previous, "to_stage": stage,
                                "at": at, "actor": "test", "reason": None})  # fmt: skip
            previous = stage
    activities = [
        {"id": new_id(), "lead_id": a.lead_id, "user_id": OWNER, "kind": a.kind, "at": a.at,
         "created_at": written_at or a.at}
        for a in data.activities
    ]  # fmt: skip
    deals = [
        {"id": d.id, "lead_id": d.lead_id, "account_id": d.account_id, "owner_id": None, "name": f"deal {d.id.int}",
         "amount": d.amount, "currency": "USD", "stage": d.stage, "lost_reason": d.lost_reason,
         "closed_at": d.closed_at, "created_at": d.created_at, "updated_at": written_at or d.created_at, "version": 1}
        for d in data.deals
    ]  # fmt: skip
    campaigns = {
        (c.campaign, c.channel): {"id": new_id(), "name": c.campaign, "channel": c.channel, "currency": "USD",
                                  "created_at": JAN}
        for c in data.costs
    }  # fmt: skip
    costs = [
        {"id": new_id(), "campaign_id": campaigns[(c.campaign, c.channel)]["id"], "day": c.day,
         "amount": c.amount, "currency": "USD"}
        for c in data.costs
    ]  # fmt: skip
    account_ids = sorted({d.account_id for d in data.deals if d.account_id is not None})
    accounts = [
        {"id": a, "name": f"acct {a.int}", "name_key": f"acct {a.int}", "created_at": JAN, "updated_at": JAN}
        for a in account_ids
    ]  # fmt: skip
    with app.engine.begin() as conn:
        users_table = metadata.tables["users"]
        if conn.execute(users_table.select().where(users_table.c.id == OWNER)).first():
            users = []
        for table, rows in (("users", users), ("accounts", accounts), ("leads", leads),
                            ("stage_transitions", transitions), ("activities", activities),
                            ("opportunities", deals), ("campaigns", list(campaigns.values())),
                            ("campaign_costs", costs)):  # fmt: skip
            if rows:
                conn.execute(metadata.tables[table].insert(), rows)
