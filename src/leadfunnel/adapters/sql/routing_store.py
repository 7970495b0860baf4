"""Routing and SLA data in the write store: rule sets, calendars, reps, team state."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, literal, or_, select

from leadfunnel.adapters.sql import tables as t
from leadfunnel.adapters.sql.repositories import _Repo
from leadfunnel.domain.ids import new_id
from leadfunnel.services.ports import Row

__all__ = ["SqlRouting"]

OPEN_STAGES = ("lead", "mql", "sql", "opportunity")


class SqlRouting(_Repo):
    # rule sets -------------------------------------------------------------------------------
    def rule_sets(self, kind: str) -> list[Row]:
        c = t.rule_sets.c
        return self._rows(select(t.rule_sets).where(c.kind == kind).order_by(c.version))

    def rule_set(self, kind: str, version: int | None) -> Row | None:
        c = t.rule_sets.c
        query = select(t.rule_sets).where(c.kind == kind)
        if version is None:
            query = query.where(c.status == "active")
        else:
            query = query.where(c.version == version)
        return self._one(query)

    def next_rule_set_version(self, kind: str) -> int:
        c = t.rule_sets.c
        return int(self._run(select(func.max(c.version)).where(c.kind == kind)).scalar() or 0) + 1

    def add_rule_set(self, row: Mapping[str, Any]) -> None:
        self._run(t.rule_sets.insert().values(**row))

    def set_rule_set_status(
        self, rule_set_id: uuid.UUID, status: str, activated_at: datetime | None
    ) -> None:
        c = t.rule_sets.c
        self._run(
            t.rule_sets.update()
            .where(c.id == rule_set_id)
            .values(status=status, activated_at=activated_at)
        )

    # calendars -------------------------------------------------------------------------------
    def calendars(self) -> list[Row]:
        return self._rows(select(t.calendars).order_by(t.calendars.c.name))

    def put_calendar(self, name: str, spec: Mapping[str, Any], now: datetime) -> None:
        c = t.calendars.c
        if self._one(select(c.id).where(c.name == name)) is None:
            self._run(
                t.calendars.insert().values(
                    id=new_id(), name=name, spec=dict(spec), created_at=now, updated_at=now
                )
            )
        else:
            self._run(
                t.calendars.update().where(c.name == name).values(spec=dict(spec), updated_at=now)
            )

    # reps and teams --------------------------------------------------------------------------
    def teams(self) -> list[Row]:
        return self._rows(select(t.teams).order_by(t.teams.c.name))

    def reps(self) -> list[Row]:
        """Reps (role rep) with their team's name and their profile columns (None if none)."""
        u, p, tm = t.users.c, t.rep_profiles.c, t.teams.c
        query = (
            select(
                u.id,
                u.name,
                u.email,
                u.active,
                u.timezone,
                tm.name.label("team"),
                p.weight,
                p.seniority,
                p.max_open,
                p.max_new_per_day,
                p.max_claims_per_day,
                p.skills,
                p.product_lines,
                p.calendar,
                p.away,
            )
            .select_from(
                t.users.join(t.teams, u.team_id == tm.id).outerjoin(
                    t.rep_profiles, p.user_id == u.id
                )
            )
            .where(u.role == "rep")
            .order_by(tm.name, u.id)
        )
        return self._rows(query)

    def put_rep_profile(self, row: Mapping[str, Any]) -> None:
        p = t.rep_profiles.c
        if self._one(select(p.user_id).where(p.user_id == row["user_id"])) is None:
            self._run(insert(t.rep_profiles).values(**row))
        else:
            self._run(t.rep_profiles.update().where(p.user_id == row["user_id"]).values(**row))

    def open_leads_by_owner(self) -> dict[uuid.UUID, int]:
        c = t.leads.c
        query = (
            select(c.owner_id.label("owner"), func.count().label("n"))
            .where(c.owner_id.is_not(None), c.stage.in_(OPEN_STAGES))
            .group_by(c.owner_id)
        )
        return {r["owner"]: int(r["n"]) for r in self._run(query).mappings()}

    def assigned_since(self, since: datetime) -> dict[uuid.UUID, int]:
        a = t.assignments.c
        query = (
            select(a.to_owner_id.label("owner"), func.count().label("n"))
            .where(a.at >= since, a.to_owner_id.is_not(None))
            .group_by(a.to_owner_id)
        )
        return {r["owner"]: int(r["n"]) for r in self._run(query).mappings()}

    def lock_team_state(self, team_id: uuid.UUID, now: datetime) -> Row:
        """The team's routing state, locked until the transaction ends (created if missing).

        On PostgreSQL ``SELECT ... FOR UPDATE`` serialises concurrent assignments to one
        team; SQLite's write transactions are serial already (``BEGIN IMMEDIATE``)."""
        s = t.team_routing_state.c
        query = select(t.team_routing_state).where(s.team_id == team_id)
        if self._conn.dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            self._run(pg_insert(t.team_routing_state).values(team_id=team_id, last_rep_id=None, credits={},
                                                             updated_at=now).on_conflict_do_nothing())  # fmt: skip
            found = self._one(query.with_for_update())
        else:
            found = self._one(query)
            if found is None:
                found = {"team_id": team_id, "last_rep_id": None, "credits": {}, "updated_at": now}
                self._run(t.team_routing_state.insert().values(**found))
        assert found is not None
        return found

    def save_team_state(self, team_id: uuid.UUID, last_rep_id: uuid.UUID | None, credits: Mapping[str, float],
                        now: datetime) -> None:  # fmt: skip
        s = t.team_routing_state.c
        self._run(t.team_routing_state.update().where(s.team_id == team_id)
                  .values(last_rep_id=last_rep_id, credits=dict(credits), updated_at=now))  # fmt: skip

    # assignments and SLA clocks --------------------------------------------------------------
    def assignments_for(self, lead_id: uuid.UUID) -> list[Row]:
        a = t.assignments.c
        return self._rows(select(t.assignments).where(a.lead_id == lead_id).order_by(a.at, a.id))

    def pool_leads(self, limit: int) -> list[Row]:
        c = t.leads.c
        query = (
            select(t.leads)
            .where(c.in_pool.is_(True), c.stage.in_(OPEN_STAGES))
            .order_by(c.created_at, c.id)
            .limit(limit)
        )
        return self._rows(query)

    def put_sla(self, row: Mapping[str, Any]) -> None:
        s = t.lead_sla.c
        if self._one(select(s.lead_id).where(s.lead_id == row["lead_id"])) is None:
            self._run(t.lead_sla.insert().values(**row))
        else:
            self._run(t.lead_sla.update().where(s.lead_id == row["lead_id"]).values(**row))

    def sla_for(self, lead_id: uuid.UUID) -> Row | None:
        return self._one(select(t.lead_sla).where(t.lead_sla.c.lead_id == lead_id))

    # the shared pool ---------------------------------------------------------------------------
    def take_from_pool(self, lead_id: uuid.UUID, owner_id: uuid.UUID, now: datetime) -> bool:
        """Give a pool lead to ``owner_id`` if it is still in the pool: one conditional
        ``UPDATE``, so of two concurrent claims exactly one changes the row."""
        c = t.leads.c
        done = self._run(
            t.leads.update()
            .where(c.id == lead_id, c.in_pool.is_(True), c.stage.in_(OPEN_STAGES))
            .values(owner_id=owner_id, in_pool=False, updated_at=now, version=c.version + 1)
        )
        return bool(getattr(done, "rowcount", 0) == 1)  # a CursorResult for UPDATE

    def claims_since(self, owner_id: uuid.UUID, since: datetime) -> int:
        a = t.assignments.c
        query = select(func.count()).where(
            a.to_owner_id == owner_id, a.rule == "claim", a.at >= since
        )
        return int(self._run(query).scalar() or 0)

    def rep(self, user_id: uuid.UUID) -> Row | None:
        return next((row for row in self.reps() if row["id"] == user_id), None)

    def stagnant_leads(self, cutoff: datetime, limit: int) -> list[Row]:
        """Owned open leads with no activity and no owner change since ``cutoff``."""
        c, act, a = t.leads.c, t.activities.c, t.assignments.c
        recent_activity = select(act.id).where(act.lead_id == c.id, act.at >= cutoff).exists()
        recent_assignment = select(a.id).where(a.lead_id == c.id, a.at >= cutoff).exists()
        query = (
            select(t.leads)
            .where(
                c.owner_id.is_not(None),
                c.stage.in_(OPEN_STAGES),
                ~recent_activity,
                ~recent_assignment,
            )
            .order_by(c.id)
            .limit(limit)
        )
        return self._rows(query)

    def leads_created_since(self, since: datetime, limit: int) -> list[Row]:
        c = t.leads.c
        return self._rows(
            select(t.leads).where(c.created_at >= since).order_by(c.created_at, c.id).limit(limit)
        )

    def set_user_active(self, user_id: uuid.UUID, active: bool) -> None:
        self._run(t.users.update().where(t.users.c.id == user_id).values(active=active))

    def open_leads_of(self, owner_id: uuid.UUID) -> list[Row]:
        c = t.leads.c
        return self._rows(
            select(t.leads).where(c.owner_id == owner_id, c.stage.in_(OPEN_STAGES)).order_by(c.id)
        )

    def add_sla_outcome(self, row: Mapping[str, Any]) -> None:
        self._insert(t.sla_outcomes, [row])

    def sla_outcome_rows(self) -> list[Row]:
        """Decided clocks (``sla_outcomes``) and open ones (``lead_sla`` still due), with the
        team's name: what SLA reports count."""
        o, s, c, tm = t.sla_outcomes.c, t.lead_sla.c, t.leads.c, t.teams.c
        decided = select(
            o.policy,
            o.owner_id,
            o.status,
            o.response_seconds,
            o.reclaimed,
            o.channel,
            o.started_at,
            tm.name.label("team"),
        ).select_from(t.sla_outcomes.outerjoin(t.teams, o.team_id == tm.id))
        still_due = (
            select(
                s.policy, s.owner_id, s.status, s.response_seconds, c.channel, s.started_at,
                tm.name.label("team"),
            )
            .select_from(
                t.lead_sla.join(t.leads, s.lead_id == c.id).outerjoin(t.teams, c.team_id == tm.id)
            )
            .where(s.status == "due")
        )
        return self._rows(decided) + [{**row, "reclaimed": False} for row in self._rows(still_due)]

    def sla_watch_rows(self, *, due_before: datetime, decided_since: datetime) -> list[Row]:
        o, s, c, tm = t.sla_outcomes.c, t.lead_sla.c, t.leads.c, t.teams.c
        lead_columns = (c.first_name, c.last_name, c.email, c.company, c.owner_id.label("lead_owner_id"),
                        c.team_id.label("lead_team_id"), c.in_pool)  # fmt: skip
        due = (
            select(s.lead_id, s.policy, s.owner_id, s.due_at, s.status, literal(False).label("reclaimed"),
                   s.due_at.label("at"), tm.name.label("team"), *lead_columns)
            .select_from(t.lead_sla.join(t.leads, s.lead_id == c.id).outerjoin(t.teams, c.team_id == tm.id))
            .where(s.status == "due", s.due_at < due_before)
        )  # fmt: skip
        decided = (
            select(o.lead_id, o.policy, o.owner_id, o.due_at, o.status, o.reclaimed, o.at,
                   tm.name.label("team"), *lead_columns)
            .select_from(t.sla_outcomes.join(t.leads, o.lead_id == c.id).outerjoin(t.teams, o.team_id == tm.id))
            .where(o.at >= decided_since, or_(o.status == "breached", o.reclaimed.is_(True)))
        )  # fmt: skip
        return self._rows(due) + self._rows(decided)
