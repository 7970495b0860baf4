"""The ``leads`` rows of a chunk: profile, first and last touch, owner, current stage.

Columns follow what intake writes for a lead (``source`` "demo", ``custom_fields`` ``{}``,
``version`` 1), with the current stage and ``stage_entered_at`` copied from the lead's last
transition, and ``updated_at`` the later of that and its last touch.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from leadfunnel.services.demo.batches import TableBatch, null_unless, object_array, with_null
from leadfunnel.services.demo.journeys import STAGES, Journeys
from leadfunnel.services.demo.profiles import Profiles
from leadfunnel.services.demo.sales import Routing
from leadfunnel.services.demo.timeframe import as_times
from leadfunnel.services.demo.touches import Touches
from leadfunnel.services.demo.world import World

__all__ = ["lead_batch"]

Ints = npt.NDArray[np.int64]
Objects = npt.NDArray[np.object_]


def _names(values: list[str], index: Ints) -> Objects:
    names: Objects = object_array(values)[index]
    return names


def _touch_columns(
    world: World, prefix: str, campaigns: Ints, at: Ints, channels: Objects, urls: Objects
) -> dict[str, npt.NDArray[Any]]:
    table = world.campaigns
    utm = {
        key: with_null([u[i] for u in table.utm])[campaigns]
        for i, key in enumerate(("source", "medium", "campaign"))
    }
    return {
        f"{prefix}_touch_at": as_times(at),
        f"{prefix}_channel": channels,
        f"{prefix}_campaign": with_null(table.names)[campaigns],
        f"{prefix}_touch_url": urls,
        **{f"{prefix}_utm_{key}": values for key, values in utm.items()},
    }


def _profile_columns(world: World, p: Profiles) -> dict[str, npt.NDArray[Any]]:
    model, companies = world.model, world.companies
    return {
        "email": p.emails,
        "phone": p.phones,
        "first_name": p.first_names,
        "last_name": p.last_names,
        "company": companies.names[p.companies],
        "company_key": companies.keys[p.companies],
        "title": p.titles,
        "region": _names([r.name for r in model.regions], p.regions),
        "country": world.countries.names[p.countries],
        "industry": _names([i.name for i in model.industries], p.industries),
        "company_size": p.employees,
        "product_interest": _names([x.name for x in model.products], p.products),
        "channel": _names(model.channel_names(), p.channels),
        "campaign": object_array(world.campaigns.names)[p.campaigns],
    }


def lead_batch(
    world: World, p: Profiles, routing: Routing, j: Journeys, t: Touches, lead_ids: Objects
) -> TableBatch:
    roster, n, owned = world.roster, len(p), routing.owned
    profile = _profile_columns(world, p)
    first_urls = world.campaigns.landing_urls[p.campaigns]
    last = t.last
    columns: dict[str, npt.NDArray[Any]] = {
        "id": lead_ids,
        **profile,
        **_touch_columns(world, "first", p.campaigns, t.first_at, profile["channel"], first_urls),
        **_touch_columns(
            world, "last", t.campaigns[last], t.at[last], t.channels[last], t.urls[last]
        ),
        "source": np.full(n, "demo", dtype=object),
        "custom_fields": np.full(n, "{}", dtype=object),
        "owner_id": null_unless(
            owned, roster.user_ids[roster.rep_users[np.maximum(routing.reps, 0)]]
        ),
        "team_id": null_unless(owned, roster.team_ids[np.maximum(routing.teams, 0)]),
        "in_pool": ~owned,
        "stage": object_array(STAGES)[j.stage],
        "stage_entered_at": as_times(j.stage_at),
        "created_at": as_times(p.created_us),
        "updated_at": as_times(np.maximum(j.stage_at, t.at[last])),
        "version": np.ones(n, dtype=np.int64),
    }
    return TableBatch("leads", columns)
