"""Marketing: when leads arrive through which channel, the campaigns, and what they cost.

Expected volume of channel ``c`` on day ``d`` (:func:`channel_intensity`)::

    share_c * monthly_c[month(d)] / mean(monthly_c) * weekend_c(d) * year_end(d)
            * (1 + yearly_growth) ** (d / 365)

with ``weekend_c`` the channel's weekend factor on Saturdays and Sundays and ``year_end``
0.35 from 22 December to 1 January. The leads are spread over (channel, day) cells by one
multinomial draw, so the total is exactly the requested count. Each lead gets a region
(the channel's region mix) and a time of day in that region's office hours.

Spend follows budgeted volume: a campaign's cost on a day is its channel's ``cost_per_lead``
times the leads the channel was expected to bring that day, times the campaign's part of
the channel, times 1 +/- 10 % noise. Organic search has no cost rows.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from leadfunnel.services.demo.batches import TableBatch, object_array
from leadfunnel.services.demo.ids import ids_at
from leadfunnel.services.demo.model import CompanyModel
from leadfunnel.services.demo.timeframe import US_PER_DAY, US_PER_HOUR, History, as_times

__all__ = ["Arrivals", "Campaigns", "arrive", "channel_intensity", "daily_costs", "plan_campaigns"]

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]
Objects = npt.NDArray[np.object_]

_YEAR_END_FACTOR = 0.35
#: Relative chance of a lead in each local hour (0-23): office hours, a lunch dip.
_LOCAL_HOURS = np.array(
    [0.2, 0.15, 0.1, 0.1, 0.1, 0.2, 0.4, 0.7, 1.5, 2.5, 2.6, 2.4,
     1.8, 2.2, 2.4, 2.3, 2.0, 1.5, 1.0, 0.8, 0.7, 0.6, 0.4, 0.3]
)  # fmt: skip


@dataclass(frozen=True)
class Arrivals:
    """Every lead's creation time (sorted), channel and region, by lead number."""

    times_us: Ints
    channels: Ints
    regions: Ints


def channel_intensity(model: CompanyModel, history: History) -> Floats:
    """Expected relative lead volume, shape (channels, days); see the module docstring."""
    months, weekend = history.months(), history.weekdays() >= 5
    common = np.where(history.year_end_break(), _YEAR_END_FACTOR, 1.0)
    common = common * (1 + model.yearly_growth) ** (np.arange(history.days) / 365)
    rows = []
    for channel in model.channels:
        monthly = np.asarray(channel.monthly) / np.mean(channel.monthly)
        week = np.where(weekend, channel.weekend_factor, 1.0)
        rows.append(channel.share * monthly[months] * week * common)
    return np.vstack(rows)


def arrive(
    model: CompanyModel, history: History, leads: int, intensity: Floats, rng: np.random.Generator
) -> Arrivals:
    """Draw ``leads`` arrivals over the history, sorted by time."""
    cells = rng.multinomial(leads, (intensity / intensity.sum()).ravel())
    cell = np.repeat(np.arange(cells.size), cells)
    channels, days = np.divmod(cell, history.days)
    mixes = np.array([c.region_mix or [r.weight for r in model.regions] for c in model.channels])
    cumulative = np.cumsum(mixes / mixes.sum(axis=1, keepdims=True), axis=1)
    regions = (rng.random(leads)[:, None] > cumulative[channels]).sum(axis=1)
    regions = np.minimum(regions, len(model.regions) - 1)
    hours = rng.choice(24, size=leads, p=_LOCAL_HOURS / _LOCAL_HOURS.sum())
    offsets = np.array([r.utc_offset for r in model.regions])[regions]
    local = hours * US_PER_HOUR + rng.integers(0, US_PER_HOUR, leads)
    times = history.start_us + days * US_PER_DAY + local - offsets * US_PER_HOUR
    times = np.where(times >= history.end_us, times - US_PER_DAY, times)
    order = np.argsort(times, kind="stable")
    return Arrivals(times[order], channels[order], regions[order])


