"""Rules (``/rules``): view and edit scoring models, routing rules, SLA policies and business
calendars, with the validation message and the dry run before anything goes live.

* ``/rules``: every version of every rule document, with its status.
* ``/rules/{kind}/{name}`` (kind ``scoring``, ``routing``, ``sla``; the routing and SLA rule
  sets are one document each, named ``current``): a version's document as YAML in an
  editor (default: the active version, else the newest). Saving validates the text and
  stores it as a new **draft** (nothing changes for leads); a refusal is shown next to the
  editor with the rule and field it names, and the text stays as typed.
* A draft shows what activating it would do, computed on the page: for a scoring model the
  dry run (grade, priority and stage changes against today's scores, and how the leads each
  qualification rule selects converted so far); for routing rules the replay of the last
  30 days (leads per rep, team and rule, and to the pool). SLA policies have no dry run:
  they apply to the clocks started after activation. **Activate** makes it live.
* Calendars are not versioned: saving replaces the calendar (after validation).

The same services as the API (``entrypoints/api/routes/rules.py``), with the same policy:
admins, managers and marketers read; admins and marketers change scoring models; admins
change routing, SLA policies and calendars.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

import yaml
from fastapi import APIRouter, Form, Query, Request, Response
from fastapi.responses import RedirectResponse

from leadfunnel.domain.access import Principal, Role, require_role
from leadfunnel.domain.errors import DomainError, NotFound, ValidationError
from leadfunnel.entrypoints.api.problems import status_for
from leadfunnel.entrypoints.api.security import state_of
from leadfunnel.entrypoints.web.errors import PageRoute
from leadfunnel.entrypoints.web.navigation import RULES_ROLES
from leadfunnel.entrypoints.web.people import people_names
from leadfunnel.entrypoints.web.rendering import render
from leadfunnel.entrypoints.web.session import Viewer, ViewerDep, check_csrf
from leadfunnel.services.documents import FORMATS, read_document
from leadfunnel.services.routing import (
    activate_rule_set,
    import_rule_set,
    list_calendars,
    list_rule_sets,
    put_calendar,
    replay_rules,
)
from leadfunnel.services.scoring import activate_model, dry_run
from leadfunnel.services.scoring_models import import_model, list_models

__all__ = ["KINDS", "READERS", "STARTERS", "router"]

router = APIRouter(route_class=PageRoute, include_in_schema=False)

KINDS = ("scoring", "routing", "sla", "calendars")
READERS = RULES_ROLES
#: The one document of a routing or SLA rule set.
RULE_SET = "current"
REPLAY_DAYS = 30
_WRITERS: dict[str, tuple[Role, ...]] = {"scoring": ("admin", "marketer"), "routing": ("admin",), "sla": ("admin",),
            "calendars": ("admin",)}  # fmt: skip
#: What a new document starts from (the examples/ folder has fuller ones).
STARTERS = {
    "scoring": """name: my-model
description: Fit from who the lead is, engagement from what they did
half_life_days: 30
hot_threshold: 70
grades:
  fit: {A: 40, B: 25, C: 10}
  engagement: {1: 40, 2: 20, 3: 5}
fit:
  - name: decision maker
    points: 20
    when: {field: title, op: regex, value: '(?i)\\b(ceo|cto|vp|director|head of)\\b'}
behaviour:
  - name: pricing page
    points: 15
    max_points: 45
    when:
      all:
        - {field: kind, op: eq, value: page_view}
        - {field: url, op: contains, value: /pricing}
""",
    "routing": """rule:
  - name: everyone
    team: Sales
    strategy: round_robin
""",
    "sla": """policy:
  - name: everyone
    respond_within: 24h
""",
    "calendars": """name: Office
timezone: Europe/Berlin
holidays: []
hours:
  mon: ["09:00-18:00"]
  tue: ["09:00-18:00"]
  wed: ["09:00-18:00"]
  thu: ["09:00-18:00"]
  fri: ["09:00-17:00"]
