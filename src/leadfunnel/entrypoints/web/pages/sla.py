"""The SLA board (``/sla``): first-response performance per rep (or team, channel, policy).

Rows come from ``services/sla_report.py``, as ``GET /api/v1/reports/sla`` answers them: a
manager's board covers their team, a rep's their own clocks. Per row: clocks, met, breached,
still due, the share answered within the SLA, mean and median business-time response
minutes (MTTR), and reclaims (breaches that took the lead away).

Below, what needs attention now (``sla_watch``): the open clocks due within the next
:data:`HORIZON_HOURS` hours or already overdue, soonest first, and the clocks breached and
reclaimed in the last :data:`DAYS` days, each linked to its lead.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from leadfunnel.domain.access import require_role
from leadfunnel.entrypoints.api.security import state_of
from leadfunnel.entrypoints.web.errors import PageRoute
from leadfunnel.entrypoints.web.navigation import SLA_ROLES
from leadfunnel.entrypoints.web.people import people_names
from leadfunnel.entrypoints.web.rendering import render
from leadfunnel.entrypoints.web.session import ViewerDep
from leadfunnel.services.sla_report import SLA_GROUPS, sla_report, sla_watch

__all__ = ["router"]

router = APIRouter(route_class=PageRoute, include_in_schema=False)
#: The due-soon list looks this far ahead; breaches and reclaims this far back.
HORIZON_HOURS = 4
DAYS = 7


def _label(group: str, by: str, names: dict[uuid.UUID, str]) -> str:
    if by != "owner":
        return group
    try:
        return names.get(uuid.UUID(group), group)
    except ValueError:  # "(none)"
        return group


@router.get("/sla")
def sla_page(
    request: Request,
    who: ViewerDep,
    by: Annotated[str, Query(max_length=16)] = "owner",
) -> Response:
    require_role(who.principal, *SLA_ROLES, action="the SLA board")
    state = state_of(request)
    uow_factory = state.app.uow_factory
    watch = sla_watch(uow_factory=uow_factory, principal=who.principal, now=state.now(),
                      horizon=timedelta(hours=HORIZON_HOURS), days=DAYS)  # fmt: skip
    rows = sla_report(uow_factory=uow_factory, by=by, principal=who.principal)
    overall = sla_report(uow_factory=uow_factory, by=None, principal=who.principal)
    names = people_names(uow_factory=uow_factory, principal=who.principal)
    for row in rows:
        row["label"] = _label(row["group"], by, names)
    return render(request, "sla.html", {
        "rows": rows, "overall": overall[0] if overall else None, "by": by, "groups": list(SLA_GROUPS),
        "watch": watch, "names": names, "horizon_hours": HORIZON_HOURS, "days": DAYS,
    }, viewer=who)  # fmt: skip
