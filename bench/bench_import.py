"""Import throughput: lead rows per second into SQLite, through intake.

Every row passes the full path: mapping, validation, normalisation (email syntax, phone
parsing to E.164, company key, UTM parsing), de-duplication and idempotency keys (a key per
row, kept on its touchpoint; a record per batch). A tenth of the rows repeat an earlier
person (differently written email) so merges are exercised.

    uv run python -m bench.bench_import --rows 100000 [--batch-size 1000] [--workers 0|1] [--again]

Besides the wall-clock rate it prints the CPU seconds of the writing process and of the
worker process(es) preparing batches: on a busy machine the wall clock says little, the CPU
per row still compares runs. ``--again`` then imports the same file a second time (every
row replays as unchanged) and prints that run's line too.

``--ceiling N`` then replays, N times, exactly the rows the import wrote (encoded beforehand,
1,000 leads per transaction with their stage changes and touchpoints, an audit entry, the
job's progress and the idempotency rows) with nothing but ``executemany`` and ``COMMIT``: the
most one SQLite writer can do with this write set. It alternates the write set of imports
before idempotency was recorded per batch (a record per row, no key on the touchpoint)
with today's. Merges' updates are left out of both.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import random
import resource
import sqlite3
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from leadfunnel.adapters.files.tabular import read_tabular
from leadfunnel.adapters.sql.engine import create_store_engine
from leadfunnel.adapters.sql.migrate import upgrade
from leadfunnel.bootstrap import App, build_app
from leadfunnel.config import Settings
from leadfunnel.services.imports.runner import run_import

CHANNELS = ("cpc", "email", "social", "referral", "webinar", "organic")


def write_leads_csv(path: Path, rows: int, seed: int = 1) -> None:
    rng = random.Random(seed)
    with path.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(["Email", "Phone", "First Name", "Last Name", "Company", "Title", "Region", "Industry",
                      "Company Size", "Landing URL", "Occurred At"])  # fmt: skip
        for i in range(rows):
            person = rng.randrange(i) if i > 10 and rng.random() < 0.1 else i
            email = (
                f"Person.{person}@Company{person % 5000}.example"
                if person % 3
                else f" person.{person}@company{person % 5000}.example "
            )
            phone = (
                f"(415) {200 + person // 10000 % 800:03d}-{person % 10000:04d}"
                if person % 2
                else ""
            )
            medium = CHANNELS[person % len(CHANNELS)]
            out.writerow([email, phone, f"First{person}", f"Last{person}", f"Company {person % 5000} Ltd.", "Manager",
                          "East", "retail", str(10 + person % 5000),
                          f"https://example.com/lp?utm_source=src{person % 7}&utm_medium={medium}&utm_campaign=c{person % 40}",
                          datetime(2025, 1 + (i != person), 1 + person % 28, tzinfo=UTC).isoformat()])  # fmt: skip


def _cpu_seconds() -> tuple[float, float]:
    """CPU time of this process and of its finished children (the import's workers)."""
    own, children = (
        resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
    )
    return own.ru_utime + own.ru_stime, children.ru_utime + children.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument(
        "--workers", type=int, default=None, help="processes preparing batches (default: auto)"
    )
    parser.add_argument("--again", action="store_true", help="then import the file again")
    parser.add_argument(
        "--ceiling", type=int, default=0, help="then replay the rows written N times"
    )
    parser.add_argument(
        "--drop-index", action="append", default=[], metavar="NAME",
        help="drop this index from every store the run writes (to measure what it costs)",
    )  # fmt: skip
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "leads.csv"
        write_leads_csv(source, args.rows)
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        upgrade(create_store_engine(url))
        _drop_indexes(Path(tmp) / "bench.db", args.drop_index)
        app = build_app(Settings(database_url=url))
        for _ in range(2 if args.again else 1):
            _import(app, source, args)
        app.close()
        if args.ceiling:
            _ceiling(Path(tmp), args)


def _drop_indexes(path: Path, names: list[str]) -> None:
    with sqlite3.connect(path) as conn:
        for name in names:
            conn.execute(f'DROP INDEX "{name}"')


def _import(app: App, source: Path, args: argparse.Namespace) -> None:
    cpu_before = _cpu_seconds()
    started = time.perf_counter()
    table = read_tabular(source)
    read = time.perf_counter() - started
    summary = run_import(uow_factory=app.uow_factory, source=table, kind="leads", mapping=None, actor="bench",
                         clock=lambda: datetime.now(UTC), default_region="US", batch_size=args.batch_size,
                         workers=args.workers)  # fmt: skip
    elapsed = time.perf_counter() - started
    writer, helpers = (
        after - before for after, before in zip(_cpu_seconds(), cpu_before, strict=True)
    )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"rows={args.rows} batch={args.batch_size} workers={args.workers if args.workers is not None else 'auto'} "
          f"created={summary.created} merged={summary.merged} unchanged={summary.unchanged} "
          f"rejected={summary.rejected} read={read:.2f}s total={elapsed:.2f}s "
          f"rate={args.rows / elapsed:,.0f} rows/s cpu_writer={writer:.2f}s cpu_workers={helpers:.2f}s "
          f"peak_rss={peak:.0f} MiB")  # fmt: skip


