"""The market: the companies leads work for.

One company per five leads (at least 50, at most :data:`~.vocabulary.MAX_COMPANIES`), each
with a region, a country in it, an industry and a head count (lognormal, median 150, from 2
to 300,000), so several leads of a company share its dimensions, as in real CRMs. Company
``k`` has the unique name built by :mod:`.vocabulary`, the e-mail domain
``company{k}.example`` and the matching key intake would compute (legal suffix and
punctuation removed, lower case): ``"Silver Harbor Logistics GmbH"`` ->
``"silver harbor logistics"``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from leadfunnel.services.demo.batches import object_array
from leadfunnel.services.demo.model import CompanyModel
from leadfunnel.services.demo.vocabulary import (
    COMPANY_WORDS_A,
    COMPANY_WORDS_B,
    COMPANY_WORDS_C,
    INDUSTRY_WORDS,
    LEGAL_SUFFIXES,
    MAX_COMPANIES,
)

__all__ = ["CompanyPool", "Countries", "found_companies"]

Ints = npt.NDArray[np.int64]
Objects = npt.NDArray[np.object_]


@dataclass(frozen=True)
class Countries:
    """Every country of every region, flattened: name, dialling code, national prefix."""

    names: Objects
    codes: list[str]
    prefixes: list[str]
    regions: Ints

    @classmethod
    def of(cls, model: CompanyModel) -> Countries:
        rows = [(c, r) for r, region in enumerate(model.regions) for c in region.countries]
        return cls(
            names=object_array([c[0] for c, _ in rows]),
            codes=[c[1] for c, _ in rows],
            prefixes=[c[2] for c, _ in rows],
            regions=np.asarray([r for _, r in rows], dtype=np.int64),
        )


@dataclass(frozen=True)
class CompanyPool:
    """Companies sorted by region: region ``r`` owns ``first[r] : first[r] + count[r]``."""

    names: Objects
    keys: Objects
    regions: Ints
    countries: Ints
    industries: Ints
    employees: Ints
    bands: Ints
    first: Ints
    count: Ints

    def pick(self, regions: Ints, rng: np.random.Generator) -> Ints:
        """A company in each lead's region, uniformly."""
        return self.first[regions] + (rng.random(len(regions)) * self.count[regions]).astype(
            np.int64
        )


def _name(k: int) -> str:
    words = [COMPANY_WORDS_A[k % 60], COMPANY_WORDS_B[k // 60 % 60]]
    if k >= 3600:
        words.append(COMPANY_WORDS_C[k // 3600 - 1])
    return " ".join(words)


def found_companies(
    model: CompanyModel, leads: int, countries: Countries, rng: np.random.Generator
) -> CompanyPool:
    size = int(np.clip(leads // 5, 50, MAX_COMPANIES))
    weights = np.array([r.weight for r in model.regions])
    regions = rng.choice(len(model.regions), size=size, p=weights / weights.sum())
    regions[: len(weights)] = np.arange(len(weights))  # every region has companies
    regions.sort()
    country = np.empty(size, dtype=np.int64)
    for r in range(len(model.regions)):
        mine = np.flatnonzero(countries.regions == r)
        p = np.full(len(mine), 0.5 / max(len(mine) - 1, 1))
        p[0] = 0.5 if len(mine) > 1 else 1.0
        at = regions == r
        country[at] = rng.choice(mine, size=int(at.sum()), p=p)
    industry_weights = np.array([i.weight for i in model.industries])
    industries = rng.choice(
        len(industry_weights), size=size, p=industry_weights / industry_weights.sum()
    )
    employees = np.clip(np.exp(np.log(150) + 1.7 * rng.standard_normal(size)), 2, 300_000)
    employees = employees.astype(np.int64)
    minimums = np.array([b.min_employees for b in model.sizes])
    words = [INDUSTRY_WORDS.get(i.name, i.name.title()) for i in model.industries]
    stems = [f"{_name(k)} {words[industries[k]]}" for k in range(size)]
    suffixes = [LEGAL_SUFFIXES.get(str(name), "") for name in countries.names[country]]
    counts = np.bincount(regions, minlength=len(model.regions)).astype(np.int64)
    return CompanyPool(
        names=object_array([s + x for s, x in zip(stems, suffixes, strict=True)]),
        keys=object_array([s.lower() for s in stems]),
        regions=regions.astype(np.int64),
        countries=country,
        industries=industries.astype(np.int64),
        employees=employees,
        bands=(np.searchsorted(minimums, employees, side="right") - 1).astype(np.int64),
        first=np.concatenate(([0], np.cumsum(counts)[:-1])).astype(np.int64),
        count=counts,
    )
