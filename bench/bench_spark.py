"""The funnel workload on Spark (local mode) and on DuckDB: the same Ibis expressions.

Data and workload are ``bench_funnel``'s: generated leads and stage changes; (a) stage
counts, conversion and drop-off; (b) the same by channel x creation month; (c) median and
p90 time in each stage; (d) the ordered funnel within a 90-day window. DuckDB answers from
its store file (built as a full sync builds it); Spark from a :class:`SparkStore` loaded
with the same rows as text, as its sync loads them (typed in Spark, milestones and stage
stays built and cached). Prints the load and the warm workload (best of --repeat) on each.

    uv sync --extra spark
    uv run python -m bench.bench_spark --leads 1000000
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import pyarrow as pa

from bench.bench_funnel import best, build_store, generate, leadfunnel_workload
from leadfunnel.adapters.warehouse.engine import DuckDbStore
from leadfunnel.adapters.warehouse.spark_store import SparkStore, local_session


def as_text(table: pa.Table) -> pa.Table:
    """Every column as text, as the write store reader hands rows over."""
    return table.cast(pa.schema([(name, pa.string()) for name in table.column_names]))


def load_spark(store: SparkStore, leads: pa.Table, transitions: pa.Table) -> float:
    started = time.perf_counter()
    store.put("leads", as_text(leads))
    store.put("stage_transitions", as_text(transitions))
    store.derive()
    con = store.connect()
    for name in ("leads", "stage_transitions", "milestones", "stage_stays"):
        con.table(name).count().execute()  # fill the caches
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    leads, transitions = generate(args.leads)
    print(f"leads={leads.num_rows:,} stage_changes={transitions.num_rows:,} machine: 2 cores")
    started = time.perf_counter()
    session = local_session()
    print(f"spark session start: {time.perf_counter() - started:.1f}s")
    store = SparkStore(session)
    loaded = load_spark(store, leads, transitions)
    print(f"spark load (Arrow text -> typed, cached, milestones): {loaded:.1f}s")
    spark = store.connect()
    leadfunnel_workload(spark)  # warm: plans, code generation
    on_spark = best(lambda: leadfunnel_workload(spark), args.repeat)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.duckdb"
        print(f"duckdb store build: {build_store(path, leads, transitions):.2f}s")
        duck = DuckDbStore(path).connect()
        leadfunnel_workload(duck)
        on_duckdb = best(lambda: leadfunnel_workload(duck), args.repeat)
        same = leadfunnel_workload(duck)["a"] == leadfunnel_workload(spark)["a"]
        duck.disconnect()
    print(f"workload (a+b+c+d): spark {on_spark:.2f}s  |  duckdb {on_duckdb:.3f}s  "
          f"({on_spark / on_duckdb:.0f}x)  same stage counts: {same}")  # fmt: skip
    session.stop()


if __name__ == "__main__":
    main()
