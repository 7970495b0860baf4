"""Running an import: batches, progress, resumption, the error report.

* **Checked before writing.** The file was read and checked whole (encoding, header) by the
  file adapter; the mapping is checked against the file's columns and the kind's required
  fields before the first batch. Any problem there fails the import with nothing written.
* **Atomic batches.** Each batch of rows is written in one transaction together with the
  job's progress and the batch's rejected rows. A crash (even ``kill -9``) loses at most the
  batch in flight, and leaves nothing of it behind.
* **Resumable.** A job is identified by the kind, the file's content and the mapping. Running
  the same import again while its job is unfinished continues after the last committed
  batch. Running it after it finished starts a new job, whose rows all replay as unchanged:
  importing the same file twice creates nothing new.
* **Bad rows never stop good rows.** They are counted as rejected and kept, with row number,
  column, value and reason, for the error report.
* **Two CPUs.** Large imports of kinds that stage their work (leads) prepare the next
  batches in a worker process while this one writes (``preparation.py``).
"""

from __future__ import annotations

import gc
import hashlib
import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from typing import Any

from leadfunnel.domain.errors import StorageError, ValidationError
from leadfunnel.domain.ids import new_id
from leadfunnel.services.imports.history_rows import HistoryRows
from leadfunnel.services.imports.kinds import (
    BatchContext,
    BatchResult,
    ImportKind,
    StagedImportKind,
)
from leadfunnel.services.imports.lead_rows import LeadRows
from leadfunnel.services.imports.mapping import ColumnMapping, RowError, auto_mapping
from leadfunnel.services.imports.preparation import Preparation, prepare_ahead
from leadfunnel.services.imports.record_rows import (
    ActivityRows,
    CampaignCostRows,
    OpportunityRows,
    TouchpointRows,
)
from leadfunnel.services.intake import MAX_ATTEMPTS
from leadfunnel.services.ports import Clock, ConcurrentWrite, Row, TabularSource, UnitOfWorkFactory

__all__ = ["KINDS", "ImportSummary", "import_errors", "run_import"]

KINDS: dict[str, ImportKind] = {
    k.name: k
    for k in (
        LeadRows(),
        HistoryRows(),
        TouchpointRows(),
        ActivityRows(),
        OpportunityRows(),
        CampaignCostRows(),
    )
}
Progress = Callable[[int, int], None]
#: Imports this long get a worker process by default (a shorter one is over before it starts).
_WORKERS_FROM_ROWS = 5000
_COUNTERS = ("created", "merged", "unchanged", "rejected")


@dataclass
class ImportSummary:
    job_id: uuid.UUID
    kind: str
    file: str
    total_rows: int
    created: int = 0
    merged: int = 0
    unchanged: int = 0
    rejected: int = 0
    resumed_from_row: int = 0
    ignored_columns: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "job_id": str(self.job_id)}


def _kind(name: str) -> ImportKind:
    if name not in KINDS:
        raise ValidationError(
            "kind", f"unknown import kind '{name}'; expected one of: {', '.join(KINDS)}"
        )
    return KINDS[name]


def run_import(
    *,
    uow_factory: UnitOfWorkFactory,
    source: TabularSource,
    kind: str,
    mapping: ColumnMapping | None,
    actor: str,
    clock: Clock,
    default_region: str,
    batch_size: int = 1000,
    progress: Progress | None = None,
    workers: int | None = None,
) -> ImportSummary:
    """Import ``source`` as ``kind`` (see the module docstring for the guarantees).

    ``workers``: processes preparing batches ahead of the writer, for kinds that stage their
    work (see :func:`~leadfunnel.services.imports.preparation.prepare_ahead`); by default
    one for an import of at least :data:`_WORKERS_FROM_ROWS` rows on a machine with more than
    one CPU. ``0`` prepares each batch in this process. What is stored is the same.
    """
    spec = _kind(kind)
    if not 1 <= batch_size <= 50_000:
        raise ValidationError("batch_size", f"must be between 1 and 50000, got {batch_size}")
    ignored: list[str] = []
    if mapping is None:
        mapping, ignored = auto_mapping(spec.fields, source.columns, kind=kind)
    mapping.check(kind=kind, fields=spec.fields, required=spec.required, columns=source.columns)
    region = str(mapping.options.get("default_region", default_region)).upper()
    fingerprint = hashlib.sha256(
        f"{kind}:{source.fingerprint}:{mapping.fingerprint}".encode()
    ).hexdigest()
    job = _Job(uow_factory, spec, mapping, actor, clock, region)
    job.open(source, fingerprint, batch_size)
    summary = job.summary(source, ignored)
    pending = list(source.rows(start=job.row["rows_done"]))
    broken = (
        [RowError(n, "(row)", None, why) for n, why in source.broken_rows]
        if not job.row["rows_done"]
        else []
    )
    batches = [pending[i : i + batch_size] for i in range(0, len(pending), batch_size)] or [[]]
    preparation = Preparation(spec, mapping, region)
    if workers is None:
        workers = 1 if len(pending) >= _WORKERS_FROM_ROWS and (os.cpu_count() or 1) > 1 else 0
    with closing(
        prepare_ahead(preparation, batches, clock, workers if preparation.staged else 0)
    ) as prepared:
        for index, (chunk, (payload, rejected)) in enumerate(zip(batches, prepared, strict=True)):
            job.write(
                payload,
                (broken if index == 0 else []) + rejected,
                done=len(chunk),
                last=index == len(batches) - 1,
            )
            if progress:
                progress(job.row["rows_done"] + len(source.broken_rows), source.total_rows)
    for name in _COUNTERS:
        setattr(summary, name, job.row[name])
    return summary


