"""Saved views of the leads list: named per person, replaced by name, private, never more
than the list would show, refused when they hold what is not a filter."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from leadfunnel.bootstrap import App
from leadfunnel.domain.lifecycle import Stage
from leadfunnel.services.lifecycle import move_lead
from tests.api.conftest import World, build_world
from tests.web.test_pages import _browser


@pytest.fixture
def world(app: App) -> Iterator[World]:
    built = build_world(app)
    with built.client:
        yield built


def _post(client, path: str, **data: str):
    return client.post(path, data={"csrf": client.cookies["lf_csrf"], **data}, follow_redirects=False)


def _views(html: str) -> dict[str, str]:
    return dict(re.findall(r'data-view="([^"]+)"><a href="/leads\?([^"]*)"', html))


def test_a_view_is_saved_opened_replaced_and_deleted(world: World) -> None:
    move_lead(uow_factory=world.app.uow_factory, lead_id=world.leads["east"], to=Stage.MQL,
              actor="test", now=world.app.clock())  # fmt: skip
    admin = _browser(world, "admin")
    page = admin.get("/leads?stage=mql&sort=-score").text
    assert 'id="save-view"' in page and 'name="query" value="stage=mql&amp;sort=-score"' in page
    saved = _post(admin, "/leads/views", name="  My   MQLs ", query="stage=mql&sort=-score")
    assert saved.status_code == 303 and saved.headers["location"] == "/leads?sort=-score&stage=mql"
    listed = admin.get(saved.headers["location"]).text
    assert _views(listed) == {"My MQLs": "sort=-score&amp;stage=mql"}
    assert listed.count("<tr data-lead=") == 1  # the view is the list's own filter
    _post(admin, "/leads/views", name="My MQLs", query="stage=lead")  # same name: replaced
    assert _views(admin.get("/leads").text) == {"My MQLs": "stage=lead"}
    view_id = re.search(r'action="/leads/views/([0-9a-f-]+)/delete"', admin.get("/leads").text).group(1)
    assert _browser(world, "manager").post(f"/leads/views/{view_id}/delete",
                                           data={"csrf": "x"}).status_code == 403  # fmt: skip
    manager = _browser(world, "manager")
    assert _post(manager, f"/leads/views/{view_id}/delete").status_code == 404  # not theirs
    assert _views(manager.get("/leads").text) == {}  # views are private
    assert _post(admin, f"/leads/views/{view_id}/delete").status_code == 303
    assert _views(admin.get("/leads").text) == {}


def test_a_view_never_shows_more_than_the_list_would(world: World) -> None:
    rep = _browser(world, "rep")
    _post(rep, "/leads/views", name="Everything", query="sort=-created_at")
    html = rep.get("/leads?sort=-created_at").text
    assert str(world.leads["west"]) not in html and str(world.leads["east"]) in html


@pytest.mark.parametrize(
    ("query", "named"),
    [("owner_id=x", "owner_id"), ("", "query"), ("stage=", "query")],
)
def test_bad_views_are_refused_naming_the_problem(world: World, query: str, named: str) -> None:
    admin = _browser(world, "admin")
    refused = _post(admin, "/leads/views", name="odd", query=query)
    assert refused.status_code == 422 and named in refused.text
    nameless = _post(admin, "/leads/views", name="   ", query="stage=mql")
    assert nameless.status_code == 422 and "name" in nameless.text
