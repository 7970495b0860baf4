"""The CLI as a test drives it: ``cli("lead", "add", ...)`` on a fresh SQLite store."""

from __future__ import annotations

import json

import pytest

from leadfunnel.entrypoints.cli.app import main


class Cli:
    def __init__(self, capsys, db: str) -> None:
        self.capsys = capsys
        self.db = db

    def __call__(self, *args: str):
        code = main([*args, "--db", self.db])
        out, err = self.capsys.readouterr()
        return code, out, err

    def json(self, *args: str):
        code, out, err = self(*args, "--json")
        assert code == 0, err
        return json.loads(out)


@pytest.fixture
def cli(capsys, sqlite_url):
    return Cli(capsys, sqlite_url)
