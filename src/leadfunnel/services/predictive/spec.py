"""What a predictive model learns from: the target, the windows, the features, and the
leakage rules that keep post-outcome information out.

A :class:`TrainingSpec` is validated once, here, and stored inside every model it trained,
so a model always says what it was built from. A spec file is TOML::

    target = "sql"              # reached sql (or a later stage) ...
    horizon_days = 90           # ... within 90 days of the lead's creation
    observe_days = 1            # features use what was known 1 day after creation
    validation_fraction = 0.2   # the newest 20 % of labelled leads validate
    min_count = 10              # rarer values are grouped as "(other)"
    behaviour = true            # touch counts, last-touch recency, first-response time

    fields = ["channel", "industry", "company_size", "custom_fields.occupation"]
    numeric = ["company_size"]  # binned at training-data deciles

    [post_outcome]              # custom fields filled in after the outcome: never features
    "custom_fields.tags" = "status tag sales sets after calling the lead"

**Leakage rules.** A feature must be known at the scoring moment (creation + ``observe_days``).
Lead columns that change after that moment are refused with the reason
(:data:`POST_OUTCOME_COLUMNS`): the stage, the rule score and grade, owner and team, SLA
deadline, the last touch, link to account/contact. Custom fields are opt-in (leadfunnel
cannot know when a custom field was filled in), and those declared in ``[post_outcome]`` are
refused even when listed.

>>> TrainingSpec.build(fields=["channel", "stage"])
Traceback (most recent call last):
...
leadfunnel.domain.errors.ValidationError: features.stage: is set after the outcome (the current stage is the outcome itself); a model trained on it learns the outcome instead of predicting it
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from leadfunnel.domain.errors import ValidationError
from leadfunnel.domain.lead import UTM_KEYS

__all__ = [
    "DEFAULT_FIELDS",
    "FIT_COLUMNS",
    "POST_OUTCOME_COLUMNS",
    "TARGETS",
    "TrainingSpec",
    "load_spec",
]

#: Stages a model can predict: reaching the stage or a later one on the funnel path.
TARGETS = ("mql", "sql", "opportunity", "won")

#: Lead columns known when the lead arrives (or filled in from what it told us then).
FIT_COLUMNS = (
    "channel", "campaign", "source", "region", "country", "industry", "company_size", "title",
    "product_interest", "first_channel", "first_campaign", *(f"first_utm_{k}" for k in UTM_KEYS),
)  # fmt: skip

#: What ``leadfunnel score train`` uses when no fields are given.
DEFAULT_FIELDS = (
    "channel", "campaign", "source", "region", "country", "industry", "company_size", "title",
    "product_interest", "first_utm_source", "first_utm_medium",
)  # fmt: skip

_LAST_TOUCH = "the last touch moves with every later touch, including those after the outcome"

#: Lead columns set or changed after the scoring moment, with the reason each one leaks.
POST_OUTCOME_COLUMNS: dict[str, str] = {
    "stage": "the current stage is the outcome itself",
    "stage_entered_at": "the current stage is the outcome itself",
    "score": "the rule score is recomputed from later behaviour (it is a baseline, not a feature)",
    "grade": "the rule grade is recomputed from later behaviour (it is a baseline, not a feature)",
    "owner_id": "a lead gets an owner when sales accepts or works it",
    "team_id": "a lead gets a team when sales accepts or works it",
    "in_pool": "a lead leaves the pool when sales accepts or works it",
    "sla_due_at": "the SLA deadline is set by routing after assignment",
    "account_id": "the account is linked when the lead converts",
    "contact_id": "the contact is linked when the lead converts",
    "updated_at": "changes with every later edit",
    "version": "changes with every later edit",
    "last_touch_at": _LAST_TOUCH,
    "last_channel": _LAST_TOUCH,
    "last_campaign": _LAST_TOUCH,
    "last_touch_url": _LAST_TOUCH,
    **{f"last_utm_{k}": _LAST_TOUCH for k in UTM_KEYS},
}

_CUSTOM = re.compile(r"^custom_fields\.[A-Za-z_][A-Za-z0-9_]{0,63}$")
_KEYS = {
    "target", "horizon_days", "observe_days", "validation_fraction", "min_count", "behaviour",
    "fields", "numeric", "post_outcome",
}  # fmt: skip


@dataclass(frozen=True)
class TrainingSpec:
    """A validated training specification (build it with :meth:`build`)."""

    target: str = "sql"
    horizon_days: int = 90
    observe_days: int = 1
    validation_fraction: float = 0.2
    min_count: int = 10
    behaviour: bool = True
    fields: tuple[str, ...] = DEFAULT_FIELDS
    numeric: tuple[str, ...] = ("company_size",)
    post_outcome: dict[str, str] = field(default_factory=dict)

    @classmethod
    def build(cls, **given: Any) -> TrainingSpec:
        """Validate ``given`` (any subset of the fields; ``None`` means the default)."""
        unknown = sorted(set(given) - _KEYS)
        if unknown:
            raise ValidationError(
                unknown[0], f"is not a training setting; expected: {', '.join(sorted(_KEYS))}"
            )
        values = {k: v for k, v in given.items() if v is not None}
        spec = cls(
            target=_target(values.get("target", cls.target)),
            horizon_days=_whole(values, "horizon_days", cls.horizon_days, 1, 3650),
            observe_days=_whole(values, "observe_days", cls.observe_days, 0, 365),
            validation_fraction=_fraction(values.get("validation_fraction", 0.2)),
            min_count=_whole(values, "min_count", cls.min_count, 1, 10_000),
            behaviour=_flag(values.get("behaviour", True)),
            fields=(fields := _names(values.get("fields", DEFAULT_FIELDS), "fields")),
            # company_size is a number wherever it is a feature, unless numeric says otherwise
            numeric=_names(
                values.get("numeric", [f for f in fields if f == "company_size"]), "numeric"
            ),
            post_outcome=_post_outcome(values.get("post_outcome", {})),
        )
        spec._check_windows()
        spec._check_features()
        return spec

    def _check_windows(self) -> None:
        if self.observe_days >= self.horizon_days:
            raise ValidationError(
                "observe_days",
                f"{self.observe_days} must be shorter than the horizon ({self.horizon_days} days)",
            )

    def _check_features(self) -> None:
        if not self.fields and not self.behaviour:
            raise ValidationError("fields", "name at least one field, or enable behaviour")
        for name in self.fields:
            refuse_leaking(name, self.post_outcome)
        if len(set(self.fields)) != len(self.fields):
            raise ValidationError("fields", "lists a field twice")
        for name in self.numeric:
            if name not in self.fields:
                raise ValidationError(f"numeric.{name}", "is not one of the fields")

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["fields"], data["numeric"] = list(self.fields), list(self.numeric)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TrainingSpec:
        return cls.build(**data)


def refuse_leaking(name: str, post_outcome: Mapping[str, str]) -> None:
    """Raise unless ``name`` is a field known at the scoring moment (see the module doc)."""
    why = POST_OUTCOME_COLUMNS.get(name) or post_outcome.get(name)
    if why is not None:
        raise ValidationError(
            f"features.{name}",
            f"is set after the outcome ({why}); a model trained on it learns the outcome "
            "instead of predicting it",
        )
    if name not in FIT_COLUMNS and not _CUSTOM.match(name):
        raise ValidationError(
            f"features.{name}",
            f"is not a feature field; use custom_fields.NAME or one of: {', '.join(FIT_COLUMNS)}",
        )


def load_spec(path: Path, **overrides: Any) -> TrainingSpec:
    """Read a spec file; ``overrides`` that are not ``None`` win over the file."""
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValidationError("spec", f"cannot read {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ValidationError("spec", f"{path.name} is not valid TOML ({exc})") from None
    return TrainingSpec.build(**{**doc, **{k: v for k, v in overrides.items() if v is not None}})


def _target(value: Any) -> str:
    text = str(value).strip().lower()
    if text not in TARGETS:
        raise ValidationError("target", f"'{value}' is not one of: {', '.join(TARGETS)}")
    return text


def _whole(values: Mapping[str, Any], name: str, default: int, low: int, high: int) -> int:
    value = values.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValidationError(name, f"must be a whole number from {low} to {high}, got {value!r}")
    return value


def _fraction(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0.05 <= value <= 0.5:
        raise ValidationError("validation_fraction", f"must be from 0.05 to 0.5, got {value!r}")
    return float(value)


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValidationError("behaviour", f"must be true or false, got {value!r}")
    return value


def _names(value: Any, name: str) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise ValidationError(name, "must be a list of field names")
    return tuple(str(v).strip() for v in value)


def _post_outcome(value: Any) -> dict[str, str]:
    if not isinstance(value, Mapping):
        raise ValidationError("post_outcome", "must be a table of field = reason")
    return {str(k): str(v) for k, v in value.items()}
