"""Labels in English and Simplified Chinese, and numbers, money and times in the reader's
locale.

The catalogs are gettext ``.po`` files under ``locale/<lang>/LC_MESSAGES/messages.po``, read
once at import (Babel compiles them in memory; no ``.mo`` files to keep in step). A message
missing from a catalog shows its English ``msgid``.

The language of a request is, first found: the ``lang`` query parameter (the language
switch links set it, and the page then remembers it in the ``lang`` cookie), the ``lang``
cookie, the best match of the ``Accept-Language`` header, else English. Chinese tags for
Traditional script (``zh-TW``, ``zh-HK``, ``zh-Hant``) do not match ``zh_Hans``.

>>> language_from(param=None, cookie=None, accept="fr-CH, zh-CN;q=0.8, en;q=0.5")
'zh_Hans'
>>> language_from(param="en", cookie="zh_Hans", accept=None)
'en'
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from functools import cache, lru_cache
from pathlib import Path

from babel import Locale
from babel.dates import format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import (
    NumberPattern,
    format_currency,
    format_decimal,
    format_percent,
    parse_pattern,
)
from babel.support import Translations

__all__ = ["DEFAULT_LANGUAGE", "LANGUAGES", "LANG_COOKIE", "Language", "language", "language_from"]

LANG_COOKIE = "lang"
DEFAULT_LANGUAGE = "en"
#: Language code -> its name in that language (what the switch shows).
LANGUAGES = {"en": "English", "zh_Hans": "简体中文"}
_LOCALE_DIR = Path(__file__).parent / "locale"
_TRADITIONAL = ("zh-tw", "zh-hk", "zh-mo", "zh-hant")


def _load(code: str) -> Translations:
    with (_LOCALE_DIR / code / "LC_MESSAGES" / "messages.po").open("rb") as po:
        catalog = read_po(po, locale=code)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(fp=compiled)


# A page formats thousands of numbers (the explorer by channel and month: about 5,000);
# parsing the locale and the pattern once each, not per number, makes that a third faster.
@cache
def _locale(code: str) -> Locale:
    return Locale.parse(code)


@cache
def _pattern(text: str) -> NumberPattern:
    return parse_pattern(text)


# The same counts and shares recur across a table's cells (small counts above all).
@lru_cache(maxsize=8192)
def _number(code: str, value: float | Decimal | int, digits: int) -> str:
    pattern = _pattern("#,##0" + ("." + "0" * digits if digits else ""))
    return format_decimal(value, format=pattern, locale=_locale(code))


@lru_cache(maxsize=8192)
def _percent(code: str, value: float) -> str:
    return format_percent(value, _pattern("#,##0.0%"), locale=_locale(code))


@dataclass(frozen=True)
class Language:
    """One language: its catalog and its number and date formats."""

    code: str
    translations: Translations

    @property
    def locale(self) -> Locale:
        return _locale(self.code)

    def gettext(self, message: str) -> str:
        return self.translations.gettext(message)

    def number(self, value: float | Decimal | int | None, digits: int = 0) -> str:
        if value is None:
            return "–"
        return _number(self.code, value, digits)

    def percent(self, value: float | None) -> str:
        if value is None:
            return "–"
        return _percent(self.code, value)

    def money(self, value: float | Decimal | None, currency: str = "USD") -> str:
        if value is None:
            return "–"
        return format_currency(value, currency, format="¤#,##0", locale=self.locale,
                               currency_digits=False)  # fmt: skip

    def moment(self, value: datetime | str | None) -> str:
        """A time, shown in UTC (the zone every stored time is in)."""
        if value is None:
            return "–"
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        return format_datetime(value, "medium", tzinfo=UTC, locale=self.locale) + " UTC"


_CATALOGS = {code: Language(code, _load(code)) for code in LANGUAGES}


def language(code: str) -> Language:
    return _CATALOGS.get(code, _CATALOGS[DEFAULT_LANGUAGE])


def _match(tag: str) -> str | None:
    tag = tag.strip().lower().replace("_", "-")
    if tag.startswith("zh"):
        return None if tag.startswith(_TRADITIONAL) else "zh_Hans"
    if tag == "en" or tag.startswith("en-"):
        return "en"
    return None


def _accepted(header: str) -> list[str]:
    """Language tags of an Accept-Language header, most wanted first (ties keep order)."""
    tags: list[tuple[float, int, str]] = []
    for i, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        weight = 1.0
        if params.strip().startswith("q="):
            try:
                weight = float(params.strip()[2:])
            except ValueError:
                weight = 0.0
        if tag and weight > 0:
            tags.append((-weight, i, tag))
    return [tag for _, _, tag in sorted(tags)]


def language_from(*, param: str | None, cookie: str | None, accept: str | None) -> str:
    """The language code for a request (see the module's docstring for the order)."""
    for chosen in (param, cookie):
        if chosen in LANGUAGES:
            return chosen
    for tag in _accepted(accept or ""):
        found = _match(tag)
        if found is not None:
            return found
    return DEFAULT_LANGUAGE
