"""Settings, read once at the edge (CLI options, then environment, then defaults).

=============================  ===================================  ===========================
setting                        environment variable                 default
=============================  ===================================  ===========================
database_url                   ``LEADFUNNEL_DATABASE_URL``          ``sqlite:///./leadfunnel.db``
default_region                 ``LEADFUNNEL_DEFAULT_REGION``        ``US``
analytics                      ``LEADFUNNEL_ANALYTICS``             ``auto``
=============================  ===================================  ===========================

A database given as a plain file path (``./crm.db``) means SQLite at that path.
``analytics`` picks where analytics questions run: ``auto`` (DuckDB beside SQLite,
PostgreSQL itself) or ``spark`` (a local Spark session loaded from either; the ``spark``
extra and a Java runtime).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

from leadfunnel.domain.errors import ValidationError

__all__ = ["ANALYTICS_ENGINES", "DEFAULT_DATABASE_URL", "Settings", "load_settings"]

DEFAULT_DATABASE_URL = "sqlite:///./leadfunnel.db"
_REGION = re.compile(r"^[A-Z]{2}$")
ANALYTICS_ENGINES = ("auto", "spark")


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    default_region: str = "US"
    analytics: str = "auto"


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
    analytics = env.get("LEADFUNNEL_ANALYTICS", "auto").strip().lower() or "auto"
    if analytics not in ANALYTICS_ENGINES:
        raise ValidationError(
            "LEADFUNNEL_ANALYTICS",
            f"'{analytics}' is not an analytics engine (one of: {', '.join(ANALYTICS_ENGINES)})",
        )
    return Settings(database_url=_as_url(url), default_region=region, analytics=analytics)
