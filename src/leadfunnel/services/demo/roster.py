"""The sales organisation: regional teams, each with a manager and 4-8 reps, plus an admin
and a marketer.

Reps differ in two hidden ways the simulator uses and the truth file reports: ``skill``, a
multiplier on the odds of every sales step they work, and their median first-response time
(some call back within minutes, some the next morning). Team ``t`` covers one region; a
region with two teams (North America) splits its leads between them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from leadfunnel.services.demo.batches import TableBatch, object_array, with_null
from leadfunnel.services.demo.ids import ids_at
from leadfunnel.services.demo.model import CompanyModel, RepPopulation
from leadfunnel.services.demo.timeframe import as_times
from leadfunnel.services.demo.vocabulary import FIRST_NAMES, LAST_NAMES

__all__ = ["Roster", "hire", "team_reasons"]

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]
Objects = npt.NDArray[np.object_]


@dataclass(frozen=True)
class Roster:
    team_names: list[str]
    team_regions: Ints
    team_ids: Objects
    user_ids: Objects
    user_emails: list[str]
    user_names: list[str]
    user_roles: list[str]
    user_teams: Ints
    managers: Ints
    rep_users: Ints
    rep_teams: Ints
    rep_skills: Floats
    rep_median_minutes: Floats
    team_first_rep: Ints
    team_rep_count: Ints

    def rep_emails(self) -> Objects:
        """Each rep's e-mail: the actor of the moves the rep makes."""
        emails: Objects = object_array(self.user_emails)[self.rep_users]
        return emails

    def batches(self, model: CompanyModel, created_us: int) -> list[TableBatch]:
        """Teams, then users, then the teams' managers (teams and users refer to each other)."""
        team_time = as_times(np.full(len(self.team_names), created_us))
        user_time = as_times(np.full(len(self.user_ids), created_us))
        region_names = [model.regions[r].name for r in self.team_regions]
        teams = {
            "id": self.team_ids,
            "name": object_array(self.team_names),
            "region": object_array(region_names),
            "created_at": team_time,
        }
        team_of_user = with_null(self.team_ids)[self.user_teams]
        users = {
            "id": self.user_ids,
            "email": object_array(self.user_emails),
            "name": object_array(self.user_names),
            "role": object_array(self.user_roles),
            "team_id": team_of_user,
            "timezone": object_array(["UTC"] * len(self.user_ids)),
            "active": np.ones(len(self.user_ids), dtype=bool),
            "created_at": user_time,
        }
        managers = {"id": self.team_ids, "manager_id": self.user_ids[self.managers]}
        return [
            TableBatch("teams", teams),
            TableBatch("users", users),
            TableBatch("teams", managers, key="id"),
        ]


class _People:
    """Distinct staff names drawn from each region's name pool."""

    def __init__(self, rng: np.random.Generator, domain: str) -> None:
        self._rng = rng
        self._domain = domain
        self._taken: set[str] = set()

    def next(self, region: str) -> tuple[str, str]:
        firsts, lasts = FIRST_NAMES[region], LAST_NAMES[region]
        while True:
            first = firsts[int(self._rng.integers(len(firsts)))]
            last = lasts[int(self._rng.integers(len(lasts)))]
            email = f"{first}.{last}@{self._domain}".lower()
            if email not in self._taken:
                self._taken.add(email)
                return f"{first} {last}", email


def hire(
    model: CompanyModel, rng: np.random.Generator, id_rng: np.random.Generator, created_us: int
) -> Roster:
    """Draw the organisation: team sizes, names, skills and response habits."""
    people = _People(rng, model.domain)
    staff = [(*people.next(model.regions[0].name), role, -1) for role in ("admin", "marketer")]
    teams: list[tuple[str, int]] = []  # name, region
    managers: list[int] = []
    reps: list[tuple[int, int]] = []  # user, team
    low, high = model.reps.reps_per_team
    for region_index, region in enumerate(model.regions):
        for team_name in region.teams:
            team = len(teams)
            teams.append((team_name, region_index))
            managers.append(len(staff))
            staff.append((*people.next(region.name), "manager", team))
            for _ in range(int(rng.integers(low, high + 1))):
                reps.append((len(staff), team))
                staff.append((*people.next(region.name), "rep", team))
    return _roster(model.reps, rng, id_rng, created_us, staff, teams, managers, reps)


def _roster(
    population: RepPopulation,
    rng: np.random.Generator,
    id_rng: np.random.Generator,
    created_us: int,
    staff: list[tuple[str, str, str, int]],
    teams: list[tuple[str, int]],
    managers: list[int],
    reps: list[tuple[int, int]],
) -> Roster:
    n_reps = len(reps)
    skills = np.exp(population.skill_sd * rng.standard_normal(n_reps))
    low, high = np.log(population.median_response_minutes)
    medians = np.exp(rng.uniform(low, high, n_reps))
    rep_teams = np.asarray([team for _, team in reps], dtype=np.int64)
    counts = np.bincount(rep_teams, minlength=len(teams)).astype(np.int64)
    return Roster(
        team_names=[name for name, _ in teams],
        team_regions=np.asarray([region for _, region in teams], dtype=np.int64),
        team_ids=ids_at(np.full(len(teams), created_us), id_rng),
        user_ids=ids_at(np.full(len(staff), created_us), id_rng),
        user_emails=[email for _, email, _, _ in staff],
        user_names=[name for name, _, _, _ in staff],
        user_roles=[role for _, _, role, _ in staff],
        user_teams=np.asarray([team for *_, team in staff], dtype=np.int64),
        managers=np.asarray(managers, dtype=np.int64),
        rep_users=np.asarray([user for user, _ in reps], dtype=np.int64),
        rep_teams=rep_teams,
        rep_skills=np.round(np.clip(skills, *population.skill_range), 3),
        rep_median_minutes=np.round(medians, 1).astype(np.float64),
        team_first_rep=np.concatenate(([0], np.cumsum(counts)[:-1])).astype(np.int64),
        team_rep_count=counts,
    )


def team_reasons(model: CompanyModel, roster: Roster) -> list[str]:
    """Why routing chose each team (the assignment row's reason), by team."""
    out = []
    for team, region in zip(roster.team_names, roster.team_regions, strict=True):
        name = model.regions[int(region)].name
        out.append(f"region {name} is covered by team {team}; next rep in rotation")
    return out
