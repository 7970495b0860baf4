"""The pages a role reaches, in menu order, and where each role lands after signing in.

The roles here are the pages' own policy (what :func:`~leadfunnel.domain.access.require_role`
is asked on each page); the menu shows a person only the pages that will open for them.

>>> [p.path for p in pages_for("rep")]
['/leads', '/pipeline', '/explorer', '/sla']
>>> home_for("marketer")
'/dashboard'
"""

from __future__ import annotations

from dataclasses import dataclass

from leadfunnel.domain.access import ROLES, Role

__all__ = ["DASHBOARD_ROLES", "PAGES", "RULES_ROLES", "SLA_ROLES", "NavPage", "home_for", "pages_for"]

#: Analytics cover every lead; these roles see every lead (docs/concepts/access.md).
DASHBOARD_ROLES: tuple[Role, ...] = ("admin", "marketer")
#: As the API's rules routes: these read every rule document (only some may change them).
RULES_ROLES: tuple[Role, ...] = ("admin", "manager", "marketer")
#: As the API's ``/reports/sla``.
SLA_ROLES: tuple[Role, ...] = ("admin", "manager", "rep")


@dataclass(frozen=True)
class NavPage:
    path: str
    #: The English label; the menu shows its translation.
    label: str
    roles: tuple[Role, ...]


PAGES = (
    NavPage("/dashboard", "Dashboard", DASHBOARD_ROLES),
    NavPage("/leads", "Leads", ROLES),
    NavPage("/pipeline", "Pipeline", ROLES),
    # Every role: the funnel counts only the leads the viewer may see (a rep's own).
    NavPage("/explorer", "Funnel explorer", ROLES),
    NavPage("/sla", "SLA board", SLA_ROLES),
    NavPage("/rules", "Rules", RULES_ROLES),
)


def pages_for(role: str) -> list[NavPage]:
    return [page for page in PAGES if role in page.roles]


def home_for(role: str) -> str:
    """The first page of the role's menu."""
    reachable = pages_for(role)
    return reachable[0].path if reachable else "/leads"
