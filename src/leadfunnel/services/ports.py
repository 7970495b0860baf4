"""Ports: what the services need from storage, as Protocols the adapters implement.

Rows cross this boundary as plain dicts keyed by column name. Timestamps are timezone-aware
UTC ``datetime`` values; ids are :class:`uuid.UUID`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from leadfunnel.analytics.attribution_journeys import Journeys
    from leadfunnel.analytics.attribution_spec import AttributionSpec
    from leadfunnel.analytics.drill import DrillSpec
    from leadfunnel.analytics.durations import DurationStats
    from leadfunnel.analytics.forecast_data import Deal
    from leadfunnel.analytics.funnel_oracle import FunnelResult
    from leadfunnel.analytics.funnel_spec import FunnelSpec
    from leadfunnel.analytics.kpi_spec import KpiSpec
    from leadfunnel.analytics.kpis import KpiResult
    from leadfunnel.analytics.stagnation import StagnationRow, StagnationSpec
    from leadfunnel.domain.access import LeadScope
    from leadfunnel.rules.scoring_model import ScoringModel

__all__ = [
    "ActivityRepository",
    "AnalyticsEngine",
    "AttributionEngine",
    "AuthStore",
    "CrmStore",
    "ForecastEngine",
    "KpiEngine",
    "AuditLog",
    "Clock",
    "ConcurrentWrite",
    "IdempotencyStore",
    "JobStore",
    "LeadRepository",
    "Records",
    "RoutingStore",
    "BulkScorer",
    "BulkScores",
    "ScoringStore",
    "FunnelEngine",
    "Row",
    "TabularSource",
    "TouchpointRepository",
    "TransitionRepository",
    "UnitOfWork",
    "UnitOfWorkFactory",
]

Row = dict[str, Any]
Clock = Callable[[], datetime]


class ConcurrentWrite(Exception):
    """A concurrent transaction wrote a conflicting row (unique key); the use case may retry."""


class LeadRepository(Protocol):
    def find_by_identities(
        self, *, emails: Sequence[str], phones: Sequence[str], external_ids: Sequence[str]
    ) -> list[Row]:
        """Every stored lead holding any of these emails, phones or external ids."""

    def get(self, lead_id: uuid.UUID) -> Row | None: ...

    def insert_many(self, rows: Sequence[Mapping[str, Any]]) -> None: ...

    def update(self, lead_id: uuid.UUID, changes: Mapping[str, Any]) -> None: ...

    def update_many(self, rows: Sequence[Mapping[str, Any]], *, columns: Sequence[str]) -> None:
        """Write ``columns`` of each row back to the lead with the row's ``id``."""

    def current_stages(self) -> dict[uuid.UUID, str]:
        """Every lead's current stage, by id."""

    def stages_and_values(self, dimension: str) -> dict[uuid.UUID, tuple[str, Any]]:
        """Every lead's current stage and its value of ``dimension`` (a lead column), by id."""

    def page(
        self,
        *,
        scope: LeadScope,
        filters: Mapping[str, Any],
        sort: str,
        descending: bool,
        after: tuple[Any, uuid.UUID] | None,
        limit: int,
    ) -> tuple[list[Row], int]:
        """Up to ``limit`` leads in ``scope`` matching ``filters`` ordered by ``sort`` (a lead
        column) then id, after the keyset cursor ``after``; and the total matching."""

    def update_if_version(
        self, lead_id: uuid.UUID, version: int, changes: Mapping[str, Any]
    ) -> bool:
        """Apply ``changes`` only if the lead's stored version is ``version``."""

    def visible_ids(self, scope: LeadScope, ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
        """Those of ``ids`` that ``scope`` admits."""

    def list(
        self,
        *,
        filters: Mapping[str, Any],
        limit: int,
        offset: int,
    ) -> tuple[list[Row], int]:
        """A page of leads, newest first, and the total count matching ``filters``."""


class TransitionRepository(Protocol):
    def append(self, row: Mapping[str, Any]) -> None: ...

    def append_many(self, rows: Sequence[Mapping[str, Any]]) -> None: ...

    def last_for(self, lead_id: uuid.UUID) -> Row | None: ...

    def for_lead(self, lead_id: uuid.UUID) -> list[Row]: ...

    def stages_entered(self) -> list[tuple[uuid.UUID, str]]:
        """Every distinct (lead_id, to_stage) pair in the log."""


class TouchpointRepository(Protocol):
    def add_many(self, rows: Sequence[Mapping[str, Any]]) -> None: ...

    def for_lead(self, lead_id: uuid.UUID) -> list[Row]: ...

    def intake_keys(
        self, lead_ids: Sequence[uuid.UUID]
    ) -> list[tuple[str, str, uuid.UUID, uuid.UUID]]: ...


class ActivityRepository(Protocol):
    def for_lead(self, lead_id: uuid.UUID) -> list[Row]: ...


class AuditLog(Protocol):
    def record(
        self,
        *,
        at: datetime,
        actor: str,
        action: str,
        entity: str,
        entity_id: uuid.UUID | None,
        data: Mapping[str, Any],
    ) -> None: ...

    def record_many(self, rows: Sequence[Mapping[str, Any]]) -> None: ...

    def for_entity(self, entity: str, entity_id: uuid.UUID) -> list[Row]: ...


class IdempotencyStore(Protocol):
    def get_many(self, keys: Sequence[str]) -> dict[str, Row]: ...

    def put_many(self, rows: Sequence[Mapping[str, Any]]) -> None: ...


class TabularSource(Protocol):
    """A file already read and checked (see ``adapters/files/tabular.py``)."""

    name: str
    columns: list[str]
    fingerprint: str
    broken_rows: list[tuple[int, str]]

    @property
    def total_rows(self) -> int: ...

    def rows(self, start: int = 0) -> Iterator[tuple[int, dict[str, str | None]]]:
        """Rows from record index ``start`` on, as (spreadsheet row number, values)."""


class Records(Protocol):
    """Plain multi-row access to the tables bulk use cases write (imports).

    ``table`` must be one the adapter allows; every value is a bound parameter.
    """

    def insert(self, table: str, rows: Sequence[Mapping[str, Any]]) -> None: ...

    def select_in(self, table: str, column: str, values: Sequence[Any]) -> list[Row]:
        """Rows whose ``column`` is one of ``values``."""

    def scan(self, table: str, columns: Sequence[str]) -> Iterator[tuple[Any, ...]]:
        """Every row of ``table`` as a tuple of ``columns``, streamed by one query (consume it
        inside the unit of work)."""

    def delete_in(
        self,
        table: str,
        column: str,
        values: Sequence[Any],
        *,
        where: Mapping[str, Any] | None = None,
    ) -> None:
        """Delete the rows whose ``column`` is one of ``values`` (and whose ``where`` columns
        equal the given values)."""

    def update(
        self, table: str, rows: Sequence[Mapping[str, Any]], *, columns: Sequence[str]
    ) -> None:
        """Write ``columns`` of each row to the row with the same ``id``."""


class FunnelEngine(Protocol):
    """Answers funnel questions over the analytics store (see ``adapters/warehouse``)."""

    def funnel(self, spec: FunnelSpec, *, now: datetime) -> FunnelResult: ...

    def stage_times(self, *, now: datetime) -> dict[str, DurationStats]: ...

    def drill(
        self, cell: DrillSpec, *, now: datetime, limit: int, offset: int
    ) -> tuple[list[uuid.UUID], int]:
        """A page of the ids of the leads in a funnel cell, and how many there are."""

    def step_times(self, spec: FunnelSpec, *, now: datetime) -> list[DurationStats]: ...

    def step_times_by(self, spec: FunnelSpec, *, now: datetime) -> dict[str, list[DurationStats]]:
        """Time to convert per value of the spec's breakdown."""

    def stagnation(self, spec: StagnationSpec, *, now: datetime) -> list[StagnationRow]:
        """Per open stage: open leads, stagnant ones, the longest stay (``analytics/stagnation.py``)."""


class KpiEngine(Protocol):
    """Answers KPI questions over the analytics store (see ``analytics/kpis.py``)."""

    def kpis(self, spec: KpiSpec, *, now: datetime) -> KpiResult: ...


class AttributionEngine(Protocol):
    """Loads attribution journeys from the analytics store (``analytics/attribution*.py``)."""

    def attribution_journeys(
        self, spec: AttributionSpec, *, now: datetime
    ) -> tuple[Journeys, tuple[str, ...]]:
        """Every selected lead's journey (its touches of the chosen kinds, its conversion
        and anchors) and each journey's account (the lead's id when it has none)."""


class ForecastEngine(Protocol):
    """Loads deals with their stage history for the forecast (``analytics/forecast*.py``)."""

    def forecast_deals(
        self, *, now: datetime, owners: frozenset[uuid.UUID] | None, subject: str = "deals"
    ) -> list[Deal]:
        """Every deal owned by ``owners`` (None: every deal), with its stage history; with
        ``subject="leads"``, every lead with its lifecycle history instead, worth 1 each."""


class AnalyticsEngine(FunnelEngine, KpiEngine, AttributionEngine, ForecastEngine, Protocol):
    """Everything the analytics store answers."""


class ScoringStore(Protocol):
    """Scoring models (versioned), lead scores and lead events."""

    def models(self, name: str | None = None) -> list[Row]: ...

    def model(self, name: str, version: int | None) -> Row | None:
        """That version, or with ``version=None`` the active one, else the newest."""

    def active_models(self) -> list[Row]: ...

    def next_version(self, name: str) -> int: ...

    def add_model(self, row: Mapping[str, Any]) -> None: ...

    def set_status(
        self, model_id: uuid.UUID, status: str, activated_at: datetime | None
    ) -> None: ...

    def scores_for(self, lead_ids: Sequence[uuid.UUID]) -> dict[tuple[uuid.UUID, str], Row]: ...

    def put_scores(self, rows: Sequence[Mapping[str, Any]]) -> None: ...

    def add_events(self, rows: Sequence[Mapping[str, Any]]) -> None: ...

    def events(self, kind: str | None = None, limit: int = 100) -> list[Row]: ...

    def lead_page(self, after: uuid.UUID | None, limit: int) -> list[Row]: ...

    def bulk_scorer(self) -> BulkScorer:
        """The column-wise scorer for passes over every lead, on this transaction."""

    def active_versions(self) -> list[Row]:
        """``id``, ``name`` and ``version`` of the active models, by name (no spec: the
        per-event path compiles a version once and keeps it)."""

    def latest_scores(self, lead_ids: Sequence[uuid.UUID]) -> dict[tuple[uuid.UUID, str], Row]:
        """``score``, ``grade`` and ``priority`` stored per (lead, model)."""

    def touches_for(self, lead_ids: Sequence[uuid.UUID]) -> list[Row]:
        """The touchpoints of these leads, with what behaviour rules read: ``lead_id``,
        ``kind``, ``channel``, ``campaign``, ``url``, ``at``, ``properties``."""


@dataclass
class BulkScores:
    """What a pass over every lead decided (see :class:`BulkScorer`).

    ``hot``: one row per (lead, model) whose score rose to the model's hot threshold:
    ``lead_id``, ``model``, ``version``, ``score``, ``previous``. ``moves``: one row per lead
    a qualification rule moves: ``lead_id``, ``from_stage``, ``stage_entered_at``,
    ``lead_version``, ``model``, ``version``, ``rule``, ``to``. ``checks``: for the checked
    model's qualification rules, [selected, selected reached sql, selected won, others,
    others reached sql, others won]."""

    leads: int = 0
    scored: int = 0
    grade_changed: int = 0
    priority_changed: int = 0
    grades: dict[str, int] = field(default_factory=dict)
    hot: list[Row] = field(default_factory=list)
    moves: list[Row] = field(default_factory=list)
    checks: dict[str, list[int]] = field(default_factory=dict)


class BulkScorer(Protocol):
    """Scores every lead with ``models``: column-wise in the store's scorer
    (``adapters/scoring``), lead by lead in ``services.scoring.per_lead_scorer``; both decide
    exactly the same (tested table for table).

    ``models`` are (version number, compiled model) in priority order: a lead's primary
    model is the first that applies to it. With ``write`` the scores are stored in
    ``lead_scores`` and the primary score and grade in ``leads``, in the caller's
    transaction; events, stage moves and audit entries are the caller's to write. With
    ``check`` (the name of one of ``models``) that model's qualification rules are checked
    against history."""

    def score_all(
        self,
        models: Sequence[tuple[int, ScoringModel]],
        *,
        now: datetime,
        write: bool,
        check: str | None = None,
    ) -> BulkScores: ...


class RoutingStore(Protocol):
    """Routing rule sets, SLA policies, calendars, reps and the teams' routing state."""

    def rule_sets(self, kind: str) -> list[Row]: ...

    def rule_set(self, kind: str, version: int | None) -> Row | None:
        """That version, or with ``version=None`` the active one."""

    def next_rule_set_version(self, kind: str) -> int: ...

    def add_rule_set(self, row: Mapping[str, Any]) -> None: ...

    def set_rule_set_status(
        self, rule_set_id: uuid.UUID, status: str, activated_at: datetime | None
    ) -> None: ...

    def calendars(self) -> list[Row]: ...

    def put_calendar(self, name: str, spec: Mapping[str, Any], now: datetime) -> None: ...

    def teams(self) -> list[Row]: ...

    def reps(self) -> list[Row]: ...

    def put_rep_profile(self, row: Mapping[str, Any]) -> None: ...

    def open_leads_by_owner(self) -> dict[uuid.UUID, int]: ...

    def assigned_since(self, since: datetime) -> dict[uuid.UUID, int]: ...

    def lock_team_state(self, team_id: uuid.UUID, now: datetime) -> Row: ...

    def save_team_state(
        self,
        team_id: uuid.UUID,
        last_rep_id: uuid.UUID | None,
        credits: Mapping[str, float],
        now: datetime,
    ) -> None: ...

    def assignments_for(self, lead_id: uuid.UUID) -> list[Row]: ...

    def pool_leads(self, limit: int) -> list[Row]: ...

    def put_sla(self, row: Mapping[str, Any]) -> None: ...

    def sla_for(self, lead_id: uuid.UUID) -> Row | None: ...

    def take_from_pool(self, lead_id: uuid.UUID, owner_id: uuid.UUID, now: datetime) -> bool:
        """Give the lead to ``owner_id`` only if it is still in the pool (atomically)."""

    def claims_since(self, owner_id: uuid.UUID, since: datetime) -> int: ...

    def rep(self, user_id: uuid.UUID) -> Row | None: ...

    def stagnant_leads(self, cutoff: datetime, limit: int) -> list[Row]:
        """Owned open leads with no activity and no owner change since ``cutoff``."""

    def leads_created_since(self, since: datetime, limit: int) -> list[Row]: ...

    def set_user_active(self, user_id: uuid.UUID, active: bool) -> None: ...

    def open_leads_of(self, owner_id: uuid.UUID) -> list[Row]: ...

    def add_sla_outcome(self, row: Mapping[str, Any]) -> None: ...

    def sla_outcome_rows(self) -> list[Row]:
        """Decided clocks and still-open ones, with policy, owner, team, channel, status."""

    def sla_watch_rows(self, *, due_before: datetime, decided_since: datetime) -> list[Row]:
        """Open clocks due before ``due_before`` and clocks breached or reclaimed since
        ``decided_since``, each with its lead's name, company and owner (the SLA board)."""


class JobStore(Protocol):
    """The job queue, due SLA clocks, and in-app notifications."""

    def enqueue(self, rows: Sequence[Mapping[str, Any]]) -> None: ...

    def claim(self, now: datetime, lease_until: datetime, limit: int) -> list[Row]:
        """Due jobs, marked running under a lease; safe with concurrent workers."""

    def finish(self, job_id: uuid.UUID, now: datetime) -> None: ...

    def retry(self, job_id: uuid.UUID, run_at: datetime, error: str, *, give_up: bool) -> None: ...

    def pending(self, kind: str | None = None) -> list[Row]: ...

    def due_slas(self, now: datetime, limit: int) -> list[Row]: ...

    def notify(self, rows: Sequence[Mapping[str, Any]]) -> None: ...

    def notifications(self, user_id: uuid.UUID | None = None) -> list[Row]: ...

    def team_manager(self, team_id: uuid.UUID) -> uuid.UUID | None: ...


class AuthStore(Protocol):
    """Users, teams, sessions, API keys and sign-in throttling (``services/auth.py``)."""

    def user(self, user_id: uuid.UUID) -> Row | None: ...

    def user_by_email(self, email: str) -> Row | None: ...

    def users(self) -> list[Row]: ...

    def add_user(self, row: Mapping[str, Any]) -> None: ...

    def update_user(self, user_id: uuid.UUID, changes: Mapping[str, Any]) -> None: ...

    def team(self, team_id: uuid.UUID) -> Row | None: ...

    def team_by_name(self, name: str) -> Row | None: ...

    def teams(self) -> list[Row]: ...

    def add_team(self, row: Mapping[str, Any]) -> None: ...

    def set_team_manager(self, team_id: uuid.UUID, user_id: uuid.UUID) -> None: ...

    def team_member_ids(self, team_id: uuid.UUID) -> list[uuid.UUID]: ...

    def add_session(self, row: Mapping[str, Any]) -> None: ...

    def session(self, token_hash: str) -> Row | None: ...

    def touch_session(self, token_hash: str, at: datetime) -> None: ...

    def end_session(self, token_hash: str) -> None: ...

    def end_sessions_of(self, user_id: uuid.UUID) -> None: ...

    def end_sessions_before(self, at: datetime) -> int: ...

    def add_api_key(self, row: Mapping[str, Any]) -> None: ...

    def api_key(self, key_id: uuid.UUID) -> Row | None: ...

    def api_key_by_prefix(self, prefix: str) -> Row | None: ...

    def api_keys(self) -> list[Row]: ...

    def update_api_key(self, key_id: uuid.UUID, changes: Mapping[str, Any]) -> None: ...

    def throttle(self, key: str) -> Row | None: ...

    def put_throttle(self, row: Mapping[str, Any]) -> None: ...

    def clear_throttle(self, key: str) -> None: ...


class CrmStore(Protocol):
    """Opportunities, accounts and campaigns (``services/crm.py``); reads take the caller's
    lead scope (an opportunity or account is seen with its leads)."""

    def opportunities(
        self,
        *,
        scope: LeadScope,
        filters: Mapping[str, Any],
        after: tuple[Any, uuid.UUID] | None,
        limit: int,
    ) -> tuple[list[Row], int]: ...

    def pipeline_totals(self, scope: LeadScope, stages: Sequence[str]) -> list[Row]: ...

    def opportunity(self, scope: LeadScope, opportunity_id: uuid.UUID) -> Row | None: ...

    def opportunity_history(self, opportunity_id: uuid.UUID) -> list[Row]: ...

    def add_opportunity(self, row: Mapping[str, Any]) -> None: ...

    def update_opportunity_if_version(
        self, opportunity_id: uuid.UUID, version: int, changes: Mapping[str, Any]
    ) -> bool: ...

    def add_opportunity_history(self, row: Mapping[str, Any]) -> None: ...

    def lead_opportunity_stages(self, lead_id: uuid.UUID) -> list[str]: ...

    def accounts(
        self, *, scope: LeadScope, search: str | None, after: tuple[str, uuid.UUID] | None, limit: int
    ) -> tuple[list[Row], int]: ...

    def account(self, scope: LeadScope, account_id: uuid.UUID) -> Row | None: ...

    def account_by_domain(self, domain: str) -> Row | None: ...

    def add_account(self, row: Mapping[str, Any]) -> None: ...

    def contact_by_email(self, email: str) -> Row | None: ...

    def add_contact(self, row: Mapping[str, Any]) -> None: ...

    def account_contacts(self, account_id: uuid.UUID) -> list[Row]: ...

    def campaigns(self) -> list[Row]: ...

    def campaign(self, campaign_id: uuid.UUID) -> Row | None: ...

    def campaign_by_name(self, name: str) -> Row | None: ...

    def add_campaign(self, row: Mapping[str, Any]) -> None: ...

    def put_cost(
        self, campaign_id: uuid.UUID, day: date, amount: Any, currency: str, new_id: uuid.UUID
    ) -> None: ...


class UnitOfWork(Protocol):
    """One transaction. Leaving the ``with`` block without :meth:`commit` rolls back."""

    leads: LeadRepository
    transitions: TransitionRepository
    touchpoints: TouchpointRepository
    activities: ActivityRepository
    audit: AuditLog
    idempotency: IdempotencyStore
    records: Records
    scoring: ScoringStore
    routing: RoutingStore
    jobs: JobStore
    auth: AuthStore
    crm: CrmStore

    def __enter__(self) -> UnitOfWork: ...

    def __exit__(self, *exc: object) -> None: ...

    def commit(self) -> None: ...


class UnitOfWorkFactory(Protocol):
    def __call__(self, *, write: bool = True, bulk: bool = False) -> UnitOfWork:
        """``bulk``: the transaction is one of a run of large ones (an import's batches), so
        the store may spread its housekeeping over the run (SQLite checkpoints its
        write-ahead log less often); a commit is as durable as ever."""
