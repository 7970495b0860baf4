"""In-process pages: a lead page lists its deals and refuses closing a lead whose deal is
open; every role sees owners' and teams' names; the pipeline's Move-to form moves a deal
with its version and closed cards offer no move; an input error names the field in words
and links back with the other choices kept."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html import unescape

import pytest
from babel.messages.pofile import read_po

from leadfunnel.bootstrap import App
from leadfunnel.domain.access import SYSTEM, lead_scope
from leadfunnel.domain.lifecycle import Stage
from leadfunnel.entrypoints.web import errors
from leadfunnel.entrypoints.web.i18n import LANGUAGES
from leadfunnel.services.lifecycle import move_lead
from leadfunnel.services.opportunities import move_opportunity, open_opportunity
from tests.api.conftest import World, build_world
from tests.web.test_pages import _browser


@pytest.fixture
def world(app: App) -> Iterator[World]:
    built = build_world(app)
    with built.client:
        yield built


def _to_opportunity(world: World, lead: str, *names: str) -> list[dict]:
    for to in (Stage.MQL, Stage.SQL):
        move_lead(uow_factory=world.app.uow_factory, lead_id=world.leads[lead], to=to,
                  actor="test", now=world.app.clock())  # fmt: skip
    return [open_opportunity(uow_factory=world.app.uow_factory, principal=SYSTEM, lead_id=world.leads[lead],
                             name=name, amount="12000", now=world.app.clock()) for name in names]  # fmt: skip


def _card(html: str, deal_id: object) -> str:
    found = re.search(rf'<li class="deal[^"]*" id="deal-{deal_id}".*?</li>', html, re.S)
    assert found, f"no card for {deal_id}"
    return found.group(0)


# -- the lead follows its deals ------------------------------------------------------------


def test_the_lead_page_lists_its_deals_and_refuses_winning_the_lead_by_hand(world: World) -> None:
    deal = _to_opportunity(world, "east", "ACME rollout")[0]
    admin = _browser(world, "admin")
    lead = world.leads["east"]
    page = admin.get(f"/leads/{lead}").text
    section = page.split('id="deals"')[1].split("</section>")[0]
    assert "ACME rollout" in section and f'href="/pipeline#deal-{deal["id"]}"' in section
    assert "Qualification" in section and "12,000" in section
    refused = admin.post(
        f"/leads/{lead}/stage", data={"to": "won", "csrf": admin.cookies["lf_csrf"]}
    )
    assert refused.status_code == 409
    error = re.search(r'id="stage-error">(.*?)</p>', refused.text, re.S)
    assert error and "&#39;ACME rollout&#39; (qualification)" in error.group(1)
    assert "close it on the pipeline" in error.group(1)
    assert re.search(r"<h1>.*?stage-opportunity", refused.text, re.S)


def test_a_lead_without_deals_has_no_deals_section(world: World) -> None:
    page = _browser(world, "admin").get(f"/leads/{world.leads['east']}").text
    assert 'id="deals"' not in page


# -- names ---------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["marketer", "rep", "manager"])
def test_every_role_sees_the_owner_names_of_what_it_may_see(world: World, who: str) -> None:
    _to_opportunity(world, "east", "ACME rollout")
    client = _browser(world, who)
    lead_page = client.get(f"/leads/{world.leads['east']}").text
    assert re.search(r'<p id="owner">\s*rep\s*</p>', lead_page), lead_page.split('id="owner"')[1][
        :200
    ]
    assert "another user" not in client.get("/leads").text
    card = _card(client.get("/pipeline").text, _deal_id(world))
    assert "rep" in card and "another user" not in card


def _deal_id(world: World) -> str:
    with world.app.uow_factory(write=False) as uow:
        rows, _ = uow.crm.opportunities(scope=lead_scope(SYSTEM), filters={}, after=None, limit=1)
    return str(rows[0]["id"])


@pytest.mark.parametrize(
    ("by", "names"), [("team_id", {"East", "West"}), ("owner_id", {"rep", "rep_west"})]
)
@pytest.mark.parametrize("who", ["admin", "marketer"])
def test_a_breakdown_by_team_or_owner_is_labelled_with_names(
    world: World, who: str, by: str, names: set[str]
) -> None:
    page = _browser(world, who).get(f"/explorer?by={by}&top=5").text
    table = page.split("<tbody>")[1].split("</tbody>")[0]
    for uid in {str(world.teams[n]) for n in ("East", "West")} | {
        str(world.users[n]) for n in ("rep", "rep_west")
    }:
        assert uid not in re.sub(r'(data-group|href)="[^"]*"', "", table), uid
    shown = set(re.findall(r'<tr data-group="[^"]+"[^>]*>\s*<td[^>]*>([^<]+)<', table))
    assert names <= {s.strip() for s in shown}, shown
    legend = re.search(r'"name": "([^"]+)"', page)
    assert legend and legend.group(1) in names | {"other", "(none)"}
    team = str(world.teams["East"])
    drill = _browser(world, who).get(f"/explorer/leads?by=team_id&step=lead&value={team}").text
    assert re.search(r"<h1>[^<]*East", drill) and team not in re.search(
        r"<h1>.*?</h1>", drill, re.S
    ).group(0)


# -- the pipeline's Move-to control ----------------------------------------------------------


def test_the_move_to_form_moves_a_deal_with_its_version(world: World) -> None:
    deal = _to_opportunity(world, "east", "ACME rollout")[0]
    admin = _browser(world, "admin")
    card = _card(admin.get("/pipeline").text, deal["id"])
    assert 'draggable="true"' in card and 'tabindex="0"' in card
    form = re.search(r'<form method="post" action="([^"]+)"', card)
    assert form and form.group(1) == f"/pipeline/deals/{deal['id']}/stage"
    assert re.search(r'<option value="qualification" disabled>', card)
    csrf = admin.cookies["lf_csrf"]
    moved = admin.post(form.group(1), data={"to": "proposal", "version": "1", "csrf": csrf},
                       follow_redirects=False)  # fmt: skip
    assert moved.status_code == 303 and moved.headers["location"].endswith(f"#deal-{deal['id']}")
    board = admin.get(moved.headers["location"])
    assert 'class="status notice"' in board.text
    assert 'data-stage="proposal"' in _card(board.text, deal["id"])
    stale = admin.post(form.group(1), data={"to": "negotiation", "version": "1", "csrf": csrf})
    assert stale.status_code == 412 and 'class="status error"' in stale.text
    no_reason = admin.post(form.group(1), data={"to": "lost", "version": "2", "csrf": csrf})
    assert no_reason.status_code == 422 and "say why the deal was lost" in no_reason.text
    forged = admin.post(form.group(1), data={"to": "won", "version": "2"})
    assert forged.status_code == 403


def test_closed_cards_are_neither_draggable_nor_movable(world: World) -> None:
    deal = _to_opportunity(world, "east", "ACME rollout")[0]
    move_opportunity(uow_factory=world.app.uow_factory, principal=SYSTEM, opportunity_id=deal["id"],
                     to="won", expected_version=1, now=world.app.clock())  # fmt: skip
    card = _card(_browser(world, "admin").get("/pipeline").text, deal["id"])
    assert 'draggable="false"' in card and "tabindex" not in card and "<form" not in card


# -- input errors ----------------------------------------------------------------------------


def _back(html: str) -> str:
    found = re.search(r'<a href="([^"]+)" id="error-back">', html)
    assert found, "no way back"
    return unescape(found.group(1))


def test_an_explorer_input_error_names_the_field_and_goes_back_with_the_other_choices(
    world: World,
) -> None:
    query = "by=channel&top=5&cohort=month&where=region%3AEMEA&window=30+days"
    page = _browser(world, "admin").get(f"/explorer?{query}")
    assert page.status_code == 422
    assert re.search(
        r"<strong>Window</strong> — window: &#39;30 days&#39; is not a window", page.text
    )
    assert _back(page.text) == "/explorer?by=channel&top=5&cohort=month&where=region%3AEMEA"
    assert _browser(world, "admin").get(_back(page.text)).status_code == 200


def test_a_dashboard_period_error_goes_back_without_the_start(world: World) -> None:
    page = _browser(world, "admin").get("/dashboard?from=2026-05-01&to=2026-01-01&sort=leads")
    assert page.status_code == 422 and "<strong>From</strong>" in page.text
    assert _back(page.text) == "/dashboard?to=2026-01-01&sort=leads"


def test_a_malformed_parameter_names_its_field_too(world: World) -> None:
    page = _browser(world, "admin").get("/explorer?by=channel&top=many")
    assert page.status_code == 422 and "<strong>Top</strong>" in page.text
    assert _back(page.text) == "/explorer?by=channel"


@pytest.mark.parametrize("code", sorted(LANGUAGES))
def test_every_field_label_of_an_error_page_is_in_the_catalog(code: str) -> None:
    path = errors.__file__.rsplit("/", 1)[0] + f"/locale/{code}/LC_MESSAGES/messages.po"
    with open(path, "rb") as po:
        catalog = {str(m.id) for m in read_po(po) if m.id}
    assert set(errors.FIELDS.values()) <= catalog
