"""docs/how-to/dashboard.md's table of pages and who sees them matches the menus: a role
has a dash exactly where its menu lacks the page."""

from __future__ import annotations

from pathlib import Path

from leadfunnel.entrypoints.web.navigation import PAGES, pages_for

DOC = Path(__file__).resolve().parents[2] / "docs" / "how-to" / "dashboard.md"
ROLES = ("admin", "manager", "marketer", "rep")  # the table's columns, in order


def _table() -> dict[str, list[str]]:
    """The "Pages and who sees them" table: page name -> one cell per role."""
    lines = DOC.read_text(encoding="utf-8").split("## Pages and who sees them")[1].splitlines()
    rows = [line for line in lines if line.startswith("| ")][1:]  # past the header
    cells = [[c.strip() for c in row.strip("|").split("|")] for row in rows]
    return {c[0]: c[1:] for c in cells}


def test_the_pages_table_gives_each_role_the_pages_of_its_menu() -> None:
    table = _table()
    for page in PAGES:
        name = next(n for n in table if n == page.label or n.startswith(page.label + " "))
        shown = {role for role, cell in zip(ROLES, table[name], strict=True) if cell != "–"}
        menus = {role for role in ROLES if page in pages_for(role)}
        assert shown == menus, page.label
