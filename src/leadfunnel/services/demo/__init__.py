"""The demo simulator: two years of a B2B company's leads, with the cause and effect that
analytics are meant to discover (docs/concepts/demo-data.md).

Pure simulation (numpy, no storage): :func:`build_demo` streams column batches
(:mod:`.batches`) into a :class:`~.batches.TableSink` and returns the row counts and the
truth document. An ``audit_log`` is not written for simulated history: the audit log records
changes made through the system, and nobody made these; every row carries its own time.
"""

from leadfunnel.services.demo.batches import TableBatch, TableSink
from leadfunnel.services.demo.build import MAX_LEADS, DemoResult, build_demo
from leadfunnel.services.demo.company import BRIGHTLINE
from leadfunnel.services.demo.model import CompanyModel

__all__ = [
    "BRIGHTLINE",
    "MAX_LEADS",
    "CompanyModel",
    "DemoResult",
    "TableBatch",
    "TableSink",
    "build_demo",
]
