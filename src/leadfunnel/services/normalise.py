"""Cleaning of contact data at intake.

Every rule here is deterministic and documented in docs/concepts/intake.md:

* email: trimmed, syntax-checked (``email-validator``, no DNS look-up), lower-cased whole;
* phone: parsed with ``phonenumbers`` using a default region for national formats, kept
  only if it is a valid number, stored in E.164 (``+8613812345678``);
* company: Unicode NFKC, whitespace collapsed; plus a matching key without case,
  punctuation or legal-form suffix (``"ACME  Ltd."`` -> ``"acme"``);
* UTM: ``utm_*`` query parameters of the landing-page URL;
* channel: a slug; when absent, derived from the UTM medium/source.

Imports repeat values (companies, landing pages, channels) and parsing a phone number is
the costliest step of intake, so the results of the pure steps are kept per distinct input
in bounded caches. Only successes are cached: a bad value fails again, with its reason.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import unicodedata
from urllib.parse import parse_qs, urlsplit

import phonenumbers
from email_validator import SPECIAL_USE_DOMAIN_NAMES, EmailNotValidError, validate_email

from leadfunnel.domain.errors import ValidationError
from leadfunnel.domain.lead import UTM_KEYS, Utm

__all__ = [
    "channel_from_utm",
    "clean_company",
    "company_key",
    "normalise_channel",
    "normalise_email",
    "normalise_phone",
    "parse_utm",
]

_SPACES = re.compile(r"\s+")
_LEGAL_SUFFIX = re.compile(
    r"(?:[\s,]+(?:inc|incorporated|corp|corporation|co|company|ltd|limited|llc|llp|plc|gmbh|ag|"
    r"sa|sas|sarl|srl|spa|bv|nv|oy|ab|as|kk|pte|pty|ltda|eireli|me)\.?)+$"
)
_CJK_LEGAL_SUFFIX = re.compile(r"(?:股份有限公司|有限责任公司|有限公司|集团|公司)$")
_NON_WORD = re.compile(r"[^\w]+")
_CHANNEL = re.compile(r"^[a-z0-9][a-z0-9_\-]{0,63}$")
#: Distinct inputs remembered per cached step (a few MB at most).
_CACHE_SIZE = 16_384


# Plainly well-formed addresses (ASCII, dot-atoms, a letter TLD) are accepted without the
# full parser; anything else (quoted local parts, IDNs, special-use domains) goes through
# email-validator. The fast path accepts a subset of what email-validator accepts.
_PLAIN_EMAIL = re.compile(
    r"^(?=.{1,254}$)(?=[^@]{1,64}@)[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+([a-z]{2,63})$"
)


def normalise_email(raw: str) -> str:
    """``'  Ann.Lee@Example.COM '`` -> ``'ann.lee@example.com'``; raises on bad syntax."""
    text = raw.strip()
    if not text:
        raise ValidationError("email", "is empty")
    lowered = text.lower()
    plain = _PLAIN_EMAIL.match(lowered)
    if plain and plain.group(1) not in SPECIAL_USE_DOMAIN_NAMES:
        return lowered
    try:
        checked = validate_email(text, check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValidationError("email", f"'{text}' is not a valid email address ({exc})") from None
    return checked.normalized.lower()


def normalise_phone(raw: str, default_region: str) -> str:
    """Return the E.164 form of ``raw``; national formats are read in ``default_region``.

    >>> normalise_phone("(415) 555-2671", "US")
    '+14155552671'
    >>> normalise_phone("138 1234 5678", "CN")
    '+8613812345678'
    """
    text = raw.strip()
    if not text:
        raise ValidationError("phone", "is empty")
    return _e164(text, default_region.upper())


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _e164(text: str, default_region: str) -> str:
    try:
        number = phonenumbers.parse(text, default_region)
    except phonenumbers.NumberParseException as exc:
        raise ValidationError("phone", f"'{text}' is not a phone number ({exc})") from None
    if not phonenumbers.is_valid_number(number):
        raise ValidationError(
            "phone",
            f"'{text}' is not a valid phone number (read with default region {default_region})",
        )
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


@functools.lru_cache(maxsize=_CACHE_SIZE)
def clean_company(raw: str) -> str:
    """Display form: NFKC, trimmed, inner whitespace collapsed; ``'ACME\u3000 Ltd.'`` -> ``'ACME Ltd.'``."""
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", raw)).strip().strip("\"'").strip()


@functools.lru_cache(maxsize=_CACHE_SIZE)
def company_key(name: str) -> str:
    """Matching key: case, punctuation and legal-form suffix removed.

    >>> company_key("ACME Widgets, Inc.") == company_key("acme widgets")
    True
    """
    text = clean_company(name).casefold()
    text = _CJK_LEGAL_SUFFIX.sub("", text)
    text = _LEGAL_SUFFIX.sub("", text)
    return _SPACES.sub(" ", _NON_WORD.sub(" ", text)).strip()


def parse_utm(url: str | None, explicit: dict[str, str | None] | None = None) -> Utm:
    """UTM values from the URL's query string; explicit values win over the URL's.

    >>> parse_utm("https://x.io/p?utm_source=google&utm_medium=cpc").medium
    'cpc'
    """
    found = _url_utm(url) if url and "utm_" in url else _NO_UTM
    given = {k: v.strip() for k, v in (explicit or {}).items() if v is not None and v.strip()}
    return dataclasses.replace(found, **given) if given else found


_NO_UTM = Utm()


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _url_utm(url: str) -> Utm:
    query = parse_qs(urlsplit(url).query, keep_blank_values=False)
    found: dict[str, str | None] = {}
    for key in UTM_KEYS:
        values = query.get(f"utm_{key}")
        if values:
            found[key] = values[0].strip() or None
    return Utm(**found)


@functools.lru_cache(maxsize=_CACHE_SIZE)
def normalise_channel(raw: str) -> str:
    """``'Paid Search'`` -> ``'paid_search'``; raises when the result is not a slug."""
    slug = _SPACES.sub("_", raw.strip().lower()).replace("-", "_")
    if not _CHANNEL.match(slug):
        raise ValidationError(
            "channel", f"'{raw}' is not a channel name (letters, digits, '_' and '-', at most 64)"
        )
    return slug


_MEDIUM_CHANNELS = (
    (("cpc", "ppc", "paidsearch", "paid_search", "sem"), "paid_search"),
    (("display", "banner", "cpm"), "display"),
    (("paid_social", "paidsocial", "social_ads"), "social_ads"),
    (("social", "social_media", "sm"), "social"),
    (("email", "e-mail", "newsletter"), "email"),
    (("affiliate", "partner", "referral"), "partner_referral"),
    (("organic",), "organic_search"),
    (("webinar",), "webinar"),
    (("event", "tradeshow", "trade_show"), "trade_show"),
)


def channel_from_utm(utm: Utm) -> str:
    """A channel derived from the UTM medium, in the spirit of GA's default channel
    grouping; ``'unknown'`` when the medium is missing or not recognised."""
    medium = (utm.medium or "").strip().lower()
    for mediums, channel in _MEDIUM_CHANNELS:
        if medium in mediums:
            return channel
    return "unknown"
