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
  nothing; the same key with another payload is an :class:`IdempotencyConflict`. Where the
  key is kept is the caller's choice (``keys``): an idempotency record per submission (the
  API's ``Idempotency-Key``), or on the touchpoint the submission adds (an import's rows,
  which thereby write no row of their own; see :func:`apply_intake`).
* A new lead starts with a stage transition from nothing to its entry stage, so the current
  stage always equals the last transition.
* **Audit.** Each created or merged lead gets an audit entry (``lead.created``,
  ``lead.merged``), or, when the caller asks for it (an import batch), the whole batch gets
  one entry on the caller's entity, ``leads.intake``, listing the leads it created and the
  merges with what each filled: the same facts in one row instead of one per lead.

There is one mechanism, :func:`apply_intake`, which takes a batch: identities and keys are
looked up in one query each, matches are decided in memory in submission order (a later
submission in the batch merges into a lead an earlier one created), and rows are written
with one multi-row statement per table. A single submission is a batch of one.
"""

from __future__ import annotations

import hashlib
import json
import operator
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from datetime import datetime
from typing import Any, Literal, TypeAlias

from leadfunnel.domain.errors import (
    Conflict,
    DomainError,
    IdempotencyConflict,
    StorageError,
    ValidationError,
)
from leadfunnel.domain.ids import new_ids
from leadfunnel.domain.lead import UTM_KEYS, LeadDraft
from leadfunnel.services.automation import after_leads_changed
from leadfunnel.services.ports import ConcurrentWrite, Row, UnitOfWork, UnitOfWorkFactory

__all__ = [
    "TOUCH_COLUMNS",
    "IntakeItem",
    "IntakeResult",
    "apply_intake",
    "intake_batch",
    "intake_lead",
    "payload_hash",
    "touch_changes",
]

MAX_ATTEMPTS = 5
#: Where an item's idempotency key is kept (see :func:`apply_intake`).
KeyStore: TypeAlias = Literal["records", "touchpoints"]
#: Whether a submitter may change a stored lead (a row) that its submission matches.
MayMerge: TypeAlias = Callable[[Mapping[str, Any]], bool]
IDENTITIES = ("email", "phone", "external_id")
_PROFILE = (
    "email", "phone", "external_id", "first_name", "last_name", "company", "company_key", "title",
    "region", "country", "industry", "company_size", "product_interest",
)  # fmt: skip
#: A touch's columns on a lead, without their ``first_``/``last_`` prefix.
TOUCH_COLUMNS = (
    "touch_at", "channel", "campaign", "touch_url", *(f"utm_{k}" for k in UTM_KEYS),
)  # fmt: skip
#: Columns a merge may change: what a batch update writes back.
MERGE_COLUMNS = (
    *_PROFILE, "custom_fields", "channel", "campaign",
    *(f"first_{c}" for c in TOUCH_COLUMNS), *(f"last_{c}" for c in TOUCH_COLUMNS), "updated_at", "version",
)  # fmt: skip


@dataclass(frozen=True)
class IntakeItem:
    """One submission. ``request_hash`` fingerprints what was asked, for comparing a reused
    ``idempotency_key``; by default :func:`payload_hash` of the draft. A caller that knows
    the request better gives its own (an import row: its cells, see ``imports/lead_rows.py``)."""

    draft: LeadDraft
    idempotency_key: str | None = None
    request_hash: str | None = None


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

    @classmethod
    def replay(cls, stored: dict[str, Any]) -> IntakeResult:
        return cls(
            outcome=stored["outcome"],
            lead_id=uuid.UUID(stored["lead_id"]),
            touchpoint_id=uuid.UUID(stored["touchpoint_id"]),
            matched_on=stored["matched_on"],
            replayed=True,
        )


_DRAFT_FIELDS = tuple(f.name for f in fields(LeadDraft))


def payload_hash(draft: LeadDraft, source: str) -> str:
    """A stable fingerprint of what was asked, for idempotency comparison."""
    values = [getattr(draft, name) for name in _DRAFT_FIELDS]
    blob = json.dumps([source, *values], sort_keys=True, default=repr, ensure_ascii=False)
    return hashlib.sha256(blob.encode()).hexdigest()


def intake_lead(
    *,
    uow_factory: UnitOfWorkFactory,
    draft: LeadDraft,
    source: str,
    actor: str,
    now: datetime,
    idempotency_key: str | None = None,
    may_merge: MayMerge | None = None,
) -> IntakeResult:
    """Create or merge one lead in one transaction; raises what the batch reports for it.

    ``may_merge``: whether the submitter may change a stored lead it matches (e.g. a rep only
    their own leads, ``domain.access.can_write_lead``); a match it may not change is refused
    (:class:`Conflict`) with nothing written and the lead not named."""
    (outcome,) = intake_batch(
        uow_factory=uow_factory,
        items=[IntakeItem(draft, idempotency_key)],
        source=source,
        actor=actor,
        now=now,
        may_merge=may_merge,
    )
    if isinstance(outcome, DomainError):
        raise outcome
    return outcome


def intake_batch(
    *,
    uow_factory: UnitOfWorkFactory,
    items: Sequence[IntakeItem],
    source: str,
    actor: str,
    now: datetime,
    may_merge: MayMerge | None = None,
) -> list[IntakeResult | DomainError]:
    """:func:`apply_intake` in its own transaction, retried when a concurrent writer won a race."""
    for _ in range(MAX_ATTEMPTS):
        try:
            with uow_factory() as uow:
                outcomes = apply_intake(
                    uow, items, source=source, actor=actor, now=now, may_merge=may_merge
                )
                uow.commit()
                return outcomes
        except ConcurrentWrite:
            continue
    raise StorageError("intake kept colliding with concurrent writes of the same leads; try again")


def apply_intake(
    uow: UnitOfWork,
    items: Sequence[IntakeItem],
    *,
    source: str,
    actor: str,
    now: datetime,
    audit_as: tuple[str, uuid.UUID] | None = None,
    keys: KeyStore = "records",
    may_merge: MayMerge | None = None,
) -> list[IntakeResult | DomainError]:
    """Apply a batch inside an open unit of work. One outcome per item, in order: a result,
    or the error that item alone failed with (the others still apply).

    ``audit_as``: an (entity, id), such as ``("import_job", job_id)``, to record the batch as
    one ``leads.intake`` audit entry on it instead of one entry per lead.

    ``keys``: where items' idempotency keys are kept. ``"records"``: one idempotency record
    per keyed item. ``"touchpoints"``: in the properties of the touchpoint the item adds
    (``idempotency_key``, ``request_hash``), so a keyed item writes nothing more than an
    unkeyed one. A key then replays only through the lead it reached: an item that matches
    a stored lead replays when one of that lead's touchpoints carries its key (or, for keys
    stored before, an idempotency record does). For submissions that carry their identity
    in their content, as an import's rows do (the key is derived from the row), this is
    the same guarantee: the same row finds the same lead. E.g. the row ``ann@x.example,
    ACME`` imported twice: the second time it matches Ann's lead by email, finds its key on
    her touchpoint, and replays (nothing written)."""
    for item in items:
        key = item.idempotency_key
        if key is not None and not 1 <= len(key) <= 200:
            raise ValidationError("idempotency_key", "must be 1 to 200 characters")
    batch = _Batch(uow, items, source=source, actor=actor, now=now, audit_as=audit_as, keys=keys,
                   may_merge=may_merge)  # fmt: skip
    outcomes = [batch.apply(item) for item in items]
    batch.flush()
    # Score, qualify and route in the same transaction (services/automation.py).
    after_leads_changed(
        uow=uow, changed=list(batch.changed), created=list(batch.new_leads), now=now, actor=actor
    )
    return outcomes


class _Batch:
    """The in-memory state of one intake batch, flushed with one statement per table."""

    def __init__(
        self,
        uow: UnitOfWork,
        items: Sequence[IntakeItem],
        *,
        source: str,
        actor: str,
        now: datetime,
        audit_as: tuple[str, uuid.UUID] | None = None,
        keys: KeyStore = "records",
        may_merge: MayMerge | None = None,
    ):
        self.uow, self.source, self.actor, self.now = uow, source, actor, now
        self.may_merge = may_merge
        self.created_reason = f"created via {source}"
        self.keys_on_touchpoints = keys == "touchpoints"
        #: key -> (request hash, the result to replay: a stored response or this batch's)
        self.keys: dict[str, tuple[str, dict[str, Any] | IntakeResult]] = {}
        fresh = items
        if not self.keys_on_touchpoints:
            wanted = sorted({i.idempotency_key for i in items if i.idempotency_key is not None})
            self.keys = {
                k: (row["request_hash"], row["response"])
                for k, row in uow.idempotency.get_many(wanted).items()
            }
            # A submission whose key is stored replays (or conflicts) without matching a lead.
            fresh = [i for i in items if i.idempotency_key not in self.keys]
        found = uow.leads.find_by_identities(
            **{
                f"{name}s": sorted({v for i in fresh if (v := getattr(i.draft, name))})
                for name in IDENTITIES
            }
        )
        self.by_identity: dict[tuple[str, str], Row] = {}
        for lead in found:
            self._index(lead)
        if self.keys_on_touchpoints:
            self._keys_of_stored_leads(items, [lead["id"] for lead in found])
        self.new_leads: dict[uuid.UUID, Row] = {}
        self.changed: dict[uuid.UUID, Row] = {}
        self.transitions: list[Row] = []
        self.touchpoints: list[Row] = []
        self.audit: list[Row] = []
        self.new_keys: list[Row] = []
        self.audit_as = audit_as
        self.audited: dict[str, list[Any]] = {"created": [], "merged": []}  # with audit_as
        self.new_lead_values = {
            "score": None, "grade": None, "owner_id": None, "team_id": None, "in_pool": True,
            "sla_due_at": None, "account_id": None, "contact_id": None, "source": source,
            "updated_at": now, "version": 1,
        }  # fmt: skip
        # Ids are made in bulk, enough for a batch of new leads (three ids each) at a time.
        self.spare_ids: list[uuid.UUID] = []
        self.ids_at_a_time = min(max(3 * len(items) + 1, 16), 4096)

    def _keys_of_stored_leads(self, items: Sequence[IntakeItem], lead_ids: list[uuid.UUID]) -> None:
        """The keys kept on the touchpoints of the stored leads the items match, and, for
        keys stored before they were kept there, their idempotency records."""
        for kept, request_hash, lead_id, touchpoint_id in self.uow.touchpoints.intake_keys(
            lead_ids
        ):
            response = {"outcome": "merged", "lead_id": str(lead_id),
                        "touchpoint_id": str(touchpoint_id), "matched_on": None}  # fmt: skip
            self.keys[kept] = (request_hash, response)
        earlier = sorted(
            key
            for i in items
            if (key := i.idempotency_key) is not None
            and key not in self.keys
            and self._match(i.draft) is not None
        )
        for key, row in self.uow.idempotency.get_many(earlier).items():
            self.keys[key] = (row["request_hash"], row["response"])

    def _new_id(self) -> uuid.UUID:
        if not self.spare_ids:
            self.spare_ids = new_ids(self.ids_at_a_time)[::-1]  # popped in increasing order
        return self.spare_ids.pop()

    def _index(self, lead: Row) -> None:
        for name in IDENTITIES:
            if lead.get(name):
                self.by_identity[(name, lead[name])] = lead

    def _match(self, draft: LeadDraft) -> tuple[Row, str] | None:
        for name in IDENTITIES:
            value = getattr(draft, name)
            if value and (name, value) in self.by_identity:
                return self.by_identity[(name, value)], name
        return None

    def apply(self, item: IntakeItem) -> IntakeResult | DomainError:
        try:
            return self._apply(item)
        except Conflict as refused:  # raised before anything of the item was recorded
            return refused

    def _apply(self, item: IntakeItem) -> IntakeResult | DomainError:
        draft, key = item.draft, item.idempotency_key
        if key is None:
            return self._submit(draft)
        request_hash = item.request_hash or payload_hash(draft, self.source)
        if key in self.keys:
            stored_hash, response = self.keys[key]
            if stored_hash != request_hash:
                return IdempotencyConflict(key)
            if isinstance(response, IntakeResult):  # an earlier item of this batch
                return replace(response, replayed=True)
            return IntakeResult.replay(response)
        if self.keys_on_touchpoints:
            result = self._submit(draft, {"idempotency_key": key, "request_hash": request_hash})
            self.keys[key] = (request_hash, result)
            return result
        result = self._submit(draft)
        response = result.to_dict()
        self.keys[key] = (request_hash, response)
        self.new_keys.append(
            {"key": key, "request_hash": request_hash, "response": response, "created_at": self.now}
        )  # fmt: skip
        return result

    def _submit(self, draft: LeadDraft, kept: dict[str, str] | None = None) -> IntakeResult:
        """Create or merge, and record the touchpoint (with ``kept``: its idempotency key)."""
        match = self._match(draft)
        if match is not None and self.may_merge is not None and not self.may_merge(match[0]):
            raise Conflict(
                f"a lead with this {match[1]} already exists and you may not change it; "
                "its owner or a manager can add to it"
            )
        if match is None:
            lead, matched_on = self._create(draft), None
        else:
            lead, matched_on = match
            self._merge(lead, draft, matched_on)
        touchpoint_id = self._new_id()
        utm = {c: v for c, v in zip(_UTM_COLUMNS, _utm_values(draft), strict=True) if v}
        if kept:
            utm.update(kept)
        self.touchpoints.append(
            {
                "id": touchpoint_id, "lead_id": lead["id"], "kind": draft.touchpoint_kind,
                "channel": draft.channel, "campaign_id": None, "campaign": draft.campaign,
                "url": draft.landing_url, "at": draft.occurred_at, "properties": {"source": self.source, **utm},
            }
        )  # fmt: skip
        return IntakeResult(
            "created" if match is None else "merged", lead["id"], touchpoint_id, matched_on
        )

    def _audit(self, action: str, lead_id: uuid.UUID, data: dict[str, Any]) -> None:
        if self.audit_as is not None:  # one entry for the batch, at flush
            if action == "lead.created":
                self.audited["created"].append(str(lead_id))
            else:
                self.audited["merged"].append({"lead_id": str(lead_id), **data})
            return
        self.audit.append(
            {"id": self._new_id(), "at": self.now, "actor": self.actor, "action": action,
             "entity": "lead", "entity_id": lead_id, "data": data}
        )  # fmt: skip

    def _create(self, draft: LeadDraft) -> Row:
        touch, stage, at = _touch_values(draft), str(draft.stage), draft.occurred_at
        lead: Row = dict(
            zip(
                _CREATED_COLUMNS,
                (*_profile_values(draft), *touch, *touch, self._new_id(), draft.channel,
                 draft.campaign, draft.referrer, dict(draft.custom_fields), stage, at, at),
                strict=True,
            )
        )  # fmt: skip
        lead.update(self.new_lead_values)
        self.new_leads[lead["id"]] = lead
        self._index(lead)
        self.transitions.append(
            {"id": self._new_id(), "lead_id": lead["id"], "from_stage": None, "to_stage": stage,
             "at": at, "actor": self.actor, "reason": self.created_reason}
        )  # fmt: skip
        self._audit(
            "lead.created",
            lead["id"],
            {"source": self.source, "stage": stage, "channel": draft.channel},
        )
        return lead

    def _merge(self, lead: Row, draft: LeadDraft, matched_on: str) -> None:
        changes = {
            n: v
            for n, v in zip(_PROFILE, _profile_values(draft), strict=True)
            if v is not None and lead.get(n) in (None, "")
        }
        # An identity this lead lacks may belong to another lead: copying it would make one
        # person two leads' identity, so it stays where it is (the audit entry says so).
        elsewhere = [n for n in IDENTITIES if n in changes and (n, changes[n]) in self.by_identity]
        for name in elsewhere:
            del changes[name]
        filled = sorted(changes)
        if draft.custom_fields:
            merged = {**draft.custom_fields, **(lead.get("custom_fields") or {})}
            if merged != lead.get("custom_fields"):
                changes["custom_fields"] = merged
        changes.update(touch_changes(lead, _touch_values(draft)))
        changes.update(updated_at=self.now, version=lead["version"] + 1)
        lead.update(changes)
        self._index(lead)
        if lead["id"] not in self.new_leads:
            self.changed[lead["id"]] = lead
        self._audit(
            "lead.merged",
            lead["id"],
            {"matched_on": matched_on, "filled": filled, "identities_of_other_leads": elsewhere},
        )

    def flush(self) -> None:
        if self.audit_as is not None and (self.audited["created"] or self.audited["merged"]):
            entity, entity_id = self.audit_as
            self.audit.append(
                {"id": self._new_id(), "at": self.now, "actor": self.actor, "action": "leads.intake",
                 "entity": entity, "entity_id": entity_id, "data": {"source": self.source, **self.audited}}
            )  # fmt: skip
        self.uow.leads.insert_many(list(self.new_leads.values()))
        self.uow.leads.update_many(list(self.changed.values()), columns=MERGE_COLUMNS)
        self.uow.transitions.append_many(self.transitions)
        self.uow.touchpoints.add_many(self.touchpoints)
        self.uow.audit.record_many(self.audit)
        self.uow.idempotency.put_many(self.new_keys)


# Lead columns in the order the helpers below produce their values (names built once).
_UTM_COLUMNS = tuple(f"utm_{k}" for k in UTM_KEYS)
_FIRST_TOUCH = tuple(f"first_{c}" for c in TOUCH_COLUMNS)
_LAST_TOUCH = tuple(f"last_{c}" for c in TOUCH_COLUMNS)
_profile_values = operator.attrgetter(*_PROFILE)
#: What :meth:`_Batch._create` takes from the draft, in the order it lists the values.
_CREATED_COLUMNS = (
    *_PROFILE, *_FIRST_TOUCH, *_LAST_TOUCH, "id", "channel", "campaign", "referrer",
    "custom_fields", "stage", "stage_entered_at", "created_at",
)  # fmt: skip
_utm_values = operator.attrgetter(*(f"utm.{k}" for k in UTM_KEYS))


def touch_changes(lead: Mapping[str, Any], touch: Sequence[Any]) -> dict[str, Any]:
    """What a touch changes on a stored lead it merges into; ``touch``: the values of
    :data:`TOUCH_COLUMNS` (time, channel, campaign, URL, UTM). Imports of touches apply it too.

    The last touch is replaced when the touch is at least as recent; the first touch when it
    is older, and with it the acquisition channel and campaign, unless the touch's channel is
    ``unknown`` and the lead's is known (an older touch that says nothing about its channel
    does not erase a known one). Lead first touched 1 March by a webinar: a ``paid_search``
    touch of 1 February becomes its first touch and channel; one of 1 April its last touch.
    """
    at, channel, campaign = touch[0], touch[1], touch[2]
    changes: dict[str, Any] = {}
    if lead["last_touch_at"] is None or at >= lead["last_touch_at"]:
        changes.update(zip(_LAST_TOUCH, touch, strict=True))
    if lead["first_touch_at"] is None or at < lead["first_touch_at"]:
        changes.update(zip(_FIRST_TOUCH, touch, strict=True))
        if channel != "unknown" or lead["channel"] == "unknown":
            changes.update(channel=channel, campaign=campaign)
    return changes


def _touch_values(draft: LeadDraft) -> tuple[Any, ...]:
    """The values of :data:`TOUCH_COLUMNS` (a touch's columns, without their first_/last_ prefix)."""
    return (
        draft.occurred_at,
        draft.channel,
        draft.campaign,
        draft.landing_url,
        *_utm_values(draft),
    )
