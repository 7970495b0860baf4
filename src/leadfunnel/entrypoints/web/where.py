"""Dimension filters in an analytics page's URL: ``?where=channel:webinar&where=region:EMEA``.

The dashboard and the funnel explorer take the same form, so a filtered view is a link and
a link from one page to the other keeps its filters. Each ``where`` is ``DIMENSION:VALUE``
(a dimension of the funnel's breakdowns, or ``custom.NAME`` in the explorer; ``(none)``
for no value); values of one dimension are alternatives, different dimensions must all
match: the services' ``where`` (``analytics/dimensions.py``), which checks the dimensions
and names the field ``where`` when one is unknown.

The pages show the filters as chips, each a link to the same view without it, and a small
form adds one: its ``where_dimension`` and ``where_value`` fields are turned into one more
``where`` by a redirect (:func:`added_filter`), so the address bar always holds the
canonical, shareable URL.

>>> where = Where.parse(["channel:webinar", "region:EMEA", "channel:webinar"])
>>> where.service(), where.params()
(['channel=webinar', 'region=EMEA'], [('where', 'channel:webinar'), ('where', 'region:EMEA')])
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Query

from leadfunnel.analytics.dimensions import parse_filters
from leadfunnel.domain.errors import ValidationError

__all__ = ["WhereDep", "Where", "added_filter"]


@dataclass(frozen=True)
class Where:
    """The filters of a page, in the order they were added, each (dimension, value) once."""

    pairs: tuple[tuple[str, str], ...] = ()

    @classmethod
    def parse(cls, raw: list[str] | None) -> Where:
        pairs: list[tuple[str, str]] = []
        for text in raw or ():
            name, sep, value = text.partition(":")
            if not sep or not name.strip() or not value.strip():
                raise ValidationError(
                    "where", f"'{text}' is not DIMENSION:VALUE, e.g. channel:webinar"
                )
            pair = (name.strip(), value.strip())
            if pair not in pairs:
                pairs.append(pair)
        return cls(tuple(pairs))

    def __bool__(self) -> bool:
        return bool(self.pairs)

    def service(self) -> list[str]:
        """The filters as the services take them (``DIMENSION=VALUE``)."""
        return [f"{name}={value}" for name, value in self.pairs]

    def params(self) -> list[tuple[str, str]]:
        """The URL parameters that ask for these filters again."""
        return [("where", f"{name}:{value}") for name, value in self.pairs]

    def key(self) -> Hashable:
        """What the filters mean, for remembered answers: the same filters given in another
        order are the same question (checked as the funnel checks them)."""
        return parse_filters(self.service(), custom_fields=True)

    def with_added(self, dimension: str, value: str) -> Where:
        return Where.parse([f"{n}:{v}" for n, v in self.pairs] + [f"{dimension}:{value}"])

    def chips(self, url: Callable[[Where], str]) -> list[dict[str, Any]]:
        """One chip per filter: its dimension, value and the URL of the view without it."""
        return [
            {"dimension": name, "value": value,
             "remove_url": url(Where(self.pairs[:i] + self.pairs[i + 1 :]))}
            for i, (name, value) in enumerate(self.pairs)
        ]  # fmt: skip


def _where(
    where: Annotated[list[str] | None, Query(max_length=20)] = None,
) -> Where:
    return Where.parse(where)


WhereDep = Annotated[Where, Depends(_where)]


def added_filter(where: Where, dimension: str | None, value: str | None) -> Where | None:
    """The filters with the add-a-filter form's choice, or None when the form added none."""
    if not (dimension or "").strip() or not (value or "").strip():
        return None
    return where.with_added(dimension or "", value or "")
