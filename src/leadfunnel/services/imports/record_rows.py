"""Import kinds for records attached to leads, and campaign costs.

* ``touchpoints``: lead, ``kind``, ``at``; optional ``channel``, ``campaign``, ``url`` and
  ``properties.*`` columns. A touch equal to a stored one (lead, kind, time) is unchanged.
  A new touch moves its lead's first and last touch as an intake merge does: the last touch
  when at least as recent, the first touch (and acquisition channel and campaign, unless
  the touch's channel is ``unknown`` and the lead's is known) when older.
* ``activities``: lead, ``kind`` (call, email, meeting, note, chat, task), ``at``; optional
  ``subject``, ``body``, ``user`` (id in the source system or email). Same duplicate rule.
* ``opportunities``: lead, ``name``, ``amount``, ``created_at``; optional ``currency``
  (default USD), ``stage`` (a pipeline stage; default the first open one,
  ``qualification``), ``expected_close``, ``closed_at``, ``lost_reason``, ``owner``. A
  ``won`` or ``lost`` deal needs ``closed_at`` (not before ``created_at``), a ``lost`` one a
  ``lost_reason`` (the rule deal moves follow); an open deal has no ``closed_at``.
  Unchanged when the lead already has one with the same name and creation time.
* ``campaign-costs``: ``campaign``, ``day``, ``amount``; optional ``channel`` (needed to
  create a campaign not seen before) and ``currency`` (the campaign's: a EUR cost on a USD
  campaign is refused; default the campaign's, USD for a new one). ``day`` is the date as
  written (``2025-01-01T23:30:00-05:00`` is 1 January). One cost per campaign and day: a
  new amount replaces the stored one (counted as updated); a second row for the same
  campaign and day in one batch is refused, naming the first.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any

from leadfunnel.domain.errors import ValidationError
from leadfunnel.domain.ids import new_id
from leadfunnel.domain.lead import UTM_KEYS
from leadfunnel.domain.pipeline import CLOSED, OPEN_STAGES, check_opportunity_move
from leadfunnel.services.automation import after_leads_changed
from leadfunnel.services.crm import check_cost_day
from leadfunnel.services.imports.kinds import (
    LEAD_REF,
    BatchContext,
    BatchResult,
    LeadIndex,
    lead_ref,
    resolve_owners,
)
from leadfunnel.services.intake import TOUCH_COLUMNS, touch_changes
from leadfunnel.services.lead_input import parse_timestamp
from leadfunnel.services.money import parse_amount, parse_currency
from leadfunnel.services.normalise import channel_from_utm, normalise_channel, parse_utm
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
    """A calendar day as written: a time's date in its own offset, so
    ``2025-01-01T23:30:00-05:00`` is 1 January (in UTC it is already 2 January)."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip()
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).date()
    except ValueError:
        raise ValidationError(field, f"'{text}' is not an ISO 8601 date or time") from None


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


_TOUCHED_COLUMNS = (
    *(f"first_{c}" for c in TOUCH_COLUMNS), *(f"last_{c}" for c in TOUCH_COLUMNS),
    "channel", "campaign", "updated_at", "version",
)  # fmt: skip


def _touch_changes(lead: Row, touch: Row) -> dict[str, Any]:
    """What an imported touch changes on its lead: what an intake merge changes
    (:func:`~leadfunnel.services.intake.touch_changes`). A touch without a channel takes it
    from its URL's UTM medium, as intake does."""
    utm = parse_utm(touch["url"])
    channel = touch["channel"] or channel_from_utm(utm)
    values = (touch["at"], channel, touch["campaign"], touch["url"],
              *(getattr(utm, k) for k in UTM_KEYS))  # fmt: skip
    return touch_changes(lead, values)


