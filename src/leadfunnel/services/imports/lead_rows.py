"""Import kind ``leads``: every row goes through intake, exactly as an API submission.

Each row gets an idempotency key derived from its mapped content, so importing the same
rows again (a second run, or a resumed one) replays the first results and writes nothing.
What the row asked for is fingerprinted as its key plus the default region its phones are
read in: a row without ``occurred_at`` (taken as the time of import) still replays when the
file is imported again later, while the same cells read in another region are a conflict.

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

from leadfunnel.domain.errors import DomainError, ValidationError
from leadfunnel.domain.lead import LeadDraft
from leadfunnel.services.imports.kinds import BatchContext, BatchResult, ParsedRow, row_error
from leadfunnel.services.imports.mapping import ColumnMapping, RowError
from leadfunnel.services.intake import IntakeItem, apply_intake
from leadfunnel.services.lead_input import LEAD_INPUT_FIELDS, parse_lead_input

__all__ = ["LeadRows", "PreparedLeads"]


def _row_key(fields: dict[str, Any]) -> str:
    digest = hashlib.sha256(_KEY_ENCODER.encode(fields).encode()).hexdigest()
    return f"import:leads:{digest}"


# ``json.dumps(fields, sort_keys=True, default=str)``, with one encoder for every row.
_KEY_ENCODER = json.JSONEncoder(sort_keys=True, default=str)


def _request_hash(key: str, default_region: str) -> str:
    return hashlib.sha256(f"{default_region}:{key}".encode()).hexdigest()


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
                draft = parse_lead_input(fields, now=now, default_region=default_region)
            except ValidationError as exc:
                prepared.errors.append(row_error(mapping, number, fields, exc))
                continue
            key = _row_key(fields)
            prepared.items.append(IntakeItem(draft, key, _request_hash(key, default_region)))
            prepared.numbers.append(number)
        return prepared

    def write_prepared(self, ctx: BatchContext, prepared: PreparedLeads) -> BatchResult:
        result = BatchResult(errors=list(prepared.errors))
        audit_as = None if ctx.job_id is None else ("import_job", ctx.job_id)
        outcomes = apply_intake(
            ctx.uow,
            prepared.items,
            source="import",
            actor=ctx.actor,
            now=ctx.now,
            audit_as=audit_as,
        )
        for number, outcome in zip(prepared.numbers, outcomes, strict=True):
            if isinstance(outcome, DomainError):
                result.errors.append(RowError(number, "(row)", None, outcome.message))
            elif outcome.replayed:
                result.unchanged += 1
            elif outcome.outcome == "created":
                result.created += 1
            else:
                result.merged += 1
        return result

    def write(self, ctx: BatchContext, rows: Sequence[ParsedRow]) -> BatchResult:
        prepared = self.prepare(
            rows, mapping=ctx.mapping, default_region=ctx.default_region, now=ctx.now
        )
        return self.write_prepared(ctx, prepared)
