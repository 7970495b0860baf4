"""``leadfunnel import`` and ``leadfunnel export``: CSV/XLSX in and out."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from leadfunnel.adapters.files.tabular import read_tabular
from leadfunnel.adapters.files.writers import unwritable_reason, write_csv, write_xlsx
from leadfunnel.domain.errors import ValidationError
from leadfunnel.entrypoints.cli.common import (
    DbOption,
    JsonOption,
    cli_actor,
    console,
    emit,
    open_app,
)
from leadfunnel.services.exports import EXPORT_DATASETS, export_table
from leadfunnel.services.imports.mapping import load_mapping
from leadfunnel.services.imports.runner import KINDS, ImportSummary, import_errors, run_import

__all__ = ["export_command", "import_command"]


@contextmanager
def _progress(enabled: bool, label: str) -> Iterator[Callable[[int, int], None] | None]:
    """A progress bar on an interactive terminal (stderr), nothing otherwise."""
    if not enabled or not sys.stderr.isatty():
        yield None
        return
    columns = (TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, transient=True) as bar:
        task = bar.add_task(label, total=None)
        yield lambda done, total: bar.update(task, completed=done, total=total)


_REPORT_COLUMNS = ["row", "column", "value", "reason"]


def _error_report_path(file: Path, errors: Path | None) -> Path:
    return errors if errors is not None else Path.cwd() / f"{file.stem}.errors.csv"


def _check_writable(option: str, target: Path) -> None:
    """Fail before the work when ``target`` cannot be written, rather than after it."""
    reason = unwritable_reason(target)
    if reason is not None:
        raise ValidationError(option, f"cannot write {target} ({reason})")


@contextmanager
def _writing(option: str, target: Path | None) -> Iterator[None]:
    """What still goes wrong while writing a file (a full disk) as one line, not a
    traceback. Writing to stdout (``target`` None) is left alone."""
    try:
        yield
    except OSError as exc:
        if target is None:
            raise
        raise ValidationError(option, f"cannot write {target} ({exc.strerror or exc})") from None


def _remove_stale_report(report: Path) -> bool:
    """Remove an error report an earlier run left at ``report``, so that the file there is
    always the report of the latest run. Only a file headed like one (row, column, value,
    reason) is removed; returns whether one was."""
    try:
        with report.open(encoding="utf-8-sig", newline="") as handle:
            header = handle.readline().strip()
    except (OSError, UnicodeDecodeError):
        return False
    if header != ",".join(_REPORT_COLUMNS):
        return False
    report.unlink()
    return True


def _render(summary: ImportSummary, report: Path | None, removed: Path | None) -> None:
    resumed = (
        f" (resumed after row {summary.resumed_from_row + 1})" if summary.resumed_from_row else ""
    )
    console.print(
        f"{summary.kind} from {summary.file}: {summary.total_rows:,} rows{resumed}: {summary.created:,} created, "
        f"{summary.merged:,} merged/updated, {summary.unchanged:,} unchanged, {summary.rejected:,} rejected"
    )
    if summary.ignored_columns:
        console.print(
            f"ignored columns (not fields; use a mapping file): {', '.join(summary.ignored_columns)}"
        )
    if report is not None:
        console.print(f"error report: {report}")
    if removed is not None:
        console.print(f"no rows rejected; removed the out-of-date error report: {removed}")


def import_command(
    kind: Annotated[str, typer.Argument(help=f"What the file holds: {', '.join(KINDS)}.")],
    file: Annotated[Path, typer.Argument(help="A CSV or XLSX file.")],
    mapping: Annotated[
        Path | None, typer.Option(help="TOML mapping of source columns to fields.")
    ] = None,
    encoding: Annotated[
        str | None, typer.Option(help="Text encoding of a CSV (default: detected).")
    ] = None,
    delimiter: Annotated[
        str | None, typer.Option(help="CSV delimiter (default: detected).")
    ] = None,
    sheet: Annotated[str | None, typer.Option(help="XLSX sheet (default: the first).")] = None,
    batch_size: Annotated[int, typer.Option(help="Rows per transaction.")] = 1000,
    errors: Annotated[
        Path | None,
        typer.Option(help="Where to write rejected rows (default: FILE.errors.csv here)."),
    ] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Import leads or their history from CSV/XLSX: every row through the same intake path as
    the API; bad rows go to an error report; re-running resumes or adds nothing."""
    if kind not in KINDS:
        raise ValidationError(
            "kind", f"unknown import kind '{kind}'; expected one of: {', '.join(KINDS)}"
        )
    report = _error_report_path(file, errors)
    _check_writable("--errors", report)
    plan = load_mapping(mapping) if mapping else None
    options = plan.options if plan else {}
    table = read_tabular(
        file,
        encoding=encoding or options.get("encoding"),
        delimiter=delimiter or options.get("delimiter"),
        sheet=sheet or options.get("sheet"),
    )
    with open_app(db) as app, _progress(not as_json, f"importing {file.name}") as progress:
        summary = run_import(
            uow_factory=app.uow_factory, source=table, kind=kind, mapping=plan, actor=cli_actor(),
            clock=app.clock, default_region=app.settings.default_region, batch_size=batch_size, progress=progress,
        )  # fmt: skip
        rejected = (
            import_errors(uow_factory=app.uow_factory, job_id=summary.job_id)
            if summary.rejected
            else []
        )
    written = removed = None
    if rejected:
        rows = ([e["row_number"], e["column_name"], e["value"], e["reason"]] for e in rejected)
        with _writing("--errors", report):
            write_csv(report, _REPORT_COLUMNS, rows)
        written = report
    elif _remove_stale_report(report):
        removed = report
    emit(
        as_json,
        {**summary.to_dict(), "error_report": str(written) if written else None,
         "removed_error_report": str(removed) if removed else None},
        lambda: _render(summary, written, removed),
    )  # fmt: skip


