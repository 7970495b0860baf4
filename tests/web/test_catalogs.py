"""Every label the pages show has an English and a Simplified Chinese entry, and the pure
parts of the dashboard (language choice, change against the previous period, menus) hold."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from leadfunnel.domain.access import ROLES
from leadfunnel.domain.lifecycle import Stage
from leadfunnel.domain.pipeline import PIPELINE
from leadfunnel.entrypoints.web import errors
from leadfunnel.entrypoints.web.i18n import LANGUAGES, language_from
from leadfunnel.entrypoints.web.navigation import PAGES, home_for, pages_for
from leadfunnel.entrypoints.web.pages.attribution import MODELS
from leadfunnel.entrypoints.web.pages.dashboard import CHANNEL_COLUMNS, TILES, change
from leadfunnel.entrypoints.web.pages.explorer import COHORTS, DIMENSIONS, OUTCOMES
from leadfunnel.entrypoints.web.pages.explorer import MODES as EXPLORER_MODES
from leadfunnel.entrypoints.web.pages.imports import DELIMITERS
from leadfunnel.entrypoints.web.pages.leads import ACTIVITY_KINDS
from leadfunnel.services.bulk import BULK_ACTIONS
from leadfunnel.services.imports.mapping import OPTION_CHOICES
from leadfunnel.services.imports.runner import KINDS as IMPORT_KINDS
from leadfunnel.services.leads import LIST_SORTS
from leadfunnel.services.sla_report import SLA_GROUPS

WEB = Path(errors.__file__).parent
LABEL = re.compile(r"""_\(\s*'((?:[^'\\]|\\.)*)'\s*\)""")


def _catalog(code: str) -> dict[str, str]:
    with (WEB / "locale" / code / "LC_MESSAGES" / "messages.po").open("rb") as po:
        return {str(m.id): str(m.string) for m in read_po(po) if m.id}


def _keys() -> set[str]:
    """Keyed msgids (``stage:mql``): the English catalog gives their label."""
    keyed = {f"stage:{s.value}" for s in Stage} | {f"stage:{s}" for s in PIPELINE}
    keyed |= {f"role:{r}" for r in ROLES} | {f"activity:{k}" for k in ACTIVITY_KINDS}
    keyed |= {f"timeline:{t}" for t in ("stage_change", "touchpoint", "activity", "assignment")}
    keyed |= {f"sort:{d}{c}" for c in LIST_SORTS for d in ("", "-")} | {
        f"by:{g}" for g in SLA_GROUPS
    }
    keyed |= {f"sla:{s}" for s in ("due", "met", "breached")} | {
        f"kpi:{c}" for c in CHANNEL_COLUMNS
    }
    keyed |= {f"model:{m}" for m in MODELS}
    keyed |= {f"bulk:{a}" for a in BULK_ACTIONS}
    keyed |= {f"mode:{m}" for m in EXPLORER_MODES} | {f"outcome:{o}" for o in OUTCOMES}
    keyed |= {f"cohort:{c or 'none'}" for c in COHORTS} | {f"by:{d}" for d in DIMENSIONS}
    keyed |= {f"import:{k}" for k in IMPORT_KINDS} | {f"job:{s}" for s in ("running", "completed")}
    keyed |= {f"delimiter:{d}" for d in DELIMITERS if d} | {
        f"backdated:{b}" for b in OPTION_CHOICES["backdated_history"]
    }
    return keyed


def _labels() -> set[str]:
    """Every msgid the pages ask for: literals in templates, labels in Python, keyed ids."""
    found = {m for t in (WEB / "templates").glob("*.html") for m in LABEL.findall(t.read_text())}
    found |= {page.label for page in PAGES} | {tile.label for tile in TILES}
    found |= set(errors._TITLES.values()) | {
        "Something went wrong",
        "Activity logged.",
        "Stage changed.",
        "All leads",
        "Conversion to the last step",
        "Leads reaching the step",
    }
    return found | _keys()


@pytest.mark.parametrize("code", sorted(LANGUAGES))
def test_every_label_is_in_the_catalog(code: str) -> None:
    catalog = _catalog(code)
    missing = sorted(_labels() - set(catalog))
    assert not missing, f"{code} lacks: {missing}"


def test_chinese_translates_every_label_and_english_names_every_key() -> None:
    chinese, english = _catalog("zh_Hans"), _catalog("en")
    assert not [msgid for msgid in _labels() if not chinese[msgid]]
    assert not [key for key in _keys() if not english[key]]


@pytest.mark.parametrize(
    ("param", "cookie", "accept", "expected"),
    [
        (None, None, None, "en"),
        (None, None, "zh-CN,zh;q=0.9,en;q=0.8", "zh_Hans"),
        (None, None, "zh-TW,en;q=0.5", "en"),
        (None, None, "fr, en;q=0.1, zh-Hans;q=0.5", "zh_Hans"),
        (None, "zh_Hans", "en", "zh_Hans"),
        ("en", "zh_Hans", "zh-CN", "en"),
        ("xx", None, "de", "en"),
    ],
)
def test_the_language_is_the_switch_then_the_cookie_then_the_browser(
    param, cookie, accept, expected
):
    assert language_from(param=param, cookie=cookie, accept=accept) == expected


def test_change_is_relative_for_amounts_and_in_points_for_ratios() -> None:
    assert change(120, 100, "count") == pytest.approx(0.2)
    assert change(0.25, 0.2, "ratio") == pytest.approx(0.05)
    assert change(5, 0, "money") is None and change(None, 3, "count") is None


def test_each_role_lands_on_the_first_page_of_its_menu() -> None:
    assert [p.path for p in pages_for("rep")] == ["/dashboard", "/leads", "/pipeline", "/explorer", "/forecast", "/sla"]
    assert {role: home_for(role) for role in ROLES} == {
        "admin": "/dashboard", "manager": "/dashboard", "marketer": "/dashboard", "rep": "/leads",
    }  # fmt: skip
