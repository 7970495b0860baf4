"""Who may see and do what: the one access policy (docs/concepts/access.md).

Every service that reads, lists, exports, analyses or writes leads asks this module, with
the :class:`Principal` the entry point authenticated. The rules:

=========  ==========================================  =====================================
role       leads they see                              what they may change
=========  ==========================================  =====================================
admin      every lead                                  everything
manager    leads of their team or owned by its reps,   those leads; the pool's distribution;
           and the shared pool                         their team's routing
marketer   every lead, without sales notes             scoring models, campaigns; no leads
rep        leads they own, and the shared pool         leads they own; their own activities
=========  ==========================================  =====================================

A lead the caller may not see is reported as *not found*, never as *forbidden*, so an id
tells an outsider nothing. Analytics for a scoped caller cover the leads they own (a rep) or
the leads their team owns (a manager): :func:`analytics_owners`. Pool leads are nobody's
results and stay out.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from leadfunnel.domain.errors import DomainError, NotFound

__all__ = [
    "COMPANY_WIDE_ROLES",
    "ROLES",
    "SALES_NOTE_KINDS",
    "SCOPES",
    "SYSTEM",
    "Forbidden",
    "LeadScope",
    "Principal",
    "can_see_lead",
    "can_write_lead",
    "lead_scope",
    "analytics_owners",
    "require_role",
    "require_scope",
    "visible_lead",
    "writable_lead",
]

Role = Literal["admin", "manager", "marketer", "rep"]
ROLES: tuple[Role, ...] = ("admin", "manager", "marketer", "rep")

#: What an API key may be limited to. A person signed in holds every scope; their role
#: still decides what each scope reaches.
SCOPES = ("intake", "leads:read", "leads:write", "analytics", "rules", "admin")

#: Activity kinds a marketer does not see (sales notes stay with sales).
SALES_NOTE_KINDS = frozenset({"note"})


class Forbidden(DomainError):
    """The caller is known, the thing exists (or is not a record), and their role or key
    scope does not allow the action."""

    code = "forbidden"


@dataclass(frozen=True)
class Principal:
    """An authenticated caller: a person (session) or a machine (API key acting for a user)."""

    user_id: uuid.UUID | None
    role: Role
    team_id: uuid.UUID | None = None
    #: The reps of the team a manager heads (owners whose leads the manager sees).
    team_members: frozenset[uuid.UUID] = field(default_factory=frozenset)
    scopes: frozenset[str] = frozenset(SCOPES)
    name: str = "system"
    key_id: uuid.UUID | None = None

    @property
    def actor(self) -> str:
        """What the audit log records as the actor."""
        if self.key_id is not None:
            return f"apikey:{self.key_id}"
        return f"user:{self.user_id}" if self.user_id else self.name


#: The local operator: the CLI and background jobs, which hold the database itself.
SYSTEM = Principal(user_id=None, role="admin", name="cli")


@dataclass(frozen=True)
class LeadScope:
    """The leads a caller sees, as a filter every store can express.

    ``everything`` or the union of: leads owned by ``owner_ids``, leads of ``team_id``, and
    the shared pool when ``pool``."""

    everything: bool = False
    owner_ids: frozenset[uuid.UUID] = frozenset()
    team_id: uuid.UUID | None = None
    pool: bool = False

    def admits(self, lead: Mapping[str, Any]) -> bool:
        if self.everything:
            return True
        if lead.get("owner_id") in self.owner_ids:
            return True
        if self.team_id is not None and lead.get("team_id") == self.team_id:
            return True
        return self.pool and bool(lead.get("in_pool"))


def lead_scope(principal: Principal) -> LeadScope:
    """The leads ``principal`` may read."""
    if principal.role in ("admin", "marketer"):
        return LeadScope(everything=True)
    if principal.role == "manager":
        owners = principal.team_members | ({principal.user_id} if principal.user_id else set())
        return LeadScope(owner_ids=frozenset(owners), team_id=principal.team_id, pool=True)
    return LeadScope(
        owner_ids=frozenset({principal.user_id} if principal.user_id else ()), pool=True
    )


#: The roles whose reports cover every lead.
COMPANY_WIDE_ROLES: tuple[Role, ...] = ("admin", "marketer")


def analytics_owners(principal: Principal) -> frozenset[uuid.UUID] | None:
    """The owners whose leads ``principal``'s reports cover; None: every lead.

    Admins and marketers report on everything; a manager on the leads owned by their team
    (its reps and themselves); a rep on their own. The shared pool is nobody's result."""
    if principal.role in COMPANY_WIDE_ROLES:
        return None
    if principal.role == "manager":
        return principal.team_members | ({principal.user_id} if principal.user_id else frozenset())
    return frozenset({principal.user_id} if principal.user_id else ())


def can_see_lead(principal: Principal, lead: Mapping[str, Any]) -> bool:
    return lead_scope(principal).admits(lead)


def can_write_lead(principal: Principal, lead: Mapping[str, Any]) -> bool:
    """Admins change any lead; managers their team's; reps the leads they own."""
    if principal.role == "admin":
        return True
    if principal.role == "manager":
        return lead_scope(principal).admits(lead)
    if principal.role == "rep":
        return principal.user_id is not None and lead.get("owner_id") == principal.user_id
    return False


def visible_lead(
    principal: Principal, lead: Mapping[str, Any] | None, lead_id: object
) -> Mapping[str, Any]:
    """``lead`` if the caller may see it; otherwise *not found*, whether it exists or not."""
    if lead is None or not can_see_lead(principal, lead):
        raise NotFound("lead", lead_id)
    return lead


def writable_lead(
    principal: Principal, lead: Mapping[str, Any] | None, lead_id: object
) -> Mapping[str, Any]:
    """``lead`` if the caller may change it. A lead they cannot see is *not found*; one they
    see but may not change (a marketer, a rep looking at the pool) is *forbidden*."""
    seen = visible_lead(principal, lead, lead_id)
    if not can_write_lead(principal, seen):
        raise Forbidden(f"your role ({principal.role}) may not change lead {lead_id}")
    return seen


def require_role(principal: Principal, *roles: Role, action: str) -> None:
    if principal.role not in roles:
        raise Forbidden(
            f"{action} needs one of the roles {', '.join(roles)}; you are {principal.role}"
        )


def require_scope(principal: Principal, scope: str) -> None:
    if scope not in principal.scopes and "admin" not in principal.scopes:
        raise Forbidden(f"this API key lacks the scope '{scope}'")
