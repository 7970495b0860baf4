"""Random lead histories for engine-vs-oracle tests, and writing them into a real store.

``histories()`` draws stage histories; ``event_histories()`` adds touchpoints and custom
fields, for event funnels and custom-field breakdowns (``event_specs()``). Both kinds of
spec draw dimension filters (``where()``), ``(none)`` and values no lead has included.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import strategies as st

from leadfunnel.analytics.funnel_oracle import LeadHistory
from leadfunnel.analytics.funnel_spec import funnel_spec
from leadfunnel.domain.ids import new_id
from leadfunnel.domain.lifecycle import DEFAULT_MOVES, FUNNEL_PATH, Stage

BASE = datetime(2025, 1, 1, tzinfo=UTC)
CHANNELS = ("webinar", "paid_search", "email", None)
REGIONS = ("East", "West", "")
KINDS = ("ad_click", "form_submit", "demo_request", "unsubscribe")
#: Custom field values as JSON holds them; ``plan`` may be missing or null.
PLANS = ("gold", "silver", 42, True, "", None)


@st.composite
def histories(draw) -> LeadHistory:
    created = BASE + timedelta(hours=draw(st.integers(0, 24 * 300)))
    stage = draw(st.sampled_from([Stage.LEAD, Stage.LEAD, Stage.MQL, Stage.SQL, Stage.NURTURE]))
    at = created
    transitions = [(stage.value, at)]
    for _ in range(draw(st.integers(0, 7))):
        stage = draw(st.sampled_from(sorted(DEFAULT_MOVES[stage])))
        at = at + timedelta(
            hours=draw(st.sampled_from([0, 0, 1, 30, 24 * 20, 24 * 100]))
        )  # ties included
        transitions.append((stage.value, at))
    dims = {"channel": draw(st.sampled_from(CHANNELS)), "last_channel": draw(st.sampled_from(CHANNELS)),
            "region": draw(st.sampled_from(REGIONS))}  # fmt: skip
    return LeadHistory(
        created_at=created, current_stage=stage.value, transitions=tuple(transitions), dims=dims
    )


#: Filter values as the store gives them back (an unknown channel is stored as 'unknown').
_WHERE = ("channel=webinar", "channel=email", "channel=unknown", "channel=(none)", "region=East",
          "region=(none)", "region=Mars")  # fmt: skip
_CUSTOM_WHERE = ("custom.plan=gold", "custom.plan=42", "custom.plan=true", "custom.plan=(none)")


def where(custom: bool = False):
    """Up to three ``DIMENSION=VALUE`` filters (values of one dimension are alternatives)."""
    return st.lists(st.sampled_from(_WHERE + (_CUSTOM_WHERE if custom else ())), max_size=3)


@st.composite
def specs(draw):
    path = [s.value for s in FUNNEL_PATH]
    steps = sorted(draw(st.sets(st.sampled_from(path), min_size=1)), key=path.index)
    step_windows = (
        draw(
            st.none()
            | st.lists(
                st.sampled_from([None, "1d", "30d"]),
                min_size=len(steps) - 1,
                max_size=len(steps) - 1,
            )
        )
        if len(steps) > 1
        else None
    )
    return funnel_spec(
        steps=steps,
        mode=draw(st.sampled_from(["ordered", "strict", "any"])),
        window=draw(st.sampled_from([None, "36h", "30d", "120d"])),
        step_windows=step_windows,
        breakdown=draw(st.sampled_from([None, "channel", "region"])),
        attribution=draw(st.sampled_from(["first_touch", "last_touch"])),
        cohort=draw(st.sampled_from([None, "week", "month", "quarter"])),
        top_n=draw(st.sampled_from([None, 1, 2])),
        filters=draw(where()),
    )


@st.composite
def event_histories(draw) -> LeadHistory:
    """A stage history plus touchpoints (ties with stage changes included) and custom fields."""
    lead = draw(histories())
    touches = []
    at = lead.created_at - timedelta(hours=draw(st.sampled_from([0, 0, 2])))
    for _ in range(draw(st.integers(0, 6))):
        at = at + timedelta(hours=draw(st.sampled_from([0, 1, 30, 24 * 20, 24 * 100])))
        touches.append((draw(st.sampled_from(KINDS)), at))
    plan = draw(st.sampled_from([*PLANS, "absent"]))
    custom = {} if plan == "absent" else {"plan": plan}
    return LeadHistory(
        lead.created_at, lead.current_stage, lead.transitions,
        {**lead.dims, "custom_fields": custom}, tuple(touches),
    )  # fmt: skip


_EVENTS = (*KINDS[:3], "lead", "mql", "sql", "opportunity", "won", "nurture", "disqualified")


@st.composite
def event_specs(draw):
    """Event funnels: 1-4 steps over kinds and stages (repeats allowed but in mode any),
    exclusions, windows, every mode."""
    mode = draw(st.sampled_from(["ordered", "strict", "any"]))
    events = draw(st.lists(st.sampled_from(_EVENTS), min_size=1, max_size=4, unique=mode == "any"))
    exclude = draw(
        st.lists(
            st.sampled_from(["unsubscribe", "lost", "nurture", "sql"]), max_size=2, unique=True
        )
    )
    exclude = [e for e in exclude if e not in events]
    step_windows = (
        draw(st.none() | st.lists(st.sampled_from([None, "1d", "30d"]),
                                  min_size=len(events) - 1, max_size=len(events) - 1))
        if len(events) > 1 and mode != "any" else None
    )  # fmt: skip
    return funnel_spec(
        events=events,
        mode=mode,
        exclude=exclude or None,
        window=draw(st.sampled_from([None, "36h", "30d", "120d"])),
        step_windows=step_windows,
        breakdown=draw(st.sampled_from([None, "channel", "custom.plan"])),
        cohort=(cohort := draw(st.sampled_from([None, "week", "month"]))),
        cohort_by=draw(st.sampled_from(["created", "entered"])) if cohort else None,
        top_n=draw(st.sampled_from([None, 1, 2])),
        attribution=draw(st.sampled_from(["first_touch", "last_touch"])),
        filters=draw(where(custom=True)),
    )


def write_histories(
    app, leads: list[LeadHistory], *, prefix: str = "h", updated_at: datetime | None = None
) -> None:
    """Insert leads and their stage changes as the write store holds them (``updated_at``:
    when they were written; default their creation time)."""
    rows, transitions, touches = [], [], []
    for i, lead in enumerate(leads):
        lead_id = new_id()
        rows.append({
            "id": lead_id, "external_id": f"{prefix}{i}", "channel": lead.dims.get("channel") or "unknown",
            "last_channel": lead.dims.get("last_channel"), "region": lead.dims.get("region") or None,
            "source": "test", "custom_fields": lead.dims.get("custom_fields") or {}, "in_pool": True,
            "stage": lead.current_stage, "owner_id": lead.dims.get("owner_id"),
            "stage_entered_at": lead.transitions[-1][1], "created_at": lead.created_at,
            "updated_at": updated_at or lead.created_at, "version": 1,
        })  # fmt: skip
        previous = None
        for stage, at in lead.transitions:
            transitions.append({"id": new_id(), "lead_id": lead_id, "from_stage": previous, "to_stage": stage,
                                "at": at, "actor": "test", "reason": None})  # fmt: skip
            previous = stage
        touches.extend(
            {"id": new_id(), "lead_id": lead_id, "kind": kind, "channel": None, "campaign_id": None,
             "campaign": None, "url": None, "at": at, "properties": {}}
            for kind, at in lead.touches
        )  # fmt: skip
    with app.uow_factory() as uow:
        uow.records.insert("leads", rows)
        uow.records.insert("stage_transitions", transitions)
        if touches:
            uow.records.insert("touchpoints", touches)
        uow.commit()


def as_stored(lead: LeadHistory) -> LeadHistory:
    """The history as the store will give it back: an unknown channel is stored as 'unknown'."""
    dims = {
        **lead.dims,
        "channel": lead.dims.get("channel") or "unknown",
        "region": lead.dims.get("region") or None,
    }
    return LeadHistory(lead.created_at, lead.current_stage, lead.transitions, dims, lead.touches)


def write_reps(app, count: int) -> list:
    """``count`` reps in the users table (owners for histories); their ids."""
    reps = [new_id() for _ in range(count)]
    with app.uow_factory() as uow:
        uow.records.insert("users", [
            {"id": r, "email": f"rep{i}@x.example", "name": f"Rep {i}", "role": "rep", "created_at": BASE}
            for i, r in enumerate(reps)
        ])  # fmt: skip
        uow.commit()
    return reps
