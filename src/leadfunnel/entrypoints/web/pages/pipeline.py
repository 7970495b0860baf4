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
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from fastapi import APIRouter, Request, Response

from leadfunnel.domain.pipeline import CLOSED, PIPELINE
from leadfunnel.entrypoints.api.security import state_of
from leadfunnel.entrypoints.web.errors import PageRoute
from leadfunnel.entrypoints.web.people import people_names
from leadfunnel.entrypoints.web.rendering import render
from leadfunnel.entrypoints.web.session import ViewerDep
from leadfunnel.services.opportunities import list_opportunities
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


@router.get("/pipeline")
def pipeline_page(request: Request, who: ViewerDep) -> Response:
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
    }, viewer=who)  # fmt: skip
