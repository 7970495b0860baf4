"""The pages a role reaches, in menu order, and where each role lands after signing in.

The roles here are the pages' own policy (what :func:`~leadfunnel.domain.access.require_role`
is asked on each page); the menu shows a person only the pages that will open for them.

>>> [p.path for p in pages_for("rep")]
['/dashboard', '/leads', '/pipeline', '/explorer', '/forecast', '/sla']
>>> home_for("marketer"), home_for("rep")
('/dashboard', '/leads')
"""

from __future__ import annotations

from dataclasses import dataclass

from leadfunnel.domain.access import ROLES, Role
from leadfunnel.services.imports.jobs import IMPORT_ROLES

__all__ = ["DASHBOARD_ROLES", "PAGES", "RULES_ROLES", "SLA_ROLES", "NavPage", "home_for", "pages_for"]

#: Roles whose reports cover every lead, spend included (docs/concepts/access.md): the
#: pages that make sense only company-wide (attribution with channel spend).
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
    # Every role: each sees the figures of the leads its reports cover (a rep's own).
    NavPage("/dashboard", "Dashboard", ROLES),
    NavPage("/attribution", "Attribution", DASHBOARD_ROLES),
    NavPage("/leads", "Leads", ROLES),
    NavPage("/pipeline", "Pipeline", ROLES),
    # Every role: the funnel counts only the leads the viewer may see (a rep's own).
    NavPage("/explorer", "Funnel explorer", ROLES),
    # Every role: the forecast covers only the deals the viewer's team or the viewer owns.
    NavPage("/forecast", "Forecast", ROLES),
    NavPage("/sla", "SLA board", SLA_ROLES),
    NavPage("/rules", "Rules", RULES_ROLES),
    # As the API's imports routes: the roles that may import files.
    NavPage("/imports", "Import", IMPORT_ROLES),
)


def pages_for(role: str) -> list[NavPage]:
    return [page for page in PAGES if role in page.roles]


#: Where a role starts when its menu's first page is not the place: reps begin the day with
#: their lead list.
_HOME: dict[str, str] = {"rep": "/leads"}


def home_for(role: str) -> str:
    """The role's start page: its own (:data:`_HOME`), else the first page of its menu."""
    if role in _HOME:
        return _HOME[role]
    reachable = pages_for(role)
    return reachable[0].path if reachable else "/leads"
