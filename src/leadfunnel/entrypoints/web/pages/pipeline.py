"""The pipeline kanban (``/pipeline``): the deals the viewer may see, one column per stage.

Each column shows how many deals are in the stage and their amount, and the newest
:data:`CARDS` cards. When a stage holds more deals than that, the amount is the sum over
the cards shown, and the column says so. An open deal whose last change is older than
:data:`STAGNANT_DAYS` days is marked stagnating.

Dragging a card to another column (``static/kanban.js``) posts to the JSON API,
``POST /api/v1/opportunities/{id}/stage`` with the card's ``If-Match`` version and the
session's CSRF token; the service decides (closed deals stay closed, a lost deal needs a
reason, the role must be allowed to change the lead), and a refused move snaps back with
the API's reason.

Every open card also has a **Move to** control (a stage list, a reason for a lost deal and a
button), for keyboards, screen readers and touchscreens, where dragging does not work: Enter
or Space on a focused card opens it. It is a plain form posting to
``/pipeline/deals/{id}/stage`` with the card's version, so it works without the script too,
and the service checks it exactly as it checks a drag (a stale version is refused, 412);
with the script, it goes to the JSON API like a drag and the card moves in place. Closed
(won, lost) cards stay where they are: they are neither draggable nor offer a move.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request, Response
from fastapi.responses import RedirectResponse

from leadfunnel.domain.errors import DomainError, NotFound
from leadfunnel.domain.pipeline import CLOSED, PIPELINE
from leadfunnel.entrypoints.api.problems import status_for
from leadfunnel.entrypoints.api.security import state_of
from leadfunnel.entrypoints.web.errors import PageRoute
from leadfunnel.entrypoints.web.people import people_names
from leadfunnel.entrypoints.web.rendering import render
from leadfunnel.entrypoints.web.session import Viewer, ViewerDep, check_csrf
from leadfunnel.services.opportunities import list_opportunities, move_opportunity
from leadfunnel.services.ports import Row

__all__ = ["CARDS", "STAGNANT_DAYS", "Column", "router"]

router = APIRouter(route_class=PageRoute, include_in_schema=False)

CARDS = 200
STAGNANT_DAYS = 30


@dataclass(frozen=True)
class Column:
    stage: str
    total: int
    cards: list[Row]
    #: Amount per currency over ``cards``.
    amounts: dict[str, Decimal]
    #: Whether ``cards`` are all the stage's deals (so ``amounts`` is the stage's amount).
    complete: bool


def _column(stage: str, items: list[Row], total: int) -> Column:
    amounts: dict[str, Decimal] = defaultdict(Decimal)
    for card in items:
        amounts[card["currency"]] += Decimal(card["amount"])
    return Column(stage=stage, total=total, cards=items, amounts=dict(amounts),
                  complete=len(items) >= total)  # fmt: skip


def _stagnating(card: Row, now: datetime) -> bool:
    return card["stage"] not in CLOSED and now - card["updated_at"] > timedelta(days=STAGNANT_DAYS)


def _pipeline_response(
    request: Request, who: Viewer, *, status: int = 200, notice: str | None = None,
    error: str | None = None,
) -> Response:  # fmt: skip
    state = state_of(request)
    now = state.now()
    columns = []
    for stage in PIPELINE:
        page = list_opportunities(uow_factory=state.app.uow_factory, principal=who.principal,
                                  stage=stage, limit=CARDS)  # fmt: skip
        columns.append(_column(stage, page.items, page.total))
    stale = {card["id"] for column in columns for card in column.cards if _stagnating(card, now)}
    return render(request, "pipeline.html", {
        "columns": columns, "stale": stale, "now": now, "stagnant_days": STAGNANT_DAYS,
        "names": people_names(uow_factory=state.app.uow_factory, principal=who.principal),
        "stages": PIPELINE, "closed": CLOSED, "notice": notice, "error": error,
    }, viewer=who, status=status)  # fmt: skip


@router.get("/pipeline")
def pipeline_page(
    request: Request, who: ViewerDep, moved: Annotated[str | None, Query(max_length=40)] = None
) -> Response:
    return _pipeline_response(request, who, notice="Moved." if moved else None)


@router.post("/pipeline/deals/{deal_id}/stage")
def move_form(
    request: Request,
    who: ViewerDep,
    deal_id: str,
    to: Annotated[str, Form(max_length=32)],
    version: Annotated[int, Form()],
    lost_reason: Annotated[str, Form(max_length=1000)] = "",
    csrf: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """The Move-to control without the script: the same service and version check as a drag;
    a refusal shows on the board with the status the API would answer."""
    check_csrf(who, csrf)
    try:
        key = uuid.UUID(deal_id)
    except ValueError:
        raise NotFound("opportunity", deal_id) from None
    state = state_of(request)
    try:
        move_opportunity(uow_factory=state.app.uow_factory, principal=who.principal, opportunity_id=key,
                         to=to, expected_version=version, lost_reason=lost_reason.strip() or None,
                         now=state.now())  # fmt: skip
    except DomainError as exc:
        if isinstance(exc, NotFound):
            raise
        return _pipeline_response(request, who, status=status_for(exc), error=exc.message)
    return RedirectResponse(f"/pipeline?moved={key}#deal-{key}", status_code=303)
