"""Give the X Education leads the dates the export lacks (standard library only).

Usage: python3 add_dates.py Leads.csv OUTPUT_DIR

Leads.csv has no dates, but its Lead Number grows as leads arrive. This writes, into
OUTPUT_DIR:

* x-education-leads.csv: every row of Leads.csv plus a "Created At" column,
  2016-01-01 00:00 UTC + (Lead Number - the smallest Lead Number) x 10 minutes, so the
  9,240 leads span about 19 months in Lead Number order;
* x-education-conversions.csv: "Prospect ID" and "Converted At" (Created At + 7 days)
  for each lead with Converted = 1.

The dates are synthetic: only their order (and so the time-based split) carries meaning.
"""

from __future__ import annotations

import csv
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

START = datetime(2016, 1, 1, tzinfo=UTC)
STEP = timedelta(minutes=10)
CONVERSION_DELAY = timedelta(days=7)
FORMAT = "%Y-%m-%d %H:%M"


def main(source: Path, out: Path) -> None:
    with source.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    first = min(int(r["Lead Number"]) for r in rows)
    out.mkdir(parents=True, exist_ok=True)
    with (
        (out / "x-education-leads.csv").open("w", newline="", encoding="utf-8") as leads,
        (out / "x-education-conversions.csv").open(
            "w", newline="", encoding="utf-8"
        ) as conversions,
    ):
        lead_writer = csv.DictWriter(leads, [*rows[0], "Created At"])
        lead_writer.writeheader()
        conversion_writer = csv.writer(conversions)
        conversion_writer.writerow(["Prospect ID", "Converted At"])
        for row in rows:
            created = START + (int(row["Lead Number"]) - first) * STEP
            lead_writer.writerow({**row, "Created At": created.strftime(FORMAT)})
            if row["Converted"] == "1":
                converted = created + CONVERSION_DELAY
                conversion_writer.writerow([row["Prospect ID"], converted.strftime(FORMAT)])


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
