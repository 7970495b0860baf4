"""The simulation as a stream of table batches, chunk by chunk.

First the organisation and the marketing plan (teams, users, campaigns, daily costs), then
the leads in creation order, :data:`CHUNK_LEADS` at a time: each chunk's leads, stage
transitions, touchpoints, assignments, activities, opportunities and their history. Memory
stays bounded by the chunk size whatever the lead count. Each chunk draws from its own
stream seeded from ``(seed, chunk number)``; all chunk boundaries depend only on the lead
count, so a run is reproducible.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from leadfunnel.services.demo.batches import TableBatch
from leadfunnel.services.demo.deals import deal_batches
from leadfunnel.services.demo.ids import ids_at
from leadfunnel.services.demo.journeys import transition_batch, walk
from leadfunnel.services.demo.lead_rows import lead_batch
from leadfunnel.services.demo.marketing import daily_costs
from leadfunnel.services.demo.profiles import draw_profiles
from leadfunnel.services.demo.sales import activity_batch, assignment_batch, route
from leadfunnel.services.demo.touches import touch, touch_batch
from leadfunnel.services.demo.world import World, cost_stream, stream

__all__ = ["CHUNK_LEADS", "simulate"]

CHUNK_LEADS = 50_000
_CHUNK_STREAM = 100
#: Extra activities per lead that reached sql, and per opportunity (Poisson means).
_SQL_ACTIVITIES, _DEAL_ACTIVITIES = 1.5, 3.0


def simulate(world: World, id_rng: np.random.Generator) -> Iterator[TableBatch]:
    """Every batch of the run, parents before children (foreign keys hold at each step)."""
    yield from world.roster.batches(world.model, world.founded_us)
    yield world.campaigns.batch(world.model, world.history)
    yield daily_costs(
        world.model,
        world.history,
        world.leads,
        world.intensity,
        world.campaigns,
        cost_stream(world),
        id_rng,
    )
    for number, lo in enumerate(range(0, world.leads, CHUNK_LEADS)):
        hi = min(lo + CHUNK_LEADS, world.leads)
        yield from _chunk(world, lo, hi, stream(world.seed, _CHUNK_STREAM, number), id_rng)


def _chunk(
    world: World, lo: int, hi: int, rng: np.random.Generator, id_rng: np.random.Generator
) -> Iterator[TableBatch]:
    profiles = draw_profiles(world, lo, hi, rng)
    routing = route(world, profiles, rng)
    journeys = walk(world, profiles, routing, rng)
    touches = touch(world, profiles, rng)
    lead_ids = ids_at(profiles.created_us, id_rng)
    yield lead_batch(world, profiles, routing, journeys, touches, lead_ids)
    yield transition_batch(world, journeys, lead_ids, id_rng)
    yield touch_batch(world, touches, lead_ids, id_rng)
    yield assignment_batch(world, routing, lead_ids, id_rng)
    follow_ups = rng.poisson(_SQL_ACTIVITIES, len(profiles)) * journeys.reached_sql
    deals = np.bincount(journeys.deal_leads, minlength=len(profiles))
    follow_ups += rng.poisson(_DEAL_ACTIVITIES * deals)
    yield activity_batch(world, routing, journeys.stage_at, follow_ups, lead_ids, rng, id_rng)
    yield from deal_batches(world, profiles, routing, journeys, lead_ids, rng, id_rng)
