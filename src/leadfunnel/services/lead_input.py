"""Parse one raw intake submission (a mapping from any entry point) into a :class:`LeadDraft`.

Every field is checked here, once, for every entry point: unknown fields, types, lengths,
formats. Errors name the field. Nothing is written before this succeeds.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from leadfunnel.domain.errors import ValidationError
from leadfunnel.domain.lead import UTM_KEYS, LeadDraft
from leadfunnel.domain.lifecycle import Stage, parse_stage
from leadfunnel.services.normalise import (
    channel_from_utm,
    clean_company,
    company_key,
    normalise_channel,
    normalise_email,
    normalise_phone,
    parse_utm,
)

__all__ = [
    "LEAD_INPUT_FIELDS",
    "LIVE_ENTRY_STAGES",
    "parse_company_size",
    "parse_custom_fields",
    "parse_lead_input",
    "parse_timestamp",
]

#: Accepted input fields and their maximum length in characters.
LEAD_INPUT_FIELDS: dict[str, int] = {
    "email": 254,
    "phone": 40,
    "external_id": 128,
    "first_name": 100,
    "last_name": 100,
    "company": 200,
    "title": 200,
    "region": 100,
    "country": 100,
    "industry": 100,
    "company_size": 12,
    "product_interest": 100,
    "channel": 64,
    "campaign": 200,
    "landing_url": 2048,
    "referrer": 2048,
    "touchpoint_kind": 64,
    "stage": 32,
    "occurred_at": 40,
    "custom_fields": 16_384,
    **{f"utm_{key}": 200 for key in UTM_KEYS},
}
#: The stages a live submission (the API, a web form) may start a new lead in. Later stages
#: are reached by lifecycle moves, which check their gates (a deal, a lost reason); only
#: history (an import, an operator at the CLI) may record a lead that entered further on.
LIVE_ENTRY_STAGES: tuple[Stage, ...] = (Stage.LEAD, Stage.MQL)
#: Lead ids are UUIDv7s, which count milliseconds from the Unix epoch: nothing is older.
_EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
#: How far a submission's time may run ahead of this server's clock (the senders' clocks).
_CLOCK_SKEW = timedelta(minutes=5)
_SLUG = re.compile(r"^[a-z0-9][a-z0-9_\-]{0,63}$")
_CUSTOM_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")


def _text(raw: Mapping[str, Any], name: str) -> str | None:
    value = raw.get(name)
    if value is None:
        return None
    if type(value) is str:  # the common case, first
        text = value.strip()
        if len(text) > LEAD_INPUT_FIELDS[name]:
            raise ValidationError(
                name,
                f"is {len(text)} characters long; at most {LEAD_INPUT_FIELDS[name]} are allowed",
            )
        return text or None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValidationError(name, f"must be text, got {type(value).__name__}")
    text = str(value).strip()
    limit = LEAD_INPUT_FIELDS[name]
    if len(text) > limit:
        raise ValidationError(name, f"is {len(text)} characters long; at most {limit} are allowed")
    return text or None


def parse_timestamp(value: Any, *, field: str) -> datetime:
    """An ISO 8601 date or time; naive values are taken as UTC. Returns aware UTC."""
    if isinstance(value, datetime):
        parsed = value
    else:
        text = str(value).strip()
        try:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise ValidationError(field, f"'{text}' is not an ISO 8601 date or time") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def parse_custom_fields(value: Any) -> dict[str, Any]:
    """Custom fields: an object (or its JSON) of flat values under names of letters, digits
    and ``_``, at most 16 KiB of JSON."""
    if value is None:
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise ValidationError("custom_fields", f"is not valid JSON ({exc.msg})") from None
    if not isinstance(value, dict):
        raise ValidationError("custom_fields", "must be an object of name -> value")
    for key, item in value.items():
        if not _CUSTOM_KEY.match(str(key)):
            raise ValidationError(
                "custom_fields", f"'{key}' is not a field name (letters, digits, '_')"
            )
        if isinstance(item, dict | list):
            raise ValidationError(
                f"custom_fields.{key}", "must be a plain value, not a list or object"
            )
    size = len(json.dumps(value, ensure_ascii=False))
    if size > LEAD_INPUT_FIELDS["custom_fields"]:
        raise ValidationError(
            "custom_fields", f"is {size} characters as JSON; at most 16384 are allowed"
        )
    return dict(value)


def _company_size(raw: Mapping[str, Any]) -> int | None:
    return parse_company_size(raw.get("company_size"))


def parse_company_size(value: Any) -> int | None:
    """Employees, a whole number from 0 to 10,000,000 (``"1,200"`` reads as 1200)."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValidationError("company_size", f"'{value}' is not a whole number of employees")
    try:
        size = int(str(value).strip().replace(",", ""))
    except ValueError:
        raise ValidationError(
            "company_size", f"'{value}' is not a whole number of employees"
        ) from None
    if not 0 <= size <= 10_000_000:
        raise ValidationError("company_size", f"{size} is out of range (0 to 10,000,000)")
    return size


