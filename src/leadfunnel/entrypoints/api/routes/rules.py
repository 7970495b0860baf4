"""Rules: scoring models, routing rules, SLA policies and business calendars. Every document
is validated when stored (422 names the rule and field); a draft can be dry-run (scoring) or
replayed over past leads (routing) before it is activated.

Who: admins and marketers change scoring models; admins change routing, SLA policies and
calendars; managers read all of them and replay routing drafts."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query, Request

from leadfunnel.domain.access import Principal, require_role, require_scope
from leadfunnel.entrypoints.api.security import CallerDep, state_of
from leadfunnel.rules.scoring_model import parse_model
from leadfunnel.services.routing import (
    activate_rule_set,
    import_rule_set,
    list_calendars,
    list_rule_sets,
    put_calendar,
    replay_rules,
)
from leadfunnel.services.scoring import activate_model, dry_run
from leadfunnel.services.scoring_models import get_model, import_model, list_models

__all__ = ["router"]

router = APIRouter(prefix="/rules", tags=["rules"])
Version = Annotated[int, Path(ge=1, le=2_147_483_647, description="The version number.")]
Document = Annotated[
    dict[str, Any], Body(description="The rule document, as in the TOML/YAML files.")
]


def _reader(principal: Principal) -> None:
    require_scope(principal, "rules")
    require_role(principal, "admin", "manager", "marketer", action="reading rules")


def _scoring_writer(principal: Principal) -> None:
    require_scope(principal, "rules")
    require_role(principal, "admin", "marketer", action="changing scoring models")


def _routing_writer(principal: Principal) -> None:
    require_scope(principal, "rules")
    require_role(principal, "admin", action="changing routing rules, SLA policies and calendars")


@router.get("/scoring-models", summary="Every version of every scoring model")
def models_route(request: Request, who: CallerDep) -> dict[str, Any]:
    _reader(who.principal)
    return {
        "items": [m.to_dict() for m in list_models(uow_factory=state_of(request).app.uow_factory)]
    }


@router.post("/scoring-models/validate", summary="Check a scoring model document; store nothing")
def validate_model_route(who: CallerDep, document: Document) -> dict[str, Any]:
    _scoring_writer(who.principal)
    model = parse_model(document)
    return {"valid": True, "name": model.name}


@router.post(
    "/scoring-models", status_code=201, summary="Store a scoring model as a new draft version"
)
def import_model_route(request: Request, who: CallerDep, document: Document) -> dict[str, Any]:
    _scoring_writer(who.principal)
    state = state_of(request)
    stored = import_model(uow_factory=state.app.uow_factory, document=document,
                          actor=who.principal.actor, now=state.now())  # fmt: skip
    return stored.to_dict()


@router.get(
    "/scoring-models/{name}", summary="A scoring model: the active (else newest) or a given version"
)
def model_route(
    request: Request,
    who: CallerDep,
    name: str,
    version: Annotated[int | None, Query(ge=1, le=2_147_483_647)] = None,
) -> dict[str, Any]:
    _reader(who.principal)
    found = get_model(uow_factory=state_of(request).app.uow_factory, name=name, version=version)
    return found.to_dict(with_spec=True)


@router.post(
    "/scoring-models/{name}/versions/{version}/dry-run", summary="What activating it would change"
)
def dry_run_route(request: Request, who: CallerDep, name: str, version: Version) -> dict[str, Any]:
    _scoring_writer(who.principal)
    state = state_of(request)
    return dry_run(
        uow_factory=state.app.uow_factory, name=name, version=version, now=state.now()
    ).to_dict()


@router.post(
    "/scoring-models/{name}/versions/{version}/activate", summary="Activate and re-score every lead"
)
def activate_model_route(
    request: Request, who: CallerDep, name: str, version: Version
) -> dict[str, Any]:
    _scoring_writer(who.principal)
    state = state_of(request)
    summary = activate_model(uow_factory=state.app.uow_factory, name=name, version=version,
                             actor=who.principal.actor, now=state.now())  # fmt: skip
    return {"name": name, "version": version, "rescored": summary.to_dict()}


@router.get("/calendars", summary="Business calendars")
def calendars_route(request: Request, who: CallerDep) -> dict[str, Any]:
    _reader(who.principal)
    rows = list_calendars(uow_factory=state_of(request).app.uow_factory)
    return {"items": [{"name": r["name"], "spec": r["spec"]} for r in rows]}


@router.put("/calendars", summary="Create or replace a business calendar")
def put_calendar_route(request: Request, who: CallerDep, document: Document) -> dict[str, Any]:
    _routing_writer(who.principal)
    state = state_of(request)
    name = put_calendar(uow_factory=state.app.uow_factory, document=document, now=state.now())
    return {"name": name}


@router.get("/{kind}", summary="Every version of the routing rules or SLA policies")
def rule_sets_route(request: Request, who: CallerDep, kind: str) -> dict[str, Any]:
    _reader(who.principal)
    rows = list_rule_sets(uow_factory=state_of(request).app.uow_factory, kind=kind)
    keep = ("kind", "version", "status", "spec", "created_at", "created_by", "activated_at")
    return {"items": [{k: r[k] for k in keep} for r in rows]}


@router.post("/{kind}", status_code=201, summary="Store routing rules or SLA policies as a draft")
def import_rule_set_route(
    request: Request, who: CallerDep, kind: str, document: Document
) -> dict[str, Any]:
    _routing_writer(who.principal)
    state = state_of(request)
    list_rule_sets(uow_factory=state.app.uow_factory, kind=kind)  # names a bad kind first
    stored = import_rule_set(uow_factory=state.app.uow_factory, kind=kind, document=document,
                             actor=who.principal.actor, now=state.now())  # fmt: skip
    return {"kind": stored.kind, "version": stored.version, "status": stored.status}


@router.post(
    "/routing/versions/{version}/replay",
    summary="How a routing version would have distributed recent leads",
)
def replay_route(
    request: Request,
    who: CallerDep,
    version: Version,
    days: Annotated[int, Query(ge=1, le=3660)] = 30,
) -> dict[str, Any]:
    _reader(who.principal)
    require_role(who.principal, "admin", "manager", action="replaying routing rules")
    state = state_of(request)
    return replay_rules(
        uow_factory=state.app.uow_factory, version=version, days=days, now=state.now()
    ).to_dict()


@router.post("/{kind}/versions/{version}/activate", summary="Activate a routing or SLA version")
def activate_rule_set_route(
    request: Request, who: CallerDep, kind: str, version: Version
) -> dict[str, Any]:
    _routing_writer(who.principal)
    state = state_of(request)
    list_rule_sets(uow_factory=state.app.uow_factory, kind=kind)
    done = activate_rule_set(uow_factory=state.app.uow_factory, kind=kind, version=version,
                             actor=who.principal.actor, now=state.now())  # fmt: skip
    return {"kind": done.kind, "version": done.version, "status": done.status}
