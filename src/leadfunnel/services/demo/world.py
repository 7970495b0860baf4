"""What is fixed for a whole run: time frame, organisation, campaigns, companies, arrivals.

Every random stream is seeded from ``(seed, purpose)`` (and the chunk number for per-lead
draws, see :mod:`.simulate`), so the same seed, lead count and ``now`` give the same data
whatever the chunking; only ids take their random bits from a separate, unseeded generator.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import numpy.typing as npt

from leadfunnel.services.demo.companies import CompanyPool, Countries, found_companies
from leadfunnel.services.demo.marketing import (
    Arrivals,
    Campaigns,
    arrive,
    channel_intensity,
    plan_campaigns,
)
from leadfunnel.services.demo.model import CompanyModel
from leadfunnel.services.demo.roster import Roster, hire
from leadfunnel.services.demo.timeframe import US_PER_DAY, History

__all__ = ["World", "create_world", "stream"]

_ROSTER, _ARRIVALS, _COMPANIES, _COSTS = 1, 2, 3, 4


def stream(seed: int, *purpose: int) -> np.random.Generator:
    """The random stream for one purpose of one seeded run."""
    return np.random.default_rng([seed, *purpose])


@dataclass(frozen=True)
class World:
    model: CompanyModel
    seed: int
    leads: int
    history: History
    intensity: npt.NDArray[np.float64]
    roster: Roster
    campaigns: Campaigns
    countries: Countries
    companies: CompanyPool
    arrivals: Arrivals

    @property
    def founded_us(self) -> int:
        """When users and teams were created: a month before the history starts."""
        return self.history.start_us - 30 * US_PER_DAY


def create_world(
    model: CompanyModel, *, leads: int, seed: int, now: datetime, id_rng: np.random.Generator
) -> World:
    history = History.ending_before(now, model.history_days)
    intensity = channel_intensity(model, history)
    countries = Countries.of(model)
    founded = history.start_us - 30 * US_PER_DAY
    return World(
        model=model,
        seed=seed,
        leads=leads,
        history=history,
        intensity=intensity,
        roster=hire(model, stream(seed, _ROSTER), id_rng, founded),
        campaigns=plan_campaigns(model, history, leads, intensity, id_rng),
        countries=countries,
        companies=found_companies(model, leads, countries, stream(seed, _COMPANIES)),
        arrivals=arrive(model, history, leads, intensity, stream(seed, _ARRIVALS)),
    )


def cost_stream(world: World) -> np.random.Generator:
    return stream(world.seed, _COSTS)
