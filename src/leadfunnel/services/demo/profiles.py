"""Who each lead is: person, company, interest, campaign, and the hidden propensity.

Decided once, when the lead arrives. The propensity ``z`` adds the lead's channel quality
and the shifts of its industry, company size band, seniority and product line to
``N(0, noise_sd)`` noise (see :mod:`.model`). Lead number ``n`` (its rank by creation time
over the whole run) makes its e-mail ``first.last.n@company{k}.example`` and, when it left
one, its phone ``+{code}{prefix}{n:08d}`` unique.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from leadfunnel.services.demo.batches import object_array
from leadfunnel.services.demo.companies import Countries
from leadfunnel.services.demo.marketing import Campaigns
from leadfunnel.services.demo.model import CompanyModel
from leadfunnel.services.demo.vocabulary import FIRST_NAMES, FUNCTIONS, LAST_NAMES, TITLE_PATTERNS
from leadfunnel.services.demo.world import World

__all__ = ["Profiles", "draw_profiles", "propensity"]

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]
Objects = npt.NDArray[np.object_]
Bools = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class Profiles:
    numbers: Ints
    created_us: Ints
    channels: Ints
    regions: Ints
    companies: Ints
    countries: Ints
    industries: Ints
    bands: Ints
    employees: Ints
    seniorities: Ints
    products: Ints
    campaigns: Ints
    first_names: Objects
    last_names: Objects
    titles: Objects
    emails: Objects
    phones: Objects
    z: Floats

    def __len__(self) -> int:
        return len(self.numbers)

    def students(self, model: CompanyModel) -> Bools:
        """Leads whose seniority is "Student" (never routed; disqualified as students)."""
        names = [s.name for s in model.seniorities]
        student = names.index("Student") if "Student" in names else -1
        mask: Bools = self.seniorities == student
        return mask


class _Table:
    """Strings grouped by a category: ``pick(categories, u)`` takes one per row."""

    def __init__(self, groups: list[list[str]]) -> None:
        self.values = object_array([v for g in groups for v in g])
        sizes = np.array([len(g) for g in groups], dtype=np.int64)
        self.first = np.concatenate(([0], np.cumsum(sizes)[:-1])).astype(np.int64)
        self.size = sizes

    def pick(self, categories: Ints, rng: np.random.Generator) -> Objects:
        offset = (rng.random(len(categories)) * self.size[categories]).astype(np.int64)
        return self.values[self.first[categories] + offset]  # type: ignore[no-any-return]


def _titles(model: CompanyModel) -> _Table:
    groups = []
    for seniority in model.seniorities:
        patterns = TITLE_PATTERNS.get(seniority.name, (seniority.name,))
        groups.append(sorted({p.format(f=f) for p in patterns for f in FUNCTIONS}))
    return _Table(groups)


def _choose(weights: list[float], size: int, rng: np.random.Generator) -> Ints:
    p = np.asarray(weights) / np.sum(weights)
    return rng.choice(len(p), size=size, p=p).astype(np.int64)


def propensity(model: CompanyModel, p: Profiles, noise: Floats) -> Floats:
    """``z``: the shifts of the lead's channel, industry, size, seniority, product, plus noise."""

    def shifts(values: list[float], index: Ints) -> Floats:
        return np.asarray(values)[index]

    return (
        shifts([c.quality for c in model.channels], p.channels)
        + shifts([i.shift for i in model.industries], p.industries)
        + shifts([b.shift for b in model.sizes], p.bands)
        + shifts([s.shift for s in model.seniorities], p.seniorities)
        + shifts([x.shift for x in model.products], p.products)
        + noise
    )


def _campaigns(campaigns: Campaigns, channels: Ints, rng: np.random.Generator) -> Ints:
    out = np.empty(len(channels), dtype=np.int64)
    u = rng.random(len(channels))
    for c in range(len(campaigns.first)):
        mine = channels == c
        lo = int(campaigns.first[c])
        cumulative = np.cumsum(campaigns.weights[lo : lo + int(campaigns.count[c])])
        picked = np.searchsorted(cumulative, u[mine] * cumulative[-1], side="right")
        out[mine] = lo + np.minimum(picked, int(campaigns.count[c]) - 1)
    return out


def _contacts(
    model: CompanyModel,
    numbers: Ints,
    companies: Ints,
    regions: Ints,
    channels: Ints,
    countries: Ints,
    table: Countries,
    rng: np.random.Generator,
) -> tuple[Objects, Objects, Objects, Objects]:
    regions_by_name = [r.name for r in model.regions]
    firsts = _Table(
        [list(FIRST_NAMES.get(r, FIRST_NAMES["North America"])) for r in regions_by_name]
    )
    lasts = _Table([list(LAST_NAMES.get(r, LAST_NAMES["North America"])) for r in regions_by_name])
    first, last = firsts.pick(regions, rng), lasts.pick(regions, rng)
    emails = [
        f"{f}.{s}.{n}@company{k}.example".lower()
        for f, s, n, k in zip(
            first.tolist(), last.tolist(), numbers.tolist(), companies.tolist(), strict=True
        )
    ]
    share = np.array([c.phone_share for c in model.channels])[channels]
    phones = np.full(len(numbers), None, dtype=object)
    has = np.flatnonzero(rng.random(len(numbers)) < share)
    phones[has] = [
        f"+{table.codes[c]}{table.prefixes[c]}{n:08d}"
        for c, n in zip(countries[has].tolist(), numbers[has].tolist(), strict=True)
    ]
    return first, last, object_array(emails), phones


def draw_profiles(world: World, lo: int, hi: int, rng: np.random.Generator) -> Profiles:
    """The profiles of leads number ``lo`` to ``hi - 1`` (in creation order)."""
    model, pool, arrivals = world.model, world.companies, world.arrivals
    numbers = np.arange(lo, hi, dtype=np.int64)
    channels, regions = arrivals.channels[lo:hi], arrivals.regions[lo:hi]
    companies = pool.pick(regions, rng)
    countries = pool.countries[companies]
    seniorities = _choose([s.weight for s in model.seniorities], len(numbers), rng)
    first, last, emails, phones = _contacts(
        model, numbers, companies, regions, channels, countries, world.countries, rng
    )
    profiles = Profiles(
        numbers=numbers,
        created_us=arrivals.times_us[lo:hi],
        channels=channels,
        regions=regions,
        companies=companies,
        countries=countries,
        industries=pool.industries[companies],
        bands=pool.bands[companies],
        employees=pool.employees[companies],
        seniorities=seniorities,
        products=_choose([p.weight for p in model.products], len(numbers), rng),
        campaigns=_campaigns(world.campaigns, channels, rng),
        first_names=first,
        last_names=last,
        titles=_titles(model).pick(seniorities, rng),
        emails=emails,
        phones=phones,
        z=np.zeros(len(numbers)),
    )
    noise = model.noise_sd * rng.standard_normal(len(numbers))
    return replace(profiles, z=propensity(model, profiles, noise))