@dataclass(frozen=True)
class Campaigns:
    """All campaigns, grouped by channel (``first[c]`` is channel c's first campaign)."""

    names: list[str]
    channels: Ints
    weights: Floats
    ids: Objects
    cost_per_day: Floats
    landing_urls: Objects
    utm: list[tuple[str | None, str | None, str | None]]
    first: Ints
    count: Ints

    def batch(self, model: CompanyModel, history: History) -> TableBatch:
        n = len(self.names)
        return TableBatch(
            "campaigns",
            {
                "id": self.ids,
                "name": object_array(self.names),
                "channel": object_array([model.channels[c].name for c in self.channels]),
                "cost_per_day": self.cost_per_day,
                "currency": object_array(["USD"] * n),
                "starts_on": np.full(n, history.first_day, dtype="datetime64[D]"),
                "created_at": as_times(np.full(n, history.start_us)),
            },
        )

    def creation_properties(self) -> Objects:
        """The JSON properties of the touch that created a lead, by campaign."""
        docs = []
        for source, medium, campaign in self.utm:
            utm = {"utm_source": source, "utm_medium": medium, "utm_campaign": campaign}
            docs.append(json.dumps({"source": "demo", **{k: v for k, v in utm.items() if v}}))
        return object_array(docs)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def plan_campaigns(
    model: CompanyModel,
    history: History,
    leads: int,
    intensity: Floats,
    id_rng: np.random.Generator,
) -> Campaigns:
    """Two to four campaigns per channel; earlier ones in a channel bring more of its leads."""
    names, channels, weights, costs, urls, utm = [], [], [], [], [], []
    per_day = leads * intensity.sum(axis=1) / intensity.sum() / history.days
    for c, channel in enumerate(model.channels):
        k = len(channel.campaigns)
        share = np.arange(k, 0, -1) / (k * (k + 1) / 2)
        for name, part in zip(channel.campaigns, share, strict=True):
            names.append(name)
            channels.append(c)
            weights.append(part)
            costs.append(round(channel.cost_per_lead * per_day[c] * part, 2))
            slug = _slug(name)
            utm.append(
                (channel.utm_source, channel.utm_medium, slug if channel.utm_source else None)
            )
            query = f"?utm_source={channel.utm_source}&utm_medium={channel.utm_medium}&utm_campaign={slug}"
            path = channel.landing_path
            urls.append(
                f"https://www.{model.domain}{path}{query if channel.utm_source else ''}"
                if path
                else None
            )
    counts = np.array([len(c.campaigns) for c in model.channels], dtype=np.int64)
    return Campaigns(
        names=names,
        channels=np.asarray(channels, dtype=np.int64),
        weights=np.asarray(weights),
        ids=ids_at(np.full(len(names), history.start_us), id_rng),
        cost_per_day=np.asarray(costs),
        landing_urls=object_array(urls),
        utm=utm,
        first=np.concatenate(([0], np.cumsum(counts)[:-1])).astype(np.int64),
        count=counts,
    )


def daily_costs(
    model: CompanyModel,
    history: History,
    leads: int,
    intensity: Floats,
    campaigns: Campaigns,
    rng: np.random.Generator,
    id_rng: np.random.Generator,
) -> TableBatch:
    """One cost row per paid campaign and day of the history."""
    expected = leads * intensity / intensity.sum()  # leads per channel and day
    cpl = np.array([c.cost_per_lead for c in model.channels])
    paid = np.flatnonzero(cpl[campaigns.channels] > 0)
    daily = (cpl[:, None] * expected)[campaigns.channels[paid]] * campaigns.weights[paid, None]
    noise = np.clip(1 + 0.1 * rng.standard_normal(daily.shape), 0.5, 1.5)
    amounts = np.round(daily * noise, 2).ravel()
    days = np.tile(history.dates(), len(paid))
    day_us = history.start_us + np.tile(np.arange(history.days), len(paid)) * US_PER_DAY
    return TableBatch(
        "campaign_costs",
        {
            "id": ids_at(day_us, id_rng),
            "campaign_id": np.repeat(campaigns.ids[paid], history.days),
            "day": days,
            "amount": amounts,
            "currency": object_array(["USD"] * len(amounts)),
        },
    )
