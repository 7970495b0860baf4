"""Fixtures shared by the engine tests."""

from __future__ import annotations

import shutil

import pytest

from leadfunnel.bootstrap import build_app
from leadfunnel.config import Settings


@pytest.fixture
def fresh_app(sqlite_template, tmp_path_factory):
    """A factory of empty, migrated SQLite stores (one per hypothesis example)."""
    apps = []

    def make():
        path = tmp_path_factory.mktemp("store") / "leadfunnel.db"
        shutil.copy(sqlite_template, path)
        apps.append(build_app(Settings(database_url=f"sqlite:///{path}")))
        return apps[-1]

    yield make
    for app in apps:
        app.close()
