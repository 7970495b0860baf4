"""A small sample database: leads through the real intake path, moved through real stage moves.

This is the interim main job until the full demo simulator lands: a few hundred leads over
the last year in several channels with different quality, so the funnel has something to show.
It is deterministic for a seed (apart from generated ids).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from leadfunnel.domain.lifecycle import Stage
from leadfunnel.services.intake import intake_lead
from leadfunnel.services.lead_input import parse_lead_input
from leadfunnel.services.lifecycle import move_lead
from leadfunnel.services.ports import UnitOfWorkFactory

__all__ = ["SampleSummary", "build_sample"]

#: channel -> (share of leads, probability of each next step: mql, sql, opportunity, won)
_CHANNELS = {
    "paid_search": (0.25, (0.55, 0.40, 0.45, 0.30)),
    "organic_search": (0.20, (0.60, 0.45, 0.50, 0.35)),
    "webinar": (0.15, (0.70, 0.50, 0.50, 0.35)),
    "trade_show": (0.10, (0.65, 0.55, 0.55, 0.40)),
    "partner_referral": (0.10, (0.80, 0.65, 0.60, 0.45)),
    "social_ads": (0.20, (0.40, 0.25, 0.35, 0.20)),
}
_REGIONS = ("East", "West", "North", "South")
_INDUSTRIES = ("manufacturing", "retail", "software", "healthcare", "logistics")
_PATH = (Stage.MQL, Stage.SQL, Stage.OPPORTUNITY, Stage.WON)
_DROP = {
    Stage.LEAD: Stage.NURTURE,
    Stage.MQL: Stage.NURTURE,
    Stage.SQL: Stage.DISQUALIFIED,
    Stage.OPPORTUNITY: Stage.LOST,
}


@dataclass(frozen=True)
class SampleSummary:
    leads: int
    moves: int


def build_sample(
    *,
    uow_factory: UnitOfWorkFactory,
    leads: int,
    seed: int,
    now: datetime,
    default_region: str = "US",
) -> SampleSummary:
    rng = random.Random(seed)  # noqa: S311 - a simulation, not a secret
    names = list(_CHANNELS)
    weights = [_CHANNELS[c][0] for c in names]
    moves = 0
    for i in range(leads):
        channel = rng.choices(names, weights)[0]
        created = now - timedelta(days=rng.uniform(1, 365))
        raw = {
            "email": f"contact{i}@company{i % 97}.example.com",
            "company": f"Company {i % 97} Ltd.",
            "region": rng.choice(_REGIONS),
            "industry": rng.choice(_INDUSTRIES),
            "company_size": rng.choice((10, 50, 200, 1000, 5000)),
            "channel": channel,
            "landing_url": f"https://www.example.com/lp?utm_source={channel}&utm_medium=demo&utm_campaign=q{1 + i % 4}",
            "occurred_at": created.isoformat(),
        }
        draft = parse_lead_input(raw, now=now, default_region=default_region)
        result = intake_lead(
            uow_factory=uow_factory, draft=draft, source="sample", actor="sample", now=created
        )
        stage = Stage.LEAD
        for target, p in zip(_PATH, _CHANNELS[channel][1], strict=True):
            if rng.random() >= p:
                if rng.random() < 0.6:  # the rest stay open where they are
                    reason = (
                        "no budget" if _DROP[stage] in (Stage.LOST, Stage.DISQUALIFIED) else None
                    )
                    move_lead(
                        uow_factory=uow_factory,
                        lead_id=result.lead_id,
                        to=_DROP[stage].value,
                        reason=reason,
                        actor="sample",
                        now=created + timedelta(days=moves % 30 + 1),
                    )
                    moves += 1
                break
            move_lead(
                uow_factory=uow_factory,
                lead_id=result.lead_id,
                to=target.value,
                actor="sample",
                now=created + timedelta(days=2 * (_PATH.index(target) + 1)),
            )
            moves += 1
            stage = target
    return SampleSummary(leads=leads, moves=moves)
