"""The lifecycle funnel over the stage history: a pure-Python reference implementation.

Semantics. A lead *reached* a step of the path ``lead -> mql -> sql -> opportunity -> won``
if it ever entered that stage **or any later stage on the path** (a lead accepted straight
from ``lead`` to ``sql`` also counts at ``mql``). For each step ``k``:

* ``reached``: leads that reached step k;
* ``converted``: leads that reached step k+1 (for the last step: none);
* ``open``: leads that reached k, not k+1, and whose current stage is still k: they may yet
  convert, so they are reported apart and never counted as dropped;
* ``dropped``: ``reached - converted - open`` (lost, disqualified, parked in nurture, ...);
* ``conversion_from_previous`` = reached(k) / reached(k-1); ``conversion_from_first`` =
  reached(k) / reached(first); ``drop_rate`` = dropped / reached(k). Ratios of zero leads are
  ``None``, not an error.

Worked example, three leads: A went lead->mql->sql->opportunity->won, B went lead->mql->
disqualified, C went lead->sql and is still in sql. Reached: lead 3, mql 3 (C skipped mql
but reached sql), sql 2, opportunity 1, won 1. At sql: converted 1 (A), open 1 (C),
dropped 0. At mql: converted 2, open 0, dropped 1 (B). Conversion sql->opportunity = 1/2.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from leadfunnel.domain.lifecycle import FUNNEL_PATH, Stage

__all__ = ["FunnelStep", "LeadPath", "lifecycle_funnel"]


@dataclass(frozen=True)
class LeadPath:
    """What the funnel needs to know of one lead: every stage it entered, and where it is."""

    entered: frozenset[str]
    current: str


@dataclass(frozen=True)
class FunnelStep:
    stage: str
    reached: int
    converted: int
    open: int
    dropped: int
    conversion_from_previous: float | None
    conversion_from_first: float | None
    drop_rate: float | None

    def to_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


def _ratio(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def lifecycle_funnel(
    leads: Iterable[LeadPath], path: Sequence[Stage] = FUNNEL_PATH
) -> list[FunnelStep]:
    """Per-step counts and rates for ``path`` (see the module docstring)."""
    index = {stage.value: i for i, stage in enumerate(path)}
    reached = [0] * len(path)
    open_at = [0] * len(path)
    for lead in leads:
        furthest = max((index[s] for s in lead.entered if s in index), default=-1)
        for i in range(furthest + 1):
            reached[i] += 1
        if furthest >= 0 and lead.current == path[furthest].value and furthest < len(path) - 1:
            open_at[furthest] += 1
    steps = []
    for i, stage in enumerate(path):
        converted = reached[i + 1] if i + 1 < len(path) else 0
        is_last = i == len(path) - 1
        dropped = 0 if is_last else reached[i] - converted - open_at[i]
        steps.append(
            FunnelStep(
                stage=stage.value,
                reached=reached[i],
                converted=converted,
                open=open_at[i],
                dropped=dropped,
                conversion_from_previous=_ratio(reached[i], reached[i - 1]) if i else None,
                conversion_from_first=_ratio(reached[i], reached[0]),
                drop_rate=None if is_last else _ratio(dropped, reached[i]),
            )
        )
    return steps