def export_command(
    dataset: Annotated[str, typer.Argument(help=f"What to export: {', '.join(EXPORT_DATASETS)}.")],
    format: Annotated[str, typer.Option("--format", help="csv or xlsx.")] = "csv",
    output: Annotated[
        Path | None, typer.Option(help="File to write (default for csv: stdout).")
    ] = None,
    stage: Annotated[str | None, typer.Option(help="leads: only this stage.")] = None,
    channel: Annotated[str | None, typer.Option(help="leads: only this channel.")] = None,
    region: Annotated[str | None, typer.Option(help="leads: only this region.")] = None,
    industry: Annotated[str | None, typer.Option(help="leads: only this industry.")] = None,
    search: Annotated[
        str | None, typer.Option(help="leads: text in email, phone, company or name.")
    ] = None,
    by: Annotated[str | None, typer.Option(help="kpi: the dimension to group by.")] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Export leads, the funnel or KPIs as CSV or XLSX (cells that could run as spreadsheet
    formulas are neutralised)."""
    if format not in ("csv", "xlsx"):
        raise ValidationError("--format", f"'{format}' is not csv or xlsx")
    if format == "xlsx" and output is None:
        raise ValidationError("--output", "xlsx needs a file to write to")
    if output is not None:
        _check_writable("--output", output)
    filters = {
        "stage": stage,
        "channel": channel,
        "region": region,
        "industry": industry,
        "search": search,
    }
    with open_app(db) as app:
        # Ibis loads only when needed.
        engine = app.analytics if dataset in ("funnel", "kpi") else None
        table = export_table(uow_factory=app.uow_factory, dataset=dataset, filters=filters, by=by,
                             engine=engine, now=app.clock())  # fmt: skip
        writer = write_xlsx if format == "xlsx" else write_csv
        with _writing("--output", output):
            count = writer(output, table.columns, table.rows)  # type: ignore[arg-type]
    if output is not None:
        emit(as_json, {"dataset": dataset, "format": format, "file": str(output), "rows": count},
             lambda: console.print(f"wrote {count:,} rows to {output}"))  # fmt: skip
