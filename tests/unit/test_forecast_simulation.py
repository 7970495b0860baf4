"""The Monte Carlo range: its mean is the expected bookings, a seed fixes it, the normal
approximation of the many small deals matches exact draws, and uncertainty widens it."""

from __future__ import annotations

import numpy as np
import pytest

from leadfunnel.analytics.forecast_simulation import NewPipeline, OpenBook, simulate


def _book(n: int, seed: int, *, groups: int = 2, weight: float = float("inf")) -> OpenBook:
    rng = np.random.default_rng(seed)
    cells = 12
    return OpenBook(
        amount=np.round(rng.lognormal(9, 1, n), -1),
        cell=rng.integers(0, cells, n),
        group=rng.integers(0, groups, n),
        value=rng.uniform(0.05, 0.8, cells),
        weight=np.full(cells, weight),
    )


def _no_new(groups: int = 2) -> NewPipeline:
    return NewPipeline(np.zeros(groups), np.zeros(groups), [np.zeros(0)] * groups)


def _closed(groups: int = 2) -> tuple[np.ndarray, np.ndarray]:
    return np.array([1000.0, 0.0][:groups]), np.array([1.0, 0.0][:groups])


def test_the_mean_of_the_draws_is_the_expected_bookings_and_count():
    book = _book(400, seed=1)
    money, count = simulate(book, _no_new(), _closed(), draws=20_000, rng=np.random.default_rng(0),
                            uncertain=False)  # fmt: skip
    p = book.value[book.cell]
    for g in (0, 1):
        mine = book.group == g
        expected = float((book.amount * p)[mine].sum()) + _closed()[0][g]
        sd = float(np.sqrt((book.amount**2 * p * (1 - p))[mine].sum()))
        assert money[g].mean() == pytest.approx(expected, abs=4 * sd / np.sqrt(20_000))
        assert money[g].std() == pytest.approx(sd, rel=0.03)
        assert count[g].mean() == pytest.approx(p[mine].sum() + _closed()[1][g], rel=0.01)


def test_the_same_seed_gives_the_same_draws_and_another_seed_others():
    book = _book(300, seed=2, weight=30.0)
    new = NewPipeline(np.array([2.0, 1.0]), np.array([40.0, 10.0]), [np.array([500.0, 900.0])] * 2)
    first = simulate(book, new, _closed(), draws=2000, rng=np.random.default_rng(7), shock=0.2)
    again = simulate(book, new, _closed(), draws=2000, rng=np.random.default_rng(7), shock=0.2)
    other = simulate(book, new, _closed(), draws=2000, rng=np.random.default_rng(8), shock=0.2)
    assert np.array_equal(first[0], again[0]) and np.array_equal(first[1], again[1])
    assert not np.array_equal(first[0], other[0])


def test_the_approximation_of_many_small_deals_matches_exact_draws():
    book = _book(6000, seed=3)
    exact = simulate(book, _no_new(), _closed(), draws=6000, rng=np.random.default_rng(1),
                     uncertain=False, exact_limit=10_000)  # fmt: skip
    mixed = simulate(book, _no_new(), _closed(), draws=6000, rng=np.random.default_rng(1),
                     uncertain=False, exact_limit=500)  # fmt: skip
    for g in (0, 1):
        for a, b in zip(exact, mixed, strict=True):
            assert b[g].mean() == pytest.approx(a[g].mean(), rel=0.01)
            assert b[g].std() == pytest.approx(a[g].std(), rel=0.06)
            assert np.percentile(b[g], 10) == pytest.approx(np.percentile(a[g], 10), rel=0.02)


def test_thin_evidence_and_a_period_factor_widen_the_range_but_keep_its_centre():
    narrow = simulate(_book(500, seed=4), _no_new(), _closed(), draws=8000, rng=np.random.default_rng(2),
                      uncertain=False)  # fmt: skip
    thin = simulate(_book(500, seed=4, weight=5.0), _no_new(), _closed(), draws=8000,
                    rng=np.random.default_rng(2))  # fmt: skip
    shocked = simulate(_book(500, seed=4), _no_new(), _closed(), draws=8000,
                       rng=np.random.default_rng(2), uncertain=False, shock=0.3)  # fmt: skip
    spread = [
        np.subtract(*np.percentile(m.sum(axis=0), [90, 10]))
        for m in (narrow[0], thin[0], shocked[0])
    ]
    assert spread[1] > 1.3 * spread[0] and spread[2] > 1.3 * spread[0]
    centre = narrow[0].sum(axis=0).mean()
    assert thin[0].sum(axis=0).mean() == pytest.approx(centre, rel=0.03)
    assert shocked[0].sum(axis=0).mean() == pytest.approx(centre, rel=0.04)


def test_new_deals_arrive_at_the_expected_rate_with_resampled_amounts():
    new = NewPipeline(np.array([3.0]), np.array([1e9]), [np.array([100.0, 300.0])])
    money, count = simulate(_book(0, seed=5, groups=1), new, (np.zeros(1), np.zeros(1)), draws=20_000,
                            rng=np.random.default_rng(3))  # fmt: skip
    assert count[0].mean() == pytest.approx(3.0, rel=0.03)
    assert count[0].var() == pytest.approx(3.0, rel=0.08)  # Poisson
    assert money[0].mean() == pytest.approx(3.0 * 200.0, rel=0.03)
