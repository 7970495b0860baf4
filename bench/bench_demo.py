"""Demo simulator throughput: simulated history into a fresh SQLite file, as ``leadfunnel demo``.

Times the build (simulation, encoding, bulk load, index rebuild, commit and the truth
computation) apart from the schema migration before it, reports the peak resident memory of
the process and the rows written per table, counted back from the database.

    uv run python -m bench.bench_demo --leads 1000000
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text

from leadfunnel.adapters.sql.bulk import BulkWriter
from leadfunnel.adapters.sql.engine import create_store_engine
from leadfunnel.adapters.sql.migrate import upgrade
from leadfunnel.services.demo import build_demo


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="leadfunnel-bench-") as directory:
        path = Path(directory) / "demo.db"
        engine = create_store_engine(f"sqlite:///{path}")
        started = time.perf_counter()
        upgrade(engine)
        migrated = time.perf_counter()
        with BulkWriter(engine) as writer:
            tuned = writer.tuned
            result = build_demo(
                sink=writer, leads=args.leads, seed=args.seed, now=datetime.now(UTC)
            )
            writer.commit()
        built = time.perf_counter()
        with engine.connect() as conn:
            counted = {
                table: conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
                for table in result.rows
            }
        engine.dispose()
        size = path.stat().st_size
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(f"leads: {args.leads:,} (seed {args.seed}), fresh-file tuning: {tuned}")
    print(f"migration: {migrated - started:.1f} s; build: {built - migrated:.1f} s")
    print(f"peak RSS: {peak_mib:,.0f} MiB; database file: {size / 2**30:.2f} GiB")
    for table, count in counted.items():
        assert count == result.rows[table], (table, count, result.rows[table])
        print(f"  {table:28} {count:>12,}")
    print(f"  {'total':28} {sum(counted.values()):>12,}")


if __name__ == "__main__":
    main()
