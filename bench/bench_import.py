"""Import throughput: lead rows per second into SQLite, through intake.

Every row passes the full path: mapping, validation, normalisation (email syntax, phone
parsing to E.164, company key, UTM parsing), de-duplication and idempotency keys. A tenth of
the rows repeat an earlier person (differently written email) so merges are exercised.

    uv run python -m bench.bench_import --rows 100000 [--batch-size 1000] [--workers 0|1] [--again]

Besides the wall-clock rate it prints the CPU seconds of the writing process and of the
worker process(es) preparing batches: on a busy machine the wall clock says little, the CPU
per row still compares runs. ``--again`` then imports the same file a second time (every
row replays as unchanged) and prints that run's line too.
"""

from __future__ import annotations

import argparse
import csv
import random
import resource
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

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
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "leads.csv"
        write_leads_csv(source, args.rows)
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        upgrade(create_store_engine(url))
        app = build_app(Settings(database_url=url))
        for _ in range(2 if args.again else 1):
            _import(app, source, args)
        app.close()


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


if __name__ == "__main__":
    main()
