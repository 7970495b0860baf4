"""What rules see of a lead and of a touchpoint: stored fields plus a few derived ones.

Derived lead facts: ``email_domain`` (after the ``@``), ``email_is_free_mail`` (the domain
is a public webmail provider: a person, not a company, signed up) and one
``custom_fields.NAME`` per custom field. Touch facts add ``properties.NAME``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["FREE_MAIL_DOMAINS", "lead_facts", "touch_facts"]

#: Public webmail domains, as commonly used for "free-mail: -10" fit rules.
FREE_MAIL_DOMAINS = frozenset(
    {
        "gmail.com", "googlemail.com", "yahoo.com", "yahoo.co.uk", "yahoo.fr", "ymail.com",
        "hotmail.com", "hotmail.co.uk", "hotmail.fr", "outlook.com", "live.com", "msn.com",
        "aol.com", "icloud.com", "me.com", "mac.com", "proton.me", "protonmail.com", "gmx.de",
        "gmx.net", "gmx.com", "web.de", "mail.ru", "yandex.ru", "yandex.com", "qq.com",
        "163.com", "126.com", "sina.com", "foxmail.com", "naver.com", "zoho.com", "mail.com",
        "libero.it", "orange.fr", "free.fr", "t-online.de", "uol.com.br", "bol.com.br",
    }
)  # fmt: skip


def lead_facts(lead: Mapping[str, Any]) -> dict[str, Any]:
    """The lead's stored fields, with ids as text, plus the derived facts."""
    facts = {key: (str(value) if key == "owner_id" and value is not None else value)
             for key, value in lead.items() if key != "custom_fields"}  # fmt: skip
    email = lead.get("email") or ""
    domain = email.rpartition("@")[2].lower() if "@" in email else None
    facts["email_domain"] = domain
    facts["email_is_free_mail"] = domain in FREE_MAIL_DOMAINS if domain else None
    for name, value in (lead.get("custom_fields") or {}).items():
        facts[f"custom_fields.{name}"] = value
    return facts


def touch_facts(touch: Mapping[str, Any]) -> dict[str, Any]:
    facts = {key: touch.get(key) for key in ("kind", "channel", "campaign", "url", "at")}
    for name, value in (touch.get("properties") or {}).items():
        facts[f"properties.{name}"] = value
    return facts
