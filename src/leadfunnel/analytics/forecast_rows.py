"""The open deals of a forecast, one row each, kept as columns until a row is read.

A forecast of 100,000 open deals works on their amounts, probabilities and groups as arrays
(the simulation, the sums per group, the category roll-ups); building 100,000 row objects
for them cost more than learning the probabilities. So :func:`deal_rows` keeps the columns
and :class:`Rows` builds a :class:`DealForecast` when one is read (by index, slice or
iteration); what is read is exactly what the per-deal rows were.

    >>> rows = Rows(3, lambda i: i * 10)
    >>> (len(rows), rows[-1], rows[:2], list(rows) == [0, 10, 20])
    (3, 20, [0, 10], True)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from operator import attrgetter
from typing import Any, TypeVar, overload

import numpy as np
import numpy.typing as npt

from leadfunnel.analytics.forecast_categories import category_disagreement, category_rank
from leadfunnel.analytics.forecast_data import Deal, day_time
from leadfunnel.analytics.forecast_model import CellEstimate

__all__ = ["DealForecast", "OpenDeals", "Rows", "close_dates", "deal_rows"]

T = TypeVar("T")
Floats = npt.NDArray[np.float64]
_EPOCH = date(1970, 1, 1)
_YEAR_1000 = (date(1000, 1, 1) - _EPOCH).days


class Rows(Sequence[T]):
    """A read-only sequence of ``size`` items, item ``i`` built by ``build(i)`` when read.
    Equal to any sequence with equal items in the same order. ``dicts``: every item's
    ``to_dict()`` without building the items (:meth:`to_dicts`)."""

    def __init__(
        self, size: int, build: Callable[[int], T],
        dicts: Callable[[], list[dict[str, Any]]] | None = None,
    ) -> None:  # fmt: skip
        self._size = size
        self._build = build
        self._dicts = dicts

    def to_dicts(self) -> list[dict[str, Any]]:
        """``[row.to_dict() for row in self]``."""
        if self._dicts is not None:
            return self._dicts()
        return [row.to_dict() for row in self]  # type: ignore[attr-defined]

    def __len__(self) -> int:
        return self._size

    @overload
    def __getitem__(self, index: int) -> T: ...
    @overload
    def __getitem__(self, index: slice) -> list[T]: ...
    def __getitem__(self, index: int | slice) -> T | list[T]:
        if isinstance(index, slice):
            return [self._build(i) for i in range(*index.indices(self._size))]
        if not -self._size <= index < self._size:
            raise IndexError("row index out of range")
        return self._build(index % self._size)

    def __iter__(self) -> Iterator[T]:
        return map(self._build, range(self._size))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence) or isinstance(other, str):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Rows({list(self)!r})"


@dataclass(frozen=True)
class DealForecast:
    """One open deal: its probability of being won in the period and where that came from."""

    id: str
    group: str
    owner: str
    stage: str
    days_in_stage: float
    amount: float
    probability: float
    category: str | None
    expected_close: str | None
    in_period: bool
    disagreement: str | None
    basis: str

    def to_dict(self) -> dict[str, Any]:
        return _deal_dict(self.id, self.group, self.owner, self.stage, self.days_in_stage, self.amount,
                          self.probability, self.category, self.expected_close, self.in_period,
                          self.disagreement, self.basis)  # fmt: skip


def _deal_dict(id: str, group: str, owner: str, stage: str, days_in_stage: float, amount: float,
               probability: float, category: str | None, expected_close: str | None, in_period: bool,
               disagreement: str | None, basis: str) -> dict[str, Any]:  # fmt: skip
    """:meth:`DealForecast.to_dict` of these fields (probability to 4 places, days to 1)."""
    return {"id": id, "group": group, "owner": owner, "stage": stage, "days_in_stage": round(days_in_stage, 1),
            "amount": amount, "probability": round(probability, 4), "category": category,
            "expected_close": expected_close, "in_period": in_period, "disagreement": disagreement,
            "basis": basis}  # fmt: skip


@dataclass(frozen=True)
class OpenDeals:
    """The open deals' columns the forecast adds up (deal order): amount, probability,
    group index, whether the expected close falls in the period, the category's roll-up
    rank (``forecast_categories``), each deal's index into the distinct cells."""

    amount: Floats
    probability: Floats
    group: npt.NDArray[np.int64]
    in_period: npt.NDArray[np.bool_]
    rank: npt.NDArray[np.int64]
    cell: npt.NDArray[np.int64]


