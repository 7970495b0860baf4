"""The tables a scoring pass reads and writes, as polars frames, through the raw driver.

A pass over every lead moves millions of values; SQLAlchemy's per-row result processing
(UUIDs, date-times, JSON into Python objects) would cost more than the scoring. So this
module asks the driver of the unit of work's own connection (the same transaction) for
only the columns needed, in forms that load straight into columns: ids as text (as stored:
hex on SQLite, the canonical form on PostgreSQL), date-times as microseconds since the
epoch, true/false as 0/1, JSON as text. SQLite rows are fetched in chunks; PostgreSQL
streams ``COPY ... TO STDOUT`` as CSV. Writes go back in bulk: ``executemany`` of one
prepared statement on SQLite, ``COPY`` into a temporary table then one ``INSERT ... ON
CONFLICT`` / ``UPDATE ... FROM`` on PostgreSQL. Every value is bound or copied, never
spliced into SQL; table and column names come from the declared tables.
"""

from __future__ import annotations

import gc
import io
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import polars as pl
from sqlalchemy import Boolean, Column, Connection, Integer, Uuid

from leadfunnel.adapters.scoring.facts import TIME
from leadfunnel.adapters.sql import tables as t
from leadfunnel.adapters.sql.types import JSONDoc, UTCDateTime

__all__ = ["ScoringTables"]

_CHUNK = 100_000
_SQLITE_TIME = "%Y-%m-%d %H:%M:%S%.f"
_ROWID: Column[int] = Column("rowid", Integer)
_PASS_CACHE_KIB = -262_144  # 256 MiB (negative: KiB, as SQLite reads it)


@contextmanager
def _no_gc() -> Iterator[None]:
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
_SCORE_COLUMNS = ("lead_id", "model", "model_version", "score", "fit", "engagement", "grade",
                  "priority", "explanation")  # fmt: skip


def _kind(column: Column[Any]) -> str:
    if isinstance(column.type, Uuid):
        return "uuid"
    if isinstance(column.type, UTCDateTime):
        return "time"
    if isinstance(column.type, Boolean):
        return "bool"
    if isinstance(column.type, Integer):
        return "int"
    if column.type is JSONDoc or column.name in ("custom_fields", "properties", "explanation"):
        return "json"
    return "text"


