"""First-response SLA policies: which policy a lead falls under, when it is due, its status.

Policies are tried in order, first match wins (the shared condition language, over the lead
with its score, grade and priority)::

    [[policy]]
    name = "A leads"
    when = {field = "priority", op = "eq", value = "A"}
    respond_within = "5m"            # s, m, h or d of business time
    calendar = "EMEA"                # a calendar by name; omit for round-the-clock
    max_reclaims = 2                 # breaches that reclaim the lead before it stays in the pool

The clock starts when the lead is assigned and stops at the owner's first call, email,
meeting or chat. Status: ``due`` (no response yet, deadline ahead), ``met`` (responded by
the deadline), ``breached`` (responded late, or the deadline passed without a response).

Worked example: priority A, 5 minutes on the EMEA calendar (Mon-Fri 09:00-18:00
Europe/Berlin). Assigned Friday 17:58: due Monday 09:03. A call on Monday at 09:02 meets it
with a business response time of 4 minutes, though 2 days and 15 hours passed on the clock.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from leadfunnel.domain.errors import ValidationError
from leadfunnel.rules.business_time import BusinessCalendar, deadline, elapsed
from leadfunnel.rules.conditions import Condition, FieldType, compile_condition
from leadfunnel.rules.documents import named_items
from leadfunnel.rules.scoring_model import LEAD_DYNAMIC, OUTCOME_FIELDS

__all__ = ["SlaPolicy", "SlaStatus", "parse_duration", "parse_policies", "policy_for", "sla_status"]

_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
SLA_FIELDS: Mapping[str, FieldType] = {**OUTCOME_FIELDS, "priority": FieldType.TEXT}


@dataclass(frozen=True)
class SlaPolicy:
    name: str
    when: Condition
    respond_within: timedelta
    calendar: BusinessCalendar | None
    max_reclaims: int

    def due(self, start: datetime) -> datetime:
        if self.calendar is None:
            return start + self.respond_within
        return deadline(self.calendar, start, self.respond_within)

    def response_time(self, start: datetime, responded: datetime) -> timedelta:
        """Business time from ``start`` to the response (what MTTR averages)."""
        if self.calendar is None:
            return max(responded - start, timedelta(0))
        return elapsed(self.calendar, start, responded)


@dataclass(frozen=True)
class SlaStatus:
    state: str  # due, met, breached
    due_at: datetime
    response_time: timedelta | None


def parse_duration(value: Any, where: str) -> timedelta:
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd])\s*", str(value))
    if not match:
        raise ValidationError(where, f"{value!r} is not a duration like 5m, 2h or 1d")
    amount = float(match.group(1))
    if amount <= 0:
        raise ValidationError(where, f"must be longer than zero, got {value!r}")
    return timedelta(**{_UNITS[match.group(2)]: amount})


def parse_policies(
    doc: Mapping[str, Any], *, calendars: Mapping[str, BusinessCalendar]
) -> tuple[SlaPolicy, ...]:
    policies = []
    allowed = {"name", "when", "respond_within", "calendar", "max_reclaims"}
    for where, item in named_items(doc, "policy", allowed=allowed, noun="policy"):
        name = str(item["name"])
        calendar = item.get("calendar")
        if calendar is not None and calendar not in calendars:
            raise ValidationError(
                f"{where}.calendar",
                f"unknown calendar {calendar!r}; calendars: {', '.join(sorted(calendars)) or 'none yet'}",
            )
        reclaims = item.get("max_reclaims", 2)
        if isinstance(reclaims, bool) or not isinstance(reclaims, int) or reclaims < 0:
            raise ValidationError(f"{where}.max_reclaims", "must be a whole number, 0 or more")
        policies.append(SlaPolicy(
            name=name.strip(),
            when=compile_condition(item.get("when", {"all": []}), schema=SLA_FIELDS, dynamic=LEAD_DYNAMIC, where=f"{where}.when"),
            respond_within=parse_duration(item.get("respond_within"), f"{where}.respond_within"),
            calendar=None if calendar is None else calendars[calendar],
            max_reclaims=reclaims,
        ))  # fmt: skip
    return tuple(policies)


def policy_for(lead: Mapping[str, Any], policies: Sequence[SlaPolicy]) -> SlaPolicy | None:
    return next((p for p in policies if p.when.holds(lead)), None)


def sla_status(
    policy: SlaPolicy, start: datetime, responded: datetime | None, now: datetime
) -> SlaStatus:
    due = policy.due(start)
    if responded is None:
        return SlaStatus("due" if now <= due else "breached", due, None)
    return SlaStatus(
        "met" if responded <= due else "breached", due, policy.response_time(start, responded)
    )
