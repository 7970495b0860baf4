"""Each lead's walk through the lifecycle, as stage transitions with times and reasons.

Steps, each decided once per lead (probabilities from :func:`step_odds`)::

    lead --(to_mql)--> mql --(to_sql)--> sql --(to_opportunity)--> opportunity
         --(to_won)--> won | lost [reason]  --(repeat)--> opportunity --> won | lost

A lead that does not advance drops to ``nurture`` or ``disqualified`` with one of the step's
reasons (students: ``disqualified``, "student") or, rarely, stalls where it is. Owned leads
from channels with ``direct_to_sql`` are sometimes accepted straight from ``lead`` to
``sql``. Unowned (pool) leads never pass ``mql``. Sales steps cannot happen before the
owner's first response.

Each step happens after a lognormal wait (:class:`~.model.Gap`, at least a minute), so the
times of one lead's transitions strictly increase. A step whose time falls after ``now``
has not happened yet: the lead stays open where it is, which is why young leads are open.
The first transition of every lead is ``(None -> lead, "created via demo")`` at its
creation; the lead's stage and ``stage_entered_at`` are those of its last transition.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from leadfunnel.domain.lifecycle import Stage
from leadfunnel.services.demo.batches import TableBatch, object_array
from leadfunnel.services.demo.ids import ids_at
from leadfunnel.services.demo.model import CompanyModel, Gap, Step
from leadfunnel.services.demo.profiles import Profiles
from leadfunnel.services.demo.sales import Routing
from leadfunnel.services.demo.timeframe import after, as_times
from leadfunnel.services.demo.world import World

__all__ = [
    "STAGES",
    "Journeys",
    "Odds",
    "actor_names",
    "lead_odds",
    "sigmoid",
    "step_odds",
    "transition_batch",
    "walk",
]

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]
Objects = npt.NDArray[np.object_]

STAGES = [s.value for s in Stage]
_CODE = {s: i for i, s in enumerate(STAGES)}
LEAD, MQL, SQL, OPP, WON = (_CODE[s] for s in ("lead", "mql", "sql", "opportunity", "won"))
#: Actor codes before the reps' (rep ``r`` acts as ``FIRST_REP + r``).
CREATOR, MARKETING, FIRST_REP = 0, 1, 2
CREATED, QUALIFIED, ACCEPTED, OPENED, CLOSED_WON, REPEAT = range(6)
_ADVANCE_REASONS = (
    "created via demo",
    "engagement score reached the MQL threshold",
    "accepted by sales",
    "discovery done; opportunity opened",
    "closed won",
    "repeat purchase",
)


def sigmoid(x: Floats) -> Floats:
    return 1.0 / (1.0 + np.exp(-x))


@dataclass(frozen=True)
class Odds:
    """Log-odds of each step for each lead (before the sigmoid)."""

    mql: Floats
    sql: Floats
    direct_sql: Floats
    opportunity: Floats
    won: Floats


def step_odds(model: CompanyModel, z: Floats, log_skill: Floats, response: Floats) -> Odds:
    """The model's step log-odds; ``response`` is the response effect's log-odds term."""
    f = model.funnel

    def odds(step: Step) -> Floats:
        return step.intercept + step.z_weight * z + step.skill_weight * log_skill

    sales = odds(f.to_sql) + response
    return Odds(
        mql=odds(f.to_mql),
        sql=sales,
        direct_sql=sales - f.to_sql.intercept + f.direct_to_sql_intercept,
        opportunity=odds(f.to_opportunity),
        won=odds(f.to_won),
    )


@dataclass(frozen=True)
class Journeys:
    """The transitions of a chunk's leads and where each lead ended.

    Transition ``j`` moved lead ``leads[j]`` (its index in the chunk) from ``from_codes[j]``
    (-1: none) to ``to_codes[j]`` (indexes into :data:`STAGES`) at ``at[j]``, made by
    ``actor_names(world)[actors[j]]`` for ``reason_texts[reasons[j]]``. Deal episodes:
    ``deal_leads[k]`` opened a deal at ``deal_open[k]``, to close at ``deal_close[k]`` (after
    now: still open), won or lost for ``reason_texts[deal_reasons[k]]``.
    """

    leads: Ints
    from_codes: Ints
    to_codes: Ints
    at: Ints
    actors: Ints
    reasons: Ints
    reason_texts: list[str]
    stage: Ints
    stage_at: Ints
    reached_sql: Bools
    deal_leads: Ints
    deal_open: Ints
    deal_close: Ints
    deal_won: Bools
    deal_reasons: Ints
    deal_repeat: Bools


@dataclass(frozen=True)
class _Moves:
    """What one step did: the leads it considered, whether each advanced (by plan, even if
    after now), the planned time and target of what it did, and the reason code."""

    who: Ints
    advanced: Bools
    when: Ints
    to: Ints
    reasons: Ints


class _Walk:
    """The state of a chunk's leads while they walk, and the transitions so far."""

    def __init__(self, created: Ints, now: int, rng: np.random.Generator) -> None:
        self.rng, self.now, n = rng, now, len(created)
        self.stage = np.full(n, LEAD, dtype=np.int64)
        self.at = created.copy()
        self.moving = np.ones(n, dtype=bool)
        self.reasons = list(_ADVANCE_REASONS)
        self.parts: list[tuple[Ints, ...]] = [
            (np.arange(n), np.full(n, -1), np.full(n, LEAD), created, np.full(n, CREATOR),
             np.full(n, CREATED))
        ]  # fmt: skip

    def reason_code(self, text: str) -> int:
        if text not in self.reasons:
            self.reasons.append(text)
        return self.reasons.index(text)

    def _drops(self, step: Step, count: int) -> tuple[Ints, Ints]:
        """Target stage and reason code of ``count`` drops, drawn by the step's weights."""
        if not step.drops:
            return np.full(count, LEAD), np.full(count, CREATED)  # nothing drops: all stall
        weights = np.array([weight for *_, weight in step.drops])
        pick = self.rng.choice(len(weights), size=count, p=weights / weights.sum())
        stages = np.array([_CODE[stage] for stage, _, _ in step.drops])
        codes = np.array([self.reason_code(reason) for _, reason, _ in step.drops])
        return stages[pick], codes[pick]

    def step(self, at_stage: Bools, odds: Floats, plan: tuple[Ints, Ints, Ints], step: Step,
             actors: Ints, reason: int) -> _Moves:  # fmt: skip
        """Advance, drop or stall the moving leads in ``at_stage``. ``plan`` is, per lead,
        (time it would advance, stage it would advance to, time it would drop)."""
        advance_at, target, drop_at = plan
        who = np.flatnonzero(at_stage & self.moving)
        advanced = self.rng.random(len(who)) < sigmoid(odds[who])
        stall = ~advanced & (self.rng.random(len(who)) < step.stall)
        to, reasons = target[who].copy(), np.full(len(who), reason)
        dropping = ~advanced & ~stall
        to[dropping], reasons[dropping] = self._drops(step, int(dropping.sum()))
        when = np.where(advanced, advance_at[who], drop_at[who])
        done = ~stall & (when <= self.now)
        moved = who[done]
        self.parts.append(
            (moved, self.stage[moved], to[done], when[done], actors[moved], reasons[done])
        )
        self.stage[moved], self.at[moved] = to[done], when[done]
        self.moving[who[~(advanced & done)]] = False
        return _Moves(who, advanced, when, to, reasons)


