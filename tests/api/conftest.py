"""An API over a store with two teams, four roles and three leads (one per visibility kind)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from leadfunnel.bootstrap import App
from leadfunnel.domain.access import SCOPES
from leadfunnel.entrypoints.api.app import create_api
from leadfunnel.services.api_keys import create_api_key
from leadfunnel.services.auth import add_team, add_user
from tests.builders import submit

PASSWORD = "correct horse battery staple"


@dataclass
class World:
    app: App
    api: FastAPI
    client: TestClient
    users: dict[str, uuid.UUID] = field(default_factory=dict)
    keys: dict[str, str] = field(default_factory=dict)
    leads: dict[str, uuid.UUID] = field(default_factory=dict)
    teams: dict[str, uuid.UUID] = field(default_factory=dict)

    def as_(self, who: str) -> dict[str, str]:
        """Headers that authenticate as persona ``who`` (by API key)."""
        return {"Authorization": f"Bearer {self.keys[who]}"}

    def own(self, lead: str, owner: str | None) -> None:
        """Give ``lead`` to persona ``owner`` (or to the pool), as routing would."""
        lead_id = self.leads[lead]
        with self.app.uow_factory() as uow:
            if owner is None:
                uow.leads.update(lead_id, {"owner_id": None, "team_id": None, "in_pool": True})
            else:
                user = uow.auth.user(self.users[owner])
                assert user is not None
                uow.leads.update(lead_id, {"owner_id": user["id"], "team_id": user["team_id"],
                                           "in_pool": False})  # fmt: skip
            uow.commit()


PERSONAS = {
    # name: (role, team)
    "admin": ("admin", None),
    "manager": ("manager", "East"),
    "marketer": ("marketer", None),
    "rep": ("rep", "East"),
    "rep_west": ("rep", "West"),
}


def build_world(app: App) -> World:
    now = app.clock()
    api = create_api(app)
    world = World(app=app, api=api, client=TestClient(api, base_url="http://127.0.0.1"))
    for team in ("East", "West"):
        world.teams[team] = add_team(uow_factory=app.uow_factory, name=team, region=None,
                                     actor="test", now=now)["id"]  # fmt: skip
    for name, (role, team) in PERSONAS.items():
        user = add_user(uow_factory=app.uow_factory, email=f"{name}@corp.example", name=name,
                        role=role, password=PASSWORD if name == "admin" else None, team=team,
                        actor="test", now=now)  # fmt: skip
        world.users[name] = user["id"]
        world.keys[name] = create_api_key(uow_factory=app.uow_factory, name=f"{name} key",
                                          user_email=f"{name}@corp.example", scopes=SCOPES,
                                          rate_limit=100_000, actor="test", now=now).key  # fmt: skip
    for lead, owner in (("east", "rep"), ("west", "rep_west"), ("pool", None)):
        world.leads[lead] = submit(app, email=f"{lead}.buyer@client.example").lead_id
        world.own(lead, owner)
    return world


@pytest.fixture
def world(app: App) -> Iterator[World]:
    built = build_world(app)
    with built.client:
        yield built
