"""kill -9 in the middle of an import: no half-written batch, no worker process left behind,
and a re-run completes it."""

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


def _children(pid):
    """The processes whose parent is ``pid`` (from /proc: Linux)."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


def _gone(pids, within):
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        alive = set()
        for pid in pids:
            try:
                state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
            except OSError:
                continue
            if state != "Z":  # a zombie has exited; reaping it is its new parent's business
                alive.add(pid)
        if not alive:
            return True
        time.sleep(0.2)
    return False


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
    helpers = _children(process.pid)  # the worker preparing batches ahead (8,000 rows)
    process.send_signal(signal.SIGKILL)
    process.wait()

    ((rows_done, status),) = _counts(store_url)[0]
    _, leads, touches = _counts(store_url)
    assert status == "running" and 0 < rows_done < ROWS and rows_done % BATCH == 0
    assert (
        leads == touches == rows_done
    )  # every committed batch whole, nothing of the one in flight

    assert helpers and _gone(helpers, within=15), "a worker outlived the killed import"

    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["resumed_from_row"] == rows_done and summary["created"] == ROWS
    jobs, leads, touches = _counts(store_url)
    assert jobs == [(ROWS, "completed")] and leads == touches == ROWS
