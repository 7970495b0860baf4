"""Opportunities: one per deal episode of :mod:`.journeys`, with its pipeline history.

A deal opens as ``qualification``, moves to ``proposal`` 30 % and to ``negotiation`` 70 %
of the way through its sales cycle, and closes ``won`` or ``lost`` when the lead does. A
lost deal is lost while in qualification (40 %), proposal (35 %) or negotiation (25 %) and
skips the later stages. Stage changes after ``now`` have not happened: the deal is open in
the last stage it reached.

Amount (USD, to the nearest 50, at least 500): the company size band's typical deal times
the product line's price factor times ``exp(N(0, deal_sigma))``; a repeat purchase (named
"... (expansion)") is priced at the model's repeat price factor.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from leadfunnel.services.demo.batches import TableBatch, null_unless, object_array, with_null
from leadfunnel.services.demo.ids import ids_at
from leadfunnel.services.demo.journeys import Journeys
from leadfunnel.services.demo.profiles import Profiles
from leadfunnel.services.demo.sales import Routing
from leadfunnel.services.demo.timeframe import US_PER_DAY, as_times
from leadfunnel.services.demo.world import World

__all__ = ["PIPELINE", "deal_batches"]

Ints = npt.NDArray[np.int64]
Objects = npt.NDArray[np.object_]

PIPELINE = ("qualification", "proposal", "negotiation")
_LOST_IN = (0.4, 0.35, 0.25)
_PROGRESS = (0.0, 0.3, 0.7)


def _amounts(
    world: World, p: Profiles, j: Journeys, rng: np.random.Generator
) -> npt.NDArray[np.float64]:
    model, leads = world.model, j.deal_leads
    base = np.array([b.deal_usd for b in model.sizes])[p.bands[leads]]
    price = np.array([x.price_factor for x in model.products])[p.products[leads]]
    repeat = np.where(j.deal_repeat, model.funnel.repeat.price_factor, 1.0)
    noise = np.exp(model.funnel.deal_sigma * rng.standard_normal(len(leads)))
    amounts: npt.NDArray[np.float64] = np.maximum(
        np.round(base * price * repeat * noise / 50) * 50, 500.0
    )
    return amounts


def _names(world: World, p: Profiles, j: Journeys) -> Objects:
    companies = world.companies.names[p.companies[j.deal_leads]].tolist()
    products = [x.name for x in world.model.products]
    chosen = p.products[j.deal_leads].tolist()
    return object_array(
        [
            f"{company} - {products[product]}{' (expansion)' if again else ''}"
            for company, product, again in zip(
                companies, chosen, j.deal_repeat.tolist(), strict=True
            )
        ]
    )


@dataclass(frozen=True)
class _Pipeline:
    """Pipeline rows that happened by now: ``deals[k]`` moved from ``frm[k]`` to ``to[k]``
    at ``at[k]`` (codes index :data:`_STAGES`, -1 is none); per deal, its stage now and the
    time of its last row."""

    deals: Ints
    frm: Ints
    to: Ints
    at: Ints
    stage: Ints
    updated: Ints


_STAGES = (*PIPELINE, "won", "lost")
_LOST = len(_STAGES) - 1


def _pipeline(j: Journeys, last: Ints, now: int) -> _Pipeline:
    """Every deal opens in qualification; ``last[k]`` is the furthest stage it reaches."""
    span = j.deal_close - j.deal_open
    deals, frm, to, at = [], [], [], []
    for k, progress in enumerate(_PROGRESS):
        when = j.deal_open + (span * progress).astype(np.int64)
        mine = np.flatnonzero((last >= k) & (when <= now))
        deals.append(mine)
        frm.append(np.full(len(mine), k - 1))
        to.append(np.full(len(mine), k))
        at.append(when[mine])
    closed = np.flatnonzero(j.deal_close <= now)
    deals.append(closed)
    frm.append(last[closed])
    to.append(np.where(j.deal_won[closed], len(PIPELINE), _LOST))
    at.append(j.deal_close[closed])
    all_deals, all_frm, all_to, all_at = (np.concatenate(part) for part in (deals, frm, to, at))
    order = np.lexsort((all_at, all_deals))  # by deal, then time: a deal's last row ends it
    ends = order[np.flatnonzero(np.diff(all_deals[order], append=len(last)) != 0)]
    return _Pipeline(all_deals, all_frm, all_to, all_at, all_to[ends], all_at[ends])


def deal_batches(
    world: World,
    p: Profiles,
    routing: Routing,
    j: Journeys,
    lead_ids: Objects,
    rng: np.random.Generator,
    id_rng: np.random.Generator,
) -> list[TableBatch]:
    """The ``opportunities`` rows and their ``opportunity_stage_history``."""
    n = len(j.deal_leads)
    last = np.where(j.deal_won, len(PIPELINE) - 1, rng.choice(len(PIPELINE), size=n, p=_LOST_IN))
    pipeline = _pipeline(j, last, world.history.now_us)
    reasons = object_array(j.reason_texts)[j.deal_reasons]
    ids = ids_at(j.deal_open, id_rng)
    history = {
        "id": ids_at(pipeline.at, id_rng),
        "opportunity_id": ids[pipeline.deals],
        "from_stage": with_null(list(_STAGES))[pipeline.frm],
        "to_stage": object_array(list(_STAGES))[pipeline.to],
        "at": as_times(pipeline.at),
        "actor": world.roster.rep_emails()[routing.reps[j.deal_leads[pipeline.deals]]],
        "reason": null_unless(pipeline.to == _LOST, reasons[pipeline.deals]),
    }
    opportunities = _opportunities(world, p, routing, j, pipeline, rng)
    return [
        TableBatch(
            "opportunities", {"id": ids, "lead_id": lead_ids[j.deal_leads], **opportunities}
        ),
        TableBatch("opportunity_stage_history", history),
    ]


def _opportunities(
    world: World,
    p: Profiles,
    routing: Routing,
    j: Journeys,
    pipeline: _Pipeline,
    rng: np.random.Generator,
) -> dict[str, npt.NDArray[Any]]:
    n, roster = len(j.deal_leads), world.roster
    closed = j.deal_close <= world.history.now_us
    cycle = np.array([b.cycle_factor for b in world.model.sizes])[p.bands[j.deal_leads]]
    typical = world.model.funnel.to_won.advance.median_days * cycle * US_PER_DAY
    return {
        "owner_id": roster.user_ids[roster.rep_users[routing.reps[j.deal_leads]]],
        "name": _names(world, p, j),
        "amount": _amounts(world, p, j, rng),
        "currency": object_array(["USD"] * n),
        "expected_close": as_times(j.deal_open + typical.astype(np.int64)).astype("datetime64[D]"),
        "stage": object_array(list(_STAGES))[pipeline.stage],
        "lost_reason": null_unless(
            closed & ~j.deal_won, object_array(j.reason_texts)[j.deal_reasons]
        ),
        "closed_at": np.where(closed, as_times(j.deal_close), np.datetime64("NaT")),
        "created_at": as_times(j.deal_open),
        "updated_at": as_times(pipeline.updated),
        "version": np.ones(n, dtype=np.int64),
        **_forecast_calls(pipeline.stage, j.deal_won, rng),
    }


_NEXT_STEPS = (
    "Pricing call",
    "Send the proposal",
    "Demo for the team",
    "Legal review",
    "Contract signature",
)


def _forecast_calls(
    stage: Ints, won: npt.NDArray[np.bool_], rng: np.random.Generator
) -> dict[str, Objects]:
    """The reps' forecast category and next step on open deals. Reps know their deals: a
    deal that will be won is more often committed (negotiation: 75 % vs 35 %) or called best
    case (proposal: 60 % vs 30 %); one open deal in five has no next step written down.
    Drawn after everything else from the chunk's stream, so the rest of the data is as
    before."""
    n = len(stage)
    is_open = stage < len(PIPELINE)
    sure = rng.random(n) < np.where(stage == 2, np.where(won, 0.75, 0.35), np.where(won, 0.6, 0.3))
    category = np.where(stage == 2, np.where(sure, "commit", "best_case"),
                        np.where((stage == 1) & sure, "best_case", "pipeline"))  # fmt: skip
    step = rng.integers(0, len(_NEXT_STEPS), n)
    written = rng.random(n) < 0.8
    return {
        "forecast_category": null_unless(is_open, object_array(category.tolist())),
        "next_step": null_unless(
            is_open & written, object_array(np.array(_NEXT_STEPS)[step].tolist())
        ),
    }
