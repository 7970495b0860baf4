"""Rule documents: lists of named tables (``[[rule]]``, ``[[policy]]``, ``[[fit]]`` ...).

One place checks what every such list needs, so each kind of rule reports problems the same
way, naming the item by position and name: ``rule[2] 'East'.team: ...``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from leadfunnel.domain.errors import ValidationError

__all__ = ["named_items"]


def named_items(
    doc: Mapping[str, Any],
    key: str,
    *,
    allowed: set[str],
    noun: str = "rule",
    required: bool = True,
    names_required: bool = True,
) -> list[tuple[str, Mapping[str, Any]]]:
    """``doc[key]`` as (where, item) pairs: a list of tables with only ``allowed`` keys, each
    with a unique ``name`` (unless ``names_required`` is false)."""
    items = doc.get(key, [])
    if not isinstance(items, list):
        raise ValidationError(key, f"must be a list of {noun}s ([[{key}]] tables)")
    if required and not items:
        raise ValidationError(key, f"give at least one [[{key}]]")
    found, names = [], set()
    for i, item in enumerate(items):
        name = item.get("name") if isinstance(item, Mapping) else None
        where = f"{key}[{i}] '{name}'" if isinstance(name, str) and name else f"{key}[{i}]"
        if not isinstance(item, Mapping):
            raise ValidationError(where, "must be a table")
        extra = sorted(set(item) - allowed)
        if extra:
            raise ValidationError(
                f"{where}.{extra[0]}",
                f"is not a {noun} setting; expected: {', '.join(sorted(allowed))}",
            )
        if names_required and (not isinstance(name, str) or not name.strip()):
            raise ValidationError(f"{where}.name", f"every {noun} needs a name")
        if name is not None and name in names:
            raise ValidationError(f"{where}.name", f"'{name}' is used by two {noun}s")
        names.add(name)
        found.append((where, item))
    return found
