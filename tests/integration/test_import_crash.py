"""kill -9 in the middle of an import: no half-written batch, and a re-run completes it."""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import create_engine, text

EXE = shutil.which("leadfunnel", path=str(Path(sys.executable).parent))
ROWS, BATCH = 8_000, 200


def _counts(url):
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            jobs = conn.execute(text("SELECT rows_done, status FROM import_jobs")).all()
            leads = conn.execute(text("SELECT count(*) FROM leads")).scalar_one()
            touches = conn.execute(text("SELECT count(*) FROM touchpoints")).scalar_one()
    finally:
        engine.dispose()
    return jobs, leads, touches


def test_kill_9_mid_import_leaves_whole_batches_and_a_rerun_completes_without_duplicates(
    store_url, tmp_path
):
    source = tmp_path / "leads.csv"
    with source.open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["email", "company", "channel"])
        out.writerows([f"p{i}@crash.example", f"Company {i}", "webinar"] for i in range(ROWS))
    env = {**os.environ, "LEADFUNNEL_DATABASE_URL": store_url}
    command = [EXE, "import", "leads", str(source), "--batch-size", str(BATCH), "--json"]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        jobs, _, _ = _counts(store_url)
        if jobs and jobs[0][0] >= 4 * BATCH:
            break
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()

    ((rows_done, status),) = _counts(store_url)[0]
    _, leads, touches = _counts(store_url)
    assert status == "running" and 0 < rows_done < ROWS and rows_done % BATCH == 0
    assert (
        leads == touches == rows_done
    )  # every committed batch whole, nothing of the one in flight

    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["resumed_from_row"] == rows_done and summary["created"] == ROWS
    jobs, leads, touches = _counts(store_url)
    assert jobs == [(ROWS, "completed")] and leads == touches == ROWS
