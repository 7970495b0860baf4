"""A scoring model as data: what it is, and how a TOML/YAML/JSON document becomes one.

A model (docs/concepts/scoring.md has the full reference)::

    name = "default"
    half_life_days = 30                  # decay of behaviour points; omit for no decay
    hot_threshold = 70                   # emit lead.hot when the score rises to or past it
    applies_to = {field = "product_interest", op = "eq", value = "analytics"}   # optional

    [grades]                             # fit letter A-D and engagement tier 1-4
    fit = {A = 40, B = 25, C = 10}       # fit >= 40: A; >= 25: B; >= 10: C; else D
    engagement = {1 = 40, 2 = 20, 3 = 5} # engagement >= 40: 1; ...; else 4

    [[fit]]
    name = "enterprise"
    points = 10
    when = {field = "company_size", op = "gt", value = 500}

    [[behaviour]]
    name = "pricing page"
    points = 15
    max_points = 45                      # cap on what the rule adds in total
    per_period = {points = 15, days = 1} # cap per period (before decay)
    when = {all = [{field = "kind", op = "eq", value = "page_view"},
                   {field = "url", op = "contains", value = "/pricing"}]}

    [[priority]]                         # first match wins; the last tier may omit `when`
    tier = "A"
    when = {field = "score", op = "ge", value = 70}

    [[qualify]]                          # lifecycle moves the model makes
    name = "MQL threshold"
    to = "mql"
    from = ["lead", "nurture"]
    when = {all = [{field = "score", op = "ge", value = 60},
                   {field = "fit_grade", op = "in", value = ["A", "B"]}]}

:func:`parse_model` validates everything before anything is stored: errors name the rule
and the field (``behaviour[2] 'pricing page'.when.op: ...``), so a model never
half-activates.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from leadfunnel.domain.errors import ValidationError
from leadfunnel.domain.lifecycle import DEFAULT_MOVES, Stage, parse_stage
from leadfunnel.rules.conditions import Condition, FieldType, compile_condition
from leadfunnel.rules.documents import named_items

__all__ = [
    "LEAD_FIELDS",
    "OUTCOME_FIELDS",
    "TOUCH_FIELDS",
    "BehaviourRule",
    "FitRule",
    "PriorityTier",
    "Qualification",
    "ScoringModel",
    "parse_model",
]

_TEXT = FieldType.TEXT
#: What fit rules (and ``applies_to``) may read: the lead's own fields.
LEAD_FIELDS: Mapping[str, FieldType] = {
    **{
        name: _TEXT
        for name in (
            "email",
            "email_domain",
            "phone",
            "first_name",
            "last_name",
            "company",
            "title",
            "region",
            "country",
            "industry",
            "product_interest",
            "channel",
            "campaign",
            "source",
            "stage",
            "first_channel",
            "last_channel",
            "first_utm_source",
            "first_utm_medium",
            "first_utm_campaign",
            "last_utm_source",
            "last_utm_medium",
            "last_utm_campaign",
            "owner_id",
        )
    },
    "email_is_free_mail": FieldType.BOOL,
    "company_size": FieldType.NUMBER,
    "in_pool": FieldType.BOOL,
    "created_at": FieldType.DATETIME,
}
LEAD_DYNAMIC = ("custom_fields.",)
#: What behaviour rules read: one touchpoint.
TOUCH_FIELDS: Mapping[str, FieldType] = {
    "kind": _TEXT, "channel": _TEXT, "campaign": _TEXT, "url": _TEXT, "at": FieldType.DATETIME,
}  # fmt: skip
TOUCH_DYNAMIC = ("properties.",)
#: What priority tiers and qualification rules read: the lead and its new score.
OUTCOME_FIELDS: Mapping[str, FieldType] = {
    **LEAD_FIELDS,
    "score": FieldType.NUMBER,
    "fit": FieldType.NUMBER,
    "engagement": FieldType.NUMBER,
    "engagement_tier": FieldType.NUMBER,
    "grade": _TEXT,
    "fit_grade": _TEXT,
}
_MODEL_KEYS = {"name", "description", "half_life_days", "hot_threshold", "applies_to", "grades",
               "fit", "behaviour", "priority", "qualify"}  # fmt: skip
DEFAULT_FIT_BANDS = {"A": 40.0, "B": 25.0, "C": 10.0}
DEFAULT_ENGAGEMENT_BANDS = {1: 40.0, 2: 20.0, 3: 5.0}
DEFAULT_PRIORITY = [
    {"tier": "A", "when": {"field": "score", "op": "ge", "value": 70}},
    {"tier": "B", "when": {"field": "score", "op": "ge", "value": 40}},
    {"tier": "C"},
]


@dataclass(frozen=True)
class FitRule:
    name: str
    points: float
    when: Condition


@dataclass(frozen=True)
class BehaviourRule:
    name: str
    points: float
    when: Condition
    max_points: float | None  # cap on the rule's total (after decay)
    period_points: float | None  # cap per period of ``period_days`` (before decay)
    period_days: float | None
    half_life_days: float | None  # None: no decay


@dataclass(frozen=True)
class PriorityTier:
    tier: str
    when: Condition | None  # None: the fallback tier


@dataclass(frozen=True)
class Qualification:
    name: str
    to: Stage
    from_stages: frozenset[Stage]
    when: Condition


@dataclass(frozen=True)
class ScoringModel:
    name: str
    description: str
    applies_to: Condition | None
    fit_rules: tuple[FitRule, ...]
    behaviour_rules: tuple[BehaviourRule, ...]
    fit_bands: Mapping[str, float]  # letter -> lowest fit for it, A > B > C; below C: D
    engagement_bands: Mapping[int, float]  # tier -> lowest engagement, 1 > 2 > 3; below: 4
    priorities: tuple[PriorityTier, ...]
    qualifications: tuple[Qualification, ...]
    hot_threshold: float | None
    spec: Mapping[str, Any]  # the document as given: what is stored and shown


def _number(doc: Mapping[str, Any], key: str, where: str, *, positive: bool = False,
            required: bool = False) -> float | None:  # fmt: skip
    value = doc.get(key)
    if value is None:
        if required:
            raise ValidationError(f"{where}.{key}", "is required")
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValidationError(f"{where}.{key}", f"{value!r} is not a number")
    if positive and value <= 0:
        raise ValidationError(f"{where}.{key}", f"must be above 0, got {value}")
    return float(value)


def _allowed(item: Mapping[str, Any], where: str, keys: set[str]) -> None:
    extra = sorted(set(item) - keys)
    if extra:
        raise ValidationError(
            f"{where}.{extra[0]}", f"is not a rule setting; expected: {', '.join(sorted(keys))}"
        )


def _fit_rules(doc: Mapping[str, Any]) -> tuple[FitRule, ...]:
    rules = []
    for where, item in named_items(doc, "fit", allowed={"name", "points", "when"}, required=False):
        points = _number(item, "points", where, required=True)
        assert points is not None
        when = compile_condition(
            item.get("when"), schema=LEAD_FIELDS, dynamic=LEAD_DYNAMIC, where=f"{where}.when"
        )
        rules.append(FitRule(str(item["name"]), points, when))
    return tuple(rules)


def _behaviour_rules(doc: Mapping[str, Any], half_life: float | None) -> tuple[BehaviourRule, ...]:
    rules = []
    keys = {"name", "points", "when", "max_points", "per_period", "half_life_days"}
    for where, item in named_items(doc, "behaviour", allowed=keys, required=False):
        points = _number(item, "points", where, required=True)
        assert points is not None
        period = item.get("per_period")
        period_points = period_days = None
        if period is not None:
            if not isinstance(period, Mapping) or set(period) != {"points", "days"}:
                raise ValidationError(f"{where}.per_period", "must be {points = N, days = D}")
            period_points = _number(period, "points", f"{where}.per_period", positive=True)
            period_days = _number(period, "days", f"{where}.per_period", positive=True)
        rule_half_life = _number(item, "half_life_days", where, positive=True)
        when = compile_condition(
            item.get("when"), schema=TOUCH_FIELDS, dynamic=TOUCH_DYNAMIC, where=f"{where}.when"
        )
        rules.append(BehaviourRule(
            name=str(item["name"]), points=points, when=when,
            max_points=_number(item, "max_points", where, positive=True),
            period_points=period_points, period_days=period_days,
            half_life_days=rule_half_life if rule_half_life is not None else half_life,
        ))  # fmt: skip
    return tuple(rules)


def _bands(doc: Mapping[str, Any]) -> tuple[dict[str, float], dict[int, float]]:
    grades = doc.get("grades", {})
    if not isinstance(grades, Mapping):
        raise ValidationError("grades", "must be a table with fit and engagement")
    _allowed(grades, "grades", {"fit", "engagement"})
    fit_doc = grades.get("fit", DEFAULT_FIT_BANDS)
    engagement_doc = grades.get(
        "engagement", {str(k): v for k, v in DEFAULT_ENGAGEMENT_BANDS.items()}
    )
    for key, table, labels in (
        ("fit", fit_doc, ("A", "B", "C")),
        ("engagement", engagement_doc, ("1", "2", "3")),
    ):
        if not isinstance(table, Mapping) or {str(k) for k in table} != set(labels):
            raise ValidationError(
                f"grades.{key}", f"must give the lowest value of each of {', '.join(labels)}"
            )
        values = [
            _number({str(k): v for k, v in table.items()}, label, f"grades.{key}", required=True)
            for label in labels
        ]
        if values != sorted(values, reverse=True):  # type: ignore[type-var]
            raise ValidationError(
                f"grades.{key}", f"bands must fall from {labels[0]} to {labels[-1]}"
            )
    fit = {k: float(v) for k, v in fit_doc.items()}
    engagement = {int(k): float(v) for k, v in engagement_doc.items()}
    return fit, engagement


def _priorities(doc: Mapping[str, Any]) -> tuple[PriorityTier, ...]:
    tiers = []
    items = named_items({"priority": doc.get("priority", DEFAULT_PRIORITY)}, "priority", allowed={"tier", "when"},
                        noun="priority tier", names_required=False)  # fmt: skip
    for i, (where, item) in enumerate(items):
        tier = item.get("tier")
        if tier not in ("A", "B", "C"):
            raise ValidationError(
                f"{where}.tier", f"{tier!r} is not a priority; expected A, B or C"
            )
        last = i == len(items) - 1
        if "when" not in item and not last:
            raise ValidationError(f"{where}.when", "only the last tier may go without a condition")
        when = (compile_condition(item["when"], schema=OUTCOME_FIELDS, dynamic=LEAD_DYNAMIC, where=f"{where}.when")
                if "when" in item else None)  # fmt: skip
        tiers.append(PriorityTier(str(tier), when))
    if not tiers or tiers[-1].when is not None:
        tiers.append(PriorityTier("C", None))
    return tuple(tiers)


def _qualifications(doc: Mapping[str, Any]) -> tuple[Qualification, ...]:
    found = []
    for where, item in named_items(
        doc, "qualify", allowed={"name", "to", "from", "when"}, required=False
    ):
        to = parse_stage(str(item.get("to")), field=f"{where}.to")
        sources = item.get("from", ["lead", "nurture"])
        if not isinstance(sources, list) or not sources:
            raise ValidationError(f"{where}.from", "must be a non-empty list of stages")
        stages = frozenset(parse_stage(str(s), field=f"{where}.from") for s in sources)
        for stage in sorted(stages):
            if to not in DEFAULT_MOVES[stage]:
                raise ValidationError(
                    f"{where}.from", f"the lifecycle does not move '{stage.value}' to '{to.value}'"
                )
        when = compile_condition(
            item.get("when"), schema=OUTCOME_FIELDS, dynamic=LEAD_DYNAMIC, where=f"{where}.when"
        )
        found.append(Qualification(str(item["name"]), to, stages, when))
    return tuple(found)


def parse_model(doc: Mapping[str, Any]) -> ScoringModel:
    """Validate a model document and compile its conditions (see the module docstring)."""
    if not isinstance(doc, Mapping):
        raise ValidationError("model", "must be a table of settings and rules")
    extra = sorted(set(doc) - _MODEL_KEYS)
    if extra:
        raise ValidationError(
            extra[0], f"is not a model setting; expected: {', '.join(sorted(_MODEL_KEYS))}"
        )
    name = doc.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 100:
        raise ValidationError("name", "the model needs a name of 1 to 100 characters")
    half_life = _number(doc, "half_life_days", "model", positive=True)
    applies_to = doc.get("applies_to")
    fit_bands, engagement_bands = _bands(doc)
    return ScoringModel(
        name=name.strip(),
        description=str(doc.get("description", "")),
        applies_to=None if applies_to is None else compile_condition(
            applies_to, schema=LEAD_FIELDS, dynamic=LEAD_DYNAMIC, where="applies_to"),
        fit_rules=_fit_rules(doc),
        behaviour_rules=_behaviour_rules(doc, half_life),
        fit_bands=fit_bands,
        engagement_bands=engagement_bands,
        priorities=_priorities(doc),
        qualifications=_qualifications(doc),
        hot_threshold=_number(doc, "hot_threshold", "model"),
        spec=dict(doc),
    )  # fmt: skip
