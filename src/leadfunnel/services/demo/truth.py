"""The truth file: the simulator's true parameters, for checking what analytics find.

:func:`truth_document` returns a JSON-ready dict (docs/concepts/demo-data.md lists its
keys). The expected lead -> won conversion of each channel is computed, not assumed: for
:data:`SAMPLES_PER_CHANNEL` synthetic leads of the channel, drawn exactly as the simulator
draws leads (profile, routing, rep, response time), it averages the probability of reaching
``won``::

    owned * (d * P(lead->sql) + (1 - d) * P(lead->mql) * P(mql->sql)) * P(sql->opp) * P(opp->won)

with ``d`` the channel's direct-to-sql share. It ignores time (every lead has had time to
close), so it ranks channels; the observed rates of the young history's leads are lower.
Reaching ``mql`` (itself, or straight ``sql``, which only owned leads may go to) is
computed the same way: ``owned * d * P(lead->sql) + (1 - owned * d) * P(lead->mql)``.

**Channel effects**, for attribution: a channel's true effect on a conversion is the
conversions of the leads it brings (without the channel, those leads and what they do would
not exist): per 1,000 leads, ``1000 * expected lead share * expected conversion rate``, the
share integrated from the arrival intensity over the history. Touches of the
:data:`~leadfunnel.services.demo.touches.FOLLOW_UP_CHANNELS` are also drawn after creation
from the lead's propensity; they cause nothing, so only the *acquisition-only* channels
(touched only when they bring a lead) have an order an attribution model can be checked
against (docs/concepts/attribution.md).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from leadfunnel.services.demo.journeys import lead_odds, sigmoid
from leadfunnel.services.demo.marketing import Arrivals
from leadfunnel.services.demo.model import CompanyModel, Step
from leadfunnel.services.demo.profiles import draw_profiles
from leadfunnel.services.demo.sales import route
from leadfunnel.services.demo.touches import FOLLOW_UP_CHANNELS
from leadfunnel.services.demo.world import World, stream

__all__ = [
    "SAMPLES_PER_CHANNEL",
    "TRUTH_FORMAT",
    "channel_effects",
    "expected_lead_to_won",
    "expected_reach",
    "truth_document",
]

SAMPLES_PER_CHANNEL = 20_000
TRUTH_FORMAT = "leadfunnel-demo-truth/1"
_TRUTH_STREAM = 5


def expected_lead_to_won(world: World) -> dict[str, float]:
    """Each channel's probability that a lead from it is eventually won (see module doc)."""
    return {channel: reach["won"] for channel, reach in expected_reach(world).items()}


def expected_reach(world: World) -> dict[str, dict[str, float]]:
    """Each channel's probability that a lead from it reaches ``mql`` and ``won``."""
    model, rng = world.model, stream(world.seed, _TRUTH_STREAM)
    n = SAMPLES_PER_CHANNEL
    out = {}
    for c, channel in enumerate(model.channels):
        mix = np.asarray(channel.region_mix or [r.weight for r in model.regions], dtype=float)
        regions = rng.choice(len(mix), size=n, p=mix / mix.sum()).astype(np.int64)
        early = np.full(n, world.history.start_us, dtype=np.int64)  # routed long before now
        synthetic = replace(world, arrivals=Arrivals(early, np.full(n, c, dtype=np.int64), regions))
        profiles = draw_profiles(synthetic, 0, n, rng)
        routing = route(synthetic, profiles, rng)
        odds = lead_odds(synthetic, profiles, routing)
        d = channel.direct_to_sql
        to_sql = d * sigmoid(odds.direct_sql) + (1 - d) * sigmoid(odds.mql) * sigmoid(odds.sql)
        won = routing.owned * to_sql * sigmoid(odds.opportunity) * sigmoid(odds.won)
        straight = routing.owned * d  # pool leads can reach mql, but never straight sql
        mql = straight * sigmoid(odds.direct_sql) + (1 - straight) * sigmoid(odds.mql)
        out[channel.name] = {"mql": round(float(mql.mean()), 5), "won": round(float(won.mean()), 5)}
    return out


def channel_effects(world: World, reach: dict[str, dict[str, float]]) -> dict[str, Any]:
    """Per channel: expected lead share, MQLs and wins per 1,000 leads, whether it is
    acquisition-only; and the acquisition-only channels ordered by each (see module doc)."""
    volume = world.intensity.sum(axis=1)  # expected relative leads over the history
    shares = volume / volume.sum()
    effects = {
        channel.name: {
            "expected_lead_share": round(float(shares[c]), 5),
            "expected_mqls_per_1000_leads": round(1000 * float(shares[c]) * reach[channel.name]["mql"], 3),
            "expected_wins_per_1000_leads": round(1000 * float(shares[c]) * reach[channel.name]["won"], 3),
            "acquisition_only": channel.name not in FOLLOW_UP_CHANNELS,
        }
        for c, channel in enumerate(world.model.channels)
    }  # fmt: skip
    acquisition = [name for name, e in effects.items() if e["acquisition_only"]]

    def order(key: str) -> list[str]:
        return sorted(acquisition, key=lambda name: -effects[name][key])

    return {
        "channels": effects,
        "follow_up_channels": list(FOLLOW_UP_CHANNELS),
        "acquisition_order_by_mqls": order("expected_mqls_per_1000_leads"),
        "acquisition_order_by_wins": order("expected_wins_per_1000_leads"),
    }


