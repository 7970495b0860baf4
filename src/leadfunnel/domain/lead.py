"""Lead values: the validated, normalised form of one intake submission.

A :class:`LeadDraft` is what every entry point (CLI, import, API, webhook) hands to the
intake service after parsing. Its fields are already clean: emails lower-cased, phones in
E.164, UTM fields split out of the landing-page URL.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from leadfunnel.domain.lifecycle import Stage

__all__ = ["UTM_KEYS", "LeadDraft", "Utm"]

UTM_KEYS = ("source", "medium", "campaign", "term", "content")


@dataclass(frozen=True)
class Utm:
    """The five UTM parameters of one touch (any may be missing)."""

    source: str | None = None
    medium: str | None = None
    campaign: str | None = None
    term: str | None = None
    content: str | None = None

    def is_empty(self) -> bool:
        return not any((self.source, self.medium, self.campaign, self.term, self.content))

    def as_dict(self) -> dict[str, str]:
        return {k: v for k in UTM_KEYS if (v := getattr(self, k))}


@dataclass(frozen=True)
class LeadDraft:
    """One normalised intake submission.

    ``email``, ``phone`` and ``external_id`` are the identities de-duplication matches on;
    at least one is present. ``occurred_at`` is when the touch happened (now, or the
    historical date of an imported row).
    """

    occurred_at: datetime
    email: str | None = None
    phone: str | None = None
    external_id: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    company: str | None = None
    company_key: str | None = None
    title: str | None = None
    region: str | None = None
    country: str | None = None
    industry: str | None = None
    company_size: int | None = None
    product_interest: str | None = None
    channel: str = "unknown"
    campaign: str | None = None
    landing_url: str | None = None
    referrer: str | None = None
    utm: Utm = field(default_factory=Utm)
    touchpoint_kind: str = "form_submit"
    stage: Stage = Stage.LEAD
    custom_fields: dict[str, Any] = field(default_factory=dict)

    def profile_fields(self) -> dict[str, Any]:
        """Descriptive fields a merge may fill in when the stored lead lacks them."""
        names = (
            "email",
            "phone",
            "external_id",
            "first_name",
            "last_name",
            "company",
            "company_key",
            "title",
            "region",
            "country",
            "industry",
            "company_size",
            "product_interest",
        )
        return {name: getattr(self, name) for name in names}