class TouchpointRows:
    name: str = "touchpoints"
    fields: tuple[str, ...] = (*LEAD_REF, "kind", "at", "channel", "campaign", "url")
    required: tuple[tuple[str, ...], ...] = (LEAD_REF, ("kind",), ("at",))

    def write(self, ctx: BatchContext, rows: Rows) -> BatchResult:
        result = BatchResult()
        leads: dict[uuid.UUID, Row] = {}

        def build(lead: Row, f: dict[str, Any]) -> Row:
            leads[lead["id"]] = lead
            return {"id": new_id(), "lead_id": lead["id"], "kind": _slug(f["kind"], "kind"),
                    "channel": normalise_channel(str(f["channel"])) if f.get("channel") else None,
                    "campaign_id": None, "campaign": f.get("campaign"), "url": f.get("url"),
                    "at": parse_timestamp(f["at"], field="at"), "properties": dict(f.get("properties") or {})}  # fmt: skip

        built = _lead_rows(ctx, rows, result, build)
        fresh = _insert_new(
            ctx, "touchpoints", built, lambda r: (r["lead_id"], r["kind"], r["at"]), result
        )
        touched = {}
        for touch in sorted(fresh, key=lambda r: r["at"]):
            lead = leads[touch["lead_id"]]
            lead.update(
                _touch_changes(lead, touch), updated_at=ctx.now, version=lead["version"] + 1
            )
            touched[lead["id"]] = lead
        ctx.uow.records.update("leads", list(touched.values()), columns=_TOUCHED_COLUMNS)
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
            created = parse_timestamp(f["created_at"], field="created_at")
            stage, closed, lost_reason = _deal_state(f, created)
            return {"id": new_id(), "lead_id": lead["id"], "account_id": lead["account_id"], "owner_id": owner,
                    "name": str(f["name"])[:200], "amount": parse_amount(f["amount"], field="amount"),
                    "currency": parse_currency(f.get("currency")), "stage": stage,
                    "expected_close": _day(f["expected_close"], "expected_close") if f.get("expected_close") else None,
                    "lost_reason": lost_reason, "closed_at": closed,
                    "created_at": created, "updated_at": ctx.now, "version": 1}  # fmt: skip

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


def _deal_state(f: dict[str, Any], created: datetime) -> tuple[str, datetime | None, str | None]:
    """A deal row's stage, close time and lost reason, checked as a deal move would be.

    ``stage`` is a pipeline stage (default ``qualification``, the first open one); ``won``
    and ``lost`` need ``closed_at``, not before ``created_at``; ``lost`` needs a
    ``lost_reason``; an open deal has no ``closed_at``. A lost reason is kept on lost deals
    only, as :func:`~leadfunnel.services.opportunities.move_opportunity` keeps it.
    """
    stage = str(f.get("stage") or OPEN_STAGES[0]).strip().lower()
    reason = str(f.get("lost_reason") or "").strip() or None
    try:  # the rules of a move from nowhere: a pipeline stage, and a lost deal says why
        check_opportunity_move("", stage, reason)
    except ValidationError as exc:
        raise ValidationError("stage" if exc.field == "to" else exc.field, exc.reason) from None
    closed = parse_timestamp(f["closed_at"], field="closed_at") if f.get("closed_at") else None
    if stage in CLOSED and closed is None:
        raise ValidationError("closed_at", f"a {stage} deal needs the time it closed")
    if stage not in CLOSED and closed is not None:
        raise ValidationError(
            "closed_at", f"the deal is open ('{stage}'): only won and lost deals have a close time"
        )
    if closed is not None and closed < created:
        raise ValidationError(
            "closed_at", f"{closed.isoformat()} is before created_at ({created.isoformat()})"
        )
    return stage, closed, reason[:200] if reason and stage == "lost" else None


def _cost_currency(value: Any, campaign: Row) -> str:
    """A cost's currency: its campaign's (costs are summed per campaign, unconverted), which
    is also the default."""
    if not value:
        return str(campaign["currency"])
    code = parse_currency(value)
    if code != campaign["currency"]:
        raise ValidationError(
            "currency",
            f"{code} is not the campaign's currency: its costs are in {campaign['currency']}",
        )
    return code


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
        rows_of: dict[tuple[uuid.UUID, date], int] = {}  # the row that gave each cost
        for number, f in rows:
            try:
                name = str(f["campaign"]).strip()
                amount, day = parse_amount(f["amount"], field="amount"), _day(f["day"], "day")
                check_cost_day(day, ctx.now.date())
                if name not in campaigns:
                    if not f.get("channel"):
                        raise ValidationError(
                            "channel",
                            f"campaign '{name}' is new: its channel is needed to create it",
                        )
                    campaigns[name] = {"id": new_id(), "name": name, "channel": normalise_channel(str(f["channel"])),
                                       "cost_per_day": None, "currency": parse_currency(f.get("currency")),
                                       "starts_on": None, "ends_on": None, "created_at": ctx.now}  # fmt: skip
                    new_campaigns.append(campaigns[name])
                currency = _cost_currency(f.get("currency"), campaigns[name])
                key = (campaigns[name]["id"], day)
                if key in rows_of:
                    raise ValidationError(
                        "day",
                        f"row {rows_of[key]} already gives campaign '{name}' a cost for "
                        f"{day.isoformat()}: give one row per campaign and day (add them up first)",
                    )
            except ValidationError as exc:
                result.errors.append(ctx.error(number, f, exc))
                continue
            rows_of[key] = number
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
