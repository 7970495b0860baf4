"""The public surface is curated and documented: a new command or export without docs fails here."""

from __future__ import annotations

import re
from pathlib import Path

import typer
from typer.testing import CliRunner

import leadfunnel
from leadfunnel.entrypoints.cli.app import app

ROOT = Path(__file__).resolve().parents[2]
CLI_DOC = (ROOT / "docs" / "reference" / "cli.md").read_text(encoding="utf-8")


def test_package_exports_are_pinned():
    assert sorted(leadfunnel.__all__) == [
        "DomainError",
        "IdempotencyConflict",
        "IllegalTransition",
        "NotFound",
        "Stage",
        "ValidationError",
        "__version__",
    ]


def _commands(group, prefix=("leadfunnel",)):
    for name, command in group.commands.items():
        path = (*prefix, name)
        if hasattr(command, "commands"):
            if any(
                p.opts[0].startswith("--") for p in command.params if p.opts
            ):  # a group that runs by itself
                yield " ".join(path), command
            yield from _commands(command, path)
        else:
            yield " ".join(path), command


COMMANDS = dict(_commands(typer.main.get_command(app)))


def _section(command_path: str) -> str:
    match = re.search(rf"^## {re.escape(command_path)}\n(.*?)(?=^## |\Z)", CLI_DOC, re.S | re.M)
    assert match, f"docs/reference/cli.md has no '## {command_path}' section"
    return match.group(1)


def test_every_command_has_help_text_and_a_documented_section_listing_its_options():
    assert len(COMMANDS) >= 6
    for path, command in COMMANDS.items():
        assert (command.help or "").strip(), f"{path} has no help text"
        section = _section(path)
        for param in command.params:
            for opt in param.opts:
                if opt.startswith("--"):
                    assert f"`{opt}" in section, f"{path}: option {opt} is not documented"
        assert "--db" in [o for p in command.params for o in p.opts], f"{path} lacks --db"
        assert "--json" in [o for p in command.params for o in p.opts], f"{path} lacks --json"


def test_command_lists_rewrap_help_texts_instead_of_keeping_their_line_breaks():
    # The docstrings are wrapped at 100 columns. Typer's default mode kept their line
    # breaks in a group's list of commands: a ragged column of short lines, however wide
    # the terminal.
    def groups(group, args=()):
        yield args, group
        for name, command in group.commands.items():
            if hasattr(command, "commands"):
                yield from groups(command, (*args, name))

    checked = 0
    for args, group in groups(typer.main.get_command(app)):
        output = CliRunner().invoke(app, [*args, "--help"], env={"COLUMNS": "250"}).output
        lines = [" ".join(line.replace("│", " ").split()) for line in output.splitlines()]
        for name, command in group.commands.items():
            first = " ".join((command.short_help or command.help or "").split("\n\n")[0].split())
            if "\n" in (command.help or "").split("\n\n")[0] and len(first) < 180:
                assert any(first in line for line in lines), f"{args} {name}: {first!r}"
                checked += 1
    assert checked >= 5


def test_docs_document_no_command_that_does_not_exist():
    documented = re.findall(r"^## (leadfunnel .+)$", CLI_DOC, re.M)
    assert sorted(documented) == sorted(COMMANDS)


def test_readme_opens_with_the_two_commands_and_the_makefile_has_them():
    head = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()[:6]
    commands = [line.split("#")[0].strip() for line in head if line.startswith("make ")]
    assert commands == ["make demo", "make test"]
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^demo:", makefile, re.M) and re.search(r"^test:", makefile, re.M)


def test_docs_links_resolve():
    for doc in [ROOT / "README.md", *(ROOT / "docs").rglob("*.md")]:
        for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", doc.read_text(encoding="utf-8")):
            if not target.startswith("http"):
                assert (doc.parent / target).resolve().exists(), (
                    f"{doc.relative_to(ROOT)} links to missing {target}"
                )