def _step(step: Step) -> dict[str, Any]:
    total = sum(weight for *_, weight in step.drops) or 1.0
    return {
        "intercept": step.intercept,
        "z_weight": step.z_weight,
        "skill_weight": step.skill_weight,
        "advance_median_days": step.advance.median_days,
        "drop_median_days": step.drop.median_days,
        "stall": step.stall,
        "drops": [
            {"stage": stage, "reason": reason, "share": round(weight / total, 4)}
            for stage, reason, weight in step.drops
        ],
    }


def _channels(world: World, expected: dict[str, float]) -> dict[str, Any]:
    campaigns, out = world.campaigns, {}
    for c, channel in enumerate(world.model.channels):
        mine = range(int(campaigns.first[c]), int(campaigns.first[c] + campaigns.count[c]))
        monthly = np.asarray(channel.monthly) / np.mean(channel.monthly)
        out[channel.name] = {
            "share": channel.share,
            "quality": channel.quality,
            "expected_lead_to_won": expected[channel.name],
            "cost_per_lead": channel.cost_per_lead,
            "cost_per_day": round(float(sum(campaigns.cost_per_day[i] for i in mine)), 2),
            "monthly_volume": [round(float(m), 3) for m in monthly],
            "weekend_factor": channel.weekend_factor,
            "direct_to_sql": channel.direct_to_sql,
            "phone_share": channel.phone_share,
            "campaigns": [
                {"name": campaigns.names[i], "cost_per_day": float(campaigns.cost_per_day[i])}
                for i in mine
            ],
        }
    return out


def _propensity(model: CompanyModel) -> dict[str, Any]:
    return {
        "noise_sd": model.noise_sd,
        "channel": {c.name: c.quality for c in model.channels},
        "industry": {i.name: i.shift for i in model.industries},
        "company_size": {b.name: b.shift for b in model.sizes},
        "seniority": {s.name: s.shift for s in model.seniorities},
        "product_line": {p.name: p.shift for p in model.products},
    }


def _organisation(world: World) -> dict[str, Any]:
    roster, regions = world.roster, world.model.regions
    teams = [
        {
            "name": name,
            "region": regions[int(region)].name,
            "manager": roster.user_emails[int(roster.managers[t])],
        }
        for t, (name, region) in enumerate(zip(roster.team_names, roster.team_regions, strict=True))
    ]
    reps = [
        {
            "email": roster.user_emails[int(user)],
            "name": roster.user_names[int(user)],
            "team": roster.team_names[int(roster.rep_teams[r])],
            "skill": float(roster.rep_skills[r]),
            "median_response_minutes": float(roster.rep_median_minutes[r]),
        }
        for r, user in enumerate(roster.rep_users)
    ]
    return {"teams": teams, "reps": reps}


def _response_effect(model: CompanyModel) -> dict[str, Any]:
    effect = model.response
    return {
        "reference_minutes": effect.reference_minutes,
        "beta": effect.beta,
        "formula": "odds(reach sql) *= (minutes / reference_minutes) ** -beta when minutes > reference_minutes",
        "applies_to": ["lead -> sql", "mql -> sql"],
        "odds_multiplier_at_minutes": {
            str(m): round(float(np.exp(effect.log_odds(m))), 4) for m in (1, 5, 30, 60, 240, 1440)
        },
    }


def truth_document(world: World) -> dict[str, Any]:
    model, history = world.model, world.history
    reach = expected_reach(world)
    expected = {channel: r["won"] for channel, r in reach.items()}
    lost = model.funnel.to_won.drops
    total_lost = sum(weight for *_, weight in lost)
    return {
        "format": TRUTH_FORMAT,
        "company": model.name,
        "seed": world.seed,
        "leads": world.leads,
        "now": str(np.datetime64(history.now_us, "us")) + "Z",
        "history": {"first_day": str(history.first_day), "days": history.days},
        "channels": _channels(world, expected),
        "expected_channel_order_by_lead_to_won": sorted(expected, key=lambda c: -expected[c]),
        "channel_effects": channel_effects(world, reach),
        "response_time_effect": _response_effect(model),
        "lost_reason_shares": {reason: round(w / total_lost, 4) for _, reason, w in lost},
        "propensity": _propensity(model),
        "funnel": {
            "to_mql": _step(model.funnel.to_mql),
            "to_sql": _step(model.funnel.to_sql),
            "to_opportunity": _step(model.funnel.to_opportunity),
            "to_won": _step(model.funnel.to_won),
            "direct_to_sql_intercept": model.funnel.direct_to_sql_intercept,
            "pool": f"students and companies under {model.funnel.pool_below_employees} employees stay unowned",
        },
        "deals": {
            "size_bands": {
                b.name: {
                    "from_employees": b.min_employees,
                    "typical_usd": b.deal_usd,
                    "cycle_factor": b.cycle_factor,
                }
                for b in model.sizes
            },
            "product_price_factors": {p.name: p.price_factor for p in model.products},
            "amount_log_sd": model.funnel.deal_sigma,
            "repeat_purchase": {
                "probability": model.funnel.repeat.probability,
                "median_days_after_win": model.funnel.repeat.after.median_days,
                "win_probability": model.funnel.repeat.win_probability,
                "price_factor": model.funnel.repeat.price_factor,
            },
        },
        **_organisation(world),
    }
