"""What an event funnel's steps are: things a lead did, read from touchpoints or stage changes.

A :class:`FunnelEvent` is either a **touchpoint kind** (``ad_click``, ``form_submit``, any
kind the store holds) or a **lifecycle stage**. Step text is parsed by :func:`parse_event`:

* a bare name that is a stage (``lead``, ``mql``, ``sql``, ``opportunity``, ``won``, ``lost``,
  ``nurture``, ``disqualified``) is that stage; any other bare name is a touchpoint kind;
* ``stage:NAME`` and ``touch:NAME`` say which explicitly (``touch:won`` for a touchpoint kind
  that happens to be spelled like a stage).

A touchpoint event **occurs** at every touchpoint of its kind. A stage event occurs whenever
the lead enters that stage or, for a stage on the path ``lead > mql > sql > opportunity >
won``, any later stage of the path: the lifecycle funnel's "reached" (a lead accepted straight
from ``lead`` to ``sql`` has reached ``mql`` at that moment).

>>> [e.label for e in parse_events(["ad_click", "form_submit", "opportunity", "touch:won"])]
['ad_click', 'form_submit', 'opportunity', 'touch:won']
>>> parse_event("mql").occurrence_stages
('mql', 'sql', 'opportunity', 'won')
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from leadfunnel.domain.errors import ValidationError
from leadfunnel.domain.lifecycle import FUNNEL_PATH, Stage

__all__ = ["EventSource", "FunnelEvent", "parse_event", "parse_events", "stage_event"]

_PATH = [s.value for s in FUNNEL_PATH]
_STAGES = [s.value for s in Stage]
#: Touchpoint kinds as intake and imports store them (lower-case slugs).
_KIND = re.compile(r"^[a-z0-9][a-z0-9_\-]{0,63}$")


class EventSource(StrEnum):
    TOUCH = "touch"
    STAGE = "stage"


@dataclass(frozen=True)
class FunnelEvent:
    """A touchpoint of kind ``name``, or entering stage ``name``."""

    source: EventSource
    name: str

    @property
    def label(self) -> str:
        """The step's name in results; parsing it gives this event back."""
        if self.source is EventSource.TOUCH and self.name in _STAGES:
            return f"touch:{self.name}"
        return self.name

    @property
    def occurrence_stages(self) -> tuple[str, ...]:
        """For a stage event, the stages whose entry is an occurrence (itself and, on the
        path, every later path stage); empty for a touchpoint event."""
        if self.source is EventSource.TOUCH:
            return ()
        if self.name in _PATH:
            return tuple(_PATH[_PATH.index(self.name) :])
        return (self.name,)

    @property
    def path_index(self) -> int | None:
        """Where a stage event's stage sits on the path; None off the path or for touches."""
        if self.source is EventSource.STAGE and self.name in _PATH:
            return _PATH.index(self.name)
        return None


def stage_event(stage: str) -> FunnelEvent:
    return FunnelEvent(EventSource.STAGE, stage)


def parse_event(text: str, *, field: str = "events") -> FunnelEvent:
    """``'form_submit'``, ``'opportunity'``, ``'stage:lost'`` or ``'touch:won'`` -> an event."""
    cleaned = text.strip().lower()
    prefix, sep, name = cleaned.partition(":")
    if not sep:
        prefix, name = ("stage" if cleaned in _STAGES else "touch"), cleaned
    if prefix == "stage":
        if name not in _STAGES:
            raise ValidationError(
                field, f"unknown stage '{name}'; stages are: {', '.join(_STAGES)}"
            )
        return stage_event(name)
    if prefix != "touch":
        raise ValidationError(
            field, f"'{text}': a step is KIND, stage:STAGE or touch:KIND, not '{prefix}:'"
        )
    if not _KIND.match(name):
        raise ValidationError(
            field,
            f"'{text}' is not a touchpoint kind (lower-case letters, digits, '_' or '-')",
        )
    return FunnelEvent(EventSource.TOUCH, name)


def parse_events(texts: Sequence[str], *, field: str = "events") -> tuple[FunnelEvent, ...]:
    return tuple(parse_event(t, field=field) for t in texts)
