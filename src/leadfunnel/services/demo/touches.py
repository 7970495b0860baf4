"""Touchpoints: the marketing and website events around each lead.

Every lead has the touch that created it, at its creation time: a ``form_submit`` (a
``content_download`` for whitepaper leads) in its channel and campaign, whose URL carries
the campaign's UTM parameters. Ad, search and e-mail leads clicked just before
(``ad_click``, ``page_view``, ``email_click``); most webinar registrants attend.

Then engagement: ``Poisson(follow_up_touches * exp(touch_z_weight * z))`` more touches (at
most 30) at exponential delays (mean 25 days), kept when they happened by now. High
propensity shows: such leads touch more, visit ``/pricing`` more often (chance
``sigmoid(z - 0.5) / 2`` per page view) and request demos (chance ``min(0.3, 0.03 *
exp(0.8 z))`` per touch). Page views and demo requests are ``direct`` traffic; e-mails,
downloads, webinars and retargeting ads belong to the first campaign of their channel.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from leadfunnel.services.demo.batches import TableBatch, object_array, with_null
from leadfunnel.services.demo.ids import ids_at
from leadfunnel.services.demo.journeys import sigmoid
from leadfunnel.services.demo.profiles import Profiles
from leadfunnel.services.demo.timeframe import US_PER_DAY, US_PER_MINUTE, as_times
from leadfunnel.services.demo.world import World

__all__ = ["FOLLOW_UP_CHANNELS", "KINDS", "Touches", "touch"]

Ints = npt.NDArray[np.int64]
Objects = npt.NDArray[np.object_]

KINDS = (
    "page_view", "content_download", "webinar_attended", "email_open", "email_click",
    "ad_click", "form_submit", "demo_request",
)  # fmt: skip
PAGE, DOWNLOAD, WEBINAR, OPEN, CLICK, AD, FORM, DEMO = range(len(KINDS))
#: channel -> (kind of the touch just before the lead's form, longest lead time in minutes)
_BEFORE = {
    "paid_search": (AD, 30),
    "social_ads": (AD, 30),
    "display": (AD, 60),
    "organic_search": (PAGE, 3 * 24 * 60),
    "email_campaign": (CLICK, 120),
}
#: follow-up kinds and their base weights (demo requests are drawn apart)
_FOLLOW_UP = np.array([PAGE, OPEN, CLICK, DOWNLOAD, WEBINAR, AD])
_FOLLOW_UP_WEIGHTS = np.array([0.5, 0.2, 0.1, 0.08, 0.04, 0.08])
#: kind -> channel its follow-ups belong to ("direct": the website, no campaign)
_KIND_CHANNEL = {
    PAGE: "direct",
    DEMO: "direct",
    OPEN: "email_campaign",
    CLICK: "email_campaign",
    DOWNLOAD: "content_download",
    WEBINAR: "webinar",
    AD: "display",
}
#: Channels whose touches are also drawn after a lead's creation, from its propensity: a
#: consequence of a likely conversion, not a cause (see docs/concepts/attribution.md).
FOLLOW_UP_CHANNELS = tuple(sorted(set(_KIND_CHANNEL.values())))
_PAGES = (
    "/product/analytics-suite",
    "/product/data-platform",
    "/blog",
    "/case-studies",
    "/docs",
    "/about",
)
_PLAIN = '{"source": "demo"}'


@dataclass(frozen=True)
class Touches:
    """A chunk's touchpoints by time, and each lead's last one (index into them)."""

    leads: Ints
    at: Ints
    kinds: Ints
    campaigns: Ints  # -1: none
    channels: Objects
    urls: Objects
    properties: Objects
    first_at: Ints  # per lead
    last: Ints  # per lead


class _Parts:
    def __init__(self) -> None:
        self.columns: list[tuple[Ints, Ints, Ints, Ints, Objects, Objects, Objects]] = []

    def add(self, leads: Ints, at: Ints, kinds: Ints, campaigns: Ints, channels: Objects,
            urls: Objects, properties: Objects | str) -> None:  # fmt: skip
        props = (
            np.full(len(leads), properties, dtype=object)
            if isinstance(properties, str)
            else properties
        )
        self.columns.append((leads, at, kinds, campaigns, channels, urls, props))


def touch(world: World, p: Profiles, rng: np.random.Generator) -> Touches:
    parts = _Parts()
    _arrival(world, p, parts, rng)
    _engagement(world, p, parts, rng)
    leads, at, kinds, campaigns, channels, urls, props = (
        np.concatenate(column) for column in zip(*parts.columns, strict=True)
    )
    keep = at <= world.history.now_us
    order = np.flatnonzero(keep)[np.argsort(at[keep], kind="stable")]
    leads, at, kinds, campaigns = leads[order], at[order], kinds[order], campaigns[order]
    channels, urls, props = channels[order], urls[order], props[order]
    by_lead = np.lexsort((at, leads))
    ends = by_lead[np.flatnonzero(np.diff(leads[by_lead], append=len(p)) != 0)]
    starts = by_lead[np.flatnonzero(np.diff(leads[by_lead], prepend=-1) != 0)]
    return Touches(leads, at, kinds, campaigns, channels, urls, props, at[starts], ends)


def _arrival(world: World, p: Profiles, parts: _Parts, rng: np.random.Generator) -> None:
    """The touch that created each lead, the click just before it, webinar attendance."""
    n, model, campaigns = len(p), world.model, world.campaigns
    everyone = np.arange(n)
    names = object_array(model.channel_names())
    urls = campaigns.landing_urls[p.campaigns]
    form = np.where(names[p.channels] == "content_download", DOWNLOAD, FORM)
    props = campaigns.creation_properties()[p.campaigns]
    parts.add(everyone, p.created_us, form, p.campaigns, names[p.channels], urls, props)
    for c, channel in enumerate(model.channels):
        mine = np.flatnonzero(p.channels == c)
        if channel.name in _BEFORE:
            kind, minutes = _BEFORE[channel.name]
            lead_time = rng.uniform(0.5, minutes, len(mine)) * US_PER_MINUTE
            at = p.created_us[mine] - lead_time.astype(np.int64)
            parts.add(
                mine,
                at,
                np.full(len(mine), kind),
                p.campaigns[mine],
                names[p.channels[mine]],
                urls[mine],
                _PLAIN,
            )
        if channel.name == "webinar":
            attended = mine[rng.random(len(mine)) < 0.6]
            at = p.created_us[attended] + (rng.uniform(1, 14, len(attended)) * US_PER_DAY).astype(
                np.int64
            )
            parts.add(attended, at, np.full(len(attended), WEBINAR), p.campaigns[attended],
                      names[p.channels[attended]], urls[attended], _PLAIN)  # fmt: skip


def _engagement(world: World, p: Profiles, parts: _Parts, rng: np.random.Generator) -> None:
    """Follow-up touches whose number and kind depend on the lead's propensity."""
    model = world.model
    rate = model.follow_up_touches * np.exp(model.touch_z_weight * p.z)
    counts = np.minimum(rng.poisson(rate), 30)
    leads = np.repeat(np.arange(len(p)), counts)
    z = p.z[leads]
    at = (
        p.created_us[leads]
        + 1_000_000
        + (rng.exponential(25, len(leads)) * US_PER_DAY).astype(np.int64)
    )
    kinds = rng.choice(_FOLLOW_UP, size=len(leads), p=_FOLLOW_UP_WEIGHTS / _FOLLOW_UP_WEIGHTS.sum())
    kinds = np.where(rng.random(len(leads)) < np.minimum(0.3, 0.03 * np.exp(0.8 * z)), DEMO, kinds)
    channel_of_kind = np.array([_KIND_CHANNEL.get(k) for k in range(len(KINDS))], dtype=object)
    channels = channel_of_kind[kinds]
    campaigns = _kind_campaigns(world)[kinds]
    site = f"https://www.{model.domain}"
    pages = object_array([site + path for path in _PAGES])[rng.integers(0, len(_PAGES), len(leads))]
    pricing = rng.random(len(leads)) < sigmoid(z - 0.5) / 2
    urls = with_null(world.campaigns.landing_urls)[campaigns]  # -1: no campaign, no URL
    urls[kinds == PAGE] = np.where(pricing, site + "/pricing", pages)[kinds == PAGE]
    urls[kinds == DEMO] = site + "/demo"
    urls[kinds == OPEN] = None  # an opened e-mail visits no page
    parts.add(leads, at, kinds, campaigns, channels, urls, _PLAIN)


def _kind_campaigns(world: World) -> Ints:
    """The campaign follow-ups of each kind belong to (-1: none, or channel not modelled)."""
    names = world.model.channel_names()
    out = np.full(len(KINDS), -1, dtype=np.int64)
    for kind, channel in _KIND_CHANNEL.items():
        if channel in names:
            out[kind] = world.campaigns.first[names.index(channel)]
    return out


def touch_batch(
    world: World, t: Touches, lead_ids: Objects, id_rng: np.random.Generator
) -> TableBatch:
    campaigns = world.campaigns
    campaign_ids = with_null(campaigns.ids)[t.campaigns]
    names = with_null(campaigns.names)[t.campaigns]
    return TableBatch(
        "touchpoints",
        {
            "id": ids_at(t.at, id_rng),
            "lead_id": lead_ids[t.leads],
            "kind": object_array(list(KINDS))[t.kinds],
            "channel": t.channels,
            "campaign_id": campaign_ids,
            "campaign": names,
            "url": t.urls,
            "at": as_times(t.at),
            "properties": t.properties,
        },
    )
