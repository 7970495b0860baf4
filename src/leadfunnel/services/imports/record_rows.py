"""Import kinds for records attached to leads, and campaign costs.

* ``touchpoints``: lead, ``kind``, ``at``; optional ``channel``, ``campaign``, ``url`` and
  ``properties.*`` columns. A touch equal to a stored one (lead, kind, time) is unchanged.
* ``activities``: lead, ``kind`` (call, email, meeting, note, chat, task), ``at``; optional
  ``subject``, ``body``, ``user`` (id in the source system or email). Same duplicate rule.
* ``opportunities``: lead, ``name``, ``amount``, ``created_at``; optional ``currency``
  (default USD), ``stage`` (default open), ``expected_close``, ``closed_at``,
  ``lost_reason``, ``owner``. Unchanged when the lead already has one with the same name
  and creation time.
* ``campaign-costs``: ``campaign``, ``day``, ``amount``; optional ``channel`` (needed to
  create a campaign not seen before) and ``currency``. One cost per campaign and day: a
  new amount replaces the stored one (counted as updated).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

from leadfunnel.domain.errors import ValidationError
from leadfunnel.domain.ids import new_id
from leadfunnel.services.automation import after_leads_changed
from leadfunnel.services.imports.kinds import (
    LEAD_REF,
    BatchContext,
    BatchResult,
    LeadIndex,
    lead_ref,
    resolve_owners,
)
from leadfunnel.services.lead_input import parse_timestamp
from leadfunnel.services.money import parse_amount, parse_currency
from leadfunnel.services.normalise import normalise_channel
from leadfunnel.services.ports import Row
from leadfunnel.services.sla import record_response

__all__ = ["ActivityRows", "CampaignCostRows", "OpportunityRows", "TouchpointRows"]

Rows = Sequence[tuple[int, dict[str, Any]]]
_SLUG = re.compile(r"^[a-z0-9][a-z0-9_\-]{0,63}$")
_ACTIVITY_KINDS = ("call", "email", "meeting", "note", "chat", "task")


def _slug(value: Any, field: str) -> str:
    text = str(value).strip().lower()
    if not _SLUG.match(text):
        raise ValidationError(
            field, f"'{value}' must be a short name of letters, digits, '_' or '-'"
        )
    return text


def _day(value: Any, field: str) -> date:
    return parse_timestamp(value, field=field).date()


def _lead_rows(
    ctx: BatchContext, rows: Rows, result: BatchResult, build: Callable[[Row, dict[str, Any]], Row]
) -> list[tuple[int, Row]]:
    """Resolve each row's lead and build its record; failures become row errors."""
    refs = []
    for number, fields in rows:
        try:
            refs.append((number, fields, lead_ref(fields, ctx.default_region)))
        except ValidationError as exc:
            result.errors.append(ctx.error(number, fields, exc))
    leads = LeadIndex(ctx, [ref for _, _, ref in refs])
    built = []
    for number, fields, ref in refs:
        try:
            built.append((number, build(leads.get(ref), fields)))
        except ValidationError as exc:
            result.errors.append(ctx.error(number, fields, exc))
    return built


def _insert_new(
    ctx: BatchContext,
    table: str,
    built: list[tuple[int, Row]],
    key: Callable[[Row], tuple[Any, ...]],
    result: BatchResult,
) -> list[Row]:
    """Insert the records whose key is not stored yet (nor earlier in the batch); return them."""
    stored = ctx.uow.records.select_in(table, "lead_id", sorted({r["lead_id"] for _, r in built}))
    seen = {key(r) for r in stored}
    fresh = []
    for _, record in built:
        if key(record) in seen:
            result.unchanged += 1
            continue
        seen.add(key(record))
        fresh.append(record)
    ctx.uow.records.insert(table, fresh)
    result.created += len(fresh)
    return fresh


