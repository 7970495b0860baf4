"""Shared fixtures: a clock, and migrated stores on SQLite and PostgreSQL.

PostgreSQL comes from ``LEADFUNNEL_TEST_POSTGRES_URL`` (CI exports it), else from a throwaway
cluster this session starts with ``.ci/pg-cluster`` when the server binaries exist; without
either, PostgreSQL tests are skipped with that reason. Each test gets its own database,
copied from a migrated template, so tests never see each other's rows.

Spark (the ``spark`` extra and Java) is treated the same way: one local session per test
process, skipped with the reason when it cannot start, and a failure in CI.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from leadfunnel.adapters.sql.engine import create_store_engine
from leadfunnel.adapters.sql.migrate import upgrade
from leadfunnel.bootstrap import App, build_app
from leadfunnel.config import Settings

ROOT = Path(__file__).resolve().parent.parent
PG_CLUSTER = ROOT / ".ci" / "pg-cluster"
DATASETS = Path(os.environ.get("DATASETS", ROOT.parent / "shared" / "datasets"))


class FixedClock:
    """A clock tests move by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 3, 2, 9, 30, tzinfo=UTC))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


_PG_UNAVAILABLE: list[str] = []


@pytest.fixture(scope="session")
def pg_admin_url() -> Iterator[str | None]:
    given = os.environ.get("LEADFUNNEL_TEST_POSTGRES_URL")
    if given:
        yield given
        return
    # Not under pytest's tmp dirs: those are private to this user, and the server may run
    # as the 'postgres' user, who must be able to reach its data directory.
    directory = tempfile.mkdtemp(prefix="leadfunnel-pg-")
    started = subprocess.run(
        [str(PG_CLUSTER), "start", directory, str(_free_port())],
        capture_output=True,
        text=True,
        check=False,
    )
    if started.returncode != 0:
        _PG_UNAVAILABLE.append(
            started.stderr.strip().splitlines()[-1] if started.stderr.strip() else "start failed"
        )
        shutil.rmtree(directory, ignore_errors=True)
        yield None
        return
    try:
        yield started.stdout.strip()
    finally:
        subprocess.run([str(PG_CLUSTER), "stop", directory], check=False)
        shutil.rmtree(directory, ignore_errors=True)


def _admin(url: str, sql: str) -> None:
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text(sql))
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def pg_template(pg_admin_url: str | None, worker_id: str) -> Iterator[str | None]:
    """Name of a migrated template database on the test server (one per xdist worker)."""
    if pg_admin_url is None:
        yield None
        return
    name = f"lf_template_{worker_id}"
    _admin(pg_admin_url, f"DROP DATABASE IF EXISTS {name}")
    _admin(pg_admin_url, f"CREATE DATABASE {name}")
    engine = create_store_engine(pg_admin_url.rsplit("/", 1)[0] + f"/{name}")
    upgrade(engine)
    engine.dispose()
    yield name
    _admin(pg_admin_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = create_store_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()  # closing the last connection checkpoints the WAL into the file
    return path


@pytest.fixture
def sqlite_url(sqlite_template: Path, tmp_path: Path) -> str:
    path = tmp_path / "leadfunnel.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def postgresql_url(pg_admin_url: str | None, pg_template: str | None) -> Iterator[str]:
    if pg_admin_url is None or pg_template is None:
        why = _PG_UNAVAILABLE[0] if _PG_UNAVAILABLE else "unavailable"
        if (
            os.environ.get("CI") == "true"
        ):  # CI promises PostgreSQL: a skip there would hide a failure
            pytest.fail(f"PostgreSQL is required in CI but unavailable ({why})")
        pytest.skip(
            f"PostgreSQL: no LEADFUNNEL_TEST_POSTGRES_URL and no local server could start ({why})"
        )
    name = f"lf_test_{uuid.uuid4().hex[:12]}"
    _admin(pg_admin_url, f"CREATE DATABASE {name} TEMPLATE {pg_template}")
    yield pg_admin_url.rsplit("/", 1)[0] + f"/{name}"
    _admin(pg_admin_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(scope="session")
def spark_session() -> Iterator[Any]:
    """One local Spark session per test process (starting one takes seconds); Spark tests
    each load their store into a session of their own on top of it (``SparkStore``)."""
    try:
        from leadfunnel.adapters.warehouse.spark_store import local_session

        session = local_session()
    except Exception as error:  # no PySpark (the extra), or no Java to start it with
        why = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        if os.environ.get("CI") == "true":  # CI promises Spark: a skip there would hide a failure
            pytest.fail(f"Spark is required in CI but unavailable ({why})")
        pytest.skip(f"Spark: install the 'spark' extra and a Java runtime ({why})")
    yield session
    session.stop()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest) -> str:
    """A migrated, empty database on each backend."""
    return str(request.getfixturevalue(f"{request.param}_url"))


def _app(url: str, clock: FixedClock) -> Iterator[App]:
    app = build_app(Settings(database_url=url, default_region="US"), clock=clock)
    yield app
    app.close()


@pytest.fixture
def app(sqlite_url: str, clock: FixedClock) -> Iterator[App]:
    """The app on SQLite: what service tests run against."""
    yield from _app(sqlite_url, clock)


@pytest.fixture
def any_app(store_url: str, clock: FixedClock) -> Iterator[App]:
    """The app on each backend: what storage integration tests run against."""
    yield from _app(store_url, clock)


@pytest.fixture(scope="session")
def worker_id(request: pytest.FixtureRequest) -> str:
    """xdist's worker id, or 'main' when tests run in one process."""
    workerinput = getattr(request.config, "workerinput", None)
    return workerinput["workerid"] if workerinput else "main"
