"""Import kind ``leads``: every row goes through intake, exactly as an API submission.

Each row gets an idempotency key derived from its mapped content, so importing the same
rows again (a second run, or a resumed one) replays the first results and writes nothing.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

from leadfunnel.domain.errors import DomainError, ValidationError
from leadfunnel.services.imports.kinds import BatchContext, BatchResult
from leadfunnel.services.imports.mapping import RowError
from leadfunnel.services.intake import IntakeItem, apply_intake
from leadfunnel.services.lead_input import LEAD_INPUT_FIELDS, parse_lead_input

__all__ = ["LeadRows"]


def _row_key(fields: dict[str, Any]) -> str:
    digest = hashlib.sha256(json.dumps(fields, sort_keys=True, default=str).encode()).hexdigest()
    return f"import:leads:{digest}"


class LeadRows:
    name: str = "leads"
    fields: tuple[str, ...] = tuple(LEAD_INPUT_FIELDS)
    required: tuple[tuple[str, ...], ...] = (("email", "phone", "external_id"),)

    def write(self, ctx: BatchContext, rows: Sequence[tuple[int, dict[str, Any]]]) -> BatchResult:
        result = BatchResult()
        items, numbers = [], []
        for number, fields in rows:
            try:
                draft = parse_lead_input(fields, now=ctx.now, default_region=ctx.default_region)
            except ValidationError as exc:
                result.errors.append(ctx.error(number, fields, exc))
                continue
            items.append(IntakeItem(draft, _row_key(fields)))
            numbers.append(number)
        outcomes = apply_intake(ctx.uow, items, source="import", actor=ctx.actor, now=ctx.now)
        for number, outcome in zip(numbers, outcomes, strict=True):
            if isinstance(outcome, DomainError):
                result.errors.append(RowError(number, "(row)", None, outcome.message))
            elif outcome.replayed:
                result.unchanged += 1
            elif outcome.outcome == "created":
                result.created += 1
            else:
                result.merged += 1
        return result
