"""Domain errors. Every entry point maps these to its own output in one place.

Each error carries a message written for the person who caused it: it names the field, the
value and what would be accepted.
"""

from __future__ import annotations

__all__ = [
    "DomainError",
    "IdempotencyConflict",
    "IllegalTransition",
    "NotFound",
    "StorageError",
    "ValidationError",
]


class DomainError(Exception):
    """Base class of every error leadfunnel reports to a user rather than crashing on."""

    code = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ValidationError(DomainError):
    """Input that cannot be accepted; ``field`` names the offending input."""

    code = "validation_error"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.reason = message


class NotFound(DomainError):
    code = "not_found"

    def __init__(self, kind: str, key: object) -> None:
        super().__init__(f"{kind} {key} not found")
        self.kind = kind
        self.key = key


class IllegalTransition(DomainError):
    """A lifecycle move the state machine does not allow."""

    code = "illegal_transition"

    def __init__(self, current: str, target: str, allowed: list[str]) -> None:
        allowed_text = ", ".join(allowed) if allowed else "none (terminal stage)"
        super().__init__(
            f"cannot move from '{current}' to '{target}'; allowed from '{current}': {allowed_text}"
        )
        self.current = current
        self.target = target
        self.allowed = allowed


class IdempotencyConflict(DomainError):
    """An idempotency key reused with a different payload."""

    code = "idempotency_conflict"

    def __init__(self, key: str) -> None:
        super().__init__(
            f"idempotency key '{key}' was already used with a different payload; "
            "use a new key for a new request"
        )
        self.key = key


class Conflict(DomainError):
    """A request that collides with what is stored: e.g. a submission whose email belongs to
    a lead the caller may not change."""

    code = "conflict"


class StorageError(DomainError):
    """The store is missing, not migrated, or not configured as leadfunnel requires."""

    code = "storage_error"
