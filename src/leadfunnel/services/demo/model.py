"""The simulated company's true parameters: what analytics run on the demo should rediscover.

Every lead carries a hidden **propensity** ``z``: the sum of the shifts of its channel
(``Channel.quality``), industry, company size, seniority and product line, plus normal noise
(``noise_sd``). ``z`` drives engagement (how many touchpoints) and every step of the funnel::

    P(step) = sigmoid(intercept + z_weight * z + extra log-odds)

For example (default company, :mod:`.company`) a partner-referred (quality +1.0) director
(+0.25) at a software company (+0.2) of 250-999 employees (+0.2) interested in the Analytics
Suite (0) has ``z = 1.65`` before noise, so with the ``lead -> mql`` intercept of -0.9 and
weight 1.0 its chance to become an MQL is sigmoid(0.75), about 68 %; a student (-2.5) from a
display ad (-0.9) has sigmoid(-4.3), about 1.3 %.

The extra log-odds are the sales effects: the owner's ``skill`` (log of a multiplier) and
the **response-time effect** at ``mql -> sql`` (see :class:`ResponseEffect`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = [
    "Channel",
    "CompanyModel",
    "Funnel",
    "Gap",
    "Product",
    "Region",
    "RepPopulation",
    "RepeatPurchase",
    "ResponseEffect",
    "Segment",
    "SizeBand",
    "Step",
]


@dataclass(frozen=True)
class Segment:
    """One value of a lead dimension: how often it occurs and how it shifts propensity."""

    name: str
    weight: float
    shift: float


@dataclass(frozen=True)
class SizeBand:
    """Companies from ``min_employees`` up: propensity shift, deal size, sales-cycle length."""

    name: str
    min_employees: int
    shift: float
    deal_usd: float
    cycle_factor: float


@dataclass(frozen=True)
class Product:
    """A product line: interest share, propensity shift, and price relative to the base deal."""

    name: str
    weight: float
    shift: float
    price_factor: float


@dataclass(frozen=True)
class Region:
    """A sales region: lead share, its sales teams, and its countries as (name, dialling
    code, national prefix): a phone is ``+{code}{prefix}{8 digits}``, unique per lead.

    ``utc_offset`` places the business day: leads arrive in local office hours.
    """

    name: str
    weight: float
    countries: tuple[tuple[str, str, str], ...]
    utc_offset: int
    teams: tuple[str, ...]


@dataclass(frozen=True)
class Channel:
    """An acquisition channel.

    ``share`` is its part of all leads over a year; ``monthly`` scales its volume by month
    (mean 1, so trade shows can peak in spring and autumn); ``quality`` is its propensity
    shift; ``cost_per_lead`` the marketing spend per lead it is budgeted at (0: organic);
    ``phone_share`` how many of its leads leave a phone number; ``direct_to_sql`` how many
    are accepted straight from ``lead`` to ``sql`` (a caller asking for a quote);
    ``region_mix`` overrides the regions' lead shares (WeChat is mostly APAC).
    """

    name: str
    share: float
    quality: float
    cost_per_lead: float
    monthly: tuple[float, ...]
    utm_source: str | None
    utm_medium: str | None
    landing_path: str
    campaigns: tuple[str, ...]
    phone_share: float = 0.25
    direct_to_sql: float = 0.0
    weekend_factor: float = 0.3
    region_mix: tuple[float, ...] | None = None


@dataclass(frozen=True)
class Gap:
    """A waiting time: lognormal with this median (days) and log standard deviation."""

    median_days: float
    sigma: float


@dataclass(frozen=True)
class Step:
    """One funnel step: ``sigmoid(intercept + z_weight * z + skill_weight * log(skill))``.

    ``advance`` is the wait until the step happens; a lead that does not advance drops
    after ``drop`` to one of ``drops`` (stage, reason, weight), or stays where it is with
    probability ``stall``.
    """

    intercept: float
    z_weight: float
    skill_weight: float
    advance: Gap
    drop: Gap
    drops: tuple[tuple[str, str, float], ...]
    stall: float


@dataclass(frozen=True)
class ResponseEffect:
    """The "respond within 5 minutes" effect on ``mql -> sql`` (and ``lead -> sql``).

    The odds of reaching ``sql`` are multiplied by ``(minutes / reference_minutes) ** -beta``
    when the first response came after ``reference_minutes``, else by 1. With beta 0.3:
    1 hour multiplies the odds by 0.47, one day by 0.18.
    """

    reference_minutes: float
    beta: float

    def log_odds(self, minutes: float) -> float:
        return -self.beta * max(0.0, math.log(minutes / self.reference_minutes))


@dataclass(frozen=True)
class RepPopulation:
    """How reps differ: skill ``exp(N(0, skill_sd))`` clipped to ``skill_range``; each rep's
    median first response log-uniform in ``median_response_minutes``, each response
    lognormal around it with ``response_sigma``."""

    reps_per_team: tuple[int, int]
    skill_sd: float
    skill_range: tuple[float, float]
    median_response_minutes: tuple[float, float]
    response_sigma: float


@dataclass(frozen=True)
class RepeatPurchase:
    """Won customers who buy again: ``won -> opportunity -> won | lost``."""

    probability: float
    after: Gap
    win_probability: float
    price_factor: float


@dataclass(frozen=True)
class Funnel:
    """The lifecycle steps. ``to_won``'s drops are the lost reasons; its waits are the
    sales cycle, scaled by the company's :attr:`SizeBand.cycle_factor`. Leads of companies
    below ``pool_below_employees`` (and students) stay in the marketing pool, unowned."""

    to_mql: Step
    to_sql: Step
    to_opportunity: Step
    to_won: Step
    direct_to_sql_intercept: float
    deal_sigma: float
    repeat: RepeatPurchase
    pool_below_employees: int


@dataclass(frozen=True)
class CompanyModel:
    """Everything the simulator draws from; :mod:`.company` holds the default company."""

    name: str
    domain: str
    history_days: int
    yearly_growth: float
    channels: tuple[Channel, ...]
    regions: tuple[Region, ...]
    industries: tuple[Segment, ...]
    sizes: tuple[SizeBand, ...]
    seniorities: tuple[Segment, ...]
    products: tuple[Product, ...]
    noise_sd: float
    funnel: Funnel
    response: ResponseEffect
    reps: RepPopulation
    follow_up_touches: float
    touch_z_weight: float

    def channel_names(self) -> list[str]:
        return [c.name for c in self.channels]