class TouchpointRows:
    name: str = "touchpoints"
    fields: tuple[str, ...] = (*LEAD_REF, "kind", "at", "channel", "campaign", "url")
    required: tuple[tuple[str, ...], ...] = (LEAD_REF, ("kind",), ("at",))

    def write(self, ctx: BatchContext, rows: Rows) -> BatchResult:
        result = BatchResult()

        def build(lead: Row, f: dict[str, Any]) -> Row:
            return {"id": new_id(), "lead_id": lead["id"], "kind": _slug(f["kind"], "kind"),
                    "channel": normalise_channel(str(f["channel"])) if f.get("channel") else None,
                    "campaign_id": None, "campaign": f.get("campaign"), "url": f.get("url"),
                    "at": parse_timestamp(f["at"], field="at"), "properties": dict(f.get("properties") or {})}  # fmt: skip

        built = _lead_rows(ctx, rows, result, build)
        fresh = _insert_new(
            ctx, "touchpoints", built, lambda r: (r["lead_id"], r["kind"], r["at"]), result
        )
        # New behaviour re-scores its leads (which may qualify them) in the batch's transaction.
        after_leads_changed(
            uow=ctx.uow, changed=sorted({r["lead_id"] for r in fresh}), now=ctx.now, actor=ctx.actor
        )
        return result


class ActivityRows:
    name: str = "activities"
    fields: tuple[str, ...] = (*LEAD_REF, "kind", "at", "subject", "body", "user")
    required: tuple[tuple[str, ...], ...] = (LEAD_REF, ("kind",), ("at",))

    def write(self, ctx: BatchContext, rows: Rows) -> BatchResult:
        result = BatchResult()
        users = resolve_owners(ctx, {str(f["user"]) for _, f in rows if f.get("user")})

        def build(lead: Row, f: dict[str, Any]) -> Row:
            kind = str(f["kind"]).strip().lower()
            if kind not in _ACTIVITY_KINDS:
                raise ValidationError(
                    "kind",
                    f"'{f['kind']}' is not an activity kind; expected one of: {', '.join(_ACTIVITY_KINDS)}",
                )
            user = users.get(str(f["user"])) if f.get("user") else None
            if isinstance(user, ValidationError):
                raise ValidationError("user", user.reason)
            return {"id": new_id(), "lead_id": lead["id"], "user_id": user, "kind": kind,
                    "at": parse_timestamp(f["at"], field="at"), "subject": f.get("subject"),
                    "body": f.get("body"), "created_at": ctx.now}  # fmt: skip

        built = _lead_rows(ctx, rows, result, build)
        fresh = _insert_new(
            ctx, "activities", built, lambda r: (r["lead_id"], r["kind"], r["at"]), result
        )
        # An owner's first call, email, meeting or chat stops the lead's first-response clock.
        leads = {
            lead["id"]: lead
            for lead in ctx.uow.records.select_in(
                "leads", "id", sorted({r["lead_id"] for r in fresh})
            )
        }
        for activity in sorted(fresh, key=lambda r: r["at"]):
            record_response(
                uow=ctx.uow,
                lead=leads[activity["lead_id"]],
                user_id=activity["user_id"],
                kind=activity["kind"],
                at=activity["at"],
            )
        return result


