"""What every import kind shares: the batch context, the result, and finding the leads and
users that rows refer to.

A row refers to its lead by ``external_id``, ``email`` or ``phone`` (normalised the way
intake normalises them), and to a user (owner) by the user's ``external_id`` or email.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, TypeVar, runtime_checkable

from leadfunnel.domain.errors import ValidationError
from leadfunnel.domain.ids import new_id
from leadfunnel.services.imports.mapping import ColumnMapping, RowError
from leadfunnel.services.normalise import normalise_email, normalise_phone
from leadfunnel.services.ports import Row, UnitOfWork

__all__ = [
    "LEAD_REF",
    "BatchContext",
    "BatchResult",
    "ImportKind",
    "LeadIndex",
    "StagedImportKind",
    "resolve_owners",
    "row_error",
]

LEAD_REF = ("external_id", "email", "phone")
ParsedRow = tuple[int, dict[str, Any]]
Prepared = TypeVar("Prepared")


@dataclass
class BatchContext:
    uow: UnitOfWork
    mapping: ColumnMapping
    actor: str
    now: datetime
    default_region: str
    job_id: uuid.UUID | None = None  # the import job the batch belongs to

    def error(self, number: int, fields: dict[str, Any], exc: ValidationError) -> RowError:
        """A row error naming the source column of the field ``exc`` is about."""
        return row_error(self.mapping, number, fields, exc)


def row_error(
    mapping: ColumnMapping, number: int, fields: dict[str, Any], exc: ValidationError
) -> RowError:
    """A row error naming the source column of the field ``exc`` is about."""
    base = exc.field.split(".")[0]
    value = fields.get(base)
    return RowError(
        number, mapping.source_of(base), None if value is None else str(value), exc.reason
    )


@dataclass
class BatchResult:
    created: int = 0
    merged: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)


class ImportKind(Protocol):
    name: str
    fields: tuple[str, ...]
    required: tuple[tuple[str, ...], ...]

    def write(self, ctx: BatchContext, rows: Sequence[ParsedRow]) -> BatchResult: ...


@runtime_checkable
class StagedImportKind(ImportKind, Protocol[Prepared]):
    """A kind whose per-row work before any storage access (parsing, normalising,
    fingerprinting) is a separate, pure step, so the runner can do it for the next batches
    in worker processes while it writes this one.

    ``write(ctx, rows)`` must equal ``write_prepared(ctx, prepare(rows, ...))``; ``prepare``
    must be picklable with its arguments and result, and must not depend on storage.
    """

    def prepare(
        self,
        rows: Sequence[ParsedRow],
        *,
        mapping: ColumnMapping,
        default_region: str,
        now: datetime,
    ) -> Prepared: ...

    def write_prepared(self, ctx: BatchContext, prepared: Prepared) -> BatchResult: ...


def lead_ref(fields: dict[str, Any], default_region: str) -> tuple[str, str]:
    """The identity a row names its lead by, normalised; raises naming the field."""
    for name in LEAD_REF:
        raw = fields.get(name)
        if raw is None:
            continue
        if name == "email":
            return name, normalise_email(str(raw))
        if name == "phone":
            return name, normalise_phone(str(raw), default_region)
        return name, str(raw).strip()
    raise ValidationError("lead", "the row names no lead (external_id, email or phone)")


class LeadIndex:
    """The leads a batch refers to, fetched in one query."""

    def __init__(self, ctx: BatchContext, refs: Sequence[tuple[str, str]]) -> None:
        wanted: dict[str, set[str]] = {name: set() for name in LEAD_REF}
        for name, value in refs:
            wanted[name].add(value)
        found = ctx.uow.leads.find_by_identities(
            emails=sorted(wanted["email"]),
            phones=sorted(wanted["phone"]),
            external_ids=sorted(wanted["external_id"]),
        )
        self._by_ref = {
            (name, lead[name]): lead for lead in found for name in LEAD_REF if lead.get(name)
        }

    def find(self, ref: tuple[str, str]) -> Row | None:
        return self._by_ref.get(ref)

    def get(self, ref: tuple[str, str]) -> Row:
        lead = self._by_ref.get(ref)
        if lead is None:
            raise ValidationError(
                ref[0], f"no lead has {ref[0]} '{ref[1]}'; import the leads first"
            )
        return lead


def resolve_owners(ctx: BatchContext, refs: set[str]) -> dict[str, uuid.UUID | ValidationError]:
    """Users by external id or email. Unknown ones are created as reps when the mapping sets
    ``create_missing_owners`` (email ``<id>@imported.invalid``), else they are errors."""
    if not refs:
        return {}
    users = ctx.uow.records.select_in("users", "external_id", sorted(refs))
    users += ctx.uow.records.select_in("users", "email", sorted(r.lower() for r in refs))
    found: dict[str, uuid.UUID | ValidationError] = {}
    for user in users:
        for key in (user["external_id"], user["email"]):
            if key:
                found[key] = user["id"]
    create = bool(ctx.mapping.options.get("create_missing_owners"))
    new_users = []
    for ref in sorted(refs):
        if ref in found or ref.lower() in found:
            found.setdefault(ref, found.get(ref.lower()) or found[ref])
            continue
        if not create:
            found[ref] = ValidationError(
                "owner", f"no user has id or email '{ref}' (set options.create_missing_owners)"
            )
            continue
        user_id = new_id()
        new_users.append(
            {"id": user_id, "email": f"{ref.lower()}@imported.invalid", "external_id": ref, "name": ref,
             "role": "rep", "team_id": None, "password_hash": None, "timezone": "UTC", "active": True,
             "created_at": ctx.now}
        )  # fmt: skip
        found[ref] = user_id
    ctx.uow.records.insert("users", new_users)
    return found
