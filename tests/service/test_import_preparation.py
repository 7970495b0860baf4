"""Preparing import batches ahead of the writer: a worker process prepares exactly what the
writer's own process would, in file order, and stops when the import does."""

from __future__ import annotations

import multiprocessing
import os
import time
from contextlib import closing

from leadfunnel.services.imports.lead_rows import LeadRows, PreparedLeads
from leadfunnel.services.imports.mapping import ColumnMapping
from leadfunnel.services.imports.preparation import Preparation, prepare_ahead

MAPPING = ColumnMapping(
    columns={
        "email": "Email",
        "phone": "Phone",
        "company": "Company",
        "landing_url": "Landing URL",
        "occurred_at": "Occurred At",
        "custom_fields.plan": "Plan",
    },
    formats={"occurred_at": "%Y-%m-%d"},
)


def cells(i: int) -> dict[str, str | None]:
    """Row ``i`` of a file: mostly good rows, with a bad email, a bad phone, a bad date and
    rows without a date among them."""
    return {
        "Email": "not-an-email" if i % 11 == 5 else f" Person.{i}@Example.COM ",
        "Phone": "12" if i % 13 == 7 else (f"(415) 555-{2600 + i}" if i % 2 else None),
        "Company": f"Company {i % 4}, Inc.",
        "Landing URL": f"https://x.io/lp?utm_source=s{i % 3}&utm_medium=cpc",
        "Occurred At": None if i % 5 == 0 else ("someday" if i % 17 == 3 else "2025-05-01"),
        "Plan": "pro" if i % 3 == 0 else None,
    }


def batches(count: int, size: int) -> list[list[tuple[int, dict[str, str | None]]]]:
    rows = [(i + 2, cells(i)) for i in range(count * size)]
    return [rows[i : i + size] for i in range(0, len(rows), size)]


def test_batches_prepared_by_a_worker_process_equal_batches_prepared_inline(clock):
    preparation = Preparation(LeadRows(), MAPPING, "US")
    work = batches(6, 25)
    inline = list(prepare_ahead(preparation, work, clock, workers=0))
    with closing(prepare_ahead(preparation, work, clock, workers=1, start_inline=False)) as ahead:
        first = next(ahead)
        workers_seen = multiprocessing.active_children()
        in_worker = [first, *ahead]
    assert workers_seen, "the batches should have been prepared in a worker process"
    assert not multiprocessing.active_children(), "the worker should stop with the import"
    assert in_worker == inline
    prepared, rejected = inline[0]
    assert isinstance(prepared, PreparedLeads)
    assert [(e.row, e.column) for e in rejected] == [(5, "Occurred At")]
    assert [(e.row, e.column) for e in prepared.errors] == [
        (7, "Email"), (9, "Phone"), (18, "Email"), (22, "Phone"),
    ]  # fmt: skip
    assert len(prepared.items) == 20 and prepared.items[1].draft.phone == "+14155552601"


def test_closing_the_import_early_stops_the_worker(clock):
    preparation = Preparation(LeadRows(), MAPPING, "US")
    ahead = prepare_ahead(preparation, batches(20, 25), clock, workers=1, start_inline=False)
    next(ahead)
    assert multiprocessing.active_children()
    ahead.close()
    assert not multiprocessing.active_children()


class SlowInWorkers:
    """A preparation that takes its time in a worker process, and says where it ran."""

    def __init__(self, caller: int) -> None:
        self.caller = caller

    def __call__(self, chunk, now):
        if os.getpid() != self.caller:
            time.sleep(0.2)
        return [number for number, _ in chunk], os.getpid()


def test_the_caller_prepares_later_batches_itself_while_the_worker_is_busy(clock):
    work = batches(6, 5)
    prepare = SlowInWorkers(os.getpid())
    with closing(prepare_ahead(prepare, work, clock, workers=1, start_inline=False)) as ahead:
        done = list(ahead)
    assert [numbers for numbers, _ in done] == [[n for n, _ in batch] for batch in work]
    where = [pid for _, pid in done]
    assert where[0] != os.getpid()  # the first batch went to the worker...
    assert where[2] == os.getpid()  # ...and the caller did not wait for it to come back
