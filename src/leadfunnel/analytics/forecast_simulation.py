"""Monte Carlo ranges of a period's bookings and won-deal count, per breakdown group.

Each draw is one possible period:

1. every probability cell's rate is drawn from its Beta posterior (``forecast_model``;
   through its normal approximation, vectorised), so a cell learned from ten deals moves
   all its deals together and widens the range; fixed cells keep their value;
2. every open deal is won or not (Bernoulli with its cell's drawn rate);
3. new deals, created after the as-of moment and won by the period's end, arrive as a
   Poisson count whose rate is itself uncertain (Gamma, as strong as the history behind
   it: a negative binomial), each with an amount resampled from past won deals;
4. what was already won in the period is added as it is;
5. optionally, a common period factor ``F`` (lognormal, mean 1, ``shock`` its sigma; see
   ``forecast_calibration``) scales every probability and the new-deal rate of the draw.

**Speed.** Exact Bernoulli draws cost deals x draws random numbers: 10^9 for 100,000 deals
and 10,000 draws, several seconds. So the ``exact_limit`` deals with the largest variance
``amount^2 p (1 - p)`` are drawn exactly, in chunks; the rest enter per group as their
sum's normal approximation with the exact mean and variance for the draw (count and amount
drawn jointly, with their covariance; their cells' own uncertainty added to the variance).
A sum of thousands of independent bounded terms, none of them large, is normal to well
within the Monte Carlo noise; the large, skewed deals that would break that are the ones
drawn exactly. Below the limit everything is exact.

Seeded: the same inputs and ``rng`` seed give the same draws.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["EXACT_LIMIT", "NewPipeline", "OpenBook", "simulate"]

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]
EXACT_LIMIT = 4096
_CHUNK = 512
_CELLS = 256


@dataclass(frozen=True)
class OpenBook:
    """Open deals (``amount``, ``cell`` index, ``group`` index) and the cells' Beta
    parameters (``weight`` inf: a fixed rate)."""

    amount: Floats
    cell: Ints
    group: Ints
    value: Floats
    weight: Floats


@dataclass(frozen=True)
class NewPipeline:
    """Per group: expected new deals won in the period, how many created deals the rate was
    learned from (the Gamma shape), and the won amounts to resample (empty: none)."""

    expected: Floats
    evidence: Floats
    amounts: list[Floats]


def _cell_rates(book: OpenBook, cells: Ints, draws: int, rng: np.random.Generator,
                uncertain: bool, factor: Floats) -> npt.NDArray[np.float32]:  # fmt: skip
    """Per cell of ``cells`` and draw: the cell's win rate in that draw. The Beta posterior
    is drawn through its normal approximation (same mean and variance, clipped to [0, 1]):
    one vectorised draw for many cells instead of a Beta sampler per cell."""
    value = book.value[cells]
    rates = np.repeat(value.astype(np.float32)[:, None], draws, axis=1)
    if uncertain:
        noise = rng.standard_normal((len(cells), draws), dtype=np.float32)
        rates = np.clip(rates + _spread(book)[cells].astype(np.float32)[:, None] * noise, 0.0, 1.0)
    scaled: npt.NDArray[np.float32] = np.minimum(rates * factor.astype(np.float32)[None, :], 1.0)
    return scaled


def _spread(book: OpenBook) -> Floats:
    """The standard deviation of each cell's Beta posterior (0 for fixed cells)."""
    with np.errstate(invalid="ignore"):
        sd = np.sqrt(book.value * (1 - book.value) / (book.weight + 1))
    return np.where(np.isfinite(book.weight), sd, 0.0)


def _exact(book: OpenBook, chosen: Ints, draws: int, rng: np.random.Generator, uncertain: bool,
           factor: Floats, groups: int) -> tuple[Floats, Floats]:  # fmt: skip
    """Bernoulli draws of the chosen deals, a chunk of cells at a time (deals sorted by cell)."""
    money, count = np.zeros((groups, draws)), np.zeros((groups, draws))
    cells = np.unique(book.cell[chosen])
    for first in range(0, len(cells), _CELLS):
        mine = cells[first : first + _CELLS]
        rates = _cell_rates(book, mine, draws, rng, uncertain, factor)
        rows = chosen[(book.cell[chosen] >= mine[0]) & (book.cell[chosen] <= mine[-1])]
        where = np.searchsorted(mine, book.cell[rows])
        for start in range(0, len(rows), _CHUNK):
            chunk, at = rows[start : start + _CHUNK], where[start : start + _CHUNK]
            hits = (rng.random((len(chunk), draws), dtype=np.float32) < rates[at]).astype(
                np.float32
            )
            onehot = np.zeros((groups, len(chunk)), dtype=np.float32)
            onehot[book.group[chunk], np.arange(len(chunk))] = 1.0
            money += (onehot * book.amount[chunk].astype(np.float32)) @ hits
            count += onehot @ hits
    return money, count


