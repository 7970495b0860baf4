"""Import idempotency on each backend: a batch record per batch, row keys on touchpoints."""

from __future__ import annotations

from leadfunnel.adapters.files.tabular import read_tabular
from leadfunnel.services.imports.runner import run_import
from tests.builders import table_counts


def _import(app, path, batch_size):
    return run_import(uow_factory=app.uow_factory, source=read_tabular(path), kind="leads", mapping=None,
                      actor="test", clock=app.clock, default_region="US", batch_size=batch_size)  # fmt: skip


def _write(path, rows):
    lines = ["email,phone,channel,occurred_at"]
    lines += [",".join(r) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_a_reimport_in_other_batches_replays_every_row_and_an_edited_row_merges(any_app, tmp_path):
    rows = [(f"r{i}@x.example", f"(415) 555-{2600 + i:04d}", "webinar", "2025-05-01T10:00:00Z")
            for i in range(30)]  # fmt: skip
    _write(tmp_path / "a.csv", rows)
    assert _import(any_app, tmp_path / "a.csv", 10).created == 30
    before = table_counts(any_app)
    again = _import(any_app, tmp_path / "a.csv", 7)  # no batch matches: rows replay by key
    assert (again.created, again.merged, again.unchanged) == (0, 0, 30)
    assert table_counts(any_app) == before
    rows[20] = (*rows[20][:3], "2025-06-01T10:00:00Z")
    _write(tmp_path / "b.csv", rows)
    edited = _import(any_app, tmp_path / "b.csv", 10)  # batches 1 and 2 replay by their records
    assert (edited.created, edited.merged, edited.unchanged) == (0, 1, 29)
    after = table_counts(any_app)
    assert after["touchpoints"] == before["touchpoints"] + 1
    assert after["leads"] == before["leads"]
