"""The demo use case: simulate the company's history into a store, return what it wrote."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

from leadfunnel.domain.errors import ValidationError
from leadfunnel.services.demo.batches import TableSink
from leadfunnel.services.demo.company import BRIGHTLINE
from leadfunnel.services.demo.model import CompanyModel
from leadfunnel.services.demo.simulate import simulate
from leadfunnel.services.demo.truth import truth_document
from leadfunnel.services.demo.world import create_world

__all__ = ["MAX_LEADS", "DemoResult", "build_demo"]

MAX_LEADS = 10_000_000


@dataclass(frozen=True)
class DemoResult:
    """Rows written per table, and the simulator's true parameters (the truth file)."""

    rows: dict[str, int]
    truth: dict[str, Any]


def build_demo(
    *,
    sink: TableSink,
    leads: int,
    seed: int,
    now: datetime,
    model: CompanyModel = BRIGHTLINE,
) -> DemoResult:
    """Write ``leads`` leads of simulated history ending at ``now`` into ``sink``.

    The caller owns the sink's transaction and commits it. The same ``seed``, ``leads`` and
    ``now`` write the same data, apart from the random bits of ids.
    """
    if not 1 <= leads <= MAX_LEADS:
        raise ValidationError("leads", f"must be between 1 and {MAX_LEADS:,}, got {leads}")
    if seed < 0:
        raise ValidationError("seed", f"must be 0 or more, got {seed}")
    id_rng = np.random.default_rng()  # unseeded: ids differ run to run, data does not
    world = create_world(model, leads=leads, seed=seed, now=now, id_rng=id_rng)
    rows: Counter[str] = Counter()
    for batch in simulate(world, id_rng):
        sink.write(batch)
        if batch.key is None:  # an update adds no rows
            rows[batch.table] += batch.rows
    return DemoResult(rows=dict(rows), truth=truth_document(world))
