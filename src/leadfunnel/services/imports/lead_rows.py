"""Import kind ``leads``: every row goes through intake, exactly as an API submission.

Each row gets an idempotency key derived from its mapped content, so importing the same
rows again (a second run, or a resumed one) replays the first results and writes nothing.
What the row asked for is fingerprinted as its key plus the default region its phones are
read in: a row without ``occurred_at`` (taken as the time of import) still replays when the
file is imported again later, while the same cells read in another region are a conflict.

Idempotency is recorded per batch, not per row:

* **A batch key.** A batch that changed something stores one idempotency record, keyed by
  the fingerprints of its rows in order (``import:leads:batch:<sha256>``), in its own
  transaction. The same batch again (the same file re-run with the same batch size, or a
  batch of an edited file that the edit did not touch) finds it and replays whole: its rows
  are unchanged, nothing is looked up or written.
* **Row keys on touchpoints.** Any other batch runs its rows through intake, which keeps
  each row's key on the touchpoint the row adds (``keys="touchpoints"`` in
  :func:`~leadfunnel.services.intake.apply_intake`) instead of in a record of its own. A
  row that matches a stored lead carrying its key replays: a file re-imported with another
  batch size, or a second file repeating some rows, adds nothing for them; an edited row
  merges (a new touchpoint, the fields it fills).

E.g. 2,500 rows in batches of 1,000, then the time of the 1,501st row corrected and the
file imported again: batches 1 and 3 replay by their records; batch 2 runs, its 999 other
rows replay by the keys on their leads' touchpoints, and the edited row merges: ``0
created, 1 merged, 2,499 unchanged`` (docs/how-to/import.md).

A batch is audited as one ``leads.intake`` entry on its import job (what it created and
merged), not one entry per lead.

The work is staged (:class:`~leadfunnel.services.imports.kinds.StagedImportKind`):
:meth:`LeadRows.prepare` parses, normalises and fingerprints rows without touching
storage; :meth:`LeadRows.write_prepared` runs intake on them in the batch's transaction.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import operator
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from leadfunnel.domain.errors import DomainError, IdempotencyConflict, ValidationError
from leadfunnel.domain.lead import LeadDraft
from leadfunnel.services.imports.kinds import BatchContext, BatchResult, ParsedRow, row_error
from leadfunnel.services.imports.mapping import ColumnMapping, RowError
from leadfunnel.services.intake import IntakeItem, apply_intake
from leadfunnel.services.lead_input import LEAD_INPUT_FIELDS, parse_lead_input

__all__ = ["LeadRows", "PreparedLeads"]

#: Why a row whose key (its content) was imported before with another default region is
#: refused: the earlier import stands, a row is never applied twice.
_IMPORTED_DIFFERENTLY = (
    "this row was imported before with another default region (phones are read in it), and "
    "that import stands; to change the lead, change it (leadfunnel lead, the API or the "
    "dashboard) or import a row with the new values"
)


def _row_key(fields: dict[str, Any]) -> str:
    digest = hashlib.sha256(_KEY_ENCODER.encode(fields).encode()).hexdigest()
    return f"import:leads:{digest}"


# ``json.dumps(fields, sort_keys=True, default=str)``, with one encoder for every row.
_KEY_ENCODER = json.JSONEncoder(sort_keys=True, default=str)


def _request_hash(key: str, default_region: str) -> str:
    return hashlib.sha256(f"{default_region}:{key}".encode()).hexdigest()


def _batch_key(items: Sequence[IntakeItem]) -> tuple[str, str]:
    """The key of a batch's idempotency record, and its digest: the request hashes of its
    rows in order (each a row key and the default region)."""
    digest = hashlib.sha256("".join(i.request_hash or "" for i in items).encode()).hexdigest()
    return f"import:leads:batch:{digest}", digest


@dataclass
class PreparedLeads:
    """A batch of lead rows parsed and fingerprinted: intake items with their row numbers,
    and the rows that failed validation.

    It pickles compactly (each draft as a tuple of its values), because it travels from a
    worker process to the writer, and unpickling a dataclass per row would cost the writer
    about half of what parsing the row in place costs.
    """

    numbers: list[int] = field(default_factory=list)
    items: list[IntakeItem] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)

    def __getstate__(self) -> tuple[Any, ...]:
        items = [(_draft_values(i.draft), i.idempotency_key, i.request_hash) for i in self.items]
        return self.numbers, items, self.errors

    def __setstate__(self, state: tuple[Any, ...]) -> None:
        self.numbers, items, self.errors = state
        self.items = [IntakeItem(LeadDraft(*values), key, h) for values, key, h in items]


_draft_values = operator.attrgetter(*(f.name for f in dataclasses.fields(LeadDraft)))


class LeadRows:
    name: str = "leads"
    fields: tuple[str, ...] = tuple(LEAD_INPUT_FIELDS)
    required: tuple[tuple[str, ...], ...] = (("email", "phone", "external_id"),)

    def prepare(
        self,
        rows: Sequence[ParsedRow],
        *,
        mapping: ColumnMapping,
        default_region: str,
        now: datetime,
    ) -> PreparedLeads:
        prepared = PreparedLeads()
        for number, fields in rows:
            try:
                draft = parse_lead_input(
                    fields, now=now, default_region=default_region, history=True
                )
            except ValidationError as exc:
                prepared.errors.append(row_error(mapping, number, fields, exc))
                continue
            key = _row_key(fields)
            prepared.items.append(IntakeItem(draft, key, _request_hash(key, default_region)))
            prepared.numbers.append(number)
        return prepared

    def write_prepared(self, ctx: BatchContext, prepared: PreparedLeads) -> BatchResult:
        result = BatchResult(errors=list(prepared.errors))
        if not prepared.items:
            return result
        batch_key, digest = _batch_key(prepared.items)
        if ctx.uow.idempotency.get_many([batch_key]):  # this batch was written before
            result.unchanged = len(prepared.items)
            return result
        audit_as = None if ctx.job_id is None else ("import_job", ctx.job_id)
        outcomes = apply_intake(
            ctx.uow,
            prepared.items,
            source="import",
            actor=ctx.actor,
            now=ctx.now,
            audit_as=audit_as,
            keys="touchpoints",
        )
        for number, outcome in zip(prepared.numbers, outcomes, strict=True):
            if isinstance(outcome, IdempotencyConflict):  # the key is derived from the row
                result.errors.append(RowError(number, "(row)", None, _IMPORTED_DIFFERENTLY))
            elif isinstance(outcome, DomainError):
                result.errors.append(RowError(number, "(row)", None, outcome.message))
            elif outcome.replayed:
                result.unchanged += 1
            elif outcome.outcome == "created":
                result.created += 1
            else:
                result.merged += 1
        # Only a batch that changed something, and that every row passed, is recorded (a
        # replayed batch counts its rows unchanged, so a row rejected by intake, such as an
        # idempotency conflict, must meet intake again).
        if (result.created or result.merged) and len(result.errors) == len(prepared.errors):
            response = {"job_id": None if ctx.job_id is None else str(ctx.job_id),
                        "rows": len(prepared.items), "created": result.created, "merged": result.merged}  # fmt: skip
            ctx.uow.idempotency.put_many(
                [{"key": batch_key, "request_hash": digest, "response": response, "created_at": ctx.now}]
            )  # fmt: skip
        return result

    def write(self, ctx: BatchContext, rows: Sequence[ParsedRow]) -> BatchResult:
        prepared = self.prepare(
            rows, mapping=ctx.mapping, default_region=ctx.default_region, now=ctx.now
        )
        return self.write_prepared(ctx, prepared)
