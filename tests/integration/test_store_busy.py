"""Another process holding the DuckDB file (a running server syncing it): a question here
waits a little, then fails with one clear error instead of DuckDB's lock traceback, and
works again once the file is free."""

from __future__ import annotations

import random
import subprocess
import sys

import pytest

from leadfunnel.adapters.warehouse import duckdb_store
from leadfunnel.adapters.warehouse.engine import analytics_engine
from leadfunnel.analytics.kpi_spec import kpi_spec
from leadfunnel.domain.errors import StorageError
from tests.integration.test_kpi_engine import NOW
from tests.kpi_data import random_data, write_kpi_data

_HOLD = """
import sys, duckdb
db = duckdb.connect(sys.argv[1])
print("held", flush=True)
sys.stdin.readline()
"""


def test_a_store_locked_by_another_process_is_a_clear_error_then_works(app, monkeypatch):
    write_kpi_data(app, random_data(random.Random(5), n=20))
    engine = analytics_engine(app.engine)
    before = engine.kpis(kpi_spec(), now=NOW).rows  # synced once: the file exists
    engine.close()
    monkeypatch.setattr(duckdb_store, "BUSY_SECONDS", 0.5)
    holder = subprocess.Popen([sys.executable, "-c", _HOLD, str(engine.store.path)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        other = analytics_engine(app.engine)  # a new process's engine: it must sync first
        with pytest.raises(StorageError, match="in use by another process"):
            other.kpis(kpi_spec(), now=NOW)
    finally:
        assert holder.stdin is not None
        holder.stdin.write("\n")
        holder.stdin.flush()
        holder.wait(timeout=30)
    assert other.kpis(kpi_spec(), now=NOW).rows == before
    other.close()
