"""Settings, read once at the edge (CLI options, then environment, then defaults).

=============================  ===================================  ===========================
setting                        environment variable                 default
=============================  ===================================  ===========================
database_url                   ``LEADFUNNEL_DATABASE_URL``          ``sqlite:///./leadfunnel.db``
default_region                 ``LEADFUNNEL_DEFAULT_REGION``        ``US``
=============================  ===================================  ===========================

A database given as a plain file path (``./crm.db``) means SQLite at that path.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

from leadfunnel.domain.errors import ValidationError

__all__ = ["DEFAULT_DATABASE_URL", "Settings", "load_settings"]

DEFAULT_DATABASE_URL = "sqlite:///./leadfunnel.db"
_REGION = re.compile(r"^[A-Z]{2}$")


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    default_region: str = "US"


def _as_url(value: str) -> str:
    return value if "://" in value else f"sqlite:///{value}"


def load_settings(
    *, database: str | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    """Settings from explicit options, then ``environ`` (default: the process environment)."""
    env = os.environ if environ is None else environ
    url = database or env.get("LEADFUNNEL_DATABASE_URL") or DEFAULT_DATABASE_URL
    region = env.get("LEADFUNNEL_DEFAULT_REGION", "US").strip().upper()
    if not _REGION.match(region):
        raise ValidationError(
            "LEADFUNNEL_DEFAULT_REGION", f"'{region}' is not an ISO 3166 two-letter region code"
        )
    return Settings(database_url=_as_url(url), default_region=region)
