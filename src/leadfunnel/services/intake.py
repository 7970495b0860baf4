"""Lead intake: the one path by which a submission becomes a lead or a touch on a lead.

Semantics (docs/concepts/intake.md has worked examples):

* **De-duplication.** A submission matches a stored lead that shares its normalised email,
  else its E.164 phone, else its external id. A match never creates a second lead: the
  submission becomes a touchpoint on the stored lead, updates its last touch (or its first
  touch, when an imported touch is older than the stored first touch) and fills profile
  fields the lead lacks. Unique indexes back this, so concurrent submissions of one person
  also end in one lead: the loser of the race retries and merges.
* **Idempotency.** With a key, the first result is stored in the same transaction. The same
  key with the same payload returns that result again (``replayed=True``) and writes
  nothing; the same key with another payload raises :class:`IdempotencyConflict`.
* A new lead starts with a stage transition from nothing to its entry stage, so the current
  stage always equals the last transition.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Literal

from leadfunnel.domain.errors import IdempotencyConflict, StorageError, ValidationError
from leadfunnel.domain.ids import new_id
from leadfunnel.domain.lead import UTM_KEYS, LeadDraft, Utm
from leadfunnel.services.ports import ConcurrentWrite, Row, UnitOfWork, UnitOfWorkFactory

__all__ = ["IntakeResult", "intake_lead", "payload_hash"]

_MAX_ATTEMPTS = 5
_IDENTITIES = ("email", "phone", "external_id")
_NO_IDENTITY: dict[str, str | None] = dict.fromkeys(_IDENTITIES)


@dataclass(frozen=True)
class IntakeResult:
    outcome: Literal["created", "merged"]
    lead_id: uuid.UUID
    touchpoint_id: uuid.UUID
    matched_on: str | None = None
    replayed: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome,
            "lead_id": str(self.lead_id),
            "touchpoint_id": str(self.touchpoint_id),
            "matched_on": self.matched_on,
            "replayed": self.replayed,
        }


def payload_hash(draft: LeadDraft, source: str) -> str:
    """A stable fingerprint of what was asked, for idempotency comparison."""
    data = asdict(draft)
    data["source"] = source
    blob = json.dumps(data, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(blob.encode()).hexdigest()


def intake_lead(
    *,
    uow_factory: UnitOfWorkFactory,
    draft: LeadDraft,
    source: str,
    actor: str,
    now: datetime,
    idempotency_key: str | None = None,
) -> IntakeResult:
    """Create or merge one lead, in one transaction, retrying when a concurrent writer won."""
    if idempotency_key is not None and not 1 <= len(idempotency_key) <= 200:
        raise ValidationError("idempotency_key", "must be 1 to 200 characters")
    request_hash = payload_hash(draft, source)
    for _ in range(_MAX_ATTEMPTS):
        try:
            with uow_factory() as uow:
                result = _intake_once(uow, draft, source, actor, now, idempotency_key, request_hash)
                uow.commit()
                return result
        except ConcurrentWrite:
            continue
    raise StorageError("intake kept colliding with concurrent writes of the same lead; try again")


def _intake_once(
    uow: UnitOfWork,
    draft: LeadDraft,
    source: str,
    actor: str,
    now: datetime,
    key: str | None,
    request_hash: str,
) -> IntakeResult:
    if key is not None:
        stored = uow.idempotency.get(key)
        if stored is not None:
            if stored["request_hash"] != request_hash:
                raise IdempotencyConflict(key)
            response = stored["response"]
            return IntakeResult(
                outcome=response["outcome"],
                lead_id=uuid.UUID(response["lead_id"]),
                touchpoint_id=uuid.UUID(response["touchpoint_id"]),
                matched_on=response["matched_on"],
                replayed=True,
            )
    match = uow.leads.find_match(
        email=draft.email, phone=draft.phone, external_id=draft.external_id
    )
    if match is None:
        lead_id = _create(uow, draft, source, actor, now)
        outcome: Literal["created", "merged"] = "created"
        matched_on = None
    else:
        lead, matched_on = match
        lead_id = lead["id"]
        _merge(uow, lead, draft, actor, now, matched_on)
        outcome = "merged"
    touchpoint_id = new_id()
    uow.touchpoints.add(
        {
            "id": touchpoint_id,
            "lead_id": lead_id,
            "kind": draft.touchpoint_kind,
            "channel": draft.channel,
            "campaign": draft.campaign,
            "url": draft.landing_url,
            "at": draft.occurred_at,
            "properties": {"source": source, **_utm_properties(draft.utm)},
        }
    )
    result = IntakeResult(outcome, lead_id, touchpoint_id, matched_on)
    if key is not None:
        uow.idempotency.put(key=key, request_hash=request_hash, response=result.to_dict(), at=now)
    return result


def _utm_properties(utm: Utm) -> dict[str, str]:
    return {f"utm_{k}": v for k, v in utm.as_dict().items()}


def _touch_columns(prefix: str, draft: LeadDraft) -> dict[str, Any]:
    cols: dict[str, Any] = {f"{prefix}_utm_{k}": getattr(draft.utm, k) for k in UTM_KEYS}
    cols[f"{prefix}_touch_at"] = draft.occurred_at
    cols[f"{prefix}_touch_url"] = draft.landing_url
    cols[f"{prefix}_channel"] = draft.channel
    cols[f"{prefix}_campaign"] = draft.campaign
    return cols


def _create(uow: UnitOfWork, draft: LeadDraft, source: str, actor: str, now: datetime) -> uuid.UUID:
    lead_id = new_id()
    row: dict[str, Any] = {
        "id": lead_id,
        **draft.profile_fields(),
        **_touch_columns("first", draft),
        **_touch_columns("last", draft),
        "channel": draft.channel,
        "campaign": draft.campaign,
        "referrer": draft.referrer,
        "custom_fields": draft.custom_fields,
        "stage": draft.stage.value,
        "stage_entered_at": draft.occurred_at,
        "source": source,
        "in_pool": True,
        "created_at": draft.occurred_at,
        "updated_at": now,
        "version": 1,
    }
    uow.leads.insert(row)
    uow.transitions.append(
        {
            "id": new_id(),
            "lead_id": lead_id,
            "from_stage": None,
            "to_stage": draft.stage.value,
            "at": draft.occurred_at,
            "actor": actor,
            "reason": f"created via {source}",
        }
    )
    uow.audit.record(
        at=now,
        actor=actor,
        action="lead.created",
        entity="lead",
        entity_id=lead_id,
        data={"source": source, "stage": draft.stage.value, "channel": draft.channel},
    )
    return lead_id


def _merge(
    uow: UnitOfWork, lead: Row, draft: LeadDraft, actor: str, now: datetime, matched_on: str
) -> None:
    changes: dict[str, Any] = {
        name: value
        for name, value in draft.profile_fields().items()
        if value is not None and lead.get(name) in (None, "")
    }
    # An identity this lead lacks may belong to another lead: copying it would make one
    # person two leads' identity, so it stays where it is (the audit entry says so).
    kept_elsewhere = [
        name
        for name in _IDENTITIES
        if name in changes
        and uow.leads.find_match(**{**_NO_IDENTITY, name: changes[name]}) is not None
    ]
    for name in kept_elsewhere:
        del changes[name]
    if draft.custom_fields:
        merged = {**draft.custom_fields, **(lead.get("custom_fields") or {})}
        if merged != lead.get("custom_fields"):
            changes["custom_fields"] = merged
    if lead["last_touch_at"] is None or draft.occurred_at >= lead["last_touch_at"]:
        changes.update(_touch_columns("last", draft))
    if draft.occurred_at < lead["first_touch_at"]:
        changes.update(_touch_columns("first", draft))
        changes.update(channel=draft.channel, campaign=draft.campaign)
    changes["updated_at"] = now
    changes["version"] = lead["version"] + 1
    uow.leads.update(lead["id"], changes)
    uow.audit.record(
        at=now,
        actor=actor,
        action="lead.merged",
        entity="lead",
        entity_id=lead["id"],
        data={
            "matched_on": matched_on,
            "filled": sorted(k for k in changes if k in draft.profile_fields()),
            "identities_of_other_leads": kept_elsewhere,
        },
    )