def _wait(start: Ints, gap: Gap, rng: np.random.Generator, scale: Floats | None = None) -> Ints:
    median = gap.median_days if scale is None else gap.median_days * scale
    return after(start, median, gap.sigma, rng)


def _all(n: int, stage: int) -> Ints:
    return np.full(n, stage, dtype=np.int64)


@dataclass(frozen=True)
class _Leads:
    """What the steps need to know of a chunk's leads besides the walk's state."""

    p: Profiles
    odds: Odds
    owned: Bools
    sales: Ints  # actor code of the owner (marketing for pool leads)
    ready: Ints  # when sales may act: after the first response


def walk(world: World, p: Profiles, routing: Routing, rng: np.random.Generator) -> Journeys:
    """Walk a chunk's leads through the lifecycle (see the module docstring)."""
    leads = _Leads(
        p=p,
        odds=lead_odds(world, p, routing),
        owned=routing.owned,
        sales=np.where(routing.owned, FIRST_REP + np.maximum(routing.reps, 0), MARKETING),
        ready=np.maximum(p.created_us, routing.response_us),
    )
    w = _Walk(p.created_us, world.history.now_us, rng)
    _qualify(w, world.model, leads)
    _accept_and_open(w, world.model, leads)
    deals = [_close(w, leads.odds.won, world.model, leads, repeat=False)]
    deals.append(_buy_again(w, world.model, leads))
    return _journeys(w, deals)


def lead_odds(world: World, p: Profiles, routing: Routing) -> Odds:
    """The step log-odds of each lead, given its owner (skill) and first-response delay."""
    model = world.model
    log_skill = np.log(world.roster.rep_skills[np.maximum(routing.reps, 0)])
    minutes = np.nan_to_num(routing.response_minutes, nan=model.response.reference_minutes)
    ratio = np.maximum(minutes / model.response.reference_minutes, 1.0)
    return step_odds(model, p.z, log_skill, -model.response.beta * np.log(ratio))


