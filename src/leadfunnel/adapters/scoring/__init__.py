"""Column-wise scoring: every lead at once, with exactly the semantics of ``score_lead``.

The pure interpreter (``rules/``) scores one lead at a time; it stays the per-event path and
the oracle. A pass over every lead (activation, ``score run``, dry runs) runs here instead,
on polars columns, behind :class:`~leadfunnel.services.ports.BulkScorer`:

* ``store.py`` reads the columns the models read through the raw driver and writes scores
  back in bulk, in the caller's transaction;
* ``facts.py`` builds frames of lead and touch facts; ``conditions.py`` evaluates condition
  trees over them; ``scorer.py`` computes fit, capped and decayed behaviour points, grades,
  priority and qualification; ``explain.py`` builds each lead's explanation;
* ``bulk.py`` is the pass: hot leads, primary models, stage moves, threshold checks.
"""

from leadfunnel.adapters.scoring.bulk import FrameScorer

__all__ = ["FrameScorer"]
