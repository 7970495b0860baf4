"""The lead lifecycle as an explicit state machine.

Stages, in funnel order::

    lead -> mql -> sql -> opportunity -> won | lost

plus two side stages: ``nurture`` (recycled; may re-enter ``mql``) and ``disqualified``.

The allowed moves are declared once, in :data:`DEFAULT_MOVES`. Skipping forward is allowed
where sales really does it (a hot lead accepted straight to ``sql``), moving to the stage a
lead is already in is not. ``won -> opportunity`` is a repeat purchase: the customer opens a
new deal. Every move is appended to the stage history; the current stage is always the
target of the last move.

>>> DEFAULT_LIFECYCLE.check_move(Stage.MQL, Stage.SQL)
>>> DEFAULT_LIFECYCLE.check_move(Stage.WON, Stage.MQL)
Traceback (most recent call last):
...
leadfunnel.domain.errors.IllegalTransition: cannot move from 'won' to 'mql'; allowed from 'won': opportunity
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from leadfunnel.domain.errors import IllegalTransition, ValidationError

__all__ = ["DEFAULT_LIFECYCLE", "DEFAULT_MOVES", "FUNNEL_PATH", "Lifecycle", "Stage", "parse_stage"]


class Stage(StrEnum):
    LEAD = "lead"
    MQL = "mql"
    SQL = "sql"
    OPPORTUNITY = "opportunity"
    WON = "won"
    LOST = "lost"
    NURTURE = "nurture"
    DISQUALIFIED = "disqualified"


#: The main path of the funnel, in order. A lead that reached a later stage on the path is
#: counted as having reached every earlier one (see docs/concepts/lifecycle.md).
FUNNEL_PATH: tuple[Stage, ...] = (Stage.LEAD, Stage.MQL, Stage.SQL, Stage.OPPORTUNITY, Stage.WON)

DEFAULT_MOVES: Mapping[Stage, frozenset[Stage]] = {
    Stage.LEAD: frozenset({Stage.MQL, Stage.SQL, Stage.NURTURE, Stage.DISQUALIFIED}),
    Stage.MQL: frozenset({Stage.SQL, Stage.NURTURE, Stage.DISQUALIFIED}),
    Stage.SQL: frozenset({Stage.OPPORTUNITY, Stage.NURTURE, Stage.DISQUALIFIED}),
    Stage.OPPORTUNITY: frozenset({Stage.WON, Stage.LOST}),
    Stage.WON: frozenset({Stage.OPPORTUNITY}),
    Stage.LOST: frozenset({Stage.OPPORTUNITY, Stage.NURTURE}),
    Stage.NURTURE: frozenset({Stage.MQL, Stage.DISQUALIFIED}),
    Stage.DISQUALIFIED: frozenset({Stage.NURTURE}),
}

_RANK = {
    Stage.LEAD: 0,
    Stage.MQL: 1,
    Stage.SQL: 2,
    Stage.OPPORTUNITY: 3,
    Stage.WON: 4,
    Stage.LOST: 4,
}

#: Moves into these stages must say why (the reason feeds lost-reason analytics).
REASON_REQUIRED: frozenset[Stage] = frozenset({Stage.LOST, Stage.DISQUALIFIED})


def parse_stage(value: str, *, field: str = "stage") -> Stage:
    """Parse a stage name, naming the accepted values when it is not one."""
    try:
        return Stage(value.strip().lower())
    except ValueError:
        accepted = ", ".join(s.value for s in Stage)
        raise ValidationError(
            field, f"unknown stage '{value}'; expected one of: {accepted}"
        ) from None


@dataclass(frozen=True)
class Lifecycle:
    """A state machine: the allowed moves between stages.

    A new lead may be created in any stage (imports bring history); from then on only the
    declared moves are allowed.
    """

    moves: Mapping[Stage, frozenset[Stage]]

    def allowed_from(self, current: Stage) -> list[Stage]:
        """The stages a lead in ``current`` may move to, in funnel order."""
        return [s for s in Stage if s in self.moves.get(current, frozenset())]

    def check_history_move(self, current: Stage, target: Stage) -> None:
        """Raise unless ``current -> target`` may appear in imported history.

        History exported from another system rarely records every step, so besides the
        declared moves a forward jump along ``lead < mql < sql < opportunity < won | lost``
        is accepted (``mql -> won``: the deal closed, the steps between were not logged).
        Backward jumps and moves out of closed stages still need a declared move. No reason
        is required: the source system may not have one.
        """
        if target in self.moves.get(current, frozenset()):
            return
        if current in _RANK and target in _RANK and _RANK[target] > _RANK[current]:
            return
        raise IllegalTransition(
            current.value, target.value, [s.value for s in self.allowed_from(current)]
        )

    def check_move(self, current: Stage, target: Stage, reason: str | None = None) -> None:
        """Raise unless ``current -> target`` is a declared move (with a reason if one is needed)."""
        if target not in self.moves.get(current, frozenset()):
            raise IllegalTransition(
                current.value, target.value, [s.value for s in self.allowed_from(current)]
            )
        if target in REASON_REQUIRED and not (reason and reason.strip()):
            raise ValidationError("reason", f"a reason is required when moving to '{target.value}'")


DEFAULT_LIFECYCLE = Lifecycle(moves=DEFAULT_MOVES)
