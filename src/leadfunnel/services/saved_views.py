"""Saved views: a person's named filter sets of a list page, to open again with one click.

A view is the page's URL parameters (for the leads list: search, stage, channel, region,
industry, grade, owned/pool and sort), kept under a name per person and page; saving under
a name already used replaces that view. Only known parameters are kept (anything else in
the query is refused, naming it), and a view is applied through the page's own filters, so
it never shows a person more than the page would: a view holds a question, not its answer.
Views are private to their owner.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import parse_qsl, urlencode

from leadfunnel.domain.access import Principal
from leadfunnel.domain.errors import NotFound, ValidationError
from leadfunnel.domain.ids import new_id
from leadfunnel.services.ports import UnitOfWorkFactory

__all__ = ["PAGE_PARAMETERS", "SavedView", "delete_view", "list_views", "save_view"]

#: Per page, the URL parameters a view may hold.
PAGE_PARAMETERS: dict[str, tuple[str, ...]] = {
    "leads": ("search", "stage", "channel", "region", "industry", "grade", "pool", "sort"),
}
MAX_VIEWS = 50


@dataclass(frozen=True)
class SavedView:
    id: uuid.UUID
    name: str
    #: The page's URL query string (``stage=mql&region=EMEA``).
    query: str


def _person(principal: Principal) -> uuid.UUID:
    if principal.user_id is None:
        raise ValidationError("user", "views are saved for a signed-in person")
    return principal.user_id


def _checked(page: str, name: str, query: str) -> tuple[str, str]:
    if page not in PAGE_PARAMETERS:
        raise ValidationError("page", f"'{page}' has no saved views; expected one of: {', '.join(PAGE_PARAMETERS)}")
    name = " ".join(name.split())
    if not 1 <= len(name) <= 80:
        raise ValidationError("name", "must be 1 to 80 characters")
    pairs = [(k, v.strip()) for k, v in parse_qsl(query.lstrip("?"), keep_blank_values=False)]
    unknown = sorted({k for k, _ in pairs} - set(PAGE_PARAMETERS[page]))
    if unknown:
        raise ValidationError(unknown[0], f"is not a filter of the {page} page")
    kept = [(k, v) for k, v in pairs if v and len(v) <= 200]
    if not kept:
        raise ValidationError("query", "a view needs at least one filter or sort")
    return name, urlencode(sorted(kept))


def save_view(
    *, uow_factory: UnitOfWorkFactory, principal: Principal, page: str, name: str, query: str, now: datetime
) -> SavedView:
    """Keep ``query`` as the caller's view ``name`` of ``page`` (replacing a view of that name)."""
    user = _person(principal)
    name, kept = _checked(page, name, query)
    with uow_factory() as uow:
        mine = [v for v in uow.records.select_in("saved_views", "user_id", [user]) if v["page"] == page]
        same = [v["id"] for v in mine if v["name"] == name]
        if not same and len(mine) >= MAX_VIEWS:
            raise ValidationError("name", f"you have {MAX_VIEWS} saved views of this page; delete one first")
        uow.records.delete_in("saved_views", "id", same)
        view_id = new_id()
        uow.records.insert("saved_views", [{"id": view_id, "user_id": user, "page": page, "name": name,
                                            "query": kept, "created_at": now}])  # fmt: skip
        uow.commit()
    return SavedView(view_id, name, kept)


def list_views(*, uow_factory: UnitOfWorkFactory, principal: Principal, page: str) -> list[SavedView]:
    """The caller's views of ``page``, by name."""
    if principal.user_id is None:
        return []
    with uow_factory(write=False) as uow:
        rows = uow.records.select_in("saved_views", "user_id", [principal.user_id])
    return sorted((SavedView(r["id"], r["name"], r["query"]) for r in rows if r["page"] == page),
                  key=lambda v: v.name.lower())  # fmt: skip


def delete_view(*, uow_factory: UnitOfWorkFactory, principal: Principal, view_id: uuid.UUID) -> None:
    """Delete one of the caller's views (another person's is *not found*)."""
    user = _person(principal)
    with uow_factory() as uow:
        found = uow.records.select_in("saved_views", "id", [view_id])
        if not found or found[0]["user_id"] != user:
            raise NotFound("saved view", view_id)
        uow.records.delete_in("saved_views", "id", [view_id], where={"user_id": user})
        uow.commit()