def _qualify(w: _Walk, model: CompanyModel, leads: _Leads) -> None:
    """From ``lead``: to ``mql`` (marketing), or straight to ``sql`` (sales), or drop."""
    f, n = model.funnel, len(leads.p)
    shares = np.array([c.direct_to_sql for c in model.channels])[leads.p.channels]
    direct = leads.owned & (w.rng.random(n) < shares)
    odds = np.where(direct, leads.odds.direct_sql, leads.odds.mql)
    plan = (
        np.where(
            direct,
            _wait(leads.ready, f.to_sql.advance, w.rng),
            _wait(w.at, f.to_mql.advance, w.rng),
        ),
        np.where(direct, SQL, MQL),
        _wait(w.at, f.to_mql.drop, w.rng),
    )
    actors = np.where(direct, leads.sales, MARKETING)
    students = leads.p.students(model)
    as_students = replace(f.to_mql, drops=(("disqualified", "student", 1.0),), stall=0.0)
    w.step(students, odds, plan, as_students, actors, QUALIFIED)
    w.step(~students, odds, plan, f.to_mql, actors, QUALIFIED)


def _accept_and_open(w: _Walk, model: CompanyModel, leads: _Leads) -> None:
    """``mql -> sql`` (owned leads only, after the first response), ``sql -> opportunity``."""
    f, n = model.funnel, len(leads.p)
    odds = np.where(leads.owned, leads.odds.sql, -np.inf)
    start = np.maximum(w.at, leads.ready)
    plan = (_wait(start, f.to_sql.advance, w.rng), _all(n, SQL), _wait(w.at, f.to_sql.drop, w.rng))
    w.step(w.stage == MQL, odds, plan, f.to_sql, leads.sales, ACCEPTED)
    step = f.to_opportunity
    plan = (_wait(w.at, step.advance, w.rng), _all(n, OPP), _wait(w.at, step.drop, w.rng))
    w.step(w.stage == SQL, leads.odds.opportunity, plan, step, leads.sales, OPENED)


_Deals = tuple[Ints, Ints, Ints, Bools, Ints, Bools]


def _close(w: _Walk, odds: Floats, model: CompanyModel, leads: _Leads, *, repeat: bool) -> _Deals:
    """Close open opportunities, won or lost, after the sales cycle (longer for bigger
    companies). Returns the deal episodes, including those still open at now."""
    step, n = model.funnel.to_won, len(leads.p)
    cycle = np.array([b.cycle_factor for b in model.sizes])[leads.p.bands]
    opened = w.at.copy()
    plan = (
        _wait(w.at, step.advance, w.rng, cycle),
        _all(n, WON),
        _wait(w.at, step.drop, w.rng, cycle),
    )
    moves = w.step(w.stage == OPP, odds, plan, step, leads.sales, CLOSED_WON)
    return (moves.who, opened[moves.who], moves.when, moves.advanced, moves.reasons,
            np.full(len(moves.who), repeat))  # fmt: skip


def _logit(probability: float, n: int) -> Floats:
    return np.full(n, np.log(probability / (1 - probability)))


def _buy_again(w: _Walk, model: CompanyModel, leads: _Leads) -> _Deals:
    """Some customers buy again: ``won -> opportunity``, then won or lost."""
    again, n = model.funnel.repeat, len(leads.p)
    waiting = Step(0.0, 0.0, 0.0, again.after, again.after, (), 1.0)  # no drop: just stays won
    plan = (_wait(w.at, again.after, w.rng), _all(n, OPP), w.at)
    w.step(w.stage == WON, _logit(again.probability, n), plan, waiting, leads.sales, REPEAT)
    return _close(w, _logit(again.win_probability, n), model, leads, repeat=True)


def _journeys(w: _Walk, deals: list[_Deals]) -> Journeys:
    leads, frm, to, at, actors, reasons = (
        np.concatenate(column) for column in zip(*w.parts, strict=True)
    )
    reached_sql = np.zeros(len(w.stage), dtype=bool)
    reached_sql[leads[to == SQL]] = True
    deal = [np.concatenate(column) for column in zip(*deals, strict=True)]
    return Journeys(
        leads=leads, from_codes=frm, to_codes=to, at=at, actors=actors, reasons=reasons,
        reason_texts=w.reasons, stage=w.stage, stage_at=w.at, reached_sql=reached_sql,
        deal_leads=deal[0], deal_open=deal[1], deal_close=deal[2], deal_won=deal[3],
        deal_reasons=deal[4], deal_repeat=deal[5],
    )  # fmt: skip


def actor_names(world: World) -> Objects:
    """Who made each move, by actor code: the creator, marketing automation, then reps."""
    fixed = object_array(["demo", "demo:marketing-automation"])
    names: Objects = np.concatenate((fixed, world.roster.rep_emails()))
    return names


def transition_batch(
    world: World, j: Journeys, lead_ids: Objects, id_rng: np.random.Generator
) -> TableBatch:
    order = np.argsort(j.at, kind="stable")
    stages = object_array([*STAGES, None])  # code -1: no previous stage
    at = j.at[order]
    return TableBatch(
        "stage_transitions",
        {
            "id": ids_at(at, id_rng),
            "lead_id": lead_ids[j.leads[order]],
            "from_stage": stages[j.from_codes[order]],
            "to_stage": stages[j.to_codes[order]],
            "at": as_times(at),
            "actor": actor_names(world)[j.actors[order]],
            "reason": object_array(j.reason_texts)[j.reasons[order]],
        },
    )
