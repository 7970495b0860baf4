"""leadfunnel: a self-hosted lead-to-cash pipeline.

The public Python surface is small on purpose; everything else is reached through the
CLI (``leadfunnel --help``) or, later, the REST API.
"""

from leadfunnel.domain.errors import (
    DomainError,
    IdempotencyConflict,
    IllegalTransition,
    NotFound,
    ValidationError,
)
from leadfunnel.domain.lifecycle import Stage

__version__ = "0.1.0"

__all__ = [
    "DomainError",
    "IdempotencyConflict",
    "IllegalTransition",
    "NotFound",
    "Stage",
    "ValidationError",
    "__version__",
]