class OpportunityRows:
    name: str = "opportunities"
    fields: tuple[str, ...] = (
        *LEAD_REF,
        "name",
        "amount",
        "currency",
        "stage",
        "expected_close",
        "created_at",
        "closed_at",
        "lost_reason",
        "owner",
    )
    required: tuple[tuple[str, ...], ...] = (LEAD_REF, ("name",), ("amount",), ("created_at",))

    def write(self, ctx: BatchContext, rows: Rows) -> BatchResult:
        result = BatchResult()
        owners = resolve_owners(ctx, {str(f["owner"]) for _, f in rows if f.get("owner")})

        def build(lead: Row, f: dict[str, Any]) -> Row:
            owner = owners.get(str(f["owner"])) if f.get("owner") else lead["owner_id"]
            if isinstance(owner, ValidationError):
                raise owner
            closed = (
                parse_timestamp(f["closed_at"], field="closed_at") if f.get("closed_at") else None
            )
            return {"id": new_id(), "lead_id": lead["id"], "account_id": lead["account_id"], "owner_id": owner,
                    "name": str(f["name"])[:200], "amount": parse_amount(f["amount"], field="amount"),
                    "currency": parse_currency(f.get("currency")), "stage": _slug(f.get("stage") or "open", "stage"),
                    "expected_close": _day(f["expected_close"], "expected_close") if f.get("expected_close") else None,
                    "lost_reason": f.get("lost_reason"), "closed_at": closed,
                    "created_at": parse_timestamp(f["created_at"], field="created_at"), "updated_at": ctx.now, "version": 1}  # fmt: skip

        built = _lead_rows(ctx, rows, result, build)
        fresh = _insert_new(
            ctx,
            "opportunities",
            built,
            lambda r: (r["lead_id"], r["name"], r["created_at"]),
            result,
        )
        ctx.uow.records.insert("opportunity_stage_history", [
            {"id": new_id(), "opportunity_id": r["id"], "from_stage": None, "to_stage": r["stage"],
             "at": r["created_at"], "actor": ctx.actor, "reason": "imported"}
            for r in fresh
        ])  # fmt: skip
        return result


class CampaignCostRows:
    name: str = "campaign-costs"
    fields: tuple[str, ...] = ("campaign", "channel", "day", "amount", "currency")
    required: tuple[tuple[str, ...], ...] = (("campaign",), ("day",), ("amount",))

    def write(self, ctx: BatchContext, rows: Rows) -> BatchResult:
        result = BatchResult()
        names = sorted({str(f["campaign"]).strip() for _, f in rows if f.get("campaign")})
        campaigns = {c["name"]: c for c in ctx.uow.records.select_in("campaigns", "name", names)}
        costs: dict[tuple[uuid.UUID, date], Row] = {
            (c["campaign_id"], c["day"]): c
            for c in ctx.uow.records.select_in(
                "campaign_costs", "campaign_id", [c["id"] for c in campaigns.values()]
            )
        }
        new_campaigns, new_costs, changed = [], [], {}
        for number, f in rows:
            try:
                name = str(f["campaign"]).strip()
                amount, day, currency = (
                    parse_amount(f["amount"], field="amount"),
                    _day(f["day"], "day"),
                    parse_currency(f.get("currency")),
                )
                if name not in campaigns:
                    if not f.get("channel"):
                        raise ValidationError(
                            "channel",
                            f"campaign '{name}' is new: its channel is needed to create it",
                        )
                    campaigns[name] = {"id": new_id(), "name": name, "channel": normalise_channel(str(f["channel"])),
                                       "cost_per_day": None, "currency": currency, "starts_on": None, "ends_on": None,
                                       "created_at": ctx.now}  # fmt: skip
                    new_campaigns.append(campaigns[name])
            except ValidationError as exc:
                result.errors.append(ctx.error(number, f, exc))
                continue
            key = (campaigns[name]["id"], day)
            stored = costs.get(key)
            if stored is None:
                costs[key] = {
                    "id": new_id(),
                    "campaign_id": key[0],
                    "day": day,
                    "amount": amount,
                    "currency": currency,
                }
                new_costs.append(costs[key])
                result.created += 1
            elif (stored["amount"], stored["currency"]) == (amount, currency):
                result.unchanged += 1
            else:
                stored.update(amount=amount, currency=currency)
                changed[stored["id"]] = stored
                result.merged += 1
        ctx.uow.records.insert("campaigns", new_campaigns)
        ctx.uow.records.insert("campaign_costs", new_costs)
        ctx.uow.records.update(
            "campaign_costs", list(changed.values()), columns=("amount", "currency")
        )
        return result