Row = tuple[Any, ...]


def _ceiling(tmp: Path, args: argparse.Namespace) -> None:
    stored = sqlite3.connect(tmp / "bench.db")

    def dump(table: str) -> tuple[list[str], list[Row]]:
        cursor = stored.execute(f"SELECT * FROM {table} ORDER BY rowid")
        return [d[0] for d in cursor.description], cursor.fetchall()

    leads, changes, touches = dump("leads"), dump("stage_transitions"), dump("touchpoints")
    audit, keys, job = dump("audit_log"), dump("idempotency_keys"), dump("import_jobs")
    batches = (len(leads[1]) + 999) // 1000
    batch_of = {row[0]: i // 1000 for i, row in enumerate(leads[1])}

    def split(table: tuple[list[str], list[Row]]) -> list[list[Row]]:
        # A child row goes with its lead's batch, or later (a merge into an older lead).
        out: list[list[Row]] = [[] for _ in range(batches)]
        at, n = table[0].index("lead_id"), len(table[1])
        for j, row in enumerate(table[1]):
            out[max(batch_of[row[at]], min(batches - 1, j * batches // n))].append(row)
        return out

    prop = touches[0].index("properties")

    def without_key(row: Row) -> Row:
        properties = json.loads(row[prop])
        properties.pop("idempotency_key", None)
        properties.pop("request_hash", None)
        return (*row[:prop], json.dumps(properties), *row[prop + 1 :])

    def row_records(i: int, n: int) -> list[tuple[str, str, str, str]]:
        out = []
        for j in range(n):
            h = hashlib.sha256(f"{i}:{j}".encode()).hexdigest()
            response = {"outcome": "created", "lead_id": h[:32], "touchpoint_id": h[32:],
                        "matched_on": None, "replayed": False}  # fmt: skip
            out.append((f"import:leads:{h}", h, json.dumps(response), keys[1][0][3]))
        return out

    touch_batches, change_batches = split(touches), split(changes)
    sets = {
        "record per row": (
            [[without_key(r) for r in b] for b in touch_batches],
            [row_records(i, len(b)) for i, b in enumerate(touch_batches)],
        ),
        "record per batch": (
            touch_batches,
            [[(f"import:leads:batch:{i:064x}", *keys[1][0][1:])] for i in range(batches)],
        ),
    }

    def insert(table: str, names: list[str]) -> str:
        return f"INSERT INTO {table} ({','.join(names)}) VALUES ({','.join('?' * len(names))})"

    for run in range(args.ceiling):
        for name, (touch_rows, key_rows) in sets.items():
            path = tmp / f"ceiling{run}{len(name)}.db"
            upgrade(create_store_engine(f"sqlite:///{path}"))
            _drop_indexes(path, args.drop_index)
            conn = sqlite3.connect(path, isolation_level=None)
            for pragma in ("journal_mode=WAL", "synchronous=FULL", "foreign_keys=ON",
                           "wal_autocheckpoint=32768"):  # fmt: skip
                conn.execute(f"PRAGMA {pragma}")
            conn.execute(insert("import_jobs", job[0]), job[1][0])
            started, cpu = time.perf_counter(), time.process_time()
            for i in range(batches):
                conn.execute("BEGIN IMMEDIATE")
                conn.executemany(insert("leads", leads[0]), leads[1][i * 1000 : (i + 1) * 1000])
                conn.executemany(insert("stage_transitions", changes[0]), change_batches[i])
                conn.executemany(insert("touchpoints", touches[0]), touch_rows[i])
                conn.execute(insert("audit_log", audit[0]), (f"{i:032x}", *audit[1][0][1:]))
                conn.executemany(insert("idempotency_keys", keys[0]), key_rows[i])
                conn.execute("UPDATE import_jobs SET rows_done = ?, updated_at = ? WHERE id = ?",
                             (i * 1000, job[1][0][-3], job[1][0][0]))  # fmt: skip
                conn.execute("COMMIT")
            wall, cpu = time.perf_counter() - started, time.process_time() - cpu
            conn.close()
            print(f"ceiling ({name}): {args.rows / wall:,.0f} rows/s ({len(leads[1]) / wall:,.0f} leads/s), "
                  f"CPU {cpu / len(leads[1]) * 1e6:.1f} us per lead ({args.rows / cpu:,.0f} rows/s if CPU-bound)")  # fmt: skip


if __name__ == "__main__":
    main()