class _Job:
    """One import job's row, and writing a batch together with the job's progress."""

    def __init__(self, uow_factory: UnitOfWorkFactory, spec: ImportKind, mapping: ColumnMapping,
                 actor: str, clock: Clock, region: str) -> None:  # fmt: skip
        self.uow_factory, self.spec, self.mapping = uow_factory, spec, mapping
        self.actor, self.clock, self.region = actor, clock, region
        self.row: Row = {}

    def open(self, source: TabularSource, fingerprint: str, batch_size: int) -> None:
        """Resume the unfinished job for this fingerprint, or start a new one."""
        with self.uow_factory() as uow:
            jobs = uow.records.select_in("import_jobs", "fingerprint", [fingerprint])
            running = [j for j in jobs if j["status"] == "running"]
            if running:
                self.row = running[0]
                return
            now = self.clock()
            self.row = {"id": new_id(), "kind": self.spec.name, "file_name": source.name[:500],
                        "fingerprint": fingerprint, "status": "running", "batch_size": batch_size,
                        "total_rows": source.total_rows, "rows_done": 0, "created": 0, "merged": 0,
                        "unchanged": 0, "rejected": 0, "actor": self.actor, "started_at": now,
                        "updated_at": now, "finished_at": None}  # fmt: skip
            uow.records.insert("import_jobs", [self.row])
            uow.commit()

    def summary(self, source: TabularSource, ignored: list[str]) -> ImportSummary:
        return ImportSummary(self.row["id"], self.spec.name, source.name, source.total_rows,
                             resumed_from_row=self.row["rows_done"], ignored_columns=ignored)  # fmt: skip

    def write(self, payload: Any, rejected: list[RowError], *, done: int, last: bool) -> None:
        """Write one prepared batch, its rejected rows and the job's progress in one
        transaction."""
        with _collector_paused():
            self._write(payload, rejected, done=done, last=last)

    def _write(self, payload: Any, rejected: list[RowError], *, done: int, last: bool) -> None:
        for _ in range(MAX_ATTEMPTS):
            try:
                with self.uow_factory(bulk=True) as uow:
                    now = self.clock()
                    ctx = BatchContext(
                        uow, self.mapping, self.actor, now, self.region, self.row["id"]
                    )
                    if isinstance(self.spec, StagedImportKind):
                        result = self.spec.write_prepared(ctx, payload)
                    else:
                        result = self.spec.write(ctx, payload) if payload else BatchResult()
                    errors = rejected + result.errors
                    uow.records.insert("import_errors", [
                        {"id": new_id(), "job_id": self.row["id"], "row_number": e.row,
                         "column_name": e.column[:200], "value": e.value, "reason": e.reason}
                        for e in errors
                    ])  # fmt: skip
                    update = {"created": self.row["created"] + result.created,
                              "merged": self.row["merged"] + result.merged,
                              "unchanged": self.row["unchanged"] + result.unchanged,
                              "rejected": self.row["rejected"] + len(errors),
                              "rows_done": self.row["rows_done"] + done, "updated_at": now,
                              "status": "completed" if last else "running", "finished_at": now if last else None}  # fmt: skip
                    uow.records.update(
                        "import_jobs", [{**self.row, **update}], columns=tuple(update)
                    )
                    uow.commit()
            except ConcurrentWrite:
                continue
            self.row.update(update)
            return
        raise StorageError(
            "the import kept colliding with concurrent writes; run it again to resume"
        )


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cycle collector paused while a batch is written. A batch allocates tens of
    thousands of rows, values and ids, which would set off a collection every few hundred
    (each pass over every object the import holds, its source rows among them): a sixth of
    the writer's time. The batch's objects hold no cycles; they are freed as it ends, and
    the collector runs again after it."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def import_errors(*, uow_factory: UnitOfWorkFactory, job_id: uuid.UUID) -> list[Row]:
    """The rejected rows of a job, by row number: what the error report holds."""
    with uow_factory(write=False) as uow:
        rows = uow.records.select_in("import_errors", "job_id", [job_id])
    return sorted(rows, key=lambda r: (r["row_number"], r["column_name"]))
