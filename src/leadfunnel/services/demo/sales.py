"""Sales: routing leads to reps, the reps' first responses, and their activities.

Routing: students and companies below the model's ``pool_below_employees`` stay in the
marketing pool, unowned. Every other lead goes, seconds after it arrives, to one of its
region's teams and a rep of that team (uniformly: a round robin without memory); one
``assignments`` row records the rule and the reason.

First response: the owner's first call or e-mail comes ``median * exp(sigma * N(0, 1))``
minutes after the lead was created (at least half a minute), ``median`` being the rep's
habit. It is the lead's first ``activities`` row. Later calls, e-mails, meetings and notes
fall between the first response and the lead's last stage change: 1.5 on average for a lead
that reached ``sql``, 3 more for each of its opportunities (the counts are drawn by
:mod:`.simulate`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from leadfunnel.services.demo.batches import TableBatch, object_array
from leadfunnel.services.demo.ids import ids_at
from leadfunnel.services.demo.profiles import Profiles
from leadfunnel.services.demo.roster import team_reasons
from leadfunnel.services.demo.timeframe import US_PER_MINUTE, as_times
from leadfunnel.services.demo.world import World

__all__ = ["Routing", "activity_batch", "assignment_batch", "route"]

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]

_ROUTING_RULE = "region round robin"
_FIRST_RESPONSE = (("call", "First call"), ("email", "Intro e-mail"))
_FOLLOW_UPS = (
    ("call", "Discovery call"),
    ("email", "Sent case study"),
    ("meeting", "Product demo"),
    ("email", "Sent proposal"),
    ("meeting", "Stakeholder meeting"),
    ("note", "Budget confirmed"),
)


@dataclass(frozen=True)
class Routing:
    """Per lead: rep (index into the roster's reps, -1 in the pool), team, routing time,
    planned first response (-1 when unowned) and its delay in minutes."""

    reps: Ints
    teams: Ints
    assigned_us: Ints
    response_us: Ints
    response_minutes: Floats

    @property
    def owned(self) -> Bools:
        return self.reps >= 0


def route(world: World, p: Profiles, rng: np.random.Generator) -> Routing:
    """Owner, team and first-response time of each lead (see the module docstring)."""
    roster, n = world.roster, len(p)
    pooled = p.students(world.model) | (p.employees < world.model.funnel.pool_below_employees)
    assigned_us = p.created_us + rng.integers(1_000_000, 20_000_000, n)
    owned = ~pooled & (assigned_us <= world.history.now_us)
    team_of_region = [
        np.flatnonzero(roster.team_regions == r) for r in range(len(world.model.regions))
    ]
    u = rng.random(n)
    teams = np.full(n, -1, dtype=np.int64)
    for r, region_teams in enumerate(team_of_region):
        mine = owned & (p.regions == r)
        teams[mine] = region_teams[(u[mine] * len(region_teams)).astype(np.int64)]
    reps = np.full(n, -1, dtype=np.int64)
    at = np.flatnonzero(owned)
    offset = rng.random(len(at)) * roster.team_rep_count[teams[at]]
    reps[at] = roster.team_first_rep[teams[at]] + offset.astype(np.int64)
    noise = np.exp(world.model.reps.response_sigma * rng.standard_normal(n))
    minutes = np.maximum(roster.rep_median_minutes[np.maximum(reps, 0)] * noise, 0.5)
    minutes = np.where(owned, minutes, np.nan)
    response = np.where(
        owned, p.created_us + (np.nan_to_num(minutes) * US_PER_MINUTE).astype(np.int64), -1
    )
    return Routing(reps, teams, assigned_us, response, minutes)


def assignment_batch(
    world: World,
    routing: Routing,
    lead_ids: npt.NDArray[np.object_],
    id_rng: np.random.Generator,
) -> TableBatch:
    at = np.flatnonzero(routing.owned)
    roster = world.roster
    reasons = object_array(team_reasons(world.model, roster))
    times = routing.assigned_us[at]
    return TableBatch(
        "assignments",
        {
            "id": ids_at(times, id_rng),
            "lead_id": lead_ids[at],
            "to_owner_id": roster.user_ids[roster.rep_users[routing.reps[at]]],
            "team_id": roster.team_ids[routing.teams[at]],
            "at": as_times(times),
            "actor": object_array(["demo:routing"] * len(at)),
            "rule": object_array([_ROUTING_RULE] * len(at)),
            "reason": reasons[routing.teams[at]],
        },
    )


def activity_batch(
    world: World,
    routing: Routing,
    worked_until: Ints,
    follow_ups: Ints,
    lead_ids: npt.NDArray[np.object_],
    rng: np.random.Generator,
    id_rng: np.random.Generator,
) -> TableBatch:
    """First responses (those due by now) and ``follow_ups[i]`` later activities per lead,
    spread between its first response and ``worked_until[i]``."""
    first = np.flatnonzero(routing.owned & (routing.response_us <= world.history.now_us))
    later = np.repeat(first, follow_ups[first])
    span = np.maximum(worked_until[later] - routing.response_us[later], 0)
    later_at = (
        routing.response_us[later] + 1_000_000 + (rng.random(len(later)) * span).astype(np.int64)
    )
    later_at = np.minimum(later_at, world.history.now_us)
    leads = np.concatenate((first, later))
    at = np.concatenate((routing.response_us[first], later_at))
    kinds = np.concatenate(
        (
            rng.integers(0, len(_FIRST_RESPONSE), len(first)),
            len(_FIRST_RESPONSE) + rng.integers(0, len(_FOLLOW_UPS), len(later)),
        )
    )
    table = (*_FIRST_RESPONSE, *_FOLLOW_UPS)
    order = np.argsort(at, kind="stable")
    leads, at, kinds = leads[order], at[order], kinds[order]
    times = as_times(at)
    roster = world.roster
    return TableBatch(
        "activities",
        {
            "id": ids_at(at, id_rng),
            "lead_id": lead_ids[leads],
            "user_id": roster.user_ids[roster.rep_users[routing.reps[leads]]],
            "kind": object_array([k for k, _ in table])[kinds],
            "at": times,
            "subject": object_array([s for _, s in table])[kinds],
            "created_at": times,
        },
    )
