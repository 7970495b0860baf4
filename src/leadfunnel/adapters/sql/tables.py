"""The write-side data model as SQLAlchemy Core tables (see ARCHITECTURE.md, "Data model").

Conventions: ids are UUIDv7; times are UTC (:class:`UTCDateTime`); money is
``Numeric(18, 2)`` with an ISO 4217 currency beside it; logs (stage transitions, assignments,
audit) are append-only.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
)

from leadfunnel.adapters.sql.types import JSONDoc, UTCDateTime
from leadfunnel.domain.lead import UTM_KEYS
from leadfunnel.domain.lifecycle import Stage

__all__ = ["metadata"]

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

_STAGES = ", ".join(f"'{s.value}'" for s in Stage)
ROLES = ("admin", "manager", "marketer", "rep")
ACTIVITY_KINDS = ("call", "email", "meeting", "note", "chat", "task")


def _id() -> Column[Any]:
    return Column("id", Uuid, primary_key=True)


def _touch_columns(prefix: str) -> list[Column[Any]]:
    return [
        Column(f"{prefix}_touch_at", UTCDateTime),
        Column(f"{prefix}_channel", String(64)),
        Column(f"{prefix}_campaign", String(200)),
        Column(f"{prefix}_touch_url", String(2048)),
        *(Column(f"{prefix}_utm_{k}", String(200)) for k in UTM_KEYS),
    ]


teams = Table(
    "teams",
    metadata,
    _id(),
    Column("name", String(100), nullable=False, unique=True),
    Column("region", String(100)),
    Column(
        "manager_id", Uuid, ForeignKey("users.id", use_alter=True, name="fk_teams_manager_id_users")
    ),
    Column("created_at", UTCDateTime, nullable=False),
)

users = Table(
    "users",
    metadata,
    _id(),
    Column("email", String(254), nullable=False, unique=True),
    Column("external_id", String(128)),
    Column("name", String(200), nullable=False),
    Column("role", String(16), nullable=False),
    Column("team_id", Uuid, ForeignKey("teams.id")),
    Column("password_hash", String(255)),
    Column("timezone", String(64), nullable=False, server_default="UTC"),
    Column("active", Boolean, nullable=False, server_default="1"),
    Column("created_at", UTCDateTime, nullable=False),
    CheckConstraint(f"role IN ({', '.join(repr(r) for r in ROLES)})", name="role"),
    Index("ix_users_external_id", "external_id", unique=True),
)

accounts = Table(
    "accounts",
    metadata,
    _id(),
    Column("name", String(200), nullable=False),
    Column("name_key", String(200), nullable=False, index=True),
    Column("domain", String(253), unique=True),
    Column("industry", String(100)),
    Column("company_size", Integer),
    Column("region", String(100)),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

contacts = Table(
    "contacts",
    metadata,
    _id(),
    Column("account_id", Uuid, ForeignKey("accounts.id"), index=True),
    Column("email", String(254), unique=True),
    Column("phone", String(20)),
    Column("first_name", String(100)),
    Column("last_name", String(100)),
    Column("title", String(200)),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

campaigns = Table(
    "campaigns",
    metadata,
    _id(),
    Column("name", String(200), nullable=False, unique=True),
    Column("channel", String(64), nullable=False, index=True),
    Column("cost_per_day", Numeric(18, 2)),
    Column("currency", String(3), nullable=False, server_default="USD"),
    Column("starts_on", Date),
    Column("ends_on", Date),
    Column("created_at", UTCDateTime, nullable=False),
)

campaign_costs = Table(
    "campaign_costs",
    metadata,
    _id(),
    Column("campaign_id", Uuid, ForeignKey("campaigns.id"), nullable=False),
    Column("day", Date, nullable=False),
    Column("amount", Numeric(18, 2), nullable=False),
    Column("currency", String(3), nullable=False),
    UniqueConstraint("campaign_id", "day"),
)

leads = Table(
    "leads",
    metadata,
    _id(),
    Column("email", String(254), unique=True),
    Column("phone", String(20), unique=True),
    Column("external_id", String(128), unique=True),
    Column("first_name", String(100)),
    Column("last_name", String(100)),
    Column("company", String(200)),
    Column("company_key", String(200), index=True),
    Column("title", String(200)),
    Column("region", String(100), index=True),
    Column("country", String(100)),
    Column("industry", String(100), index=True),
    Column("company_size", Integer),
    Column("product_interest", String(100)),
    Column("channel", String(64), nullable=False, index=True),
    Column("campaign", String(200)),
    Column("referrer", String(2048)),
    *_touch_columns("first"),
    *_touch_columns("last"),
    Column("source", String(32), nullable=False),
    Column("custom_fields", JSONDoc, nullable=False),
    Column("score", Integer),
    Column("grade", String(4)),
    Column("owner_id", Uuid, ForeignKey("users.id"), index=True),
    Column("team_id", Uuid, ForeignKey("teams.id")),
    Column("in_pool", Boolean, nullable=False),
    Column("stage", String(16), nullable=False, index=True),
    Column("stage_entered_at", UTCDateTime, nullable=False),
    Column("sla_due_at", UTCDateTime, index=True),
    Column("account_id", Uuid, ForeignKey("accounts.id"), index=True),
    Column("contact_id", Uuid, ForeignKey("contacts.id")),
    Column("created_at", UTCDateTime, nullable=False, index=True),
    # Read by every incremental sync of the analytics store (leads changed since its mark).
    Column("updated_at", UTCDateTime, nullable=False, index=True),
    Column("version", Integer, nullable=False),
    CheckConstraint(f"stage IN ({_STAGES})", name="stage"),
    CheckConstraint(
        "email IS NOT NULL OR phone IS NOT NULL OR external_id IS NOT NULL", name="identity"
    ),
)

stage_transitions = Table(
    "stage_transitions",
    metadata,
    _id(),
    Column("lead_id", Uuid, ForeignKey("leads.id"), nullable=False),
    Column("from_stage", String(16)),
    Column("to_stage", String(16), nullable=False, index=True),
    Column("at", UTCDateTime, nullable=False),
    Column("actor", String(200), nullable=False),
    Column("reason", Text),
    Index("ix_stage_transitions_lead_id_at", "lead_id", "at"),
    CheckConstraint(f"to_stage IN ({_STAGES})", name="to_stage"),
)

touchpoints = Table(
    "touchpoints",
    metadata,
    _id(),
    Column("lead_id", Uuid, ForeignKey("leads.id"), nullable=False),
    Column("kind", String(64), nullable=False),
    Column("channel", String(64)),
    Column("campaign_id", Uuid, ForeignKey("campaigns.id")),
    Column("campaign", String(200)),
    Column("url", String(2048)),
    Column("at", UTCDateTime, nullable=False),
    Column("properties", JSONDoc, nullable=False),
    Index("ix_touchpoints_lead_id_at", "lead_id", "at"),
)

activities = Table(
    "activities",
    metadata,
    _id(),
    Column("lead_id", Uuid, ForeignKey("leads.id"), nullable=False),
    Column("user_id", Uuid, ForeignKey("users.id")),
    Column("kind", String(16), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("subject", String(200)),
    Column("body", Text),
    Column("created_at", UTCDateTime, nullable=False, index=True),
    Index("ix_activities_lead_id_at", "lead_id", "at"),
    CheckConstraint(f"kind IN ({', '.join(repr(k) for k in ACTIVITY_KINDS)})", name="kind"),
)

opportunities = Table(
    "opportunities",
    metadata,
    _id(),
    Column("lead_id", Uuid, ForeignKey("leads.id"), index=True),
    Column("account_id", Uuid, ForeignKey("accounts.id"), index=True),
    Column("owner_id", Uuid, ForeignKey("users.id"), index=True),
    Column("name", String(200), nullable=False),
    Column("amount", Numeric(18, 2), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("expected_close", Date),
    Column("stage", String(32), nullable=False),
    Column("lost_reason", String(200)),
    Column("closed_at", UTCDateTime),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False, index=True),
    Column("version", Integer, nullable=False),
    # The rep's call (pipeline, best_case, commit; domain/pipeline.py) and the agreed next
    # step; the forecast compares the one with its model and flags deals without the other.
    Column("forecast_category", String(16)),
    Column("next_step", String(200)),
)

opportunity_stage_history = Table(
    "opportunity_stage_history",
    metadata,
    _id(),
    Column("opportunity_id", Uuid, ForeignKey("opportunities.id"), nullable=False),
    Column("from_stage", String(32)),
    Column("to_stage", String(32), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("actor", String(200), nullable=False),
    Column("reason", Text),
    Index("ix_opportunity_stage_history_opportunity_id_at", "opportunity_id", "at"),
)

assignments = Table(
    "assignments",
    metadata,
    _id(),
    Column("lead_id", Uuid, ForeignKey("leads.id"), nullable=False, index=True),
    Column("from_owner_id", Uuid, ForeignKey("users.id")),
    Column("to_owner_id", Uuid, ForeignKey("users.id")),
    Column("team_id", Uuid, ForeignKey("teams.id")),
    Column("at", UTCDateTime, nullable=False),
    Column("actor", String(200), nullable=False),
    Column("rule", String(200)),
    Column("reason", Text, nullable=False),
)

# A person's named filter sets of a list page (the leads list's URL parameters).
saved_views = Table(
    "saved_views",
    metadata,
    _id(),
    Column("user_id", Uuid, ForeignKey("users.id"), nullable=False),
    Column("page", String(32), nullable=False),
    Column("name", String(80), nullable=False),
    Column("query", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("user_id", "page", "name"),
)

audit_log = Table(
    "audit_log",
    metadata,
    _id(),
    Column("at", UTCDateTime, nullable=False),
    Column("actor", String(200), nullable=False),
    Column("action", String(64), nullable=False),
    Column("entity", String(32), nullable=False),
    Column("entity_id", Uuid),
    Column("data", JSONDoc, nullable=False),
    Index("ix_audit_log_entity_entity_id", "entity", "entity_id"),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("key", String(200), primary_key=True),
    Column("request_hash", String(64), nullable=False),
    Column("response", JSONDoc, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

import_jobs = Table(
    "import_jobs",
    metadata,
    _id(),
    Column("kind", String(32), nullable=False),
    Column("file_name", String(500), nullable=False),
    # The same file (by content) with the same mapping resumes the same job.
    Column("fingerprint", String(64), nullable=False, index=True),
    Column("status", String(16), nullable=False),
    Column("batch_size", Integer, nullable=False),
    Column("total_rows", Integer, nullable=False),
    Column("rows_done", Integer, nullable=False),
    Column("created", Integer, nullable=False),
    Column("merged", Integer, nullable=False),
    Column("unchanged", Integer, nullable=False),
    Column("rejected", Integer, nullable=False),
    Column("actor", String(200), nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime),
    CheckConstraint("status IN ('running', 'completed')", name="status"),
)

import_errors = Table(
    "import_errors",
    metadata,
    _id(),
    Column("job_id", Uuid, ForeignKey("import_jobs.id"), nullable=False),
    Column("row_number", Integer, nullable=False),
    Column("column_name", String(200), nullable=False),
    Column("value", Text),
    Column("reason", Text, nullable=False),
    Index("ix_import_errors_job_id_row_number", "job_id", "row_number"),
)

# --- scoring (docs/concepts/scoring.md) ------------------------------------------------------

MODEL_STATUSES = ("draft", "active", "retired")


def _versioned(table: str, key: str) -> list[Any]:
    """Columns and constraints of a versioned document: ``version`` per ``key``, a
    ``status`` (draft, active, retired) with at most one active version per ``key``, who
    created it and when it went live."""
    return [
        Column("version", Integer, nullable=False),
        Column("status", String(16), nullable=False),
        Column("created_by", String(200), nullable=False),
        Column("activated_at", UTCDateTime),
        UniqueConstraint(key, "version"),
        CheckConstraint(f"status IN ({', '.join(repr(s) for s in MODEL_STATUSES)})", name="status"),
        Index(
            f"uq_{table}_active_{key}",
            key,
            unique=True,
            sqlite_where=Column("status") == "active",
            postgresql_where=Column("status") == "active",
        ),
    ]


scoring_models = Table(
    "scoring_models",
    metadata,
    _id(),
    Column("name", String(100), nullable=False),
    Column("spec", JSONDoc, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    *_versioned("scoring_models", "name"),
)

lead_scores = Table(
    "lead_scores",
    metadata,
    Column("lead_id", Uuid, ForeignKey("leads.id"), primary_key=True),
    Column("model", String(100), primary_key=True),
    Column("model_version", Integer, nullable=False),
    Column("score", Integer, nullable=False),
    Column("fit", Integer, nullable=False),
    Column("engagement", Integer, nullable=False),
    Column("grade", String(4), nullable=False),
    Column("priority", String(1), nullable=False),
    Column("explanation", JSONDoc, nullable=False),
    Column("as_of", UTCDateTime, nullable=False),
    Index("ix_lead_scores_model_score", "model", "score"),
)

predictive_models = Table(
    "predictive_models",
    metadata,
    _id(),
    Column("name", String(100), nullable=False),
    Column("target", String(32), nullable=False),
    Column("horizon_days", Integer, nullable=False),
    Column("model", JSONDoc, nullable=False),  # learned parameters as data, never a pickle
    Column("metrics", JSONDoc, nullable=False),
    Column("trained_at", UTCDateTime, nullable=False),
    *_versioned("predictive_models", "name"),
)

lead_predictions = Table(
    "lead_predictions",
    metadata,
    Column("lead_id", Uuid, ForeignKey("leads.id"), primary_key=True),
    Column("model", String(100), primary_key=True),
    Column("model_version", Integer, nullable=False),
    Column("probability", Numeric(8, 6), nullable=False),
    Column("factors", JSONDoc, nullable=False),
    Column("as_of", UTCDateTime, nullable=False),
)

# Domain events for later consumers (notifications, webhooks): e.g. ``lead.hot`` when a
# score crosses its threshold. Written in the transaction of the change that caused them.
lead_events = Table(
    "lead_events",
    metadata,
    _id(),
    Column("lead_id", Uuid, ForeignKey("leads.id"), nullable=False, index=True),
    Column("kind", String(64), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("data", JSONDoc, nullable=False),
    Column("consumed_at", UTCDateTime),
    Index("ix_lead_events_kind_consumed_at", "kind", "consumed_at"),
)

# --- routing, SLA and the job queue (docs/concepts/routing.md) -------------------------------

RULE_SET_KINDS = ("routing", "sla")
JOB_STATUSES = ("pending", "running", "done", "failed")
SLA_STATES = ("due", "met", "breached")

calendars = Table(
    "calendars",
    metadata,
    _id(),
    Column("name", String(100), nullable=False, unique=True),
    Column("spec", JSONDoc, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

# Routing rules and SLA policies as versioned documents, like scoring models.
rule_sets = Table(
    "rule_sets",
    metadata,
    _id(),
    Column("kind", String(16), nullable=False),
    Column("spec", JSONDoc, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    *_versioned("rule_sets", "kind"),
    CheckConstraint(f"kind IN ({', '.join(repr(k) for k in RULE_SET_KINDS)})", name="kind"),
)

# What routing needs to know of a rep beyond the users row.
rep_profiles = Table(
    "rep_profiles",
    metadata,
    Column("user_id", Uuid, ForeignKey("users.id"), primary_key=True),
    Column("weight", Numeric(8, 3), nullable=False),
    Column("seniority", Integer, nullable=False),
    Column("max_open", Integer),
    Column("max_new_per_day", Integer),
    Column("max_claims_per_day", Integer),
    Column("skills", JSONDoc, nullable=False),
    Column("product_lines", JSONDoc, nullable=False),
    Column("calendar", String(100)),
    Column("away", JSONDoc, nullable=False),  # [[start, end], ...] ISO instants
    Column("updated_at", UTCDateTime, nullable=False),
)

# Per team: the last rep picked and the weighted round-robin credits. Updated in the
# transaction of each assignment; its row is the lock that keeps round-robin fair.
team_routing_state = Table(
    "team_routing_state",
    metadata,
    Column("team_id", Uuid, ForeignKey("teams.id"), primary_key=True),
    Column("last_rep_id", Uuid, ForeignKey("users.id")),
    Column("credits", JSONDoc, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

lead_sla = Table(
    "lead_sla",
    metadata,
    Column("lead_id", Uuid, ForeignKey("leads.id"), primary_key=True),
    Column("policy", String(100), nullable=False),
    Column("owner_id", Uuid, ForeignKey("users.id")),
    Column("started_at", UTCDateTime, nullable=False),
    Column("due_at", UTCDateTime, nullable=False),
    Column("responded_at", UTCDateTime),
    Column("response_seconds", Integer),  # business time, what MTTR averages
    Column("status", String(16), nullable=False),
    Column("reclaims", Integer, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    CheckConstraint(f"status IN ({', '.join(repr(s) for s in SLA_STATES)})", name="status"),
    Index("ix_lead_sla_status_due_at", "status", "due_at"),
)

jobs = Table(
    "jobs",
    metadata,
    _id(),
    Column("kind", String(64), nullable=False),
    Column("lead_id", Uuid, ForeignKey("leads.id")),
    Column("run_at", UTCDateTime, nullable=False),
    Column("payload", JSONDoc, nullable=False),
    Column("status", String(16), nullable=False),
    Column("lease_until", UTCDateTime),
    Column("attempts", Integer, nullable=False),
    Column("last_error", Text),
    Column("created_at", UTCDateTime, nullable=False),
    Column("done_at", UTCDateTime),
    CheckConstraint(f"status IN ({', '.join(repr(s) for s in JOB_STATUSES)})", name="status"),
    Index("ix_jobs_status_run_at", "status", "run_at"),
)

notifications = Table(
    "notifications",
    metadata,
    _id(),
    Column("user_id", Uuid, ForeignKey("users.id"), nullable=False, index=True),
    Column("lead_id", Uuid, ForeignKey("leads.id")),
    Column("kind", String(64), nullable=False),
    Column("message", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("read_at", UTCDateTime),
)

# Every decided first-response clock, append-only: what SLA reports count (``lead_sla``
# holds only each lead's current clock, which a re-assignment replaces).
sla_outcomes = Table(
    "sla_outcomes",
    metadata,
    _id(),
    Column("lead_id", Uuid, ForeignKey("leads.id"), nullable=False, index=True),
    Column("policy", String(100), nullable=False),
    Column("owner_id", Uuid, ForeignKey("users.id")),
    Column("team_id", Uuid, ForeignKey("teams.id")),
    Column("channel", String(64)),
    Column("started_at", UTCDateTime, nullable=False),
    Column("due_at", UTCDateTime, nullable=False),
    Column("responded_at", UTCDateTime),
    Column("response_seconds", Integer),
    Column("status", String(16), nullable=False),
    Column("reclaimed", Boolean, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    CheckConstraint("status IN ('met', 'breached')", name="status"),
)

# Signed-in browser sessions. The cookie carries a random token; only its SHA-256 is stored,
# so a copy of the database opens no session. ``expires_at`` is the absolute limit; idle
# expiry is measured from ``last_seen_at``.
sessions = Table(
    "sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("user_id", Uuid, ForeignKey("users.id"), nullable=False, index=True),
    Column("csrf_hash", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_seen_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
)

# Keys for machines. A key is ``lf_<prefix>_<secret>``: the prefix finds the row, the SHA-256
# of the whole key proves it. A key acts for its user, limited to its scopes. Intake keys name
# the lead source they submit as, and may carry a shared secret for HMAC-signed requests.
api_keys = Table(
    "api_keys",
    metadata,
    _id(),
    Column("name", String(100), nullable=False),
    Column("prefix", String(16), nullable=False, unique=True),
    Column("key_hash", String(64), nullable=False),
    Column("user_id", Uuid, ForeignKey("users.id"), nullable=False, index=True),
    Column("scopes", JSONDoc, nullable=False),
    Column("source", String(32)),
    Column("signing_secret", String(128)),
    Column("rate_limit", Integer, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_used_at", UTCDateTime),
    Column("revoked_at", UTCDateTime),
)

# Failed sign-ins, per account and per client address, for throttling.
login_throttle = Table(
    "login_throttle",
    metadata,
    Column("key", String(300), primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("window_started_at", UTCDateTime, nullable=False),
    Column("locked_until", UTCDateTime),
)