""",
}


def _read(principal: Principal) -> None:
    require_role(principal, *READERS, action="the rules")


def _may_write(principal: Principal, kind: str) -> bool:
    return principal.role in _WRITERS[kind]


def _kind(kind: str) -> str:
    if kind not in KINDS:
        raise NotFound("rule kind", kind)
    return kind


def _as_yaml(spec: Any) -> str:
    return str(yaml.safe_dump(spec, sort_keys=False, allow_unicode=True, width=100))


def _versions(state: Any, kind: str, name: str) -> list[dict[str, Any]]:
    """Every version of one document, oldest first: version, status, spec, who, when."""
    uow_factory = state.app.uow_factory
    if kind == "scoring":
        return [{"version": m.version, "status": m.status, "spec": dict(m.spec), "created_at": m.created_at,
                 "created_by": m.created_by} for m in list_models(uow_factory=uow_factory, name=name)]  # fmt: skip
    if kind == "calendars":
        rows = [r for r in list_calendars(uow_factory=uow_factory) if r["name"] == name]
        return [{"version": None, "status": "active", "spec": r["spec"], "created_at": None, "created_by": None}
                for r in rows]  # fmt: skip
    keep = ("version", "status", "spec", "created_at", "created_by")
    return [{k: r[k] for k in keep} for r in list_rule_sets(uow_factory=uow_factory, kind=kind)]


def _shown(versions: list[dict[str, Any]], version: int | None) -> dict[str, Any] | None:
    if version is not None:
        chosen = next((v for v in versions if v["version"] == version), None)
        if chosen is None:
            raise NotFound("version", version)
        return chosen
    active = [v for v in versions if v["status"] == "active"]
    return (active or versions)[-1] if versions else None


def _preview(state: Any, kind: str, name: str, shown: dict[str, Any] | None) -> dict[str, Any] | None:
    """What activating the shown draft would do (None when it is not a draft)."""
    if shown is None or shown["status"] != "draft":
        return None
    if kind == "scoring":
        return dry_run(uow_factory=state.app.uow_factory, name=name, version=shown["version"],
                       now=state.now()).to_dict()  # fmt: skip
    if kind == "routing":
        return replay_rules(uow_factory=state.app.uow_factory, version=shown["version"],
                            days=REPLAY_DAYS, now=state.now()).to_dict()  # fmt: skip
    return None


def _editor(
    request: Request,
    who: Viewer,
    kind: str,
    name: str,
    *,
    version: int | None = None,
    text: str | None = None,
    fmt: str = "yaml",
    error: str | None = None,
    notice: str | None = None,
    status: int = 200,
) -> Response:
    state = state_of(request)
    new = name == "new"
    versions = [] if new else _versions(state, kind, name)
    if not new and not versions:
        raise NotFound(kind if kind != "calendars" else "calendar", name)
    shown = None if new else _shown(versions, version)
    preview = None if error or text is not None else _preview(state, kind, name, shown)
    if text is None:
        text = _as_yaml(shown["spec"]) if shown else STARTERS[kind]
    return render(request, "rule_editor.html", {
        "kind": kind, "name": name, "new": new, "versions": versions, "shown": shown, "text": text,
        "format": fmt, "formats": FORMATS, "error": error, "notice": notice, "preview": preview,
        "writable": _may_write(who.principal, kind), "replay_days": REPLAY_DAYS,
    }, viewer=who, status=status)  # fmt: skip


def _actor_names(state: Any, principal: Principal) -> dict[str, str]:
    """Who saved a version (``user:<id>``, as stored) by the names the viewer may know."""
    names = people_names(uow_factory=state.app.uow_factory, principal=principal)
    return {f"user:{user_id}": name for user_id, name in names.items()}


@router.get("/rules")
def rules_page(request: Request, who: ViewerDep) -> Response:
    _read(who.principal)
    state = state_of(request)
    uow_factory = state.app.uow_factory
    models: dict[str, list[Any]] = {}
    for m in list_models(uow_factory=uow_factory):
        models.setdefault(m.name, []).append(m)
    return render(request, "rules.html", {
        "models": models,
        "routing": list_rule_sets(uow_factory=uow_factory, kind="routing"),
        "sla": list_rule_sets(uow_factory=uow_factory, kind="sla"),
        "calendars": list_calendars(uow_factory=uow_factory),
        "writable": {k: _may_write(who.principal, k) for k in KINDS},
        "actors": _actor_names(state, who.principal),
    }, viewer=who)  # fmt: skip


@router.get("/rules/{kind}/{name}")
def rule_page(
    request: Request,
    who: ViewerDep,
    kind: str,
    name: str,
    version: Annotated[int | None, Query(ge=1, le=2_147_483_647)] = None,
    done: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    _read(who.principal)
    notices = {"saved": "Saved as a draft: check what it would do, then activate it.",
               "activated": "Activated.", "replaced": "Calendar saved."}  # fmt: skip
    return _editor(request, who, _kind(kind), name, version=version, notice=notices.get(done or ""))


@router.post("/rules/{kind}/{name}")
def save_rule_form(
    request: Request,
    who: ViewerDep,
    kind: str,
    name: str,
    document: Annotated[str, Form(max_length=200_000)],
    format: Annotated[str, Form(max_length=8)] = "yaml",
    csrf: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    check_csrf(who, csrf)
    _read(who.principal)
    kind = _kind(kind)
    require_role(who.principal, *_WRITERS[kind], action=f"changing {kind} rules")
    state = state_of(request)
    actor, now, uow_factory = who.principal.actor, state.now(), state.app.uow_factory
    try:
        parsed = read_document(document, format)
        if kind == "scoring":
            stored = import_model(uow_factory=uow_factory, document=parsed, actor=actor, now=now)
            target, version, done = stored.name, stored.version, "saved"
        elif kind == "calendars":
            target, version, done = put_calendar(uow_factory=uow_factory, document=parsed, now=now), None, "replaced"
        else:
            rule_set = import_rule_set(uow_factory=uow_factory, kind=kind, document=parsed, actor=actor, now=now)
            target, version, done = RULE_SET, rule_set.version, "saved"
    except DomainError as exc:
        if isinstance(exc, NotFound):
            raise
        return _editor(request, who, kind, name, text=document, fmt=format, error=exc.message,
                       status=status_for(exc))  # fmt: skip
    query = f"?version={version}&done={done}" if version else f"?done={done}"
    return RedirectResponse(f"/rules/{kind}/{quote(target, safe='')}{query}", status_code=303)


@router.post("/rules/{kind}/{name}/versions/{version}/activate")
def activate_rule_form(
    request: Request,
    who: ViewerDep,
    kind: str,
    name: str,
    version: int,
    csrf: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    check_csrf(who, csrf)
    _read(who.principal)
    kind = _kind(kind)
    if kind == "calendars":
        raise ValidationError("kind", "calendars have no versions to activate")
    require_role(who.principal, *_WRITERS[kind], action=f"changing {kind} rules")
    state = state_of(request)
    try:
        if kind == "scoring":
            activate_model(uow_factory=state.app.uow_factory, name=name, version=version,
                           actor=who.principal.actor, now=state.now())  # fmt: skip
        else:
            activate_rule_set(uow_factory=state.app.uow_factory, kind=kind, version=version,
                              actor=who.principal.actor, now=state.now())  # fmt: skip
    except DomainError as exc:
        if isinstance(exc, NotFound):
            raise
        return _editor(request, who, kind, name, version=version, error=exc.message,
                       status=status_for(exc))  # fmt: skip
    return RedirectResponse(
        f"/rules/{kind}/{quote(name, safe='')}?version={version}&done=activated", status_code=303
    )
