"""First-response SLA performance per owner, team, channel or policy.

Per group: clocks, met, breached, still due; the share within SLA (met / (met + breached):
of the clocks decided, how many were answered in time); the business-time response time
(mean and median minutes, over answered clocks); and reclaims (breaches that took the lead
away). A clock belongs to the rep who held it (its owner), the lead's team and channel.
Decided clocks are kept apart from the lead (``sla_outcomes``), so a breach still counts
against the rep after the lead was reclaimed and re-routed.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from leadfunnel.domain.access import SYSTEM, Principal
from leadfunnel.domain.errors import ValidationError
from leadfunnel.services.ports import Row, UnitOfWork, UnitOfWorkFactory

__all__ = ["SLA_GROUPS", "SlaWatch", "clocks_of", "sla_report", "sla_watch"]

SLA_GROUPS = {"owner": "owner_id", "team": "team", "channel": "channel", "policy": "policy"}


def _team_name(uow: UnitOfWork, principal: Principal) -> str | None:
    team = uow.auth.team(principal.team_id) if principal.team_id else None
    return team["name"] if team else None


def clocks_of(principal: Principal, clocks: list[Row], team_name: str | None) -> list[Row]:
    """The clocks ``principal`` reports on: every clock for admins and marketers; a
    manager's team's (held by its people, or on its leads); a rep's own."""
    if principal.role == "manager":
        people = principal.team_members | {principal.user_id}
        return [c for c in clocks if c["owner_id"] in people or (team_name and c["team"] == team_name)]
    if principal.role == "rep":
        return [c for c in clocks if c["owner_id"] == principal.user_id]
    return clocks


def sla_report(
    *,
    uow_factory: UnitOfWorkFactory,
    by: str | None = None,
    principal: Principal = SYSTEM,
    started_from: date | None = None,
    started_to: date | None = None,
) -> list[dict[str, Any]]:
    """First-response SLA attainment and response times, overall or per group. A manager's
    report covers their team's clocks; a rep's their own. ``started_from``/``started_to``
    (inclusive, UTC days) keep the clocks started in that period."""
    if by is not None and by not in SLA_GROUPS:
        raise ValidationError(
            "by", f"cannot group by '{by}'; expected one of: {', '.join(SLA_GROUPS)}"
        )
    with uow_factory(write=False) as uow:
        clocks = clocks_of(principal, uow.routing.sla_outcome_rows(), _team_name(uow, principal))
    if started_from is not None or started_to is not None:
        low, high = started_from or date.min, started_to or date.max
        clocks = [c for c in clocks if low <= c["started_at"].astimezone(UTC).date() <= high]
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for clock in clocks:
        key = "all" if by is None else str(clock[SLA_GROUPS[by]] or "(none)")
        groups[key].append(clock)
    rows = []
    for key, members in groups.items():
        status = [m["status"] for m in members]
        met, breached = status.count("met"), status.count("breached")
        minutes = [m["response_seconds"] / 60 for m in members if m["response_seconds"] is not None]
        rows.append({
            "group": key, "clocks": len(members), "met": met, "breached": breached, "due": status.count("due"),
            "within_sla": met / (met + breached) if met + breached else None,
            "mean_response_minutes": statistics.fmean(minutes) if minutes else None,
            "median_response_minutes": statistics.median(minutes) if minutes else None,
            "reclaims": sum(1 for m in members if m["reclaimed"]),
        })  # fmt: skip
    return sorted(rows, key=lambda r: (-r["clocks"], r["group"]))


@dataclass(frozen=True)
class SlaWatch:
    """What needs attention now: open clocks due soon (overdue first), and recent breaches
    and reclaims (newest first). Each row has the lead's name, company, owner and team."""

    due_soon: list[Row]
    breached: list[Row]
    reclaimed: list[Row]


def sla_watch(
    *,
    uow_factory: UnitOfWorkFactory,
    principal: Principal,
    now: datetime,
    horizon: timedelta = timedelta(hours=4),
    days: int = 7,
    limit: int = 50,
) -> SlaWatch:
    """Open clocks due within ``horizon`` of ``now`` (or already overdue), and the clocks
    breached or reclaimed in the last ``days`` days, the caller's only; ``limit`` per list."""
    if not 1 <= days <= 366:
        raise ValidationError("days", f"must be between 1 and 366, got {days}")
    with uow_factory(write=False) as uow:
        rows = uow.routing.sla_watch_rows(due_before=now + horizon, decided_since=now - timedelta(days=days))
        rows = clocks_of(principal, rows, _team_name(uow, principal))
    due = sorted((r for r in rows if r["status"] == "due"), key=lambda r: r["due_at"])
    decided = sorted((r for r in rows if r["status"] != "due"), key=lambda r: r["at"], reverse=True)
    return SlaWatch(
        due_soon=[{**r, "seconds_left": int((r["due_at"] - now).total_seconds())} for r in due][:limit],
        breached=[r for r in decided if r["status"] == "breached"][:limit],
        reclaimed=[r for r in decided if r["reclaimed"]][:limit],
    )