def _iso_day(days: float) -> str:
    return day_time(days).date().isoformat()


def close_dates(days: Floats, text: Callable[[float], str] = _iso_day) -> list[str | None]:
    """``text(d)`` of each day number (NaN: None), by default ``day_time(d).date().isoformat()``
    (a ``text`` must agree with it from the year 1000 on), worked out once per distinct day:
    ``text`` itself only for a time within a microsecond of midnight (``day_time`` rounds to
    microseconds) or before the year 1000."""
    out: list[str | None] = [None] * len(days)
    known = np.flatnonzero(~np.isnan(days))
    whole = np.floor(days[known])
    edge = ((days[known] - whole) > 1 - 1e-6) | (whole < _YEAR_1000)
    names: dict[float, str] = {}
    for at, day, close in zip(known.tolist(), whole.tolist(), edge.tolist(), strict=True):
        if close:
            out[at] = text(float(days[at]))
            continue
        name = names.get(day)
        if name is None:
            name = names[day] = (_EPOCH + timedelta(days=day)).isoformat()
        out[at] = name
    return out


def deal_rows(
    deals: Sequence[Deal], *, cells: list[CellEstimate], cell: npt.NDArray[np.int64],
    stage: list[str], entered: Floats, amount: Floats, group: npt.NDArray[np.int64],
    group_names: Sequence[str], as_of: float, start: float, end: float,
) -> tuple[Rows[DealForecast], OpenDeals]:  # fmt: skip
    """The rows of the open ``deals`` (as known at ``as_of``; ``cells[cell[i]]`` is deal
    ``i``'s estimate, ``stage``, ``entered``, ``amount`` and ``group`` its columns) for the
    period ``[start, end)``, and the columns the forecast adds up."""
    n = len(deals)
    value = np.array([c.value for c in cells], dtype=np.float64)
    probability = value[cell] if n else np.zeros(0)
    close = np.fromiter(
        (np.nan if c is None else c for c in map(attrgetter("expected_close"), deals)),
        np.float64,
        n,
    )
    with np.errstate(invalid="ignore"):
        in_period = (start <= close) & (close < end)
    categories = list(map(attrgetter("category"), deals))
    kinds = {c: i for i, c in enumerate(dict.fromkeys(categories))}
    kind = np.fromiter(map(kinds.__getitem__, categories), np.int64, n)
    rank = np.array([category_rank(c) for c in kinds], dtype=np.int64)[kind]
    disagreement = _disagreements(list(kinds), kind, cells, cell, in_period)
    days = (as_of - entered).tolist()
    ids, owners = list(map(attrgetter("id"), deals)), list(map(attrgetter("owner"), deals))
    names = [group_names[g] for g in group.tolist()]
    closes = close_dates(close)
    amounts = list(map(attrgetter("amount"), deals))
    chances, inside = probability.tolist(), in_period.tolist()
    bases, at = [c.basis for c in cells], cell.tolist()

    def columns(i: int) -> tuple[Any, ...]:
        return (ids[i], names[i], owners[i], stage[i], days[i], amounts[i], chances[i],
                categories[i], closes[i], inside[i], disagreement[i], bases[at[i]])  # fmt: skip

    def build(i: int) -> DealForecast:
        return DealForecast(*columns(i))

    def dicts() -> list[dict[str, Any]]:
        return [_deal_dict(*columns(i)) for i in range(n)]

    return Rows(n, build, dicts), OpenDeals(amount, probability, group, in_period, rank, cell)


def _disagreements(
    kinds: list[str | None], kind: npt.NDArray[np.int64], cells: list[CellEstimate],
    cell: npt.NDArray[np.int64], in_period: npt.NDArray[np.bool_],
) -> list[str | None]:  # fmt: skip
    """:func:`category_disagreement` of each deal in the period (None outside it), worked
    out once per distinct (category, cell)."""
    out = np.full(len(kind), None, dtype=object)
    inside = np.flatnonzero(in_period)
    if len(inside):
        width = max(len(cells), 1)
        found, inverse = np.unique(kind[inside] * width + cell[inside], return_inverse=True)
        texts = np.empty(len(found), dtype=object)
        texts[:] = [category_disagreement(kinds[p // width], cells[p % width].value)
                    for p in found.tolist()]  # fmt: skip
        out[inside] = texts[inverse.reshape(-1)]
    found_list: list[str | None] = out.tolist()
    return found_list
