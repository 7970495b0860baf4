"""The rules pages: a document is validated and stored as a draft, its dry run (scoring) or
replay (routing) is shown before activation, refusals keep the text and store nothing, and
each role may change only what the API lets it change."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from leadfunnel.bootstrap import App
from leadfunnel.entrypoints.web.pages.rules import STARTERS
from leadfunnel.services.auth import add_team
from leadfunnel.services.scoring_models import list_models
from tests.api.conftest import World, build_world
from tests.web.conftest import Site, screenshot, sign_in
from tests.web.test_pages import _browser

MODEL = """name: fit
grades:
  fit: {A: 20, B: 10, C: 1}
  engagement: {1: 20, 2: 10, 3: 1}
fit:
  - name: buyer at client
    points: 25
    when: {field: email, op: contains, value: client.example}
"""


@pytest.fixture
def world(app: App) -> Iterator[World]:
    built = build_world(app)
    with built.client:
        yield built


def _post(client, path: str, **data: str):
    return client.post(path, data={"csrf": client.cookies["lf_csrf"], **data}, follow_redirects=False)


def _dry_run(html: str) -> dict[str, int]:
    return {k: int(v.replace(",", "")) for k, v in re.findall(r'data-key="(\w+)">([\d,]+)<', html)}


def test_a_scoring_model_is_saved_as_a_draft_dry_run_then_activated(world: World) -> None:
    admin = _browser(world, "admin")
    assert "half_life_days" in admin.get("/rules/scoring/new").text  # the starter document
    saved = _post(admin, "/rules/scoring/new", document=MODEL, format="yaml")
    assert saved.status_code == 303
    assert saved.headers["location"] == "/rules/scoring/fit?version=1&done=saved"
    draft = admin.get(saved.headers["location"]).text
    assert 'id="shown-status">draft<' in draft and 'id="activate-form"' in draft
    # All three leads are at client.example: each gains 25 fit points, grade A.
    assert _dry_run(draft) == {"scored": 3, "grade_changed": 3, "priority_changed": 3, "hot": 0}
    assert [m.status for m in list_models(uow_factory=world.app.uow_factory)] == ["draft"]
    done = _post(admin, "/rules/scoring/fit/versions/1/activate")
    assert done.status_code == 303
    active = admin.get(done.headers["location"]).text
    assert "Activated." in active and 'id="shown-status">active<' in active
    assert 'id="activate-form"' not in active
    overview = admin.get("/rules").text
    assert re.search(r'data-model="fit">.*?<td>v1</td>', overview, re.S)


def test_a_refused_document_keeps_the_text_names_the_problem_and_stores_nothing(world: World) -> None:
    admin = _browser(world, "admin")
    broken = MODEL.replace("op: contains", "op: resembles")
    refused = _post(admin, "/rules/scoring/new", document=broken, format="yaml")
    assert refused.status_code == 422
    assert "resembles" in refused.text and 'id="rule-error"' in refused.text
    assert "op: resembles" in refused.text  # what was typed, to fix
    not_yaml = _post(admin, "/rules/scoring/new", document="name: [unclosed", format="yaml")
    assert not_yaml.status_code == 422 and 'id="rule-error"' in not_yaml.text
    assert list_models(uow_factory=world.app.uow_factory) == []


def test_a_routing_draft_shows_its_replay_and_sla_drafts_say_they_have_none(world: World) -> None:
    admin = _browser(world, "admin")
    rules = "rule:\n  - name: east first\n    team: East\n    strategy: round_robin\n"
    saved = _post(admin, "/rules/routing/new", document=rules, format="yaml")
    assert saved.headers["location"] == "/rules/routing/current?version=1&done=saved"
    draft = admin.get(saved.headers["location"]).text
    assert 'id="replay"' in draft and "east first" in draft
    assert _dry_run(draft)["leads"] == 3  # the world's leads, all created today
    sla = _post(admin, "/rules/sla/new", document=STARTERS["sla"], format="yaml")
    page = admin.get(sla.headers["location"]).text
    assert "no dry run" in page and 'id="activate-form"' in page


def test_a_calendar_is_replaced_on_save(world: World) -> None:
    admin = _browser(world, "admin")
    saved = _post(admin, "/rules/calendars/new", document=STARTERS["calendars"], format="yaml")
    assert saved.headers["location"] == "/rules/calendars/Office?done=replaced"
    later = STARTERS["calendars"].replace("Europe/Berlin", "Asia/Shanghai")
    _post(admin, "/rules/calendars/Office", document=later, format="yaml")
    assert "Asia/Shanghai" in admin.get("/rules/calendars/Office").text
    assert "Asia/Shanghai" in admin.get("/rules").text


def test_each_role_changes_only_what_it_may(world: World) -> None:
    add_team(uow_factory=world.app.uow_factory, name="Sales", region=None, actor="test",
             now=world.app.clock())  # fmt: skip
    marketer = _browser(world, "marketer")
    assert _post(marketer, "/rules/scoring/new", document=MODEL).status_code == 303
    refused = _post(marketer, "/rules/routing/new", document=STARTERS["routing"])
    assert refused.status_code == 403
    manager = _browser(world, "manager")
    assert manager.get("/rules").status_code == 200
    page = manager.get("/rules/scoring/fit").text
    assert "readonly" in page and 'id="activate-form"' not in page
    assert _post(manager, "/rules/scoring/fit/versions/1/activate").status_code == 403
    assert _browser(world, "rep").get("/rules").status_code == 403
    forged = _browser(world, "admin").post("/rules/scoring/new", data={"document": MODEL})
    assert forged.status_code == 403
    assert [m.status for m in list_models(uow_factory=world.app.uow_factory)] == ["draft"]


def test_unknown_kinds_and_versions_are_not_found(world: World) -> None:
    admin = _browser(world, "admin")
    assert admin.get("/rules/nonsense/x").status_code == 404
    assert admin.get("/rules/scoring/nobody").status_code == 404
    _post(admin, "/rules/scoring/new", document=MODEL)
    assert admin.get("/rules/scoring/fit?version=9").status_code == 404


def test_the_admin_edits_a_model_and_sees_the_dry_run_before_activating(page, site: Site):
    sign_in(page, site, "admin", path="/leads")
    stored = int(page.locator("h1 .count").get_attribute("data-total"))  # other tests add leads
    page.goto("/rules/scoring/new")
    page.fill("#document", STARTERS["scoring"].replace("my-model", "browser-model"))
    page.click("#rule-form button[type=submit]")
    page.wait_for_selector("#dry-run")
    scored = int(page.locator('#dry-run [data-key="scored"]').inner_text().replace(",", ""))
    assert scored == stored >= 2000  # every lead is scored by the candidate
    screenshot(page, "rules-dry-run")
    page.click("#activate-form button")
    page.wait_for_selector("#shown-status:has-text('active')")
    assert page.locator("p.notice").inner_text() == "Activated."


def test_rule_sets_without_versions_link_only_to_writing_the_first(world: World) -> None:
    overview = _browser(world, "admin").get("/rules").text
    assert 'href="/rules/routing/current"' not in overview
    assert 'href="/rules/sla/current"' not in overview
    assert 'href="/rules/routing/new"' in overview and 'href="/rules/sla/new"' in overview


def test_the_versions_name_who_saved_them_and_the_heading_opens_the_rule_set(world: World) -> None:
    admin = _browser(world, "admin")
    _post(admin, "/rules/routing/new", document=STARTERS["routing"].replace("Sales", "East"))
    overview = admin.get("/rules").text
    section = overview.split('id="routing-versions"')[1].split("</section>")[0]
    assert '<a href="/rules/routing/current">' in section
    assert "<td>admin</td>" in section  # the person's name, not their user id
    assert "user:" not in section
