"""Names to show for user ids (owners, actors), limited to the people the viewer may list."""

from __future__ import annotations

import uuid

from leadfunnel.domain.access import Principal
from leadfunnel.services.auth import list_users
from leadfunnel.services.ports import UnitOfWorkFactory

__all__ = ["people_names"]


def people_names(*, uow_factory: UnitOfWorkFactory, principal: Principal) -> dict[uuid.UUID, str]:
    """Admins name everyone, managers their team, others themselves; the rest show as ids."""
    return {
        row["id"]: row["name"] for row in list_users(uow_factory=uow_factory, principal=principal)
    }