def _occurred_at(value: Any, now: datetime) -> datetime:
    at = parse_timestamp(value, field="occurred_at")
    if at > now + _CLOCK_SKEW:
        raise ValidationError("occurred_at", f"{at.isoformat()} is in the future")
    if at < _EARLIEST:
        raise ValidationError("occurred_at", f"{at.isoformat()} is before 1970")
    return at


def _entry_stage(text: str, *, history: bool) -> Stage:
    stage = parse_stage(text)
    if not history and stage not in LIVE_ENTRY_STAGES:
        raise ValidationError(
            "stage",
            f"a new lead enters at {' or '.join(LIVE_ENTRY_STAGES)}, not '{stage}': later "
            "stages are lifecycle moves (POST /api/v1/leads/{id}/stage)",
        )
    return stage


def _slug(raw: Mapping[str, Any], name: str, default: str) -> str:
    text = _text(raw, name)
    if text is None:
        return default
    slug = text.lower()
    if not _SLUG.match(slug):
        raise ValidationError(name, f"'{text}' must be a short name of letters, digits, '_' or '-'")
    return slug


def parse_lead_input(
    raw: Mapping[str, Any], *, now: datetime, default_region: str, history: bool = False
) -> LeadDraft:
    """Validate and normalise one submission.

    ``now`` is used when the input gives no ``occurred_at``, which may not be later than
    ``now`` (give or take five minutes of clock skew) nor before 1970; ``default_region``
    (ISO 3166 alpha-2) is how phones in national format are read. A ``stage`` must be one of
    :data:`LIVE_ENTRY_STAGES` unless the submission is ``history`` (an import).
    """
    unknown = sorted(set(raw) - set(LEAD_INPUT_FIELDS))
    if unknown:
        raise ValidationError(
            unknown[0], "is not a lead field; put custom data under custom_fields"
        )
    email_text, phone_text = _text(raw, "email"), _text(raw, "phone")
    external_id = _text(raw, "external_id")
    if not (email_text or phone_text or external_id):
        raise ValidationError("contact", "at least one of email, phone or external_id is required")
    email = normalise_email(email_text) if email_text else None
    phone = normalise_phone(phone_text, default_region) if phone_text else None
    landing_url = _text(raw, "landing_url")
    utm = parse_utm(landing_url, {key: _text(raw, f"utm_{key}") for key in UTM_KEYS})
    channel_text = _text(raw, "channel")
    channel = normalise_channel(channel_text) if channel_text else channel_from_utm(utm)
    company = _text(raw, "company")
    company = clean_company(company) if company else None
    occurred = raw.get("occurred_at")
    stage_text = _text(raw, "stage")
    return LeadDraft(
        occurred_at=_occurred_at(occurred, now) if occurred else now,
        email=email,
        phone=phone,
        external_id=external_id,
        first_name=_text(raw, "first_name"),
        last_name=_text(raw, "last_name"),
        company=company or None,
        company_key=company_key(company) or None if company else None,
        title=_text(raw, "title"),
        region=_text(raw, "region"),
        country=_text(raw, "country"),
        industry=_text(raw, "industry"),
        company_size=_company_size(raw),
        product_interest=_text(raw, "product_interest"),
        channel=channel,
        campaign=_text(raw, "campaign"),
        landing_url=landing_url,
        referrer=_text(raw, "referrer"),
        utm=utm,
        touchpoint_kind=_slug(raw, "touchpoint_kind", "form_submit"),
        stage=_entry_stage(stage_text, history=history) if stage_text else Stage.LEAD,
        custom_fields=parse_custom_fields(raw.get("custom_fields")),
    )
