"""Deal builders for the forecast tests: personas and a seeded synthetic pipeline whose true
win probability and timing are known."""

from __future__ import annotations

import numpy as np

from leadfunnel.analytics.forecast_data import Deal


def won_deal(i: int, created: float, *, proposal: float | None = None, won: float, amount: float = 1000.0,
             **dims: str) -> Deal:  # fmt: skip
    """A deal that went qualification -> (proposal) -> won."""
    history = [(created, "qualification")]
    if proposal is not None:
        history.append((proposal, "proposal"))
    return Deal(f"won-{i}", amount, created, (*history, (won, "won")), **dims)


def lost_deal(i: int, created: float, *, proposal: float | None = None, lost: float, amount: float = 1000.0,
              **dims: str) -> Deal:  # fmt: skip
    history = [(created, "qualification")]
    if proposal is not None:
        history.append((proposal, "proposal"))
    return Deal(f"lost-{i}", amount, created, (*history, (lost, "lost")), **dims)


def open_deal(i: int, created: float, *, stage: str = "qualification", entered: float | None = None,
              amount: float = 1000.0, **fields: object) -> Deal:  # fmt: skip
    history = [(created, "qualification")]
    if stage != "qualification":
        history.append((entered if entered is not None else created, stage))
    return Deal(f"open-{i}", amount, created, tuple(history), **fields)  # type: ignore[arg-type]


def synthetic(n: int, *, seed: int, win: float = 0.4, span: float = 400.0, mean_days: float = 20.0,
              amounts: tuple[float, ...] = (1000.0, 5000.0, 20000.0)) -> list[Deal]:  # fmt: skip
    """``n`` deals created uniformly over ``span`` days; each closes after an exponential
    time (mean ``mean_days``), won with probability ``win``; half the lost and every won deal
    pass through proposal first. Teams, channels and products rotate."""
    rng = np.random.default_rng(seed)
    deals = []
    for i in range(n):
        created = float(rng.uniform(0, span))
        history = [(created, "qualification")]
        at = created + float(rng.exponential(mean_days / 3))
        won = bool(rng.random() < win)
        if won or rng.random() < 0.5:
            history.append((at, "proposal"))
            at += float(rng.exponential(mean_days * 2 / 3))
        history.append((at, "won" if won else "lost"))
        deals.append(Deal(f"d{i}", float(rng.choice(amounts)), created, tuple(history), owner=f"rep{i % 4}",
                          team=f"team{i % 2}", product=("suite", "hub")[i % 2], channel=("web", "ads", "ref")[i % 3]))  # fmt: skip
    return deals
