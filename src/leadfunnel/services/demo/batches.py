"""What the simulator hands to storage: column-wise batches of rows for one table.

A batch is ``table -> {column: array}`` with arrays of equal length. Values are in neutral
form and the storage adapter encodes them for its database:

=========================  ==================================================================
column kind                array
=========================  ==================================================================
id / foreign key (UUID)    ``str`` of 32 lowercase hex digits (``None`` for NULL)
time (UTC)                 ``datetime64[us]``, microseconds since the Unix epoch, UTC
date                       ``datetime64[D]``
money                      ``float64`` rounded to cents
flag                       ``bool``
integer                    ``int64``
text, JSON document        ``str`` (JSON already serialised), ``None`` for NULL
=========================  ==================================================================

A batch with ``key`` set is an update: each row sets its other columns on the stored row
whose ``key`` column equals its value (used once, to make team managers point at users
inserted after their teams).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

__all__ = ["Columns", "TableBatch", "TableSink", "null_unless", "object_array", "with_null"]

Columns = Mapping[str, npt.NDArray[Any]]


@dataclass(frozen=True)
class TableBatch:
    table: str
    columns: Columns
    key: str | None = None
    rows: int = field(init=False)

    def __post_init__(self) -> None:
        lengths = {name: len(values) for name, values in self.columns.items()}
        if len(set(lengths.values())) > 1:
            raise ValueError(f"columns of {self.table} differ in length: {lengths}")
        object.__setattr__(self, "rows", next(iter(lengths.values()), 0))


class TableSink(Protocol):
    """Where batches go: one transaction, committed by whoever opened it."""

    def write(self, batch: TableBatch) -> None: ...


def object_array(values: list[Any]) -> npt.NDArray[np.object_]:
    """A 1-d object array of ``values`` (numpy would make a 2-d array of equal tuples)."""
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def with_null(values: npt.NDArray[Any] | list[Any]) -> npt.NDArray[np.object_]:
    """``values`` and a trailing None: indexing it with -1 gives NULL."""
    out = np.empty(len(values) + 1, dtype=object)
    out[:-1] = values
    out[-1] = None
    return out


def null_unless(keep: npt.NDArray[np.bool_], values: npt.NDArray[Any]) -> npt.NDArray[np.object_]:
    """``values`` where ``keep`` holds, None (NULL) elsewhere."""
    out = np.full(len(keep), None, dtype=object)
    out[keep] = values[keep]
    return out