class ScoringTables:
    """Bulk reads and writes for scoring passes on one open connection (its transaction)."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._sqlite = conn.dialect.name == "sqlite"
        self._raw: Any = conn.connection.driver_connection

    # -- reading ---------------------------------------------------------------------------

    def _expression(self, table: str, column: Column[Any]) -> str:
        name, kind = f'{table}."{column.name}"', _kind(column)
        if self._sqlite:
            return name  # date-times come as 'YYYY-MM-DD HH:MM:SS.ffffff' (UTC), parsed below
        if kind == "time":
            return f"(extract(epoch from {name}) * 1000000)::bigint"
        if kind == "bool":
            return f"{name}::int"
        return f"{name}::text" if kind in ("uuid", "json") else name

    def _read(
        self,
        selected: Sequence[tuple[str, Column[Any], str]],
        source: str,
        params: Sequence[Any] = (),
    ) -> pl.DataFrame:
        """``SELECT`` the (table alias, column, output name) triples ``FROM source``."""
        columns = ", ".join(self._expression(alias, column) for alias, column, _ in selected)
        sql = f"SELECT {columns} FROM {source}"  # noqa: S608 - declared names, bound values
        text = ("uuid", "json", "text") + (("time",) if self._sqlite else ())
        raw = {name: pl.String if _kind(c) in text else pl.Int64 for _, c, name in selected}
        frame = self._fetch(sql, params, raw)
        times = [name for _, c, name in selected if _kind(c) == "time"]
        return frame.with_columns(
            [pl.col(n).str.to_datetime(_SQLITE_TIME, time_unit="us", time_zone="UTC") if self._sqlite
             else pl.col(n).cast(TIME) for n in times]
            + [pl.col(name).cast(pl.Boolean) for _, c, name in selected if _kind(c) == "bool"]
        )  # fmt: skip

    def _fetch(self, sql: str, params: Sequence[Any], types: dict[str, Any]) -> pl.DataFrame:
        if self._sqlite:
            with _no_gc():  # millions of row tuples would each nudge the cycle collector
                cursor = self._raw.execute(sql, tuple(params))
                chunks = []
                while rows := cursor.fetchmany(_CHUNK):
                    chunks.append(pl.DataFrame(rows, schema=types, orient="row"))
            return pl.concat(chunks) if chunks else pl.DataFrame(schema=types)
        buffer = io.BytesIO()
        with self._raw.cursor() as cursor:
            copy_sql = f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)"
            with cursor.copy(copy_sql, tuple(params) or None) as copy:
                for block in copy:
                    buffer.write(block)
        if not buffer.tell():
            return pl.DataFrame(schema=types)
        buffer.seek(0)
        return pl.read_csv(buffer, has_header=False, schema=types)

    def leads(self, columns: Sequence[str], *, scores_of: Sequence[str] = ()) -> pl.DataFrame:
        """Every lead: ``id`` (text as stored) and ``columns``, ``owner_id`` as canonical
        UUID text (as rules read it); and for the k-th model of ``scores_of`` its stored
        ``previous{k}_score``, ``_grade`` and ``_priority`` (null where it has none). On
        SQLite also ``_row``, the row's rowid, for :meth:`set_lead_scores`."""
        selected = [("l", t.leads.c[c], c) for c in ["id", *[c for c in columns if c != "id"]]]
        if self._sqlite:  # writes back by rowid: no index to search
            selected.append(("l", _ROWID, "_row"))
        joins = []
        for k in range(len(scores_of)):
            joins.append(f"LEFT JOIN lead_scores s{k} ON s{k}.lead_id = l.id AND s{k}.model = {self._mark}")
            selected += [(f"s{k}", t.lead_scores.c[c], f"previous{k}_{c}") for c in ("score", "grade", "priority")]
        frame = self._read(selected, " ".join(["leads l", *joins]), scores_of)
        if "owner_id" in frame.columns and self._sqlite:
            hex_id = pl.col("owner_id")
            frame = frame.with_columns(owner_id=pl.concat_str(
                hex_id.str.slice(0, 8), hex_id.str.slice(8, 4), hex_id.str.slice(12, 4),
                hex_id.str.slice(16, 4), hex_id.str.slice(20, 12), separator="-",
            ))  # fmt: skip
        return frame

    def stage_stamps(self, ids: Sequence[str]) -> dict[str, tuple[datetime, int]]:
        """``stage_entered_at`` and ``version`` of these leads (ids as :meth:`leads` gives
        them)."""
        selected = [("l", t.leads.c[c], c) for c in ("id", "stage_entered_at", "version")]
        found: dict[str, tuple[datetime, int]] = {}
        for start in range(0, len(ids), 500):
            part = ids[start : start + 500]
            marks = ", ".join([self._mark] * len(part))
            key = "l.id" if self._sqlite else "l.id::text"
            frame = self._read(selected, f"leads l WHERE {key} IN ({marks})", part)
            found |= {i: (entered, version) for i, entered, version in frame.iter_rows()}
        return found

    @contextmanager
    def roomy_cache(self) -> Iterator[None]:
        """A bigger SQLite page cache for this connection while a pass writes a million
        rows into indexed tables (a connection setting, restored after; durability is
        untouched)."""
        if not self._sqlite:
            yield
            return
        (previous,) = self._raw.execute("PRAGMA cache_size").fetchone()
        self._raw.execute(f"PRAGMA cache_size = {_PASS_CACHE_KIB}")
        try:
            yield
        finally:
            self._raw.execute(f"PRAGMA cache_size = {int(previous)}")

    def touches(self, columns: Sequence[str], *, until: datetime) -> pl.DataFrame:
        """Touchpoints at or before ``until``: ``lead_id``, ``at`` and ``columns``."""
        wanted = ["lead_id", "at", *[c for c in columns if c not in ("lead_id", "at")]]
        selected = [("t", t.touchpoints.c[c], c) for c in wanted]
        where = f'touchpoints t WHERE t."at" <= {self._mark}'
        return self._read(selected, where, [self._bound_time(until)])

    def conversions(self, reached: Sequence[str], won: str) -> pl.DataFrame:
        """Per lead with stage changes: ``lead_id``, whether it ever entered one of
        ``reached`` and whether it ever entered ``won``."""
        lead = self._expression("stage_transitions", t.stage_transitions.c.lead_id)
        marks = ", ".join([self._mark] * len(reached))
        reached_sql = f"MAX(CASE WHEN to_stage IN ({marks}) THEN 1 ELSE 0 END)"
        won_sql = f"MAX(CASE WHEN to_stage = {self._mark} THEN 1 ELSE 0 END)"
        sql = f"SELECT {lead}, {reached_sql}, {won_sql} FROM stage_transitions GROUP BY lead_id"  # noqa: S608
        types = {"lead_id": pl.String, "reached": pl.Int64, "won": pl.Int64}
        frame = self._fetch(sql, [*reached, won], types)
        return frame.with_columns(pl.col("reached", "won").cast(pl.Boolean))

    @property
    def _mark(self) -> str:
        return "?" if self._sqlite else "%s"

    def _bound_time(self, moment: datetime) -> Any:
        """``moment`` as the driver binds a UTC time column."""
        if not self._sqlite:
            return moment
        process = t.touchpoints.c.at.type._cached_bind_processor(self._conn.dialect)
        return process(moment) if process else moment

    # -- writing ---------------------------------------------------------------------------

    def put_scores(self, frame: pl.DataFrame, *, as_of: datetime) -> None:
        """Insert or replace the ``lead_scores`` row of each (lead_id, model) in ``frame``
        (columns: lead_id, model, model_version, score, fit, engagement, grade, priority,
        explanation)."""
        if frame.is_empty():
            return
        names = ", ".join(f'"{n}"' for n in (*_SCORE_COLUMNS, "as_of"))
        update = ", ".join(f'"{n}" = excluded."{n}"' for n in (*_SCORE_COLUMNS[2:], "as_of"))
        frame = frame.select(_SCORE_COLUMNS)
        if self._sqlite:
            when = self._bound_time(as_of)
            marks = ", ".join("?" * 10)
            upsert = f"ON CONFLICT (lead_id, model) DO UPDATE SET {update}"
            sql = f"INSERT INTO lead_scores ({names}) VALUES ({marks}) {upsert}"  # noqa: S608
            with _no_gc():
                self._raw.executemany(sql, ((*row, when) for row in _rows(frame)))
            return
        values = ("_s.lead_id::uuid, _s.model, _s.model_version, _s.score, _s.fit, _s.engagement,"
                  " _s.grade, _s.priority, _s.explanation::jsonb, %s")  # fmt: skip
        upsert = f"ON CONFLICT (lead_id, model) DO UPDATE SET {update}"
        apply = f"INSERT INTO lead_scores ({names}) SELECT {values} FROM _scores _s {upsert}"  # noqa: S608
        self._copy_into(
            "_scores", "lead_id text, model text, model_version int, score int, fit int,"
            " engagement int, grade text, priority text, explanation text", frame, apply, [as_of],
        )  # fmt: skip

    def set_lead_scores(self, frame: pl.DataFrame, *, updated_at: datetime) -> None:
        """Write ``score`` and ``grade`` of each lead in ``frame`` (``id``, and on SQLite
        ``_row`` as :meth:`leads` gives it)."""
        if frame.is_empty():
            return
        if self._sqlite:
            when = self._bound_time(updated_at)
            sql = 'UPDATE leads SET "score" = ?, "grade" = ?, "updated_at" = ? WHERE rowid = ?'
            rows = _rows(frame.select("score", "grade", "_row"))
            with _no_gc():
                self._raw.executemany(sql, ((score, grade, when, row) for score, grade, row in rows))
            return
        self._copy_into(
            "_lead_scores", "score int, grade text, id text", frame.select("score", "grade", "id"),
            "UPDATE leads SET score = _u.score, grade = _u.grade, updated_at = %s"
            " FROM _lead_scores _u WHERE leads.id = _u.id::uuid", [updated_at],
        )  # fmt: skip

    def _copy_into(
        self, temp: str, columns: str, frame: pl.DataFrame, apply: str, params: Sequence[Any]
    ) -> None:
        with self._raw.cursor() as cursor:
            cursor.execute(f"CREATE TEMPORARY TABLE {temp} ({columns}) ON COMMIT DROP")
            with cursor.copy(f"COPY {temp} FROM STDIN WITH (FORMAT csv)") as copy:
                for start in range(0, frame.height, _CHUNK):
                    copy.write(frame.slice(start, _CHUNK).write_csv(include_header=False))
            cursor.execute(apply, tuple(params))
            cursor.execute(f"DROP TABLE {temp}")


def _rows(frame: pl.DataFrame) -> Iterator[tuple[Any, ...]]:
    for start in range(0, frame.height, _CHUNK):
        yield from frame.slice(start, _CHUNK).iter_rows()