def _approximate(book: OpenBook, rest: Ints, draws: int, rng: np.random.Generator, uncertain: bool,
                 factor: Floats, groups: int) -> tuple[Floats, Floats]:  # fmt: skip
    """The rest's sum per group and draw, bivariate normal (amount, count) with the exact
    moments given the draw's period factor ``f``: each deal contributes mean ``a f p`` and
    variance ``a^2 f p (1 - f p)``; a cell's own uncertainty adds ``(Σ a)^2 f^2 sd^2`` (its
    deals move together). Costs groups x draws, however many deals and cells."""
    if len(rest) == 0:
        return np.zeros((groups, draws)), np.zeros((groups, draws))
    a, p, g = book.amount[rest], book.value[book.cell[rest]], book.group[rest]

    def per_group(weights: Floats) -> Floats:
        return np.bincount(g, weights=weights, minlength=groups).astype(np.float64)[:, None]

    f = factor[None, :]
    mean_money, mean_count = per_group(a * p) * f, per_group(p) * f
    var_money = per_group(a * a * p) * f - per_group(a * a * p * p) * f * f
    var_count = per_group(p) * f - per_group(p * p) * f * f
    cov = per_group(a * p) * f - per_group(a * p * p) * f * f
    if uncertain:
        cells = book.cell[rest] * groups + g  # one key per (cell, group)
        keys, inverse = np.unique(cells, return_inverse=True)
        amount = np.bincount(inverse, weights=a)
        deals = np.bincount(inverse, weights=np.ones(len(rest)))
        variance = _spread(book)[keys // groups] ** 2
        owner = keys % groups
        var_money += (
            np.bincount(owner, weights=amount**2 * variance, minlength=groups)[:, None] * f * f
        )
        var_count += (
            np.bincount(owner, weights=deals**2 * variance, minlength=groups)[:, None] * f * f
        )
        cov += (
            np.bincount(owner, weights=amount * deals * variance, minlength=groups)[:, None] * f * f
        )
    z1, z2 = rng.standard_normal((2, groups, draws))
    sd_money = np.sqrt(np.maximum(var_money, 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        lean = np.where(sd_money > 0, cov / sd_money, 0.0)
    rest_sd = np.sqrt(np.maximum(var_count - lean**2, 0.0))
    money = np.maximum(mean_money + sd_money * z1, 0.0)
    count = np.maximum(mean_count + lean * z1 + rest_sd * z2, 0.0)
    return money, count


def _new_deals(
    new: NewPipeline, draws: int, rng: np.random.Generator, factor: Floats
) -> tuple[Floats, Floats]:
    groups = len(new.expected)
    money, count = np.zeros((groups, draws)), np.zeros((groups, draws))
    for g in range(groups):
        if new.expected[g] <= 0:
            continue
        shape = max(new.evidence[g], 0.5)
        rate = new.expected[g] * rng.gamma(shape, 1.0 / shape, size=draws) * factor
        k = rng.poisson(rate)
        count[g] = k
        pool = new.amounts[g]
        if len(pool) and k.sum():
            picks = pool[rng.integers(0, len(pool), size=int(k.sum()))]
            money[g] = np.bincount(np.repeat(np.arange(draws), k), weights=picks, minlength=draws)
    return money, count


def _split(book: OpenBook, exact_limit: int) -> tuple[Ints, Ints]:
    """The deals drawn exactly (largest variance first, sorted by cell) and the rest."""
    p = book.value[book.cell]
    variance = book.amount**2 * p * (1.0 - p)
    if len(variance) > exact_limit:
        chosen = np.argpartition(-variance, exact_limit)[:exact_limit]
        rest = np.setdiff1d(np.arange(len(variance)), chosen)
    else:
        chosen, rest = np.arange(len(variance)), np.zeros(0, dtype=np.int64)
    return chosen[np.argsort(book.cell[chosen], kind="stable")], rest


def simulate(book: OpenBook, new: NewPipeline, closed: tuple[Floats, Floats], *, draws: int,
             rng: np.random.Generator, exact_limit: int = EXACT_LIMIT,
             uncertain: bool = True, shock: float = 0.0) -> tuple[Floats, Floats]:  # fmt: skip
    """Draws of (bookings, won deals), each shaped (groups, draws); ``closed`` is what each
    group already won in the period (amount, count). ``uncertain=False`` keeps every cell
    at its estimate (no Beta draws, no Gamma on the new-deal rate).

    The exact deals' cells are drawn a chunk at a time (:data:`_CELLS` cells x draws), so
    memory stays flat however many cells the model has."""
    groups = len(new.expected)
    factor = (
        np.exp(shock * rng.standard_normal(draws) - shock**2 / 2) if shock > 0 else np.ones(draws)
    )
    chosen, rest = _split(book, exact_limit)
    exact_money, exact_count = _exact(book, chosen, draws, rng, uncertain, factor, groups)
    rest_money, rest_count = _approximate(book, rest, draws, rng, uncertain, factor, groups)
    if not uncertain:
        new = NewPipeline(new.expected, np.full(groups, 1e12), new.amounts)
    new_money, new_count = _new_deals(new, draws, rng, factor)
    money = exact_money + rest_money + new_money + closed[0][:, None]
    count = exact_count + rest_count + new_count + closed[1][:, None]
    return money, count
