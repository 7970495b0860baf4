"""Names to show for user ids (owners, actors, timeline authors) and team ids.

People's names are not sensitive among colleagues: like a record's owner in Salesforce or
HubSpot, whoever may see a lead, a deal or a report row sees who owns it, whatever their role
(docs/concepts/access.md, "Names"). Only the display name is shared; emails, roles and the
user list itself stay with ``services/auth.list_users``' rules (admins everyone, managers
their team).
"""

from __future__ import annotations

import uuid

from leadfunnel.domain.access import SYSTEM, Principal
from leadfunnel.services.auth import list_teams, list_users
from leadfunnel.services.ports import UnitOfWorkFactory

__all__ = ["people_names", "team_names"]


def people_names(*, uow_factory: UnitOfWorkFactory, principal: Principal) -> dict[uuid.UUID, str]:
    """Every user's display name, for any signed-in ``principal``.

    Example: a marketer's lead list shows "Ann Lee" as the owner of Ann's leads, not
    "another user"; the records themselves are still the ones ``principal`` may see."""
    del principal  # every signed-in role is shown names (see the module docstring)
    return {row["id"]: row["name"] for row in list_users(uow_factory=uow_factory, principal=SYSTEM)}


def team_names(*, uow_factory: UnitOfWorkFactory) -> dict[uuid.UUID, str]:
    """Every team's name by id (e.g. for a breakdown by ``team_id``)."""
    return {row["id"]: row["name"] for row in list_teams(uow_factory=uow_factory)}
